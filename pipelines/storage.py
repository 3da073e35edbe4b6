"""Hand matched items and search figures to the crawl's write batch (pipelines.batch)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from scrapy.crawler import Crawler

from pipelines.batch import WriteBatch, batch_for
from pipelines.runtime import store_for
from pipelines.items import PageItem, ResultItem, SearchPageItem
from pipelines.stores.base import Observation, SearchTotal, Store, iso, utcnow
from pipelines.urls import canonical_url, domain_of


@dataclass
class _QueryFigures:
    total: int | None = None
    results: int = 0
    matched: int = 0
    pages: int = 0
    lost: int = 0
    ads: int = 0
    lost_reasons: set[str] = field(default_factory=set)


class StoragePipeline:
    """Observations of matched, non-duplicate items and per-query figures go into the crawl's write batch.

    The archive pipeline, later in the chain, adds the item's document and closes the item, so a
    page and its hits are committed together. Without it, this pipeline closes items itself."""

    def __init__(self, store: Store, run_id: str, target: str, batch: int = 200, crawler: Crawler | None = None,
                 writes: WriteBatch | None = None) -> None:
        self.store = store
        self.run_id = run_id
        self.target = target
        self.crawler = crawler
        self.writes = writes if writes is not None else WriteBatch(store, batch, 2.0, crawler)
        self.writes.totals = self.search_totals
        self.queries: dict[str, _QueryFigures] = defaultdict(_QueryFigures)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "StoragePipeline":
        settings = crawler.settings
        store = store_for(crawler)
        return cls(store, settings.get("NETPATROL_RUN_ID"), settings.get("NETPATROL_TARGET"),
                   crawler=crawler, writes=batch_for(crawler, store))

    @property
    def stored(self) -> int:
        return self.writes.written_observations

    def search_totals(self) -> list[SearchTotal]:
        now = iso(utcnow()) or ""
        return [SearchTotal(self.run_id, self.target, query, f.total, f.results, f.matched, f.pages, now,
                            lost=f.lost, lost_reasons=sorted(f.lost_reasons), ads=f.ads)
                for query, f in self.queries.items()]

    async def process_item(self, item: object) -> object:
        self._add(item)
        if not self.writes.has_archive and isinstance(item, (PageItem, ResultItem, SearchPageItem)):
            self.writes.item_done()
        return item

    def _add(self, item: object) -> None:
        if isinstance(item, SearchPageItem):
            figures = self.queries[item.query]
            if item.lost:  # a walled, empty or truncated page: coverage lost, recorded per query
                figures.lost += 1
                figures.lost_reasons.add(item.state)
                self.writes.totals_changed()
                return
            figures.pages += 1
            figures.results += item.results
            figures.ads += item.ads
            if item.page == 1 or figures.total is None:
                figures.total = item.total if figures.total is None else figures.total
            self.writes.totals_changed()
            return
        if not isinstance(item, (PageItem, ResultItem)) or item.match is None or not item.match.matched:
            return
        if isinstance(item, ResultItem):
            self.queries[item.query].matched += 1
            self.writes.totals_changed()
        if item.duplicate:
            return
        match = item.match
        self.writes.add_observation(
            Observation(
                run_id=self.run_id,
                target=self.target,
                url=item.url,
                canonical_url=canonical_url(item.url),
                domain=domain_of(item.url),
                seen_at=item.fetched_at,
                kind=item.kind,
                categories=list(match.categories),
                rules=list(match.rules),
                score=match.score,
                title=item.title[:500],
                snippet=match.snippet,
                query=item.query,
                rank=item.rank,
                explanation={"terms": match.terms, **match.explanation},
                evidence=list(item.meta.get("evidence", [])),
                unit=item.meta.get("unit") or domain_of(item.url),
                filings=list(item.meta.get("filings", [])),
                ad=getattr(item, "ad", False),
                risk=getattr(item, "risk", None),
                wrapped_url=getattr(item, "wrapped_url", None),
            )
        )

    def flush(self) -> None:
        self.writes.flush()

    def close_spider(self) -> None:
        if self.queries:
            self.writes.totals_changed()  # the final figures, stamped now
        self.writes.close()
