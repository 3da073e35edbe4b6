"""Decide which requests go through the browser, and re-request JavaScript shells rendered, once.

`render: always` and `render_urls` mark requests for rendering before they are sent.
Under `render: auto` a page is first fetched plainly; when it looks like a JavaScript
shell (crawler.render.detect) the same request is sent again through the browser, as
redirects are, so its callback, depth and arguments are kept and the spider sees one
page. With no browser available such pages fail as `needs_js` instead of being matched
as if empty.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response, TextResponse

from crawler.render.detect import js_shell
from crawler.spiders.base import JUNK_META, WALL_META
from crawler.render.errors import NeedsJavaScript

logger = logging.getLogger(__name__)

HTML_TYPES = (b"text/html", b"application/xhtml+xml")


def _path_and_query(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


class RenderRouter:
    """Downloader middleware: mark requests for the browser, and route JavaScript shells back to it."""

    def __init__(
        self,
        mode: str,
        render_urls: list[str],
        browser_available: bool,
        actions: Any = None,
        crawler: Crawler | None = None,
        problem: str | None = None,
    ) -> None:
        self.mode = mode
        self.render_urls = [re.compile(p) for p in render_urls]
        self.browser_available = browser_available
        self.actions = actions
        self.crawler = crawler
        self.problem = problem

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "RenderRouter":
        settings = crawler.settings
        mode = settings.get("NETPATROL_RENDER_MODE", "never")
        if mode == "never" or not settings.get("NETPATROL_TARGET"):
            raise NotConfigured("the target never renders pages")
        from crawler.runtime.context import target_from

        target = target_from(settings)
        return cls(
            mode,
            list(target.render_urls),
            bool(settings.get("NETPATROL_BROWSER_PATH")) and "RenderingDownloadHandler" in str(settings.getdict("DOWNLOAD_HANDLERS")),
            target.actions,
            crawler,
            settings.get("NETPATROL_BROWSER_PROBLEM"),
        )

    # --- helpers ---
    def _inc(self, key: str) -> None:
        if self.crawler is not None and self.crawler.stats is not None:
            self.crawler.stats.inc_value(key)

    def wants_render(self, request: Request) -> bool:
        if request.meta.get("dont_obey_robotstxt") or request.url.endswith("/robots.txt"):
            return False
        if self.mode == "always":
            return True
        path = _path_and_query(request.url)
        return any(p.search(path) for p in self.render_urls)

    def render_meta(self, reason: str) -> dict[str, Any]:
        """What the rendering download handler reads from a request's meta."""
        spider = self.crawler.spider if self.crawler is not None else None
        return {
            "playwright": True,
            "netpatrol_render_reason": reason,
            "netpatrol_actions": self.actions,
            "netpatrol_hit_check": getattr(spider, "rendered_hit", None),
        }

    # --- downloader middleware ---
    def process_request(self, request: Request) -> None:
        if request.meta.get("playwright") or not self.wants_render(request):
            return None
        if self.browser_available:
            request.meta.update(self.render_meta("always" if self.mode == "always" else "render_urls"))
        else:
            # Fetched plainly; process_response still fails shells as needs_js.
            self._inc("netpatrol/render/unrendered")
        return None

    def process_response(self, request: Request, response: Response) -> Request | Response:
        if request.meta.get("playwright") or "playwright" in response.flags or response.status != 200:
            return response
        if not isinstance(response, TextResponse):
            return response
        content_type = (response.headers.get(b"Content-Type") or b"").split(b";")[0].strip().lower()
        if content_type and content_type not in HTML_TYPES:
            return response
        verdict = js_shell(response.text)
        if verdict is None:
            return response
        self._inc("netpatrol/render/js_shells")
        if not self.browser_available:
            self._inc("netpatrol/render/needs_js")
            if self.problem and self.crawler is not None and self.crawler.stats is not None:
                self.crawler.stats.set_value("netpatrol/render/browser_problem", self.problem)
            raise NeedsJavaScript(
                f"{response.url}: needs JavaScript ({verdict.reason}) and no browser is available"
                + (f": {self.problem}" if self.problem else "")
            )
        logger.debug("%s looks like a JavaScript shell (%s): rendering it", response.url, verdict.reason)
        self._inc("netpatrol/render/rerendered")
        # The plain fetch's verdicts (wall, not-text) are about that body, not the rendered one.
        meta = {k: v for k, v in request.meta.items() if k not in (WALL_META, JUNK_META)}
        meta.update(self.render_meta(f"auto: {verdict.reason}"))
        return request.replace(meta=meta, dont_filter=True)
