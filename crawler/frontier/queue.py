"""scrapy-redis's priority queue, with leases: a popped request is held under the worker's name.

Plain scrapy-redis removes a request from Redis when a worker takes it, so `kill -9` loses it.
Here the pop moves it into the run's lease hash in the same Lua call; it leaves Redis only when
the worker acknowledges it (crawler.frontier.leases), or goes back to the queue when the worker's
heartbeat stops (crawler.frontier.scripts.RECLAIM).
"""

from __future__ import annotations

import secrets
from typing import Any

from scrapy import Request
from scrapy_redis.queue import PriorityQueue

from crawler.frontier import scripts
from crawler.frontier.attribution import LEASE_META, RID_META
from crawler.frontier.keys import RunKeys
from crawler.frontier.leases import LeaseBook, flat_counts


class LeasedQueue(PriorityQueue):
    """Keys come from a RunKeys; `book` is the worker's lease book (None when only seeding)."""

    keys: RunKeys
    book: LeaseBook | None = None

    def bind(self, keys: RunKeys, book: LeaseBook | None) -> "LeasedQueue":
        self.keys = keys
        self.book = book
        server = self.server
        self._pop = server.register_script(scripts.POP)
        self._push = server.register_script(scripts.PUSH)
        self._transfer = server.register_script(scripts.TRANSFER)
        return self

    def _encode(self, request: Request) -> tuple[float, bytes]:
        request.meta.pop(LEASE_META, None)  # a queued request is nobody's
        request.meta.setdefault(RID_META, secrets.token_hex(8))
        return -request.priority, self._encode_request(request)

    def push(self, request: Request) -> bool:
        score, data = self._encode(request)
        return bool(self._push(keys=[self.keys.requests, self.keys.meta], args=[score, data]))

    def transfer(self, token: str, request: Request, counts: Any) -> bool:
        """Queue `request` in place of the leased request `token`, adding that lease's counts (once)."""
        score, data = self._encode(request)
        return bool(self._transfer(keys=[*self.keys.lease_keys(), self.keys.stats, self.keys.requests, self.keys.meta],
                                   args=[token, score, data, *flat_counts(counts)]))

    def pop(self, timeout: int = 0) -> Request | None:
        assert self.book is not None, "only workers take requests"
        token = self.book.new_token()
        data = self._pop(keys=[self.keys.requests, *self.keys.lease_keys(), self.keys.meta],
                         args=[token, self.book.worker])
        if not data:
            return None
        request = self._decode_request(data)
        request.meta[LEASE_META] = token
        self.book.hold(token)
        return request


def seed_queue(server: Any, spider: Any, keys: RunKeys) -> LeasedQueue:
    """The run's queue as `netpatrol run` sees it: it only pushes the start requests."""
    return LeasedQueue(server=server, spider=spider, key=keys.requests).bind(keys, None)
