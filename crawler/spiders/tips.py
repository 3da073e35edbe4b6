"""Fetch tipped URLs, one page each, through the crawl path; record each tip's outcome when the run closes."""

from __future__ import annotations

from typing import Any, AsyncIterator, Iterator

from scrapy import Request, signals
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.spiders.base import PatrolSpider
from pipelines.items import PageItem
from pipelines.runtime import store_for
from pipelines.stores.base import iso, utcnow


class TipSpider(PatrolSpider):
    """Each tip in `NETPATROL_TIPS` ([{id, url}]) is fetched once; its outcome follows from what came of it."""

    name = "tips"

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> "TipSpider":
        spider = super().from_crawler(crawler, *args, **kwargs)
        assert isinstance(spider, TipSpider)
        spider.tips = list(crawler.settings.getlist("NETPATROL_TIPS"))
        spider.results = {}
        crawler.signals.connect(spider.record_outcomes, signal=signals.spider_closed)
        return spider

    tips: list[dict[str, str]]
    results: dict[str, dict[str, Any]]  # tip id -> {outcome, reason, categories, rules}

    async def start(self) -> AsyncIterator[Any]:
        for tip in self.tips:
            yield Request(tip["url"], callback=self.parse, errback=self.on_tip_error, dont_filter=True,
                          meta={"netpatrol_tip": tip["id"]})

    def _result(self, tip_id: str, outcome: str, reason: str, **extra: Any) -> None:
        self.results[tip_id] = {"outcome": outcome, "reason": reason, "checked_at": self.now(), **extra}

    def parse(self, response: Response) -> Iterator[Any]:
        tip_id = response.meta["netpatrol_tip"]
        page = self.usable_html(response)
        if page is None:
            status = response.status
            reason = f"http_{status}" if status >= 300 else "not an HTML page or blocked"
            self._result(tip_id, "unreachable", reason, http_status=status)
            return
        self.count_page()
        self._result(tip_id, "no_violation", "no rule fired", http_status=response.status)  # until the pipelines say
        meta = self.evidence_meta(page) | {"tip_id": tip_id}
        yield PageItem(url=page.url, target=self.target.name, fetched_at=self.now(), html=page.text,
                       status=page.status, meta=meta)

    def on_tip_error(self, failure: Failure) -> None:
        self.on_error(failure)  # the same accounting as every crawl
        request = getattr(failure, "request", None)
        tip_id = request.meta.get("netpatrol_tip") if request is not None else None
        if tip_id:
            message = str(failure.value)
            if "resolves to" in message:
                reason = "private_network"
            elif "robots.txt" in message:
                reason = "robots"
            else:
                reason = type(failure.value).__name__
            self._result(tip_id, "unreachable", f"{reason}: {message[:200]}")

    def item_matched(self, item: PageItem) -> None:
        """Called by TipOutcomePipeline once the page was matched."""
        tip_id = item.meta.get("tip_id")
        if tip_id and item.match is not None and item.match.matched:
            self._result(tip_id, "confirmed", "matched", categories=list(item.match.categories),
                         rules=list(item.match.rules), hit_url=item.url)

    def record_outcomes(self, spider: Any) -> None:
        store = store_for(self.crawler)
        tips = {t.id: t for t in store.tips(ids=[t["id"] for t in self.tips])} if self.tips else {}
        decided = []
        for tip_id, tip in tips.items():
            result = self.results.get(tip_id) or {"outcome": "unreachable", "reason": "not fetched (run stopped)",
                                                  "checked_at": iso(utcnow())}
            tip.status, tip.outcome, tip.reason = "checked", result["outcome"], result["reason"]
            tip.checked_at = tip.checked_at or result["checked_at"]
            tip.run_id, tip.decided_by = self.run_id, "system"
            tip.categories, tip.rules = result.get("categories", []), result.get("rules", [])
            decided.append(tip)
        from crawler.review.tips import decide

        decide(store, decided, "system")


class TipOutcomePipeline:
    """After matching: tell the tip spider which tipped pages are hits (enabled for tip runs only)."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> "TipOutcomePipeline":
        return cls(crawler)

    async def process_item(self, item: object) -> object:
        spider = getattr(self.crawler, "spider", None)
        if isinstance(spider, TipSpider) and isinstance(item, PageItem):
            spider.item_matched(item)
        return item
