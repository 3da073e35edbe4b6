"""The workbench's guards: session secret, CSRF tokens, per-address rate limits, response headers."""

from __future__ import annotations

import hmac
import os
import secrets
import threading
import time
from collections import defaultdict, deque
from pathlib import Path

from starlette.requests import Request

CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"

#: Every page: no framing by others, no sniffing, no referrer leaking hit URLs, scripts from this origin only.
HEADERS = {
    "X-Frame-Options": "SAMEORIGIN",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline';"
                                " img-src 'self' data:; frame-ancestors 'self'; form-action 'self'; base-uri 'none'"),
    "Cache-Control": "no-store",
}


def session_secret(data_dir: Path) -> str:
    """A random key kept in the data folder (0600): sessions survive a restart, and no default key exists."""
    path = data_dir / "web-session.key"
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key)
    return key


def csrf_token(request: Request) -> str:
    token = request.session.get(CSRF_FIELD)
    if not token:
        token = secrets.token_urlsafe(32)
        request.session[CSRF_FIELD] = token
    return str(token)


def csrf_ok(request: Request, submitted: str | None) -> bool:
    expected = request.session.get(CSRF_FIELD)
    given = submitted or request.headers.get(CSRF_HEADER) or ""
    return bool(expected) and hmac.compare_digest(str(expected), given)


class RateLimiter:
    """At most `limit` events per `window` seconds per key (the client address), in memory."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._events: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            events = self._events[key]
            while events and events[0] <= now - self.window:
                events.popleft()
            if len(events) >= self.limit:
                return False
            events.append(now)
            return True
