"""The worker side of one run: acknowledge finished requests, give back unfinished ones, stay open while the run is.

Every tick: flush the item pipelines (so what finished requests produced is written), then
acknowledge those requests with their counts; give back requests whose outputs could not reach
Redis; take back the leases of dead workers; close this crawler once the run is no longer open.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import signals
from scrapy.exceptions import DontCloseSpider, NotConfigured
from twisted.internet.task import LoopingCall

from crawler.frontier import scripts
from crawler.frontier.attribution import LEASE_META
from crawler.frontier.connection import REDIS_DOWN, connect, describe
from crawler.frontier.keys import GlobalKeys, RunKeys
from crawler.frontier.leases import LeaseBook, flat_counts, lease_book

logger = logging.getLogger(__name__)


class FrontierRun:
    def __init__(self, crawler: Any, server: Any, keys: RunKeys, book: LeaseBook, tick: float) -> None:
        self.crawler = crawler
        self.server = server
        self.keys = keys
        self.gkeys = GlobalKeys(keys.prefix)
        self.book = book
        self.tick_seconds = tick
        self.task: LoopingCall | None = None
        self.run_open = True
        self.down = False
        self._ack = server.register_script(scripts.ACK)
        self._release = server.register_script(scripts.RELEASE)
        self._reclaim = server.register_script(scripts.RECLAIM)
        self.pages_done = 0

    @classmethod
    def from_crawler(cls, crawler: Any) -> "FrontierRun":
        settings = crawler.settings
        if settings.get("NETPATROL_FRONTIER_ROLE") != "worker" or not settings.get("NETPATROL_FRONTIER_URL"):
            raise NotConfigured("not a frontier worker")
        keys = RunKeys(settings.get("NETPATROL_FRONTIER_PREFIX"), settings.get("NETPATROL_RUN_ID"))
        ext = cls(crawler, connect(settings.get("NETPATROL_FRONTIER_URL")), keys, lease_book(crawler),
                  settings.getfloat("NETPATROL_FRONTIER_TICK"))
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        crawler._netpatrol_frontier_run = ext
        return ext

    # --- signals ---
    def spider_opened(self, spider: Any) -> None:
        slot = self.crawler.engine.scraper.slot
        finish = slot.finish_response
        book = self.book

        def finish_response(result: Any, request: Any) -> None:
            # The scraper is through with this request: callback run, items through the pipelines.
            finish(result, request)
            book.finish(request.meta.get(LEASE_META))

        slot.finish_response = finish_response
        self.task = LoopingCall(self.tick)
        self.task.start(self.tick_seconds, now=False).addErrback(
            lambda f: logger.error("run %s: frontier tick stopped: %s", self.keys.run_id, f.getErrorMessage()))

    def spider_idle(self, spider: Any) -> None:
        if self.run_open:
            raise DontCloseSpider("the run is open: other workers may add requests")

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self.task is not None and self.task.running:
            self.task.stop()
        try:
            self.settle(final=True)
        except REDIS_DOWN as exc:
            logger.warning("run %s: leaving %d leases to expire (Redis unreachable: %s)",
                           self.keys.run_id, len(self.book.held), describe(exc))

    # --- the tick ---
    def tick(self) -> None:
        try:
            self.settle()
            self._reclaim(keys=[*self.keys.lease_keys(), self.keys.requests, self.keys.meta, self.gkeys.deadlines,
                                self.keys.stats])
            self.run_open = bool(self.server.exists(self.keys.meta))
        except REDIS_DOWN as exc:
            if not self.down:
                logger.warning("run %s: Redis unreachable (%s); waiting for it", self.keys.run_id, describe(exc))
            self.down = True
            return
        if self.down:
            logger.warning("run %s: Redis is back", self.keys.run_id)
            self.down = False
        if not self.run_open and self.crawler.engine is not None and self.crawler.engine.spider is not None:
            # Ended by `netpatrol run` (done, or interrupted), or lost with a Redis restart.
            from scrapy.utils.defer import deferred_from_coro

            deferred_from_coro(self.crawler.engine.close_spider_async(reason="run_closed"))

    def flush_pipelines(self) -> None:
        scraper = getattr(self.crawler.engine, "scraper", None)
        for pipe in getattr(getattr(scraper, "itemproc", None), "middlewares", ()):
            flush = getattr(pipe, "flush", None)
            if callable(flush):
                flush()

    def settle(self, final: bool = False) -> None:
        """Acknowledge finished leases (after a flush), give back tainted ones; at close also the unfinished."""
        done = self.book.take_done()
        tainted = [t for t, lease in self.book.held.items() if lease.tainted]
        if final:
            tainted += [t for t in self.book.unfinished() if t not in tainted]
        if done:
            self.flush_pipelines()
        try:
            pipe = self.server.pipeline(transaction=False)
            keys = [*self.keys.lease_keys(), self.keys.stats]
            for lease in done:
                if lease.tainted:
                    continue
                self._ack(keys=keys, args=[lease.token, *flat_counts(lease.counts)], client=pipe)
            loose = self.book.take_loose()
            if loose and self.run_open:
                for key, value in loose.items():
                    pipe.hincrby(self.keys.stats, key, value)
            if tainted or any(lease.tainted for lease in done):
                tokens = tainted + [lease.token for lease in done if lease.tainted]
                self._release(keys=[*self.keys.lease_keys(), self.keys.requests, self.keys.meta], args=tokens,
                              client=pipe)
            pipe.execute()
        except REDIS_DOWN:
            self.book.give_back(done)
            for key, value in locals().get("loose", {}).items():
                self.book.loose[key] += value
            raise
        for token in tainted:
            self.book.held.pop(token, None)
        self.pages_done += sum(lease.counts.get("netpatrol/pages", 0) for lease in done if not lease.tainted)
