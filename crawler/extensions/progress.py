"""Show a run's progress: a rich progress bar per target on a terminal, plain log lines otherwise."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn, TimeElapsedColumn
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.spiders import Spider
from twisted.internet.task import LoopingCall


class ProgressBoard:
    """One rich display shared by every target of a round (created by the runner)."""

    def __init__(self, console: Console | None = None) -> None:
        self.progress = RichProgress(
            TextColumn("[bold]{task.fields[target]:<20}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("pages · [red]{task.fields[errors]}[/] errors · [green]{task.fields[hits]}[/] hits"),
            TimeElapsedColumn(),
            console=console or Console(stderr=True),
            transient=False,
        )

    def __enter__(self) -> "ProgressBoard":
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def add(self, target: str, total: int | None) -> Any:
        return self.progress.add_task(target, total=total, target=target, errors=0, hits=0)

    def update(self, task: Any, pages: int, errors: int, hits: int, done: bool = False) -> None:
        total = self.progress.tasks[task].total if task < len(self.progress.tasks) else None
        if done:
            total = max(pages, 1)
        elif total is not None and pages > total:
            total = pages
        self.progress.update(task, completed=pages, total=total, errors=errors, hits=hits)


# Set by the runner for the duration of a round; None means "log lines".
BOARD: ProgressBoard | None = None


def wants_bar(mode: str) -> bool:
    return mode == "bar" or (mode == "auto" and sys.stderr.isatty())


class Progress:
    """Extension: polls the crawl's stats and reports them."""

    def __init__(self, crawler: Crawler, target: str, total: int | None, log_seconds: float) -> None:
        self.crawler = crawler
        self.target = target
        self.total = total
        self.log_seconds = log_seconds
        self.task_id: Any = None
        self.loop: LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "Progress":
        mode = crawler.settings.get("NETPATROL_PROGRESS", "auto")
        if mode == "off":
            return cls(crawler, "", None, 0.0)  # inert: connected to nothing, and no "Disabled" warning
        from crawler.runtime.context import target_from

        target = target_from(crawler.settings)
        total = target.max_pages if target.type == "site" else len(target.queries) * target.pages
        ext = cls(crawler, target.name, total, crawler.settings.getfloat("NETPATROL_PROGRESS_LOG_SECONDS", 10.0))
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def _figures(self) -> tuple[int, int, int]:
        stats = self.crawler.stats.get_stats() if self.crawler.stats else {}
        return (
            int(stats.get("netpatrol/pages", 0)),
            int(stats.get("netpatrol/fetch/errors", 0)),
            int(stats.get("netpatrol/match/hits/page", 0)) + int(stats.get("netpatrol/match/hits/result", 0)),
        )

    def spider_opened(self, spider: Spider) -> None:
        if BOARD is not None:
            self.task_id = BOARD.add(self.target, self.total)
            self.loop = LoopingCall(self.tick)
            self.loop.start(0.3, now=True)
        else:
            self.loop = LoopingCall(self.log)
            self.loop.start(self.log_seconds, now=False)

    def tick(self) -> None:
        if BOARD is not None and self.task_id is not None:
            BOARD.update(self.task_id, *self._figures())

    def log(self) -> None:
        # Plain lines on stderr whatever LOG_LEVEL is: a non-terminal (cron, CI, systemd) still sees progress.
        pages, errors, hits = self._figures()
        stamp = datetime.now(timezone.utc).strftime("%H:%M:%S")
        print(f"{stamp} {self.target}: {pages} pages, {errors} errors, {hits} hits so far", file=sys.stderr, flush=True)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        if BOARD is not None and self.task_id is not None:
            BOARD.update(self.task_id, *self._figures(), done=True)
