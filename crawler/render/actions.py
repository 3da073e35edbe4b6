"""What runs on a rendered page between loading and reading it: the target's actions, then evidence capture.

Actions are forgiving: a `wait_for` selector that never shows, or a 'load more' button
that disappears, ends that action and is counted; the page is still read. Every step
is bounded by the time left of the page's budget.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any, Callable

from playwright.async_api import Error as PlaywrightError, Page

from crawler.render.routing import PageState
from pipelines.stores.base import iso, utcnow

logger = logging.getLogger(__name__)

SCROLL_SETTLE_MS = 200  # time for a scroll or click handler to start fetching the next batch
CLICK_SETTLE_MS = 200
QUIET_MAX_SECONDS = 3.0  # a page whose requests never settle is read after this long


@dataclass
class Budget:
    """A deadline shared by the steps of one page."""

    deadline: float

    @classmethod
    def of(cls, seconds: float) -> "Budget":
        return cls(time.monotonic() + seconds)

    def left_ms(self, floor: float = 100.0) -> float:
        return max(floor, (self.deadline - time.monotonic()) * 1000)

    @property
    def spent(self) -> bool:
        return time.monotonic() >= self.deadline


async def wait_quiet(page: Page, state: PageState, budget: Budget, count: Callable[[str], None]) -> bool:
    """Wait until the page has no request in flight and the scripts that handled the last ones have run.

    Playwright's own "networkidle" waits 500 ms of silence on every page; a listing filled by
    fetch() is complete as soon as its requests are done and their callbacks ran, which is
    what this waits for. Bounded by QUIET_MAX_SECONDS and the page's budget.
    """
    deadline = min(budget.deadline, time.monotonic() + QUIET_MAX_SECONDS)
    while time.monotonic() < deadline:
        if not state.inflight:
            # One macrotask in the page: the fetch().then() callbacks of finished requests run first.
            try:
                await page.evaluate("() => new Promise((resolve) => setTimeout(resolve, 0))")
            except PlaywrightError:  # the page is navigating: wait for the new document's requests
                await asyncio.sleep(0.05)
                continue
            if not state.inflight:
                return True
        await asyncio.sleep(0.01)
    count("netpatrol/render/not_quiet")
    return False


async def _settle(page: Page, state: PageState, budget: Budget, pause_ms: float, count: Callable[[str], None]) -> None:
    """Give the page time to fetch and insert what the last action asked for."""
    await page.wait_for_timeout(min(pause_ms, budget.left_ms(0)))
    await wait_quiet(page, state, budget, count)


async def run_actions(page: Page, state: PageState, actions: Any, budget: Budget, count: Callable[[str], None]) -> None:
    """Wait for the page to settle, then wait_for, scroll N times, click 'load more' while it is there."""
    await wait_quiet(page, state, budget, count)
    if actions is None:
        return
    if actions.wait_for:
        try:
            await page.wait_for_selector(actions.wait_for, timeout=budget.left_ms())
        except PlaywrightError:
            count("netpatrol/render/actions/wait_for_missed")
    for _ in range(actions.scroll):
        if budget.spent:
            count("netpatrol/render/actions/out_of_time")
            break
        before = await page.evaluate("document.documentElement.scrollHeight")
        await page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
        count("netpatrol/render/actions/scrolls")
        await _settle(page, state, budget, SCROLL_SETTLE_MS, count)
        after = await page.evaluate("document.documentElement.scrollHeight")
        if after <= before:  # nothing more came: the listing is exhausted
            break
    if actions.click:
        for _ in range(actions.click_times):
            if budget.spent:
                count("netpatrol/render/actions/out_of_time")
                break
            button = page.locator(actions.click).first
            try:
                if not await button.is_visible(timeout=0):
                    break
                await button.click(timeout=min(5000, budget.left_ms()))
            except PlaywrightError:
                break
            count("netpatrol/render/actions/clicks")
            await _settle(page, state, budget, CLICK_SETTLE_MS, count)


async def capture_evidence(
    page: Page,
    state: PageState,
    actions: Any,
    budget: Budget,
    max_height: int,
    count: Callable[[str], None],
) -> tuple[bytes, str, tuple[str, str]] | None:
    """Take a full-page PNG of a hit, after reloading it with the images and fonts that were blocked.

    Returns (png, taken_at, (url, html) of what was screenshotted) or None: a failed screenshot
    never fails the page, it is counted.
    """
    try:
        if state.allow_resources is False and state.blocked:
            state.allow_resources = True
            state.navigations -= 1  # the reload is ours, not the page's
            await page.reload(wait_until="load", timeout=budget.left_ms())
            await run_actions(page, state, actions, budget, count)
        state.allow_resources = True
        height = await page.evaluate("Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0)")
        width = page.viewport_size["width"] if page.viewport_size else 1280
        options: dict[str, Any] = {"full_page": True, "type": "png", "animations": "disabled", "timeout": budget.left_ms()}
        if height > max_height:
            options["clip"] = {"x": 0, "y": 0, "width": width, "height": max_height}
            count("netpatrol/render/screenshots/cut")
        png = await page.screenshot(**options)
        taken_at = iso(utcnow()) or ""
        return png, taken_at, (page.url, await page.content())
    except (PlaywrightError, asyncio.TimeoutError) as exc:
        logger.warning("screenshot of %s failed: %s", page.url, str(exc).splitlines()[0] if str(exc) else exc)
        count("netpatrol/render/screenshots/failed")
        return None
