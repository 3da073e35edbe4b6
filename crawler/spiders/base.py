"""What site and search spiders share: the target, fetch outcome accounting, block detection."""

from __future__ import annotations

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
from crawler.render.walls import WallVerdict, detect_wall
from pipelines.engine.sniff import not_text
from pipelines.stores.base import iso, utcnow

HTML_TYPES = (b"text/html", b"application/xhtml+xml")
BLOCK_STATUSES = {401, 403, 407, 429, 503}
#: Meta key under which crawler.middlewares.backoff leaves its verdict on a response (None: not a wall).
WALL_META = "netpatrol_wall"
#: Meta key under which the sniffing verdict (pipelines.engine.sniff.not_text) is kept for the request.
JUNK_META = "netpatrol_not_text"


def is_html(response: Response) -> bool:
    content_type = (response.headers.get(b"Content-Type") or b"").split(b";")[0].strip().lower()
    return isinstance(response, TextResponse) and (not content_type or content_type in HTML_TYPES)


def wall_of(response: Response, meta: dict[str, Any] | None = None) -> WallVerdict | None:
    """The wall this HTML response is, judged once per request (the back-off middleware may have judged it).

    `meta` is the request's meta where the response is not tied to its request yet (in downloader middlewares)."""
    meta = response.meta if meta is None else meta
    if WALL_META not in meta:
        meta[WALL_META] = detect_wall(root=page_root(response)) if isinstance(response, TextResponse) else None
    return meta[WALL_META]


def page_root(response: TextResponse) -> Any:
    """The response's parsed tree: Scrapy caches it on the response, so the wall check, the spider's link
    extraction and page anatomy share one parse. None when the body cannot be parsed."""
    try:
        return response.selector.root
    except (ValueError, TypeError):
        return None


def junk_of(response: TextResponse, meta: dict[str, Any] | None = None) -> str | None:
    """Why the response's text is not text (see pipelines.engine.sniff), sniffed once per request."""
    meta = response.meta if meta is None else meta
    if JUNK_META not in meta:
        meta[JUNK_META] = not_text(response.text)
    return meta[JUNK_META]


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
        if not is_html(response):
            self.count_skipped("non_html")
            return None
        assert isinstance(response, TextResponse)
        junk = junk_of(response)
        if junk is not None:  # binary or undecodable: never matched, its "links" never followed
            self.count_skipped("non_text")
            self.logger.info("not text (%s), skipped: %s", junk, response.url)
            return None
        wall = self.looks_blocked(response)
        if wall is not None:
            self.count_error("blocked")
            self._inc(f"netpatrol/walls/{wall.kind}")
            self.logger.info("wall (%s: %s): %s", wall.kind, wall.reason, response.url)
            return None
        return response

    @staticmethod
    def looks_blocked(response: TextResponse) -> WallVerdict | None:
        """A 200 page that is really a wall (CAPTCHA, rate limit, login, JavaScript), as a person would see it."""
        return wall_of(response)

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
        if self.logger.isEnabledFor(10):
            self.logger.debug("%s", failure.getTraceback())
