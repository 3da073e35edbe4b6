"""The Scrapy pipeline that fills a page item's title and own text, learning each host's template.

A page's text is its anatomy's content blocks (pipelines.engine.anatomy): no index blocks, no
chrome (nav, footer, sidebars), and no block the host's template holds — text seen on
NETPATROL_TEMPLATE_MIN_PAGES distinct pages of the same host in this run. The first pages of a
host come before its template is known, so they wait for a second look: they are held until the
host has NETPATROL_TEMPLATE_WARMUP pages, or until the crawl has nothing else in flight (a small
site), and only then get their text. Later pages use the template as learned so far.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import defer, task

from pipelines.engine.anatomy import Anatomy, TemplateLearner, anatomy
from pipelines.items import PageItem

logger = logging.getLogger(__name__)


def host_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname or ''}:{parts.port or ''}"


class ExtractPipeline:
    """Fill `title` and `text` of page items from their HTML, without the host's template."""

    def __init__(self, warmup: int = 5, min_pages: int = 3, crawler: Crawler | None = None,
                 min_share: float = 0.3) -> None:
        self.warmup = warmup
        self.learner = TemplateLearner(min_pages, min_share)
        self.crawler = crawler
        self.waiting: dict[str, list[defer.Deferred]] = defaultdict(list)
        self._poll: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "ExtractPipeline":
        settings = crawler.settings
        pipeline = cls(settings.getint("NETPATROL_TEMPLATE_WARMUP", 5), settings.getint("NETPATROL_TEMPLATE_MIN_PAGES", 3),
                       crawler, settings.getfloat("NETPATROL_TEMPLATE_MIN_SHARE", 0.3))
        crawler.signals.connect(pipeline.release_all, signal=signals.spider_closed)
        return pipeline

    def open_spider(self) -> None:
        if self.crawler is not None and self.warmup > 0:
            self._poll = task.LoopingCall(self._release_when_idle)
            self._poll.start(0.2, now=False)

    def close_spider(self) -> None:
        self.release_all()
        if self._poll is not None and self._poll.running:
            self._poll.stop()

    def _release_when_idle(self) -> None:
        """Held pages wait for more pages of their host; when nothing else is in flight, none will come."""
        if not self.waiting:
            return
        engine = getattr(self.crawler, "engine", None)
        slot = getattr(engine, "_slot", None)
        if engine is None or slot is None:
            return
        held = sum(len(v) for v in self.waiting.values())
        scraper = getattr(engine.scraper, "slot", None)
        busy_items = scraper.itemproc_size if scraper is not None else 0
        if (not engine.downloader.active and not slot.scheduler.has_pending_requests()
                and getattr(engine, "_start", None) is None and busy_items <= held):
            self.release_all()

    def release_all(self, *args: Any, **kwargs: Any) -> None:
        for host in list(self.waiting):
            self._release(host)

    def _release(self, host: str) -> None:
        for waiter in self.waiting.pop(host, []):
            if not waiter.called:
                waiter.callback(None)

    async def process_item(self, item: object) -> object:
        if not isinstance(item, PageItem) or not item.html or item.text:
            return item
        page: Anatomy = item.meta.pop("anatomy", None) or anatomy(item.html, item.url)
        host = host_of(item.url)
        self.learner.observe(host, page)
        if self.learner.page_count(host) >= self.warmup:
            self._release(host)
        elif self._poll is not None:
            waiter: defer.Deferred = defer.Deferred()
            self.waiting[host].append(waiter)
            await maybe_deferred_to_future(waiter)
        item.title, item.text = page.title, page.content(self.learner.template(host))
        if self.crawler is not None and self.crawler.stats is not None and page.blocks:
            self.crawler.stats.inc_value("netpatrol/anatomy/pages")
        return item
