"""POST a JSON message to a webhook, with retries and backoff; report failure instead of raising.

Blocking (urllib), so callers in the reactor run it in a thread.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    ok: bool
    attempts: int
    status: int | None
    error: str | None


def post_json(
    url: str,
    payload: dict[str, Any],
    token: str | None = None,
    retries: int = 3,
    timeout: float = 10.0,
    backoff: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """Send `payload`; retry connection errors, timeouts, 429 and 5xx answers; never raise."""
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "netpatrol-alerts/0.1"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    status: int | None = None
    error: str | None = None
    attempts = 0
    for attempt in range(retries + 1):
        attempts = attempt + 1
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - operator-configured URL
                status = response.status
                return Delivery(True, attempts, status, None)
        except urllib.error.HTTPError as exc:
            status, error = exc.code, f"HTTP {exc.code}"
            if exc.code < 500 and exc.code != 429:
                break  # the receiver refuses this message: retrying will not change its mind
        except (urllib.error.URLError, OSError, ValueError) as exc:
            status, error = None, str(getattr(exc, "reason", exc))
        if attempt < retries:
            sleep(backoff * (2**attempt))
    logger.warning("alert webhook %s failed after %d attempt(s): %s", url, attempts, error)
    return Delivery(False, attempts, status, error)
