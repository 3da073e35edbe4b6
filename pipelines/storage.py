"""Write matched items and search figures to the store, in batched transactions."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from scrapy.crawler import Crawler

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
    """Buffer observations of matched, non-duplicate items; flush every `batch` and at close."""

    def __init__(self, store: Store, run_id: str, target: str, batch: int = 200, crawler: Crawler | None = None) -> None:
        self.store = store
        self.run_id = run_id
        self.target = target
        self.batch = batch
        self.crawler = crawler
        self.buffer: list[Observation] = []
        self.queries: dict[str, _QueryFigures] = defaultdict(_QueryFigures)
        self.stored = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "StoragePipeline":
        settings = crawler.settings
        return cls(
            store_for(crawler),
            settings.get("NETPATROL_RUN_ID"),
            settings.get("NETPATROL_TARGET"),
            settings.getint("NETPATROL_STORE_BATCH", 200),
            crawler,
        )

    async def process_item(self, item: object) -> object:
        if isinstance(item, SearchPageItem):
            figures = self.queries[item.query]
            if item.lost:  # a walled, empty or truncated page: coverage lost, recorded per query
                figures.lost += 1
                figures.lost_reasons.add(item.state)
                return item
            figures.pages += 1
            figures.results += item.results
            figures.ads += item.ads
            if item.page == 1 or figures.total is None:
                figures.total = item.total if figures.total is None else figures.total
            return item
        if not isinstance(item, (PageItem, ResultItem)) or item.match is None or not item.match.matched:
            return item
        if isinstance(item, ResultItem):
            self.queries[item.query].matched += 1
        if item.duplicate:
            return item
        match = item.match
        self.buffer.append(
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
        if len(self.buffer) >= self.batch:
            self.flush()
        return item

    def flush(self) -> None:
        if self.buffer:
            self.store.add_observations(self.buffer)
            self.stored += len(self.buffer)
            if self.crawler is not None and self.crawler.stats is not None:
                self.crawler.stats.set_value("netpatrol/stored/observations", self.stored)
            self.buffer = []

    def close_spider(self) -> None:
        self.flush()
        if self.queries:
            now = iso(utcnow()) or ""
            self.store.add_search_totals([
                SearchTotal(self.run_id, self.target, query, f.total, f.results, f.matched, f.pages, now,
                            lost=f.lost, lost_reasons=sorted(f.lost_reasons), ads=f.ads)
                for query, f in self.queries.items()
            ])
