"""The storage pipeline of a worker: observations as usual, search figures summed across workers in Redis.

A single process tallies each query's pages, results and matched results and writes them when
the run closes. Several workers each see part of a run, so they count the figures instead (as
lease-attributed stats, added once per request) and `netpatrol run` writes the totals at the end.
"""

from __future__ import annotations

from typing import Any

from pipelines.items import ResultItem, SearchPageItem
from pipelines.storage import StoragePipeline

QUERY_PREFIX = "frontier/q/"


def query_key(field: str, query: str, page: int = 0) -> str:
    return f"{QUERY_PREFIX}{field}/{page}/{query}"


def parse_query_key(key: str) -> tuple[str, int, str] | None:
    if not key.startswith(QUERY_PREFIX):
        return None
    field, page, query = key[len(QUERY_PREFIX):].split("/", 2)
    return field, int(page), query


class FrontierStoragePipeline(StoragePipeline):
    async def process_item(self, item: Any) -> Any:
        stats = self.crawler.stats if self.crawler is not None else None
        if stats is not None:
            if isinstance(item, SearchPageItem):
                stats.inc_value(query_key("pages", item.query))
                stats.inc_value(query_key("results", item.query), item.results)
                if item.total is not None:
                    stats.inc_value(query_key("total", item.query, item.page), item.total)
            elif isinstance(item, ResultItem) and item.match is not None and item.match.matched:
                stats.inc_value(query_key("matched", item.query))
        return await super().process_item(item)

    def close_spider(self) -> None:
        self.flush()  # the run's search totals are written by `netpatrol run` from the summed figures


def search_figures(stats: dict[str, int]) -> dict[str, dict[str, Any]]:
    """{query: {total, results, matched, pages}} from a run's summed stats (total: that of its first page)."""
    out: dict[str, dict[str, Any]] = {}
    totals: dict[str, dict[int, int]] = {}
    for key, value in stats.items():
        parsed = parse_query_key(key)
        if parsed is None:
            continue
        field, page, query = parsed
        figures = out.setdefault(query, {"total": None, "results": 0, "matched": 0, "pages": 0})
        if field == "total":
            totals.setdefault(query, {})[page] = int(value)
        else:
            figures[field] = int(value)
    for query, by_page in totals.items():
        out[query]["total"] = by_page[min(by_page)]
    return out
