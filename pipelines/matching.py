"""Match every page and search result against the rule pack; count hits per category."""

from __future__ import annotations

from scrapy.crawler import Crawler

from pipelines.runtime import matcher_from_settings
from pipelines.items import PageItem, ResultItem
from pipelines.engine.matcher import Matcher


class MatchingPipeline:
    """Attach a MatchResult to each item. Non-matching items continue (later stages may keep their text)."""

    def __init__(self, matcher: Matcher, crawler: Crawler | None = None) -> None:
        self.matcher = matcher
        self.stats = crawler.stats if crawler else None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "MatchingPipeline":
        return cls(matcher_from_settings(crawler.settings), crawler)

    async def process_item(self, item: object) -> object:
        if isinstance(item, (PageItem, ResultItem)):
            if isinstance(item, ResultItem):  # a search result: its text is the engine's snippet
                item.match = self.matcher.match(item.title, snippet=item.text, url=item.url)
            elif item.kind == "link":  # a listing seen as a link on an index page: its text is the entry's
                item.match = self.matcher.match(snippet=item.text, url=item.url)
                if item.match.matched:
                    item.match.explanation["seen_on"] = item.meta.get("seen_on")
            else:
                item.match = self.matcher.match(item.title, item.text, url=item.url)
            # Index entries are no pages examined, and workers of a shared run may each see the same one.
            if self.stats is not None and item.kind != "link":
                self.stats.inc_value(f"netpatrol/match/checked/{item.kind}")
                if item.match.matched:
                    self.stats.inc_value(f"netpatrol/match/hits/{item.kind}")
                    for category in item.match.categories:
                        self.stats.inc_value(f"netpatrol/match/hits/category/{category}")
        return item
