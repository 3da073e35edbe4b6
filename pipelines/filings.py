"""Read the ICP / public-security filings off every fetched page and keep them per domain (the units behind sites).

Every page counts, matched or not: an operator's harmless front page shows the same
filing as its gambling pages, and that is how their domains are tied into one unit.
"""

from __future__ import annotations

import re

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from w3lib.html import remove_tags, remove_tags_with_content, replace_entities

from pipelines.engine.filings import Filing, extract_filings, unit_key
from pipelines.items import PageItem
from pipelines.runtime import store_for
from pipelines.stores.base import Store
from pipelines.stores.workbench import FilingSighting
from pipelines.urls import domain_of

_MARKER = re.compile(r"icp|公网安备", re.IGNORECASE)
#: Markup read on each side of a marker: a filing number and the tags around it fit well inside.
WINDOW = 300


def page_filings(html: str) -> list[Filing]:
    """Filings shown anywhere in the page's markup text (footers are often left out of the main text).

    Only the markup around each "ICP"/"公网安备" is stripped and read: a filing is short, and stripping
    the tags of a whole page for a footer line cost more than matching the page."""
    spans: list[list[int]] = []
    for marker in _MARKER.finditer(html):
        start, end = max(0, marker.start() - WINDOW), marker.end() + WINDOW
        if spans and start <= spans[-1][1]:
            spans[-1][1] = end
        else:
            spans.append([start, end])
    if not spans:
        return []
    markup = "\n".join(html[start:end] for start, end in spans)
    text = replace_entities(remove_tags(remove_tags_with_content(markup, ("script", "style"))))
    return extract_filings(text)


class FilingsPipeline:
    """Attach `meta["filings"]`/`meta["unit"]` to page items; write each (domain, filing) once per run."""

    def __init__(self, store: Store, crawler: Crawler | None = None) -> None:
        self.store = store
        self.stats = crawler.stats if crawler is not None else None
        self.seen: dict[tuple[str, str], FilingSighting] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "FilingsPipeline":
        if not crawler.settings.get("NETPATROL_RUN_ID") or not crawler.settings.getdict("NETPATROL_STORE"):
            raise NotConfigured("not a netpatrol run")
        return cls(store_for(crawler), crawler)

    async def process_item(self, item: object) -> object:
        if not isinstance(item, PageItem) or not item.html:
            return item
        filings = page_filings(item.html)
        domain = domain_of(item.url)
        item.meta["filings"] = [f.text for f in filings]
        item.meta["unit"] = unit_key(filings, domain)
        for filing in filings:
            key = (domain, filing.text)
            if key not in self.seen:
                self.seen[key] = FilingSighting(domain, filing.kind, filing.key, filing.text, item.fetched_at,
                                                item.fetched_at, item.url)
                if self.stats is not None:
                    self.stats.inc_value("netpatrol/filings/seen")
            else:
                self.seen[key].last_seen = max(self.seen[key].last_seen, item.fetched_at)
        return item

    def close_spider(self) -> None:
        if self.seen:
            self.store.add_filings(list(self.seen.values()))
