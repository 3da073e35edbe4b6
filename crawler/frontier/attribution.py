"""Which leased request the code running now works for, so its counts are added once, with its lease.

Scrapy scrapes each response (callback, items, pipelines) in its own asyncio task, so a context
variable set when a response or failure reaches the spider follows exactly that request's work.
Kept free of Redis and Scrapy imports: the spiders call `attribute` in every mode.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

#: request.meta key of the lease a worker holds the request under (absent outside workers).
LEASE_META = "netpatrol_lease"
#: request.meta key of a request's identity in the frontier, kept across redirects, retries and re-delivery.
RID_META = "netpatrol_rid"

CURRENT: ContextVar[str | None] = ContextVar("netpatrol_current_lease", default=None)


def attribute(request: Any) -> None:
    """Count what follows (in this task) for `request`'s lease, if it has one."""
    meta = getattr(request, "meta", None)
    token = meta.get(LEASE_META) if meta else None
    if token:
        CURRENT.set(token)


class AttributionMiddleware:
    """Spider middleware (workers only): a response's callback and items count for its request's lease."""

    def process_spider_input(self, response: Any, spider: Any = None) -> None:
        attribute(response.request)


class SeededElsewhere:
    """Spider middleware (workers only): `netpatrol run` seeded the run's start requests; drop the spider's own.

    The start is still consumed, so a site spider sets itself up as it does in a single process.
    """

    async def process_start(self, start: Any) -> Any:
        async for _ in start:
            pass
        return
        yield  # an async generator that yields nothing
