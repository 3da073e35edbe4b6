"""The download handler for rendered requests: scrapy-playwright, bounded and leak-proof.

Plain requests pass straight to Scrapy's HTTP handler. A request with `meta["playwright"]`
gets a page in the current browser context, hardened before it loads (crawler.render.routing),
its actions and evidence capture (crawler.render.actions), and one deadline for all of it.
Whatever happens — success, error, timeout, a page stuck in a script loop — the page is
closed in `finally`, and every `recycle_after` pages a fresh context replaces the old one
(closed once its last page is done): closed pages keep memory flat (bench/render.py: 1,000
pages in one context), recycling is the safety net for much longer runs. A browser that
crashes is relaunched by scrapy-playwright on the next page; the pages it took down fail
as `render_browser_closed` and the run goes on.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from playwright.async_api import Error as PlaywrightError, Page
from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.settings import BaseSettings
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler
from scrapy_playwright.page import PageMethod

from crawler import settings as default_settings
from crawler.runtime.netguard import NetworkPolicy
from crawler.render.actions import Budget, capture_evidence, run_actions
from crawler.render.errors import RenderAborted, RenderError, RenderTimeout, render_error_kind
from crawler.render.routing import BrowserRequestFilter, PageRegistry, harden_page
from crawler.render.socks import SocksGate

logger = logging.getLogger(__name__)

VIEWPORT = {"width": 1280, "height": 900}
CONTEXT_PREFIX = "netpatrol"


@dataclass(frozen=True)
class RenderOptions:
    """The rendering settings of one crawl, parsed and checked once."""

    timeout: float
    block_types: frozenset[str]
    screenshots: bool
    recycle_after: int
    max_navigations: int
    screenshot_max_height: int
    close_timeout: float
    user_agent: str | None

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> "RenderOptions":
        timeout = settings.getfloat("NETPATROL_RENDER_TIMEOUT", default_settings.NETPATROL_RENDER_TIMEOUT)
        recycle = settings.getint("NETPATROL_RENDER_RECYCLE_PAGES", default_settings.NETPATROL_RENDER_RECYCLE_PAGES)
        navigations = settings.getint("NETPATROL_RENDER_MAX_NAVIGATIONS", default_settings.NETPATROL_RENDER_MAX_NAVIGATIONS)
        if timeout <= 0:
            raise ValueError(f"NETPATROL_RENDER_TIMEOUT must be positive, got {timeout}")
        if recycle < 1 or navigations < 1:
            raise ValueError("NETPATROL_RENDER_RECYCLE_PAGES and NETPATROL_RENDER_MAX_NAVIGATIONS must be at least 1")
        return cls(
            timeout=timeout,
            block_types=frozenset(settings.getlist("NETPATROL_RENDER_BLOCK")),
            screenshots=settings.getbool("NETPATROL_RENDER_SCREENSHOTS", True),
            recycle_after=recycle,
            max_navigations=navigations,
            screenshot_max_height=settings.getint("NETPATROL_RENDER_SCREENSHOT_MAX_HEIGHT", 16000),
            close_timeout=settings.getfloat("NETPATROL_RENDER_CLOSE_TIMEOUT", 10.0),
            user_agent=settings.get("USER_AGENT"),
        )

    @property
    def deadline(self) -> float:
        """Seconds a rendered request may take in all: the page's budget, its evidence's budget, a grace."""
        return self.timeout * (2 if self.screenshots else 1) + 5

    def context_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "accept_downloads": False,  # downloads are refused
            "service_workers": "block",  # workers would fetch outside the page's routing
            "permissions": [],  # nothing granted: no geolocation, notifications, clipboard...
            "viewport": VIEWPORT,
            "java_script_enabled": True,
        }
        if self.user_agent:
            kwargs["user_agent"] = self.user_agent
        return kwargs


class RenderingDownloadHandler(ScrapyPlaywrightDownloadHandler):
    """scrapy-playwright's handler with a SOCKS gate, request filtering, deadlines and context recycling."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        settings = crawler.settings
        self.options = RenderOptions.from_settings(settings)
        policy = NetworkPolicy.from_values(
            settings.getbool("NETPATROL_ALLOW_PRIVATE_NETWORKS"), settings.getlist("NETPATROL_ALLOWED_NETWORKS")
        )
        self.gate = SocksGate(policy, connect_timeout=min(10.0, self.options.timeout), count=self._count)
        self.pages = PageRegistry()
        self.abort_request = BrowserRequestFilter(
            policy, self.pages, self.options.block_types, self.options.max_navigations, self.gate, self._count
        )
        launch = dict(self.config.launch_options)
        launch["args"] = list(launch.get("args") or []) + [
            f"--proxy-server={self.gate.url}",
            "--proxy-bypass-list=<-loopback>",  # loopback too goes through the gate
            # Host names go to the gate unresolved (SOCKS5); Chromium itself never needs DNS (nor prefetches it).
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
        ]
        self.config.launch_options = launch
        # Playwright's driver starts with the first rendered page, not with the crawl: an `auto`
        # target that meets no JavaScript page never pays for it.
        crawler.signals.disconnect(self._maybe_launch_in_thread, signals.engine_started)
        self._launch_lock = asyncio.Lock()
        self._launched = False
        self._closing = False
        self._open: dict[int, Page] = {}
        self._generation = 0
        self._served = 0
        # scrapy-playwright logs each failed page with a traceback; the run counts them instead.
        logging.getLogger("scrapy-playwright").setLevel(max(logging.ERROR, logging.getLogger().level))

    # --- accounting ---
    def _count(self, key: str, value: int = 1) -> None:
        if self.stats is not None:
            self.stats.inc_value(key, value)

    # --- the rendered request ---
    async def download_request(self, request: Request) -> Response:  # type: ignore[override]
        if not request.meta.get("playwright"):
            return await super().download_request(request)
        await self._start()
        self._count("netpatrol/render/requests")
        hit_check = request.meta.get("netpatrol_hit_check")
        for attempt in (1, 2):
            request.meta["netpatrol_hit_check"] = hit_check
            self._prepare(request)
            try:
                response = await asyncio.wait_for(super().download_request(request), self.options.deadline)
                break
            except asyncio.TimeoutError:
                raise RenderTimeout(f"rendering took longer than {self.options.deadline:.0f}s") from None
            except (IgnoreRequest, RenderError):
                raise
            except Exception as exc:
                kind = render_error_kind(exc)
                if kind == "browser_closed" and attempt == 1 and not self._closing:
                    # The browser died under this page: once it has been dropped, try the page again (a relaunch).
                    await self._await_browser_reset()
                    self._count("netpatrol/render/retried_after_browser_loss")
                    continue
                page = self._open.get(id(request))
                state = self.pages.find(page) if page is not None else None
                if state is not None and state.downloads and kind in ("timeout", "failed"):
                    kind = "download"  # a page that only starts a download never finishes loading
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise RenderError(first, kind) from exc
            finally:
                await self._release(request)
        else:  # pragma: no cover - every attempt breaks, continues once or raises
            raise RenderError("rendering was not attempted")
        self._count("netpatrol/render/pages")
        snapshot = request.meta.pop("netpatrol_snapshot", None)
        if snapshot is not None and isinstance(response, TextResponse):
            # The HTML the hit check and the screenshot saw, not a later read of a page that kept changing.
            url, html = snapshot
            response = response.replace(url=url, body=html.encode("utf-8"), encoding="utf-8")
        return response

    async def _await_browser_reset(self, seconds: float = 10.0) -> None:
        """Wait until a disconnected browser has been dropped (scrapy-playwright relaunches on the next page)."""
        deadline = asyncio.get_running_loop().time() + seconds
        while asyncio.get_running_loop().time() < deadline:
            browser = getattr(self, "browser", None)
            if browser is None or browser.is_connected():
                return
            await asyncio.sleep(0.05)

    async def _start(self) -> None:
        async with self._launch_lock:
            if not self._launched:
                await self.gate.start()
                await self._maybe_launch_in_thread()
                self._launched = True

    def _context_name(self) -> str:
        if self._served >= self.options.recycle_after:
            self._generation += 1
            self._served = 0
            self._count("netpatrol/render/contexts_recycled")
        self._served += 1
        return f"{CONTEXT_PREFIX}-{self._generation}"

    def _prepare(self, request: Request) -> None:
        """Fill the scrapy-playwright meta of a rendered request (context, page set-up, actions, goto)."""
        meta = request.meta
        meta["playwright_context"] = self._context_name()
        meta["playwright_context_kwargs"] = self.options.context_kwargs()
        meta["playwright_include_page"] = False
        meta["playwright_page_init_callback"] = self._init_page
        meta["playwright_page_goto_kwargs"] = {"wait_until": "load", "timeout": self.options.timeout * 1000}
        meta["playwright_page_methods"] = [PageMethod(self._after_load, request)]
        meta["netpatrol_budget"] = Budget.of(self.options.timeout)

    async def _init_page(self, page: Page, request: Request) -> None:
        """Runs before the page navigates (scrapy-playwright's page init callback)."""
        self._open[id(request)] = page
        await harden_page(page, self.pages.state(page), self.gate, self._count)

    async def _after_load(self, page: Page, request: Request) -> None:
        """Runs once the page has loaded: stop runaway pages, run actions, capture evidence of hits."""
        state = self.pages.state(page)
        if state.navigation_limit_hit:
            raise RenderAborted(f"the page kept navigating (more than {self.options.max_navigations} times); stopped",
                                "redirect_loop")
        budget: Budget = request.meta["netpatrol_budget"]
        actions = request.meta.get("netpatrol_actions")
        await run_actions(page, state, actions, budget, self._count)
        if page.url.startswith("chrome-error:"):
            raise RenderAborted("the page navigated to an address that failed or was refused", "navigation_failed")
        snapshot = (page.url, await page.content())
        hit_check = request.meta.get("netpatrol_hit_check")
        if self.options.screenshots and hit_check is not None and hit_check(*snapshot):
            shot = await capture_evidence(
                page, state, actions, Budget.of(self.options.timeout), self.options.screenshot_max_height, self._count
            )
            if shot is not None:
                png, taken_at, snapshot = shot
                request.meta["netpatrol_screenshot"], request.meta["netpatrol_screenshot_at"] = png, taken_at
                self._count("netpatrol/render/screenshots")
        request.meta["netpatrol_snapshot"] = snapshot

    async def _release(self, request: Request) -> None:
        """Close the request's page whatever happened; retire contexts that have served their turn."""
        for key in ("playwright_page_methods", "playwright_page_init_callback", "netpatrol_hit_check", "netpatrol_budget"):
            request.meta.pop(key, None)  # no page-bound callables travel on to the spider
        page = self._open.pop(id(request), None)
        if page is not None and not page.is_closed():
            self._count("netpatrol/render/pages_closed_by_netpatrol")
            try:
                await asyncio.wait_for(page.close(run_before_unload=False), self.options.close_timeout)
            except (PlaywrightError, asyncio.TimeoutError) as exc:
                logger.warning("page of %s did not close (%s); closing its context", request.url, exc)
                self._count("netpatrol/render/close_failed")
                with suppress(PlaywrightError, asyncio.TimeoutError):
                    await asyncio.wait_for(page.context.close(), self.options.close_timeout)
        if page is not None:
            self.pages.forget(page)
        await self._retire_contexts()
        if self.stats is not None:  # its last value is what a run left open: 0 unless a page leaked
            self.stats.set_value("netpatrol/render/pages_open", self.open_pages() + len(self._open))

    async def _retire_contexts(self) -> None:
        current = f"{CONTEXT_PREFIX}-{self._generation}"
        for name, wrapper in list(self.context_wrappers.items()):
            if name != current and not wrapper.context.pages:
                self.context_wrappers.pop(name, None)
                with suppress(PlaywrightError, asyncio.TimeoutError):
                    await asyncio.wait_for(wrapper.context.close(), self.options.close_timeout)

    async def _browser_disconnected_callback(self) -> None:
        if not self._closing:
            self._count("netpatrol/render/browser_restarts")  # relaunched with the next page
            logger.warning("the browser went away (crashed or killed); it is relaunched for the next page")
        dead = list(self.context_wrappers.values())
        await super()._browser_disconnected_callback()
        # Requests waiting for a page slot in a dead context would wait forever (its pages never report
        # closing): wake them; they fail on the closed context and scrapy-playwright retries them anew.
        for wrapper in dead:
            for _ in range(self.config.max_pages_per_context):
                wrapper.semaphore.release()

    def open_pages(self) -> int:
        return sum(len(w.context.pages) for w in self.context_wrappers.values())

    async def close(self) -> None:
        self._closing = True
        try:
            await super().close()
        finally:
            await self.gate.close()
