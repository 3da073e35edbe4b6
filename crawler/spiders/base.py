"""What site and search spiders share: the target, fetch outcome accounting, block detection."""

from __future__ import annotations

import re
from typing import Any

from scrapy import Spider
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
)
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import (
    ConnectError,
    ConnectionRefusedError,
    DNSLookupError,
    TCPTimedOutError,
    TimeoutError,
)
from twisted.python.failure import Failure

from crawler.config.schema import SearchTarget, SiteTarget
from crawler.frontier.attribution import attribute
from crawler.runtime.context import config_from, matcher_from_config, target_from
from crawler.middlewares.private_network import PrivateAddressBlocked
from crawler.render.errors import NeedsJavaScript, RenderError
from pipelines.stores.base import iso, utcnow

HTML_TYPES = (b"text/html", b"application/xhtml+xml")
BLOCK_STATUSES = {401, 403, 407, 429, 503}
_CAPTCHA = re.compile(
    r"captcha|verify (?:that )?you are (?:a )?human|unusual traffic|are you a robot|请输入验证码|安全验证|人机验证|访问过于频繁",
    re.IGNORECASE,
)


class PatrolSpider(Spider):
    """Base spider: one run of one configured target."""

    target: SiteTarget | SearchTarget
    run_id: str

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> "PatrolSpider":
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.target = target_from(crawler.settings)
        spider.run_id = crawler.settings.get("NETPATROL_RUN_ID")
        return spider

    # --- accounting ---
    def _inc(self, key: str, count: int = 1) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(key, count)

    def count_page(self) -> None:
        self._inc("netpatrol/pages")

    def count_error(self, kind: str) -> None:
        self._inc("netpatrol/fetch/errors")
        self._inc(f"netpatrol/fetch/errors/{kind}")

    def count_skipped(self, kind: str) -> None:
        self._inc(f"netpatrol/fetch/skipped/{kind}")

    @staticmethod
    def now() -> str:
        return iso(utcnow()) or ""

    # --- rendering and evidence ---
    @property
    def matcher(self) -> Any:
        """The run's compiled matcher (the one the matching pipeline uses; compiled once per process)."""
        return matcher_from_config(config_from(self.crawler.settings))

    def rendered_hit(self, url: str, html: str) -> bool:
        """Would this rendered page yield a hit? Asked by the browser path to decide on a screenshot."""
        return False

    def evidence_meta(self, response: Response) -> dict[str, Any]:
        """What the evidence pipeline keeps of a hit on this response: its HTML, and the screenshot if rendered."""
        meta = response.meta
        return {
            "html_body": response.body,
            "fetched_at": self.now(),
            "rendered": bool(meta.get("playwright")),
            "render_reason": meta.get("netpatrol_render_reason"),
            "screenshot": meta.get("netpatrol_screenshot"),
            "screenshot_at": meta.get("netpatrol_screenshot_at"),
        }

    def usable_html(self, response: Response) -> TextResponse | None:
        """Return the response when it is a usable HTML page; otherwise count why not and return None."""
        status = response.status
        if status in BLOCK_STATUSES:
            self.count_error("blocked")
            return None
        if status >= 400:
            self.count_error(f"http_{status}")
            return None
        if status >= 300:
            self.count_error("redirect_unfollowed")
            return None
        content_type = (response.headers.get(b"Content-Type") or b"").split(b";")[0].strip().lower()
        if not isinstance(response, TextResponse) or (content_type and content_type not in HTML_TYPES):
            self.count_skipped("non_html")
            return None
        if self.looks_blocked(response):
            self.count_error("blocked")
            return None
        return response

    @staticmethod
    def looks_blocked(response: TextResponse) -> bool:
        """A 200 page that is really a CAPTCHA / rate-limit wall: short and saying so."""
        body = response.text
        if len(body) > 20000:
            return False
        return bool(_CAPTCHA.search(body))

    def on_error(self, failure: Failure) -> None:
        """Errback: classify network-level failures; never raise."""
        attribute(getattr(failure, "request", None))  # a frontier worker counts this for the request's lease
        if failure.check(PrivateAddressBlocked):
            self.count_error("private_network")
            self.logger.warning("%s", failure.value)
        elif failure.check(NeedsJavaScript):
            self.count_error("needs_js")
        elif failure.check(RenderError):
            self.count_error(f"render_{failure.value.kind}")
        elif failure.check(IgnoreRequest):
            message = str(failure.value)
            if "robots.txt" in message:
                self.count_skipped("robots")
            elif "max redirections" in message.lower() or "redirect" in message.lower():
                self.count_error("redirect_loop")
            else:
                self.count_error("ignored")
        elif failure.check(HttpError):
            self.count_error("http")
        elif failure.check(DNSLookupError, CannotResolveHostError):
            self.count_error("dns")
        elif failure.check(TimeoutError, TCPTimedOutError, DownloadTimeoutError):
            self.count_error("timeout")
        elif failure.check(ConnectionRefusedError, ConnectError, DownloadConnectionRefusedError):
            self.count_error("connect")
        elif failure.check(DownloadCancelledError):
            self.count_error("too_large")
        else:
            name = type(failure.value).__name__
            if "maxsize" in str(failure.value).lower() or name == "CancelledError":
                self.count_error("too_large")
            else:
                self.count_error(f"other_{name}")
        request = getattr(failure, "request", None)
        self.logger.info("fetch failed: %s: %s", getattr(request, "url", "?"), failure.getErrorMessage())
