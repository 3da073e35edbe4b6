"""Fetch search result pages for each query and yield each result to be matched.

Each result page is read by `crawler.spiders.serp`: a wall, an empty or a truncated page is a
lost query page (recorded per query, never read as "0 results"). Wrapped result links are
resolved to their landing URL (`crawler.spiders.links`), which becomes the item; ads and the
engine's own risk warnings are flagged on the result.
"""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator
from urllib.parse import quote

from parsel import Selector
from scrapy import Request
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from crawler.config.schema import SearchTarget
from crawler.runtime.context import config_from
from crawler.spiders.base import BLOCK_STATUSES, HTML_TYPES, PatrolSpider
from crawler.spiders.links import LinkCache, LinkResolver, Resolution
from crawler.spiders.serp import SerpPage, SerpResult, analyse, node_text, parse_total
from pipelines.items import ResultItem, SearchPageItem

__all__ = ["SearchSpider", "parse_total"]


class SearchSpider(PatrolSpider):
    name = "search"
    target: SearchTarget

    def _setup_search(self) -> None:
        if getattr(self, "resolver", None) is not None:
            return
        self.queries_seen: set[str] = set()
        self.queries_lost: set[str] = set()
        cache = None
        links = self.target.links
        if links.enabled and links.cache_ttl > 0 and self.target.wrapped:
            cache = LinkCache(config_from(self.crawler.settings).data_dir / "links.db", links.cache_ttl)
        self.resolver = LinkResolver(self.crawler, links, cache)

    def closed(self, reason: str) -> None:
        cache = getattr(getattr(self, "resolver", None), "cache", None)
        if cache is not None:
            cache.close()

    async def start(self) -> AsyncIterator[Any]:
        self._setup_search()
        target = self.target
        for query in target.queries:
            for index in range(target.pages):
                page_value = target.page_start + index * target.page_step
                quoted = quote(query, safe="", encoding=target.query_encoding, errors="xmlcharrefreplace")
                url = target.url.replace("{query}", quoted).replace("{page}", str(page_value))
                yield Request(
                    url,
                    callback=self.parse,
                    errback=self.on_page_error,
                    cb_kwargs={"query": query, "page": index + 1},
                    dont_filter=True,
                )

    def rendered_hit(self, url: str, html: str) -> bool:
        """Is any result on this rendered result page a hit? (Then the page is screenshotted.)"""
        selectors = self.target.selectors
        matcher = self.matcher
        for node in Selector(text=html).css(selectors.result):
            if matcher.match(node_text(node, selectors.title), node_text(node, selectors.snippet)).matched:
                return True
        return False

    # --- query page accounting ---
    def _record(self, query: str, page: int, state: str, total: int | None = None, results: int = 0,
                ads: int = 0) -> SearchPageItem:
        self._setup_search()
        self.queries_seen.add(query)
        self._inc(f"netpatrol/search/pages/{state}")
        if state in ("blocked", "empty", "truncated", "error"):
            self.queries_lost.add(query)
            self._inc("netpatrol/search/lost_pages")
        stats = self.crawler.stats
        if stats is not None:
            stats.set_value("netpatrol/search/queries", len(self.queries_seen))
            stats.set_value("netpatrol/search/queries_lost", len(self.queries_lost))
        return SearchPageItem(target=self.target.name, query=query, page=page, total=total, results=results,
                              state=state, ads=ads)

    def on_page_error(self, failure: Failure) -> Any:
        """A result page that could not be fetched is a lost query page of its query."""
        self.on_error(failure)
        request = getattr(failure, "request", None)
        kwargs = getattr(request, "cb_kwargs", None) or {}
        if "query" in kwargs:
            yield self._record(kwargs["query"], kwargs["page"], "error")

    def _page_html(self, response: Response) -> str | None:
        """The page's HTML, or None after counting why it is not a result page at all."""
        status = response.status
        if status in BLOCK_STATUSES:
            self.count_error("blocked")
            return None
        if status >= 300:
            self.count_error(f"http_{status}" if status >= 400 else "redirect_unfollowed")
            return None
        content_type = (response.headers.get(b"Content-Type") or b"").split(b";")[0].strip().lower()
        if not isinstance(response, TextResponse) or (content_type and content_type not in HTML_TYPES):
            self.count_error("non_html")
            return None
        return response.text

    async def parse(self, response: Response, query: str, page: int) -> AsyncIterator[Any]:
        html = self._page_html(response)
        if html is None:
            yield self._record(query, page, "blocked" if response.status in BLOCK_STATUSES else "error")
            return
        serp = analyse(self.target, response.url, html, page)
        if serp.lost:
            self.count_error(serp.state)
            self.logger.info("query %r page %d lost: %s (%s)", query, page, serp.state, response.url)
            yield self._record(query, page, serp.state, serp.total)
            return
        self.count_page()
        if serp.skipped:
            self._inc("netpatrol/fetch/skipped/result_without_url", serp.skipped)
        yield self._record(query, page, serp.state, serp.total, len(serp.organic), len(serp.promoted))
        assert isinstance(response, TextResponse)
        async for item in self._results(response, serp, query, page):
            yield item

    async def _results(self, response: TextResponse, serp: SerpPage, query: str, page: int) -> AsyncIterator[ResultItem]:
        evidence = self.evidence_meta(response)
        organic, promoted = serp.organic, serp.promoted
        # Ranks continue across pages by the engine's page size (else by this page's count), organic and ads apart.
        stride = self.target.page_size or len(organic)
        counters = {False: (page - 1) * stride, True: (page - 1) * stride}
        landings = await asyncio.gather(*(self._landing(result) for result in serp.results))
        for result, (url, wrapped) in zip(serp.results, landings):
            counters[result.ad] += 1
            yield ResultItem(
                url=url,
                target=self.target.name,
                fetched_at=self.now(),
                query=query,
                rank=counters[result.ad],
                title=result.title,
                text=result.snippet,
                ad=result.ad,
                risk=result.risk,
                wrapped_url=wrapped,
                meta=dict(evidence),
            )
        if promoted:
            self._inc("netpatrol/search/ads", len(promoted))

    async def _landing(self, result: SerpResult) -> tuple[str, str | None]:
        """(the item's URL, the wrapped URL kept beside it): the landing URL when it can be found."""
        if not result.wrapped:
            return result.href, None
        self._inc("netpatrol/links/wrapped")
        if result.decoded:
            self._inc("netpatrol/links/decoded")
            return result.decoded, result.href
        if not self.target.links.enabled:
            return result.href, result.href
        resolution: Resolution = await self.resolver.resolve(result.href)
        return (resolution.landing or result.href), result.href
