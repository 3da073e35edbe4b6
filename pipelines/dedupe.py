"""Mark repeated items within a run, so one listing counts once however often it is reached.

The set lives for one run only; the store's (run, canonical URL) key makes writes
idempotent as well, so several workers sharing a run cannot double-count either.
"""

from __future__ import annotations

from pipelines.items import PageItem, ResultItem
from pipelines.urls import canonical_url


class DedupePipeline:
    def __init__(self) -> None:
        self.seen: set[str] = set()

    def open_spider(self) -> None:
        self.seen.clear()

    async def process_item(self, item: object) -> object:
        if isinstance(item, (PageItem, ResultItem)) and item.match is not None and item.match.matched:
            key = canonical_url(item.url)
            item.duplicate = key in self.seen
            self.seen.add(key)
        return item
