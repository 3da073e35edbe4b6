"""scrapy-redis's Scheduler bound to one run's keys, taking requests under lease, riding out Redis outages."""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Request
from scrapy.exceptions import NotConfigured
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.scheduler import Scheduler

from crawler.frontier.attribution import CURRENT, LEASE_META
from crawler.frontier.connection import REDIS_DOWN, connect, describe
from crawler.frontier.keys import RunKeys
from crawler.frontier.leases import lease_book
from crawler.frontier.queue import LeasedQueue

logger = logging.getLogger(__name__)


class FrontierScheduler(Scheduler):  # type: ignore[misc]
    """The worker side of a run: queue `<prefix>:run:<id>:requests`, dupefilter `...:dupefilter`.

    The keys stay when a worker closes (SCHEDULER_PERSIST): the run is `netpatrol run`'s to end.
    """

    keys: RunKeys
    book: Any
    down: bool = False

    @classmethod
    def from_crawler(cls, crawler: Any) -> "FrontierScheduler":
        settings = crawler.settings
        url = settings.get("NETPATROL_FRONTIER_URL")
        if not url or settings.get("NETPATROL_FRONTIER_ROLE") != "worker":
            raise NotConfigured("FrontierScheduler runs in `netpatrol worker` only")
        keys = RunKeys(settings.get("NETPATROL_FRONTIER_PREFIX"), settings.get("NETPATROL_RUN_ID"))
        server = connect(url)
        scheduler = cls(
            server=server,
            persist=True,
            queue_key=keys.requests,
            queue_cls="crawler.frontier.queue.LeasedQueue",
            dupefilter=RFPDupeFilter(server, keys.dupefilter, debug=settings.getbool("DUPEFILTER_DEBUG")),
            dupefilter_key=keys.dupefilter,
            idle_before_close=0,
        )
        scheduler.stats = crawler.stats
        scheduler.keys = keys
        scheduler.book = lease_book(crawler)
        scheduler.down = False
        # An idle engine asks the scheduler again every few seconds (5 by default); other workers keep
        # adding requests, so ask more often.
        crawler.engine._SLOT_HEARTBEAT_INTERVAL = settings.getfloat("NETPATROL_FRONTIER_POLL")
        return scheduler

    def open(self, spider: Any) -> None:
        self.spider = spider
        queue = LeasedQueue(server=self.server, spider=spider, key=self.queue_key, serializer=self.serializer)
        self.queue = queue.bind(self.keys, self.book)

    def close(self, reason: str) -> None:
        """Nothing to flush: the run's keys are removed by `netpatrol run` when the run ends."""

    def _went_down(self, exc: BaseException) -> None:
        if not self.down:
            logger.warning("run %s: Redis unreachable (%s); waiting for it", self.keys.run_id, describe(exc))
        self.down = True

    def enqueue_request(self, request: Request) -> bool:
        token = request.meta.get(LEASE_META)
        try:
            if token:
                # A request derived from a leased one (redirect, retry, rendering) takes its place.
                lease = self.book.take(token)
                counts = lease.counts if lease else {}
                if not request.dont_filter and self.df.request_seen(request):
                    self.df.log(request, self.spider)
                    self._ack_only(token, counts)
                    return False
                self.queue.transfer(token, request, counts)
                return True
            if not request.dont_filter and self.df.request_seen(request):
                self.df.log(request, self.spider)
                return False
            self.queue.push(request)
        except REDIS_DOWN as exc:
            self._went_down(exc)
            if token:
                self.book.hold(token)  # still ours: it is given back to the queue, and done again later
                self.book.taint(token)
            else:
                self.book.taint(CURRENT.get())  # the parent page is done again when Redis is back
            return True
        self.down = False
        if self.stats:
            self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def _ack_only(self, token: str, counts: Any) -> None:
        from crawler.frontier.leases import flat_counts
        from crawler.frontier.scripts import ACK

        self.server.register_script(ACK)(keys=[*self.keys.lease_keys(), self.keys.stats],
                                         args=[token, *flat_counts(counts)])

    def next_request(self) -> Request | None:
        try:
            request = self.queue.pop()
        except REDIS_DOWN as exc:
            self._went_down(exc)
            return None
        if self.down:
            logger.warning("run %s: Redis is back", self.keys.run_id)
            self.down = False
        if request is not None and self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        try:
            return len(self.queue) > 0
        except REDIS_DOWN as exc:
            self._went_down(exc)
            return False
