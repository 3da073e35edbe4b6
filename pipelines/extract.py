"""The Scrapy pipeline that fills a page item's title and visible text (see `pipelines.engine.html_text`)."""

from __future__ import annotations

from pipelines.engine.html_text import visible_text
from pipelines.items import PageItem


class ExtractPipeline:
    """Fill `title` and `text` of page items from their HTML."""

    async def process_item(self, item: object) -> object:
        if isinstance(item, PageItem) and item.html and not item.text:
            item.title, item.text = visible_text(item.html)
        return item
