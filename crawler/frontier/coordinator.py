"""`netpatrol run` with a Redis frontier: create each run, seed its queue, wait for the workers, record it.

A run ends when its queue is empty and no worker holds a lease on it; its figures are then the
workers' summed, lease-acknowledged stats, classified exactly as a single-process run's are.
If Redis loses the run (restarted without its data) or stays unreachable longer than
`frontier.reconnect_wait`, or `run` is stopped, the run ends `interrupted` with what it had.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from scrapy.crawler import Crawler
from scrapy.settings import Settings

from crawler.config.schema import LoadedConfig, SearchTarget, SiteTarget
from crawler.frontier import scripts
from crawler.frontier.connection import REDIS_DOWN, connect, describe
from crawler.frontier.keys import GlobalKeys, RunKeys
from crawler.frontier.queue import seed_queue
from crawler.frontier.storage import search_figures
from crawler.frontier.worker import frontier_settings
from crawler.runtime.run_status import classify
from pipelines.stores.base import Run, SearchTotal, Store, iso, utcnow

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.5


@dataclass
class OpenRun:
    run_id: str
    target: SiteTarget | SearchTarget
    keys: RunKeys
    stats: dict[str, int] = field(default_factory=dict)
    remaining: int = -1
    note: str | None = None


def _decode_stats(raw: dict[Any, Any]) -> dict[str, int]:
    return {(k.decode() if isinstance(k, bytes) else k): int(v) for k, v in raw.items()}


class Coordinator:
    def __init__(self, loaded: LoadedConfig, store: Store, base: Settings, progress: bool = True) -> None:
        frontier = loaded.config.frontier
        assert frontier.url
        self.loaded = loaded
        self.store = store
        self.base = base
        self.progress = progress
        self.frontier = frontier
        self.server = connect(frontier.url)
        self.gkeys = GlobalKeys(frontier.prefix)
        self.open: dict[str, OpenRun] = {}
        self.finished: list[Run] = []
        self.stop_reason: str | None = None
        self._remaining = self.server.register_script(scripts.REMAINING)
        self._reclaim = self.server.register_script(scripts.RECLAIM)

    # --- starting ---
    def start(self, target: SiteTarget | SearchTarget, run_id: str, settings: Settings, rules_version: str) -> str | None:
        """Open and seed one run; return why it cannot start, or None."""
        keys = RunKeys(self.frontier.prefix, run_id)
        lock = self.gkeys.target_lock(target.name)
        lock_ms = int(max(self.frontier.lease, 10) * 3000)
        try:
            if not self.server.set(lock, run_id, nx=True, px=lock_ms):
                holder = self.server.get(lock)
                holder = holder.decode() if isinstance(holder, bytes) else holder
                return f"run {holder} of this target is still open in the frontier"
        except REDIS_DOWN as exc:
            return f"the frontier's Redis is unreachable: {describe(exc)}"
        started = iso(utcnow()) or ""
        try:
            self.server.hset(keys.meta, mapping={"target": target.name, "started_at": started})
            requests = _start_requests(settings)
            queue = seed_queue(self.server, requests[1], keys) if requests[0] else None
            for request in requests[0]:
                assert queue is not None
                queue.push(request)
            self.server.hset(self.gkeys.runs, run_id, json.dumps({"target": target.name, "started_at": started}))
        except REDIS_DOWN as exc:
            self._forget(keys, target.name)
            return f"the frontier's Redis is unreachable: {describe(exc)}"
        self.store.start_run(Run(id=run_id, target=target.name, kind=target.type, started_at=started,
                                 rules_version=rules_version))
        self.open[run_id] = OpenRun(run_id, target, keys)
        self.say(f"run {run_id} ({target.name}): {len(requests[0])} start request(s) queued; waiting for workers")
        return None

    # --- waiting ---
    def wait(self) -> list[Run]:
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        down_since: float | None = None
        last_line = last_beat = time.monotonic()
        try:
            while self.open:
                if self.stop_reason:
                    for run in list(self.open.values()):
                        self.finish(run, self.stop_reason)
                    break
                try:
                    self.poll()
                except REDIS_DOWN as exc:
                    now = time.monotonic()
                    if down_since is None:
                        down_since = now
                        self.say(f"Redis unreachable ({describe(exc)}); waiting up to"
                                 f" {self.frontier.reconnect_wait:.0f} s for it")
                    elif now - down_since > self.frontier.reconnect_wait:
                        for run in list(self.open.values()):
                            run.note = f"Redis unreachable for {now - down_since:.0f} s"
                            self.finish(run, "interrupted")
                        break
                    time.sleep(POLL_SECONDS)
                    continue
                if down_since is not None:
                    self.say(f"Redis is back after {time.monotonic() - down_since:.0f} s")
                    down_since = None
                now = time.monotonic()
                if now - last_beat >= self.base.getfloat("NETPATROL_HEARTBEAT_SECONDS", 10.0):
                    last_beat = now
                    self.heartbeat()
                if self.progress and now - last_line >= self.base.getfloat("NETPATROL_PROGRESS_LOG_SECONDS", 10.0):
                    last_line = now
                    for run in self.open.values():
                        self.say(f"run {run.run_id}: {run.stats.get('netpatrol/pages', 0)} pages,"
                                 f" {run.stats.get('netpatrol/fetch/errors', 0)} errors, {run.remaining} requests"
                                 " queued or leased")
                if self.open:
                    time.sleep(POLL_SECONDS)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return self.finished

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.stop_reason = "shutdown"
        self.say("stopping: open runs end `interrupted`")

    def poll(self) -> None:
        for run in list(self.open.values()):
            keys = run.keys
            self._reclaim(keys=[*keys.lease_keys(), keys.requests, keys.meta, self.gkeys.deadlines, keys.stats])
            remaining = int(self._remaining(keys=[keys.requests, keys.leases, keys.meta]))
            if remaining >= 0:
                run.stats = _decode_stats(self.server.hgetall(keys.stats))
                self.server.pexpire(self.gkeys.target_lock(run.target.name), int(max(self.frontier.lease, 10) * 3000))
            run.remaining = remaining
            if remaining == 0:
                self.finish(run, "finished")
            elif remaining < 0:
                run.note = "Redis lost the run's queue (restarted without its data)"
                self.finish(run, "interrupted")

    def heartbeat(self) -> None:
        for run in self.open.values():
            try:
                self.store.heartbeat(run.run_id, run.stats.get("netpatrol/pages", 0),
                                     run.stats.get("netpatrol/fetch/errors", 0), 0)
            except Exception as exc:  # a heartbeat must never stop a run
                logger.warning("run %s: heartbeat not recorded: %s", run.run_id, exc)

    # --- ending ---
    def finish(self, run: OpenRun, reason: str) -> None:
        self.open.pop(run.run_id, None)
        self._forget(run.keys, run.target.name)
        stats = run.stats
        pages, errors = int(stats.get("netpatrol/pages", 0)), int(stats.get("netpatrol/fetch/errors", 0))
        status = classify(pages, errors, reason, self.loaded.config.failure_for(run.target))
        summary: dict[str, Any] = {k: v for k, v in stats.items() if k.startswith("netpatrol/")}
        summary["finish_reason"] = reason
        summary["netpatrol/frontier"] = "redis"
        if run.note:
            summary["netpatrol/frontier/note"] = run.note
        figures = search_figures(stats)
        if figures:
            now = iso(utcnow()) or ""
            self.store.add_search_totals([
                SearchTotal(run.run_id, run.target.name, q, f["total"], f["results"], f["matched"], f["pages"], now)
                for q, f in figures.items()
            ])
        final = self.store.finish_run(run.run_id, status, pages, errors, summary)
        self.finished.append(final)
        self.say(f"run {run.run_id} ({run.target.name}): {status}, {pages} pages, {errors} errors"
                 + (f" ({run.note})" if run.note else ""))
        self._alerts(final)

    def _forget(self, keys: RunKeys, target: str) -> None:
        """Remove the run's keys (its queue, leases, filters, stats): runs never leak into each other."""
        try:
            pipe = self.server.pipeline()
            pipe.hdel(self.gkeys.runs, keys.run_id)
            pipe.delete(*keys.all())
            pipe.execute()
            lock = self.gkeys.target_lock(target)
            holder = self.server.get(lock)
            if holder is not None and (holder.decode() if isinstance(holder, bytes) else holder) == keys.run_id:
                self.server.delete(lock)
        except REDIS_DOWN as exc:
            logger.warning("run %s: its Redis keys are left behind (%s)", keys.run_id, describe(exc))

    def _alerts(self, run: Run) -> None:
        config = self.loaded.config.alerts
        if config is None:
            return
        try:
            import os

            from crawler.extensions.alerts import alerts_for_run
            from crawler.integrations.webhook import post_json

            alerts = alerts_for_run(self.store, run, config)
            if alerts:
                token = os.environ.get(config.token_env) if config.token_env else None
                payload = {"source": "netpatrol", "sent_at": iso(utcnow()), "target": run.target,
                           "run": run.public(), "alerts": [a.as_json() for a in alerts]}
                post_json(config.webhook, payload, token, config.retries, config.timeout,
                          self.base.getfloat("NETPATROL_ALERT_BACKOFF", 1.0))
        except Exception as exc:  # an alert must never fail the run it reports on
            logger.warning("alerts for run %s not sent: %s", run.id, exc)

    def say(self, line: str) -> None:
        if self.progress:
            print(f"netpatrol: {line}", file=sys.stderr, flush=True)


def _start_requests(settings: Settings) -> tuple[list[Any], Any]:
    """The spider's start requests, built as a single-process run would (site URLs are claimed in Redis)."""
    from crawler.spiders.search import SearchSpider
    from crawler.spiders.site import SiteSpider
    from crawler.runtime.context import target_from

    target = target_from(settings)
    spider_cls = SiteSpider if isinstance(target, SiteTarget) else SearchSpider
    crawler = Crawler(spider_cls, settings)
    spider = spider_cls.from_crawler(crawler)

    async def collect() -> list[Any]:
        return [r async for r in spider.start()]

    return asyncio.run(collect()), spider


def seed_settings(loaded: LoadedConfig, settings: Settings) -> Settings:
    frontier_settings(settings, loaded, "seed")
    return settings
