"""Keep every examined page and search result of a run, matched or not, with its text compressed.

The decline report needs more than the hits: pages per domain and results per query
are its denominators (coverage), results' ranks give the search headline (matched
among the top N), and the text lets `report --rematch` count an old window again with
today's rules. Text older than the retention setting is dropped; the rows stay.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from scrapy.crawler import Crawler

from pipelines.batch import WriteBatch, batch_for
from pipelines.runtime import store_for
from pipelines.items import PageItem, ResultItem, SearchPageItem
from pipelines.stores.base import Store, iso, utcnow
from pipelines.stores.tracking import Document, pack_text
from pipelines.urls import canonical_url, domain_of

logger = logging.getLogger(__name__)


def _optional_int(value: object) -> int | None:
    return None if value in (None, "") else int(value)  # type: ignore[call-overload]


class DocumentArchivePipeline:
    """A Document per page/result into the crawl's write batch (with the item's hits), then prune old text."""

    def __init__(
        self,
        store: Store,
        run_id: str,
        target: str,
        keep_text: bool = True,
        retention_days: int | None = None,
        batch: int = 500,
        crawler: Crawler | None = None,
        writes: WriteBatch | None = None,
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.target = target
        self.keep_text = keep_text
        self.retention_days = retention_days
        self.crawler = crawler
        self.writes = writes if writes is not None else WriteBatch(store, batch, 2.0, crawler)
        self.writes.has_archive = True
        self.text_bytes = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "DocumentArchivePipeline":
        settings = crawler.settings
        store = store_for(crawler)
        return cls(
            store,
            settings.get("NETPATROL_RUN_ID"),
            settings.get("NETPATROL_TARGET"),
            settings.getbool("NETPATROL_KEEP_TEXT"),
            _optional_int(settings.get("NETPATROL_TEXT_RETENTION_DAYS")),
            crawler=crawler,
            writes=batch_for(crawler, store),
        )

    @property
    def written(self) -> int:
        return self.writes.written_documents

    async def process_item(self, item: object) -> object:
        if not isinstance(item, (PageItem, ResultItem)) or item.match is None:
            if isinstance(item, SearchPageItem):
                self.writes.item_done()
            return item
        if item.kind == "link" and not item.match.matched:  # an index entry is no page examined
            return item
        match = item.match
        blob = pack_text(item.title, item.text) if self.keep_text else None
        if blob is not None:
            self.text_bytes += len(blob)
        self.writes.add_document(Document(
            run_id=self.run_id,
            target=self.target,
            kind=item.kind,
            url=item.url,
            canonical_url=canonical_url(item.url),
            domain=domain_of(item.url),
            fetched_at=item.fetched_at,
            matched=bool(match.matched),
            categories=list(match.categories) if match.matched else [],
            rules=list(match.rules) if match.matched else [],
            query=item.query,
            rank=item.rank,
            text_z=blob,
            ad=getattr(item, "ad", False),
            risk=getattr(item, "risk", None),
            wrapped_url=getattr(item, "wrapped_url", None),
        ))
        if self.crawler is not None and self.crawler.stats is not None:
            self.crawler.stats.set_value("netpatrol/archive/text_bytes", self.text_bytes)
        self.writes.item_done()
        return item

    def flush(self) -> None:
        self.writes.flush()

    def close_spider(self) -> None:
        self.writes.close()
        if self.retention_days is None:
            return
        cutoff = iso(utcnow() - timedelta(days=self.retention_days)) or ""
        try:
            pruned = self.store.prune_document_text(cutoff)
        except Exception as exc:  # pruning is housekeeping: it must never fail a run
            logger.warning("pruning kept text older than %s days failed: %s", self.retention_days, exc)
            return
        if pruned:
            logger.info("dropped the kept text of %d documents older than %d days", pruned, self.retention_days)
