"""Crawl a site: fetch start URLs, follow same-host links whose path matches `follow`, match every page."""

from __future__ import annotations

import re
from typing import Any, AsyncIterator, Iterator
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.http import Response, TextResponse

from crawler.config.schema import SiteTarget
from crawler.frontier.claims import url_claims
from pipelines.items import PageItem
from crawler.spiders.base import PatrolSpider
from crawler.spiders.seen_urls import SeenClaims, seen_urls
from pipelines.engine.anatomy import Anatomy, anatomy
from pipelines.urls import canonical_url, join_url


def _host_key(url: str) -> tuple[str, int | None]:
    parts = urlsplit(url)
    return (parts.hostname or "", parts.port)


class SiteSpider(PatrolSpider):
    name = "site"
    target: SiteTarget

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> "SiteSpider":
        spider = super().from_crawler(crawler, *args, **kwargs)
        assert isinstance(spider, SiteSpider)
        spider._setup()  # before any response: a frontier worker may get one before it reads its start
        return spider

    def _setup(self) -> None:
        target = self.target
        self.hosts = {_host_key(u) for u in target.start_urls}
        self.follow = [re.compile(p) for p in target.follow]
        self.match_urls = [re.compile(p) for p in target.match_urls]
        # Scheduled canonical URLs with the max_pages cap: shared by every worker of a frontier run (Redis), else
        # this process's seen set, in memory or on disk for long crawls (crawler.spiders.seen_urls).
        settings = self.crawler.settings
        if settings.get("NETPATROL_FRONTIER_URL"):
            self.claims: Any = url_claims(settings, target.max_pages, self.crawler)
        else:
            seen = seen_urls(settings.get("NETPATROL_SEEN_URLS"), target.max_pages,
                             settings.getint("NETPATROL_SEEN_URLS_DISK_ABOVE"))
            self.claims = SeenClaims(seen, target.max_pages)
        self.link_listings: set[str] = set()

    async def start(self) -> AsyncIterator[Any]:
        if isinstance(self.claims, SeenClaims) and self.crawler.stats is not None:
            self.crawler.stats.set_value("netpatrol/seen_urls", self.claims.seen.kind)
        for url in self.target.start_urls:
            request = self._request(url)
            if request is not None:
                yield request

    def _request(self, url: str) -> Request | None:
        return self._requests([url])[0]

    def _requests(self, urls: list[str]) -> list[Request | None]:
        """Requests for the URLs not scheduled yet, under the cap (one Redis call for a page's links)."""
        claimed = self.claims.claim_many([canonical_url(u) for u in urls])
        return [self._new_request(u) if ok else None for u, ok in zip(urls, claimed)]

    def _new_request(self, url: str) -> Request:
        # The spider dedupes by canonical URL itself; leaving the scheduler's filter out means a redirect
        # loop runs into REDIRECT_MAX_TIMES and is counted as an error instead of silently vanishing.
        return Request(url, callback=self.parse, errback=self.on_error, dont_filter=True)

    def closed(self, reason: str) -> None:
        close = getattr(getattr(self, "claims", None), "close", None)
        if close is not None:
            close()

    def should_follow(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or _host_key(url) not in self.hosts:
            return False
        if not self.follow:
            return False
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return any(p.search(path) for p in self.follow)

    def should_match(self, url: str) -> bool:
        if not self.match_urls:
            return True
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return any(p.search(path) for p in self.match_urls)

    def rendered_hit(self, url: str, html: str) -> bool:
        if not self.should_match(url):
            return False
        page = anatomy(html, url)
        return bool(self.matcher.match(page.title, page.content()).matched)

    def parse(self, response: Response) -> Iterator[Any]:
        page = self.usable_html(response)
        if page is None:
            return
        self.count_page()
        blocks = anatomy(base_url=page.url, root=page.selector.root)
        if self.should_match(page.url):
            yield PageItem(url=page.url, target=self.target.name, fetched_at=self.now(), html=page.text, status=page.status,
                           meta={**self.evidence_meta(page), "anatomy": blocks})
        follow = []
        for href in page.css("a::attr(href)").getall():
            url = join_url(page.url, href.strip())
            if self.should_follow(url):
                follow.append(url)
        for request in self._requests(follow):
            if request is not None:
                yield request
        yield from self.link_items(page, blocks)

    def _reachable(self, url: str, key: str) -> bool:
        """Will this crawl visit the URL? Followed and claimed under max_pages. With claims shared in Redis
        the cap cannot be told from "already scheduled", so a followed link counts as reachable there."""
        if not self.should_follow(url):
            return False
        seen = getattr(self.claims, "seen", None)
        return key in seen if seen is not None else True

    def link_items(self, page: TextResponse, blocks: Anatomy) -> Iterator[PageItem]:
        """An index block's links to pages this crawl will not visit (off-site, not followed, beyond
        max_pages) count as those listings: the item is the linked URL, seen on this page. Links to pages
        the crawl visits count where they live, never here."""
        for url, text in blocks.index_links():
            if urlsplit(url).scheme not in ("http", "https"):
                continue
            key = canonical_url(url)
            if key in self.link_listings or self._reachable(url, key):
                continue
            self.link_listings.add(key)
            yield PageItem(url=url, target=self.target.name, fetched_at=self.now(), html="", title=text[:500],
                           text=text, kind="link", meta={**self.evidence_meta(page), "seen_on": page.url})
