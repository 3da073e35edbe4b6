"""The URLs a site run has scheduled, with its max_pages cap: in memory, or in Redis shared by workers."""

from __future__ import annotations

from typing import Any, Iterable


class MemoryClaims:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.seen: set[str] = set()

    def claim_many(self, keys: Iterable[str]) -> list[bool]:
        out = []
        for key in keys:
            ok = key not in self.seen and len(self.seen) < self.limit
            if ok:
                self.seen.add(key)
            out.append(ok)
        return out


class RedisClaims:
    """One Lua call per page's links: a URL is scheduled by exactly one worker, and at most `limit` in all."""

    def __init__(self, server: Any, key: str, limit: int, book: Any = None) -> None:
        from crawler.frontier.scripts import CLAIM

        self.key = key
        self.limit = limit
        self.book = book
        self.script = server.register_script(CLAIM)

    def claim_many(self, keys: Iterable[str]) -> list[bool]:
        from crawler.frontier.attribution import CURRENT
        from crawler.frontier.connection import REDIS_DOWN

        keys = list(keys)
        if not keys:
            return []
        try:
            return [bool(x) for x in self.script(keys=[self.key], args=[self.limit, *keys])]
        except REDIS_DOWN:
            if self.book is None:  # seeding: `run` reports that Redis is away
                raise
            # The page's links are unknown now: its request goes back to the queue instead of being acknowledged.
            self.book.taint(CURRENT.get())
            return [False] * len(keys)


def url_claims(settings: Any, limit: int, crawler: Any = None) -> MemoryClaims | RedisClaims:
    url = settings.get("NETPATROL_FRONTIER_URL")
    if not url:
        return MemoryClaims(limit)
    from crawler.frontier.connection import connect
    from crawler.frontier.keys import RunKeys

    keys = RunKeys(settings.get("NETPATROL_FRONTIER_PREFIX"), settings.get("NETPATROL_RUN_ID"))
    book = None
    if crawler is not None and settings.get("NETPATROL_FRONTIER_ROLE") == "worker":
        from crawler.frontier.leases import lease_book

        book = lease_book(crawler)
    return RedisClaims(connect(url), keys.urls, limit, book)
