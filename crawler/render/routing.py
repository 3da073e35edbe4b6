"""Inside the browser: what each page may request, and how hostile page behaviour is contained.

Every request a page makes passes `BrowserRequestFilter` (scrapy-playwright's abort hook on
its per-page route): non-web schemes and addresses the network policy refuses are aborted,
images/media/fonts are not loaded unless the page is being screenshotted, and a page that
keeps navigating (script redirect loops) is stopped. `harden_page` handles the rest:
dialogs dismissed, popups and window.open() suppressed, downloads cancelled, crashes noted.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlsplit

from playwright.async_api import Error as PlaywrightError, Page, Request as PlaywrightRequest

from crawler.runtime.netguard import AddressRefused, NetworkPolicy
from crawler.render.socks import SocksGate

logger = logging.getLogger(__name__)

WEB_SCHEMES = {"http", "https", "ws", "wss"}
LONG_LIVED = {"websocket", "eventsource"}  # never "finish": not waited for
# Pages cannot open windows; confirm()/prompt() answer "cancel", print() does nothing.
INIT_SCRIPT = """
(() => {
  const none = () => null;
  try { Object.defineProperty(window, 'open', {value: none, writable: false, configurable: false}); } catch (e) {}
  try { window.print = () => undefined; } catch (e) {}
})();
"""


@dataclass
class PageState:
    """What the filter and the handler know about one open page."""

    allow_resources: bool = False
    inflight: set[Any] = field(default_factory=set)  # requests started and not yet finished or failed
    navigations: int = 0
    navigation_limit_hit: bool = False
    crashed: bool = False
    refused: int = 0
    blocked: int = 0
    dialogs: int = 0
    popups: int = 0
    downloads: int = 0


class PageRegistry:
    """PageState per open page (weakly held: a closed, dropped page leaves nothing behind)."""

    def __init__(self) -> None:
        self._states: "weakref.WeakKeyDictionary[Any, PageState]" = weakref.WeakKeyDictionary()

    def state(self, page: Any) -> PageState:
        state = self._states.get(page)
        if state is None:
            state = self._states[page] = PageState()
        return state

    def find(self, page: Any) -> PageState | None:
        return self._states.get(page)

    def forget(self, page: Any) -> None:
        """Drop a finished page's state (its in-flight requests refer back to the page: no weak-key magic then)."""
        state = self._states.pop(page, None)
        if state is not None:
            state.inflight.clear()

    def __len__(self) -> int:
        return len(self._states)


class BrowserRequestFilter:
    """Return True to abort a browser request (scrapy-playwright's PLAYWRIGHT_ABORT_REQUEST contract)."""

    def __init__(
        self,
        policy: NetworkPolicy,
        pages: PageRegistry,
        block_types: frozenset[str],
        max_navigations: int,
        gate: SocksGate | None = None,
        count: Callable[[str], None] | None = None,
    ) -> None:
        self.policy = policy
        self.pages = pages
        self.block_types = block_types
        self.max_navigations = max_navigations
        self.gate = gate
        self.count = count or (lambda key: None)

    async def __call__(self, request: PlaywrightRequest) -> bool:
        url = request.url
        parts = urlsplit(url)
        if parts.scheme not in WEB_SCHEMES:
            self.count("netpatrol/render/aborted/scheme")
            return parts.scheme not in ("data", "blob", "about")
        state = self._state_of(request)
        if state is not None:
            if request.resource_type in self.block_types and not state.allow_resources:
                state.blocked += 1
                self.count("netpatrol/render/aborted/resource")
                return True
            if request.is_navigation_request() and self._is_main_frame(request):
                state.navigations += 1
                if state.navigations > self.max_navigations:
                    state.navigation_limit_hit = True
                    self.count("netpatrol/render/aborted/navigation_limit")
                    return True
        host = parts.hostname or ""
        try:
            if _is_literal(host):
                self.policy.check_url(url)
            else:  # name resolution blocks: off the event loop (answers are cached by the policy)
                await asyncio.get_running_loop().run_in_executor(None, self.policy.check_url, url)
        except AddressRefused as exc:
            if state is not None:
                state.refused += 1
            self.count("netpatrol/render/refused/private_network")
            logger.info("browser request refused: %s", exc)
            return True
        if self.gate is not None and host:
            self.gate.announce(host)
        return False

    def _state_of(self, request: PlaywrightRequest) -> PageState | None:
        try:
            return self.pages.find(request.frame.page)
        except PlaywrightError:  # service worker requests have no frame (workers are blocked anyway)
            return None

    @staticmethod
    def _is_main_frame(request: PlaywrightRequest) -> bool:
        try:
            return request.frame.parent_frame is None
        except PlaywrightError:
            return False


def _is_literal(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _spawn(coro: Any) -> None:
    """Fire and forget a page clean-up call; a page closing under it is not an error."""
    task = asyncio.ensure_future(coro)
    task.add_done_callback(lambda t: t.cancelled() or t.exception())


async def harden_page(page: Page, state: PageState, gate: SocksGate | None, count: Callable[[str], None]) -> None:
    """Contain a page before it loads: dialogs, popups, downloads, crashes, and announce redirect hops to the gate."""

    def on_dialog(dialog: Any) -> None:
        state.dialogs += 1
        count("netpatrol/render/dialogs")
        _spawn(dialog.dismiss())

    def on_popup(popup: Any) -> None:
        state.popups += 1
        count("netpatrol/render/popups")
        _spawn(popup.close())

    def on_download(download: Any) -> None:
        state.downloads += 1
        count("netpatrol/render/downloads_refused")
        _spawn(download.cancel())

    def on_crash(_page: Any) -> None:
        state.crashed = True
        count("netpatrol/render/crashes")

    def on_request(request: PlaywrightRequest) -> None:
        # Redirect hops never reach the route handler; their hosts are announced here for the gate.
        if gate is not None and request.redirected_from is not None:
            host = urlsplit(request.url).hostname
            if host:
                gate.announce(host)
        if request.resource_type not in LONG_LIVED:
            state.inflight.add(request)

    def on_done(request: PlaywrightRequest) -> None:
        state.inflight.discard(request)

    page.on("dialog", on_dialog)
    page.on("popup", on_popup)
    page.on("download", on_download)
    page.on("crash", on_crash)
    page.on("request", on_request)
    page.on("requestfinished", on_done)
    page.on("requestfailed", on_done)
    await page.add_init_script(INIT_SCRIPT)
