"""`netpatrol worker`: one process that crawls every open run of the shared frontier.

Each open run gets its own Scrapy crawler in this process (its own target settings, scheduler,
pipelines), fed from the run's Redis queue. The worker renews its deadline every tick; a worker
that stops beating loses its leases to the others.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import time
from collections import deque
from typing import Any

from scrapy.crawler import AsyncCrawlerProcess, Crawler
from scrapy.settings import Settings

from crawler.config.schema import LoadedConfig, SiteTarget
from crawler.frontier.connection import REDIS_DOWN, connect, describe
from crawler.frontier.keys import GlobalKeys
from crawler.frontier.registry import Registry
from pipelines.errors import UsageError
from pipelines.stores.base import iso, utcnow

logger = logging.getLogger(__name__)


def frontier_settings(settings: Settings, loaded: LoadedConfig, role: str, worker: str | None = None) -> None:
    """The settings every crawler of a frontier run needs, seeding (`run`) or working (`worker`)."""
    frontier = loaded.config.frontier
    settings.set("NETPATROL_FRONTIER_URL", frontier.url, priority="project")
    settings.set("NETPATROL_FRONTIER_PREFIX", frontier.prefix, priority="project")
    settings.set("NETPATROL_FRONTIER_LEASE", frontier.lease, priority="project")
    settings.set("NETPATROL_FRONTIER_RECONNECT_WAIT", frontier.reconnect_wait, priority="project")
    settings.set("NETPATROL_FRONTIER_ROLE", role, priority="project")
    if role != "worker":
        return
    settings.set("NETPATROL_FRONTIER_WORKER", worker, priority="project")
    settings.set("SCHEDULER", "crawler.frontier.scheduler.FrontierScheduler", priority="project")
    settings.set("STATS_CLASS", "crawler.frontier.stats.FrontierStatsCollector", priority="project")
    extensions = dict(settings.getdict("EXTENSIONS"))
    extensions.update({
        "crawler.extensions.run_recorder.RunRecorder": None,  # `netpatrol run` records the run
        "crawler.extensions.alerts.SpikeAlerts": None,  # ... and sends its alerts
        "crawler.extensions.progress.Progress": None,  # the worker prints its own lines
        "crawler.frontier.extension.FrontierRun": 100,
    })
    settings.set("EXTENSIONS", extensions, priority="project")
    middlewares = dict(settings.getdict("SPIDER_MIDDLEWARES"))
    middlewares.update({
        "crawler.frontier.attribution.AttributionMiddleware": 10,
        "crawler.frontier.attribution.SeededElsewhere": 20,
    })
    settings.set("SPIDER_MIDDLEWARES", middlewares, priority="project")
    pipelines = dict(settings.getdict("ITEM_PIPELINES"))
    order = pipelines.pop("pipelines.storage.StoragePipeline", 400)
    pipelines["crawler.frontier.storage.FrontierStoragePipeline"] = order
    settings.set("ITEM_PIPELINES", pipelines, priority="project")


def default_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Worker:
    def __init__(self, loaded: LoadedConfig, concurrency: int | None = None, name: str | None = None,
                 log_level: str | None = None) -> None:
        frontier = loaded.config.frontier
        if frontier.backend != "redis" or not frontier.url:
            raise UsageError(f"{loaded.path}: workers need a shared frontier: frontier: {{backend: redis, url: redis://...}}")
        self.loaded = loaded
        self.frontier = frontier
        self.concurrency = concurrency
        self.name = name or default_name()
        self.log_level = log_level
        self.server = connect(frontier.url)
        self.registry = Registry(self.server, frontier.prefix)
        self.gkeys = GlobalKeys(frontier.prefix)
        self.crawlers: dict[str, Crawler] = {}
        self.ended: set[str] = set()  # runs this worker has finished crawling (never started again)
        self.skipped: set[str] = set()
        self.down_since: float | None = None
        self.started_at = iso(utcnow())
        self.samples: deque[tuple[float, int]] = deque()
        self.pages_before = 0  # acknowledged pages of crawlers already closed
        self.last_line = 0.0
        self.stopping = False

    # --- settings ---
    def base(self) -> Settings:
        from crawler.runtime.runner import base_settings

        settings = base_settings(self.loaded, self.log_level, "off")
        frontier_settings(settings, self.loaded, "worker", self.name)
        settings.set("NETPATROL_FRONTIER_TICK", max(0.2, min(1.0, self.frontier.lease / 3)), priority="project")
        return settings

    def run_settings(self, base: Settings, target: Any, run_id: str) -> Settings:
        from crawler.render.browser import find_browser, render_settings
        from crawler.runtime.runner import target_settings

        settings = target_settings(base, target, run_id)
        for key, value in render_settings(self.loaded, target, find_browser(self.loaded.config.browser, self.loaded)).items():
            settings.set(key, value, priority="spider")
        if self.concurrency:
            settings.set("CONCURRENT_REQUESTS", self.concurrency, priority="cmdline")
            settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", min(self.concurrency, target.politeness.concurrency),
                         priority="cmdline")
        return settings

    # --- the process ---
    def run(self) -> int:
        self.settings = self.base()
        self.process = AsyncCrawlerProcess(self.settings)
        from twisted.internet import reactor
        from twisted.internet.task import LoopingCall

        self.tick_seconds = max(0.2, min(2.0, self.frontier.lease / 3))
        self.loop = LoopingCall(self.tick)

        def begin() -> None:
            self.loop.start(self.tick_seconds, now=True).addErrback(
                lambda f: self.say(f"tick stopped: {f.getErrorMessage()}"))

        reactor.callWhenRunning(begin)  # type: ignore[attr-defined]
        self.say(f"worker {self.name} started (pid {os.getpid()}), frontier {redacted(self.frontier.url or '')}")
        try:
            self.process.start(stop_after_crawl=False, install_signal_handlers=True)
        finally:
            self.stopping = True
            try:
                self.registry.leave(self.name)
            except REDIS_DOWN:
                pass
        self.say(f"worker {self.name} stopped")
        return 0

    def say(self, line: str) -> None:
        print(f"netpatrol: {line}", file=sys.stderr, flush=True)

    def pages_done(self) -> int:
        total = self.pages_before
        for crawler in self.crawlers.values():
            ext = getattr(crawler, "_netpatrol_frontier_run", None)
            if ext is not None:
                total += ext.pages_done
        return total

    def pages_per_minute(self) -> float:
        now = time.monotonic()
        self.samples.append((now, self.pages_done()))
        while len(self.samples) > 2 and self.samples[0][0] < now - 60:
            self.samples.popleft()
        (t0, p0), (t1, p1) = self.samples[0], self.samples[-1]
        return 0.0 if t1 - t0 < 1e-6 else (p1 - p0) * 60.0 / (t1 - t0)

    def tick(self) -> None:
        if self.stopping:
            return
        try:
            self._tick()
        except Exception as exc:  # the heartbeat must go on whatever one round met
            self.say(f"worker {self.name}: tick failed: {type(exc).__name__}: {exc}")

    def _tick(self) -> None:
        try:
            rate = self.pages_per_minute()
            self.registry.beat(self.name, self.frontier.lease, {
                "host": socket.gethostname(), "pid": os.getpid(), "started_at": self.started_at,
                "heartbeat": iso(utcnow()), "runs": sorted(self.crawlers), "pages": self.pages_done(),
                "pages_per_minute": round(rate, 1), "concurrency": self.concurrency, "lease": self.frontier.lease,
            })
            runs = self.server.hgetall(self.gkeys.runs)
        except REDIS_DOWN as exc:
            if self.down_since is None:
                self.down_since = time.monotonic()
                self.say(f"Redis unreachable ({describe(exc)}); waiting and retrying")
            return
        if self.down_since is not None:
            self.say(f"Redis is back after {time.monotonic() - self.down_since:.0f} s")
            self.down_since = None
        for raw_id, raw in runs.items():
            run_id = raw_id.decode() if isinstance(raw_id, bytes) else raw_id
            if run_id in self.crawlers or run_id in self.ended or run_id in self.skipped:
                continue
            self.start_run(run_id, json.loads(raw))
        now = time.monotonic()
        if now - self.last_line >= 30:
            self.last_line = now
            self.say(f"worker {self.name}: {len(self.crawlers)} open run(s), {self.pages_done()} pages,"
                     f" {rate:.0f} pages/min")

    def start_run(self, run_id: str, info: dict[str, Any]) -> None:
        try:
            target = self.loaded.config.target(info.get("target", ""))
        except KeyError:
            self.skipped.add(run_id)
            self.say(f"run {run_id}: target {info.get('target')!r} is not in {self.loaded.path}; not crawled here")
            return
        from crawler.spiders.search import SearchSpider
        from crawler.spiders.site import SiteSpider

        spider_cls = SiteSpider if isinstance(target, SiteTarget) else SearchSpider
        crawler = Crawler(spider_cls, self.run_settings(self.settings, target, run_id))
        self.crawlers[run_id] = crawler
        self.say(f"run {run_id} ({target.name}): crawling")

        def ended(result: Any) -> None:
            ext = getattr(crawler, "_netpatrol_frontier_run", None)
            self.pages_before += ext.pages_done if ext is not None else 0
            self.crawlers.pop(run_id, None)
            self.ended.add(run_id)
            store = getattr(crawler, "_netpatrol_store", None)
            if store is not None:
                store.close()
            if hasattr(result, "getErrorMessage"):
                self.say(f"run {run_id}: crawler failed: {result.getErrorMessage()}")
            else:
                self.say(f"run {run_id} ({target.name}): done here")

        started = self.process.crawl(crawler)
        if hasattr(started, "addBoth"):
            started.addBoth(ended)
        else:  # an asyncio task (AsyncCrawlerProcess without a Twisted reactor)
            started.add_done_callback(lambda task: ended(_Failed(task.exception()) if task.exception() else None))


class _Failed:
    def __init__(self, exc: BaseException | None) -> None:
        self.exc = exc

    def getErrorMessage(self) -> str:
        return f"{type(self.exc).__name__}: {self.exc}"


def redacted(url: str) -> str:
    """A Redis URL without its password, for log lines."""
    import re

    return re.sub(r"//([^:/@]*):[^@/]*@", r"//\1:***@", url)
