"""Run `netpatrol verify`: one Scrapy crawl per target over its tracked items, all in one reactor.

Each target's items are fetched with that target's politeness, robots policy, rendering
and the private-network guard, exactly as a patrol run fetches them. No run is recorded:
the outcome is the items' status history.
"""

from __future__ import annotations

import secrets
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from scrapy.crawler import AsyncCrawlerProcess, Crawler

from crawler.config.schema import LoadedConfig
from pipelines.errors import UsageError
from crawler.render.browser import find_browser, render_settings
from crawler.runtime.runner import base_settings, target_settings
from crawler.spiders.verify import VerifySpider
from crawler.verify.classify import Outcome
from crawler.config.stores import open_store
from pipelines.stores.tracking import CHECKABLE_STATUSES, TrackedItem

_INTERRUPTED = {"shutdown", "cancelled", "interrupted"}


@dataclass
class VerifyResult:
    verify_id: str
    candidates: int
    checked: list[dict[str, Any]] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # canonical URL -> why it was not checked
    unconfigured: list[str] = field(default_factory=list)  # items of targets no longer in the config
    interrupted: bool = False

    def by_status(self) -> dict[str, int]:
        return dict(sorted(Counter(c["status"] for c in self.checked).items()))

    def as_json(self) -> dict[str, Any]:
        return {
            "verify_id": self.verify_id,
            "candidates": self.candidates,
            "checked": len(self.checked),
            "by_status": self.by_status(),
            "not_checked": self.candidates - len(self.checked),
            "skipped": self.skipped,
            "unconfigured_targets_items": self.unconfigured,
            "interrupted": self.interrupted,
            "items": self.checked,
        }


def new_verify_id() -> str:
    return f"verify-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


class _Reporter:
    """Progress: a rich bar per target on a terminal, a plain line every `every` checks otherwise."""

    def __init__(self, totals: dict[str, int], mode: str, every: int = 25) -> None:
        self.totals = totals
        self.done: Counter[str] = Counter()
        self.every = every
        use_bar = mode == "bar" or (mode == "auto" and sys.stderr.isatty())
        self.off = mode == "off"
        self.bar = Progress(TextColumn("[bold]{task.description:<20}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), console=Console(stderr=True)) if use_bar else None
        self.tasks = {t: self.bar.add_task(t, total=n) for t, n in totals.items()} if self.bar else {}

    def __call__(self, target: str, outcome: Outcome) -> None:
        self.done[target] += 1
        if self.bar is not None:
            self.bar.update(self.tasks[target], completed=self.done[target])
        elif not self.off and (self.done[target] % self.every == 0 or self.done[target] == self.totals[target]):
            print(f"verify {target}: {self.done[target]}/{self.totals[target]} checked", file=sys.stderr, flush=True)


def verify_round(
    loaded: LoadedConfig,
    target_names: list[str] | None = None,
    since: str | None = None,
    progress_mode: str = "auto",
) -> VerifyResult:
    """Check every item still considered online (online, changed, unreachable) of the selected targets."""
    configured = {t.name: t for t in loaded.config.targets}
    unknown = [n for n in (target_names or []) if n not in configured]
    if unknown:
        raise UsageError(f"unknown target(s) {', '.join(unknown)}; configured: {', '.join(sorted(configured)) or 'none'}")
    with open_store(loaded) as store:
        candidates = store.items(seen_since=since, statuses=CHECKABLE_STATUSES)
    wanted = set(target_names) if target_names else None
    if wanted is not None:
        candidates = [c for c in candidates if c.target in wanted]
    result = VerifyResult(new_verify_id(), len(candidates))
    groups: dict[str, list[TrackedItem]] = {}
    for item in candidates:
        if item.target in configured:
            groups.setdefault(item.target, []).append(item)
        else:
            result.unconfigured.append(item.url)
    if not groups:
        return result

    base = base_settings(loaded, progress_mode=progress_mode)
    base.set("ITEM_PIPELINES", {}, priority="cmdline")
    base.set("EXTENSIONS", {"crawler.extensions.progress.Progress": None}, priority="cmdline")
    process = AsyncCrawlerProcess(base)
    reporter = _Reporter({t: len(items) for t, items in groups.items()}, progress_mode)
    browser = find_browser(loaded.config.browser, loaded)
    crawlers: list[Crawler] = []
    for name, items in groups.items():
        target = configured[name]
        settings = target_settings(base, target, "")
        for key, value in render_settings(loaded, target, browser).items():
            settings.set(key, value, priority="spider")
        crawler = Crawler(VerifySpider, settings)
        crawlers.append(crawler)
        process.crawl(crawler, items=items, verify_id=result.verify_id,
                      batch=base.getint("NETPATROL_VERIFY_BATCH", 25), on_check=reporter)
    try:
        if reporter.bar is not None:
            with reporter.bar:
                process.start(install_signal_handlers=True)
        else:
            process.start(install_signal_handlers=True)
    finally:
        for crawler in crawlers:
            spider = crawler.spider
            if isinstance(spider, VerifySpider):
                for url, (item, outcome) in spider.results.items():
                    result.checked.append({
                        "url": item.url, "target": item.target, "previous": item.status, "status": outcome.status,
                        "reason": outcome.reason, "http_status": outcome.http_status,
                    })
                result.skipped.update(spider.skipped)
                if spider.close_reason in _INTERRUPTED or spider.close_reason is None:
                    result.interrupted = True
            connection = getattr(crawler, "_netpatrol_store", None)
            if connection is not None:
                connection.close()
    result.checked.sort(key=lambda c: c["url"])
    return result
