"""A worker's stats collector: netpatrol/* counts go to the lease of the request they were made for."""

from __future__ import annotations

from typing import Any

from scrapy.statscollectors import MemoryStatsCollector

from crawler.frontier.attribution import CURRENT
from crawler.frontier.leases import lease_book


class FrontierStatsCollector(MemoryStatsCollector):
    """Local stats as usual (for the worker's own log), plus each netpatrol/* increment in the lease book.

    The run's figures are then the sum of acknowledged leases: a request done twice (its first
    worker died) is counted once. Increments made outside a scraped request (downloader
    middlewares) are added at least once.
    """

    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        self.book = lease_book(crawler)

    def inc_value(self, key: str, count: int = 1, start: int = 0, spider: Any = None) -> None:
        super().inc_value(key, count, start)
        if key.startswith(("netpatrol/", "frontier/")):
            self.book.count(CURRENT.get(), key, count)
