"""When a run finishes, POST spike and failure-streak alerts to the configured webhook (never failing the run)."""

from __future__ import annotations

import logging
import os
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.spiders import Spider
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread

from crawler.report.spikes import Alert, failure_alert, spike_alerts
from crawler.config.schema import AlertsConfig
from crawler.runtime.context import config_from, store_for
from pipelines.stores.base import CLEAN_STATUSES, Run, Store, iso, utcnow
from crawler.integrations.webhook import post_json

logger = logging.getLogger(__name__)


def alerts_for_run(store: Store, run: Run, config: AlertsConfig) -> list[Alert]:
    """Spike alerts (a clean run against the target's previous clean runs) and the failure-streak alert."""
    history = [r for r in store.runs(target=run.target, until=run.started_at) if r.id != run.id]
    alerts: list[Alert] = []
    if run.status in CLEAN_STATUSES:
        previous = [r for r in history if r.status in CLEAN_STATUSES][-config.trailing_runs:]
        rows = store.hit_rows([run.id] + [r.id for r in previous])
        by_run: dict[str, list[Any]] = {r.id: [] for r in previous}
        current = []
        for row in rows:
            if row.run_id == run.id:
                current.append(row)
            else:
                by_run[row.run_id].append(row)
        alerts += spike_alerts(run, current, [by_run[r.id] for r in previous], config.spike_factor,
                               config.trailing_runs, config.min_hits)
    streak = failure_alert(history + [run], config.failed_runs)
    if streak is not None:
        alerts.append(streak)
    return alerts


class SpikeAlerts:
    """Extension: evaluate the finished run and deliver its alerts in a thread (the reactor keeps going)."""

    def __init__(self, crawler: Crawler, store: Store, run_id: str, config: AlertsConfig, backoff: float) -> None:
        self.crawler = crawler
        self.store = store
        self.run_id = run_id
        self.config = config
        self.backoff = backoff
        self.delivered: bool | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "SpikeAlerts":
        run_id = crawler.settings.get("NETPATROL_RUN_ID")
        if not run_id:
            raise NotConfigured("no NETPATROL_RUN_ID: not a netpatrol run")
        config = config_from(crawler.settings).config.alerts
        if config is None:
            raise NotConfigured  # no `alerts:` in the config: disabled without a log line on every run
        ext = cls(crawler, store_for(crawler), run_id, config, crawler.settings.getfloat("NETPATROL_ALERT_BACKOFF", 1.0))
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def payload(self, run: Run, alerts: list[Alert]) -> dict[str, Any]:
        return {
            "source": "netpatrol",
            "sent_at": iso(utcnow()),
            "target": run.target,
            "run": run.public(),
            "alerts": [a.as_json() for a in alerts],
        }

    async def spider_closed(self, spider: Spider, reason: str) -> None:
        try:
            run = getattr(self.crawler, "netpatrol_run", None) or self.store.get_run(self.run_id)
            if run is None:
                return
            alerts = alerts_for_run(self.store, run, self.config)
            if not alerts:
                return
            token = os.environ.get(self.config.token_env) if self.config.token_env else None
            if self.config.token_env and not token:
                logger.warning("alerts: environment variable %s is not set; sending without a token", self.config.token_env)
            delivery = await maybe_deferred_to_future(deferToThread(
                post_json, self.config.webhook, self.payload(run, alerts), token,
                self.config.retries, self.config.timeout, self.backoff,
            ))
            self.delivered = delivery.ok
            if self.crawler.stats is not None:
                self.crawler.stats.set_value("netpatrol/alerts/sent" if delivery.ok else "netpatrol/alerts/failed", len(alerts))
        except Exception as exc:  # an alert must never fail or hang up the run it reports on
            logger.warning("alerts for run %s not sent: %s", self.run_id, exc)
