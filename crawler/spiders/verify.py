"""Re-fetch a target's tracked items and record, item by item, what became of them (`netpatrol verify`).

Each check is written to the store as soon as a small batch fills, so a verify that is
interrupted leaves every finished check recorded and every other item as it was.
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any, AsyncIterator, Callable
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
)
from scrapy.http import Response, TextResponse
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.error import ConnectError, ConnectionRefusedError, DNSLookupError, TCPTimedOutError, TimeoutError
from twisted.internet.threads import deferToThread
from twisted.python.failure import Failure

from crawler.runtime.context import store_for
from crawler.middlewares.private_network import PrivateAddressBlocked
from crawler.spiders.base import HTML_TYPES, PatrolSpider
from crawler.verify.classify import Outcome, classify_page, settle
from pipelines.engine.html_text import visible_text
from pipelines.stores.base import Store
from pipelines.stores.tracking import ItemCheck, TrackedItem


def host_is_dead(url: str) -> bool:
    """Does the URL's host definitely not resolve (no such name), as opposed to a resolver hiccup?"""
    host = urlsplit(url).hostname or ""
    try:
        socket.getaddrinfo(host, None)
    except socket.gaierror as exc:
        return exc.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME))
    except (UnicodeError, OSError):
        return True  # not even a valid host name
    return False


class VerifySpider(PatrolSpider):
    name = "verify"

    def __init__(self, *args: Any, items: list[TrackedItem] | None = None, verify_id: str = "",
                 batch: int = 25, on_check: Callable[[str, Outcome], None] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.items = list(items or [])
        self.verify_id = verify_id
        self.batch = batch
        self.on_check = on_check
        self.pending: list[ItemCheck] = []
        self.results: dict[str, tuple[TrackedItem, Outcome]] = {}
        self.skipped: dict[str, str] = {}
        self.close_reason: str | None = None
        self.outstanding = 0
        self.progress_at = time.monotonic()

    @property
    def store(self) -> Store:
        return store_for(self.crawler)

    def window(self) -> int:
        """Requests handed to Scrapy at once: enough to keep every host busy, few enough that Ctrl-C stops
        promptly (Scrapy finishes the requests it already holds before it closes)."""
        settings = self.crawler.settings
        per_domain = settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN", 4)
        domains = len({urlsplit(item.url).netloc for item in self.items}) or 1
        return max(1, min(settings.getint("CONCURRENT_REQUESTS", 16), 2 * per_domain * domains))

    async def start(self) -> AsyncIterator[Any]:
        window = self.window()
        settings = self.crawler.settings
        # Longer than any request can take: a request Scrapy dropped without a callback must not stall the rest.
        stall = settings.getfloat("DOWNLOAD_TIMEOUT", 30) * (settings.getint("RETRY_TIMES", 2) + 1) + 30
        for item in self.items:
            while self.outstanding >= window:
                if time.monotonic() - self.progress_at > stall:
                    self.logger.warning("no answer for %.0f s; %d request(s) presumed lost", stall, self.outstanding)
                    self.outstanding = 0
                    break
                await asyncio.sleep(0.05)
            self.outstanding += 1
            yield Request(item.url, callback=self.check, errback=self.check_failed, dont_filter=True,
                          meta={"netpatrol_item": item})

    # --- outcomes ---
    def record(self, item: TrackedItem, outcome: Outcome, url: str) -> None:
        outcome = settle(outcome, item.status)
        self.results[item.canonical_url] = (item, outcome)
        self.pending.append(ItemCheck(item.canonical_url, self.now(), outcome.status, outcome.reason,
                                      self.verify_id, outcome.http_status, url))
        self._inc(f"netpatrol/verify/{outcome.status}")
        if self.on_check is not None:
            self.on_check(self.target.name, outcome)
        if len(self.pending) >= self.batch:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.store.add_checks(self.pending)
            self.pending = []

    def closed(self, reason: str) -> None:
        self.close_reason = reason
        self.flush()

    # --- callbacks ---
    def _answered(self) -> None:
        self.outstanding = max(0, self.outstanding - 1)
        self.progress_at = time.monotonic()

    def check(self, response: Response) -> None:
        self._answered()
        item: TrackedItem = response.meta["netpatrol_item"]
        content_type = (response.headers.get(b"Content-Type") or b"").split(b";")[0].strip().lower()
        if response.status == 200 and (not isinstance(response, TextResponse)
                                        or (content_type and content_type not in HTML_TYPES)):
            self.record(item, Outcome("changed", "non_html", response.status), response.url)
            return
        title, text = visible_text(response.text) if isinstance(response, TextResponse) else ("", "")
        matched = bool(self.matcher.match(title, text).matched) if response.status == 200 else False
        blocked = response.status == 200 and isinstance(response, TextResponse) and self.looks_blocked(response) is not None
        self.record(item, classify_page(response.status, title, text, matched, item.title, blocked), response.url)

    async def check_failed(self, failure: Failure) -> None:
        self._answered()
        request = failure.request  # type: ignore[attr-defined]
        item: TrackedItem = request.meta["netpatrol_item"]
        if failure.check(PrivateAddressBlocked):
            self.skipped[item.canonical_url] = "private_network"
            self.logger.warning("%s", failure.value)
            return
        if failure.check(IgnoreRequest):
            message = str(failure.value)
            if "robots.txt" in message:
                self.skipped[item.canonical_url] = "robots"
                return
            self.record(item, Outcome("unreachable", "redirect_loop" if "redirect" in message.lower() else "ignored"),
                        item.url)
            return
        if failure.check(DNSLookupError, CannotResolveHostError):
            dead = await maybe_deferred_to_future(deferToThread(host_is_dead, item.url))
            self.record(item, Outcome("removed", "dns") if dead else Outcome("unreachable", "dns_temporary"), item.url)
        elif failure.check(TimeoutError, TCPTimedOutError, DownloadTimeoutError):
            self.record(item, Outcome("unreachable", "timeout"), item.url)
        elif failure.check(ConnectionRefusedError, ConnectError, DownloadConnectionRefusedError):
            self.record(item, Outcome("unreachable", "connect"), item.url)
        else:
            self.record(item, Outcome("unreachable", f"other_{type(failure.value).__name__}"), item.url)
