"""The set of URLs a site crawl has already scheduled: in memory, or on disk for long crawls.

The site spider dedupes by canonical URL itself (its requests carry `dont_filter`, so
Scrapy's RFPDupeFilter never holds them); this set is what grows with a crawl. Chosen by
NETPATROL_SEEN_URLS:
  * `memory`: 8-byte digests in a Python set, about 60-70 bytes per URL (a set of the URL
    strings themselves cost about 150);
  * `disk`: the digests in a throw-away SQLite file (primary key, no rowid) with a bounded
    page cache: flat memory whatever the crawl's size, a few microseconds per URL;
  * `auto` (default): `disk` when the target may schedule more than NETPATROL_SEEN_URLS_DISK_ABOVE URLs.
The set lives for one run only: a scheduled re-crawl must fetch the same URLs again.
"""

from __future__ import annotations

import hashlib
import sqlite3
import tempfile
from pathlib import Path
from typing import Iterable, Protocol


def digest(url: str) -> int:
    """A signed 64-bit digest of a canonical URL (SQLite's INTEGER; a collision in 2^64 is never met)."""
    return int.from_bytes(hashlib.blake2b(url.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big",
                          signed=True)


class SeenURLs(Protocol):
    kind: str

    def add(self, url: str) -> bool:
        """Add `url`; True when it was new."""

    def __contains__(self, url: object) -> bool:
        """Was `url` scheduled (the index-link check asks whether the crawl will visit a page)?"""

    def __len__(self) -> int: ...

    def close(self) -> None: ...


class MemorySeen:
    """Digests in a set."""

    kind = "memory"

    def __init__(self) -> None:
        self._seen: set[int] = set()

    def add(self, url: str) -> bool:
        key = digest(url)
        if key in self._seen:
            return False
        self._seen.add(key)
        return True

    def __contains__(self, url: object) -> bool:
        return isinstance(url, str) and digest(url) in self._seen

    def __len__(self) -> int:
        return len(self._seen)

    def close(self) -> None:
        self._seen.clear()


class DiskSeen:
    """Digests in a temporary SQLite file; memory stays flat (cache_kib of page cache)."""

    kind = "disk"

    def __init__(self, directory: Path | str | None = None, cache_kib: int = 4096) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="netpatrol-seen-", dir=directory)
        self.path = Path(self._dir.name) / "seen.db"
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        # A scratch file: no journal and no fsync (a crash loses the run's frontier anyway).
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute(f"PRAGMA cache_size=-{int(cache_kib)}")
        self._db.execute("CREATE TABLE seen (k INTEGER PRIMARY KEY) WITHOUT ROWID")
        self._count = 0
        self._pending = 0
        self._db.execute("BEGIN")

    def add(self, url: str) -> bool:
        cur = self._db.execute("INSERT OR IGNORE INTO seen (k) VALUES (?)", (digest(url),))
        new = cur.rowcount == 1
        if new:
            self._count += 1
            self._pending += 1
            if self._pending >= 5000:  # commit in large transactions: one write per 5,000 URLs
                self._db.execute("COMMIT")
                self._db.execute("BEGIN")
                self._pending = 0
        return new

    def __contains__(self, url: object) -> bool:
        if not isinstance(url, str):
            return False
        return self._db.execute("SELECT 1 FROM seen WHERE k = ?", (digest(url),)).fetchone() is not None

    def __len__(self) -> int:
        return self._count

    def close(self) -> None:
        try:
            self._db.close()
        finally:
            self._dir.cleanup()


class SeenClaims:
    """The site spider's claims (crawler.frontier.claims interface) over a seen set, under the max_pages cap."""

    def __init__(self, seen: SeenURLs, limit: int) -> None:
        self.seen = seen
        self.limit = limit

    def claim_many(self, keys: Iterable[str]) -> list[bool]:
        return [len(self.seen) < self.limit and self.seen.add(key) for key in keys]

    def __len__(self) -> int:
        return len(self.seen)

    def close(self) -> None:
        self.seen.close()


def seen_urls(mode: str, max_urls: int, disk_above: int, directory: Path | str | None = None) -> SeenURLs:
    """The seen set for a crawl that may schedule up to `max_urls` URLs."""
    if mode not in ("auto", "memory", "disk"):
        raise ValueError(f"NETPATROL_SEEN_URLS must be auto, memory or disk, not {mode!r}")
    if mode == "disk" or (mode == "auto" and max_urls > disk_above):
        return DiskSeen(directory)
    return MemorySeen()
