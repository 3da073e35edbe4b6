"""Fetch search result pages for each query and yield each result to be matched."""

from __future__ import annotations

import re
from typing import Any, AsyncIterator, Iterator
from urllib.parse import quote, urljoin

from parsel import Selector
from scrapy import Request
from scrapy.http import Response

from crawler.config.schema import SearchTarget
from pipelines.items import ResultItem, SearchPageItem
from crawler.spiders.base import PatrolSpider

_MULTIPLIERS = {"万": 10_000, "萬": 10_000, "亿": 100_000_000, "億": 100_000_000, "k": 1_000, "m": 1_000_000}
_NUMBER = re.compile(r"(\d[\d,，.\s]*)\s*(万|萬|亿|億|[kKmM](?![a-zA-Z]))?")


def parse_total(text: str | None) -> int | None:
    """Parse an engine's result count: '约 1,230 条结果' -> 1230, '约1.2万个' -> 12000, 'About 4,560,000 results' -> 4560000."""
    if not text:
        return None
    for number, unit in _NUMBER.findall(text):
        digits = re.sub(r"[,，\s]", "", number).rstrip(".")
        if not digits:
            continue
        try:
            value = float(digits)
        except ValueError:
            continue
        multiplier = _MULTIPLIERS.get(unit.lower() if unit else "", 1)
        return int(round(value * multiplier))
    return None


def _text(node: Any, css: str | None) -> str:
    if not css:
        return ""
    return " ".join(t.strip() for t in node.css(css).getall() if t.strip())


class SearchSpider(PatrolSpider):
    name = "search"
    target: SearchTarget

    async def start(self) -> AsyncIterator[Any]:
        target = self.target
        for query in target.queries:
            for index in range(target.pages):
                page_value = target.page_start + index * target.page_step
                quoted = quote(query, safe="", encoding=target.query_encoding, errors="xmlcharrefreplace")
                url = target.url.replace("{query}", quoted).replace("{page}", str(page_value))
                yield Request(
                    url,
                    callback=self.parse,
                    errback=self.on_error,
                    cb_kwargs={"query": query, "page": index + 1},
                    dont_filter=True,
                )

    def rendered_hit(self, url: str, html: str) -> bool:
        """Is any result on this rendered result page a hit? (Then the page is screenshotted.)"""
        selectors = self.target.selectors
        matcher = self.matcher
        for node in Selector(text=html).css(selectors.result):
            if matcher.match(_text(node, selectors.title), _text(node, selectors.snippet)).matched:
                return True
        return False

    def parse(self, response: Response, query: str, page: int) -> Iterator[Any]:
        html = self.usable_html(response)
        if html is None:
            return
        self.count_page()
        selectors = self.target.selectors
        results = html.css(selectors.result)
        total = parse_total(_text(html, selectors.total)) if selectors.total else None
        yield SearchPageItem(target=self.target.name, query=query, page=page, total=total, results=len(results))
        # Rank across pages, assuming the engine's fixed page size (that of this page).
        rank_base = (page - 1) * len(results)
        evidence = self.evidence_meta(html)
        for position, node in enumerate(results, start=1):
            href = (node.css(selectors.url).get() or "").strip()
            if not href:
                self.count_skipped("result_without_url")
                continue
            yield ResultItem(
                url=urljoin(html.url, href),
                target=self.target.name,
                fetched_at=self.now(),
                query=query,
                rank=rank_base + position,
                title=_text(node, selectors.title),
                text=_text(node, selectors.snippet),
                meta=dict(evidence),
            )
