"""Record each crawl as a run in the store: started, heartbeat while going, finished with its status."""

from __future__ import annotations

import logging
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.spiders import Spider
from twisted.internet.task import LoopingCall

from crawler.config.schema import FailurePolicy
from crawler.runtime.context import config_from, matcher_from_config, store_for, target_from
from crawler.runtime.run_status import classify
from pipelines.stores.base import Run, Store, iso, utcnow

logger = logging.getLogger(__name__)


def run_figures(stats: dict[str, Any]) -> tuple[int, int]:
    """(pages, errors) of a run from its Scrapy stats."""
    return int(stats.get("netpatrol/pages", 0)), int(stats.get("netpatrol/fetch/errors", 0))


class RunRecorder:
    def __init__(
        self,
        crawler: Crawler,
        store: Store,
        run_id: str,
        target: str,
        kind: str,
        rules_version: str,
        policy: FailurePolicy,
        heartbeat_seconds: float,
    ) -> None:
        self.crawler = crawler
        self.store = store
        self.run_id = run_id
        self.target = target
        self.kind = kind
        self.rules_version = rules_version
        self.policy = policy
        self.heartbeat_seconds = heartbeat_seconds
        self.task: LoopingCall | None = None
        self.final: Run | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "RunRecorder":
        settings = crawler.settings
        run_id = settings.get("NETPATROL_RUN_ID")
        if not run_id:
            raise NotConfigured("no NETPATROL_RUN_ID: not a netpatrol run")
        loaded = config_from(settings)
        target = target_from(settings)
        recorder = cls(
            crawler,
            store_for(crawler),
            run_id,
            target.name,
            target.type,
            matcher_from_config(loaded).ruleset.version,
            loaded.config.failure_for(target),
            settings.getfloat("NETPATROL_HEARTBEAT_SECONDS", 10.0),
        )
        crawler.signals.connect(recorder.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(recorder.spider_closed, signal=signals.spider_closed)
        return recorder

    def spider_opened(self, spider: Spider) -> None:
        self.store.start_run(
            Run(id=self.run_id, target=self.target, kind=self.kind, started_at=iso(utcnow()) or "",
                rules_version=self.rules_version)
        )
        self.task = LoopingCall(self.heartbeat)
        self.task.start(self.heartbeat_seconds, now=False)

    def heartbeat(self) -> None:
        stats = self.crawler.stats.get_stats() if self.crawler.stats else {}
        pages, errors = run_figures(stats)
        try:
            self.store.heartbeat(self.run_id, pages, errors, int(stats.get("netpatrol/stored/observations", 0)))
        except Exception as exc:  # a heartbeat must never stop a crawl
            logger.warning("run %s: heartbeat not recorded: %s", self.run_id, exc)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.task is not None and self.task.running:
            self.task.stop()
        stats = self.crawler.stats.get_stats() if self.crawler.stats else {}
        pages, errors = run_figures(stats)
        queries = None
        if self.kind == "search":
            queries = (int(stats.get("netpatrol/search/queries", 0)), int(stats.get("netpatrol/search/queries_lost", 0)))
        status = classify(pages, errors, reason, self.policy, queries)
        summary = {k: v for k, v in stats.items() if k.startswith("netpatrol/")}
        summary["finish_reason"] = reason
        self.final = self.store.finish_run(self.run_id, status, pages, errors, summary)
        setattr(self.crawler, "netpatrol_run", self.final)
