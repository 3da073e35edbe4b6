"""Resolve engines' wrapped result links (baidu.com/link?url=…) to the landing URL they redirect to.

One resolution per distinct wrapped link and run (concurrent results wait on the same one);
each hop is its own HEAD request with redirects not followed, so it passes the downloader
middlewares — the private-network guard above all — and no body is read. The landing URL is
the URL of the first answer that is not a redirect. Results are kept for later runs in a small
SQLite file in the data directory, for `links.cache_ttl` seconds. A link that cannot be
resolved stays as it is and is counted (`netpatrol/links/unresolved/<reason>`).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from scrapy import Request
from scrapy.exceptions import IgnoreRequest

from crawler.config.engines import LinkResolution
from crawler.middlewares.private_network import PrivateAddressBlocked

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Resolution:
    landing: str | None  # None: unresolved
    reason: str  # resolved | decoded | refused | too_many_hops | no_redirect | error_<kind> | robots


class LinkCache:
    """wrapped URL -> landing URL, with the time it was resolved; shared by runs (SQLite, WAL)."""

    def __init__(self, path: Path, ttl: float) -> None:
        self.path = path
        self.ttl = ttl
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS links (wrapped TEXT PRIMARY KEY, landing TEXT NOT NULL,"
                        " resolved_at REAL NOT NULL)")

    def get(self, wrapped: str) -> str | None:
        row = self.db.execute("SELECT landing, resolved_at FROM links WHERE wrapped=?", (wrapped,)).fetchone()
        if row is None or time.time() - row[1] > self.ttl:
            return None
        return str(row[0])

    def put(self, wrapped: str, landing: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO links (wrapped, landing, resolved_at) VALUES (?,?,?)",
                        (wrapped, landing, time.time()))

    def close(self) -> None:
        self.db.close()


class LinkResolver:
    """Resolve wrapped links of one run through the crawler's downloader."""

    def __init__(self, crawler: Any, settings: LinkResolution, cache: LinkCache | None) -> None:
        self.crawler = crawler
        self.settings = settings
        self.cache = cache
        self.pending: dict[str, asyncio.Future[Resolution]] = {}

    def _inc(self, key: str) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(f"netpatrol/links/{key}")

    async def resolve(self, wrapped: str) -> Resolution:
        known = self.pending.get(wrapped)
        if known is not None:
            self._inc("cache/run")
            return await asyncio.shield(known)
        future: asyncio.Future[Resolution] = asyncio.get_running_loop().create_future()
        self.pending[wrapped] = future
        try:
            result = await self._resolve(wrapped)
        except Exception as exc:  # never fail the page over one link
            result = Resolution(None, f"error_{type(exc).__name__}")
        future.set_result(result)
        self._inc("resolved" if result.landing else f"unresolved/{result.reason}")
        if result.landing is None:
            self._inc("unresolved")
        return result

    async def _resolve(self, wrapped: str) -> Resolution:
        if self.cache is not None:
            landing = self.cache.get(wrapped)
            if landing is not None:
                self._inc("cache/store")
                return Resolution(landing, "cached")
        current = wrapped
        for _hop in range(self.settings.max_hops):
            request = Request(current, method="HEAD", dont_filter=True, meta={
                "dont_redirect": True, "handle_httpstatus_all": True, "download_timeout": self.settings.timeout,
                "dont_retry": True, "netpatrol_link_hop": True,
            })
            self._inc("requests")
            try:
                response = await self.crawler.engine.download_async(request)
            except PrivateAddressBlocked as exc:
                logger.warning("wrapped link %s not resolved: %s", wrapped, exc)
                return Resolution(None, "refused")
            except IgnoreRequest as exc:
                return Resolution(None, "robots" if "robots" in str(exc).lower() else "ignored")
            location = response.headers.get(b"Location")
            if 300 <= response.status < 400 and location:
                current = urljoin(current, location.decode("latin-1").strip())
                continue
            if current == wrapped:
                return Resolution(None, "no_redirect")
            if self.cache is not None and self.settings.cache_ttl > 0:
                self.cache.put(wrapped, current)
            return Resolution(current, "resolved")
        return Resolution(None, "too_many_hops")
