"""Keep evidence of every hit: the HTML as fetched (gzip) and, for rendered pages, a full-page screenshot.

Files live under `<data dir>/evidence/<run id>/`, named by the SHA-256 of their content,
so a page reached by several hits (a search result page) is written once. Each file is
written to a temporary name and renamed, so a crash never leaves a partial file behind a
recorded hash; the storage pipeline records the hashes with the observation.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import logging
import os
import threading
from pathlib import Path
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from pipelines.runtime import data_dir_from_settings
from pipelines.items import PageItem, ResultItem
from pipelines.stores.base import Evidence

logger = logging.getLogger(__name__)

KINDS = {
    "html": ("text/html", ".html.gz"),
    "screenshot": ("image/png", ".png"),
}


def write_atomically(path: Path, data: bytes) -> None:
    # pid and thread in the temporary name: two writers of the same content never share a temporary file.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class EvidenceKeeper:
    """Write evidence files of one run into its folder; answer Evidence records."""

    def __init__(self, folder: Path, data_dir: Path) -> None:
        self.folder = folder
        self.data_dir = data_dir

    def keep(self, kind: str, content: bytes, fetched_at: str) -> Evidence:
        media_type, suffix = KINDS[kind]
        digest = hashlib.sha256(content).hexdigest()
        path = self.folder / f"{digest}{suffix}"
        if not path.exists():
            self.folder.mkdir(parents=True, exist_ok=True)
            stored = gzip.compress(content, compresslevel=6, mtime=0) if kind == "html" else content
            write_atomically(path, stored)
        try:
            shown = str(path.relative_to(self.data_dir))
        except ValueError:
            shown = str(path)
        return Evidence(kind, shown, digest, len(content), fetched_at, media_type)


def read_evidence(path: Path, kind: str) -> bytes:
    """The content an Evidence record hashes: the HTML uncompressed, the PNG as is."""
    data = path.read_bytes()
    return gzip.decompress(data) if kind == "html" else data


class EvidencePipeline:
    """Attach Evidence records (`item.meta["evidence"]`) to matched, non-duplicate items."""

    def __init__(self, keeper: EvidenceKeeper, crawler: Crawler | None = None) -> None:
        self.keeper = keeper
        self.stats = crawler.stats if crawler is not None else None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "EvidencePipeline":
        settings = crawler.settings
        run_id = settings.get("NETPATROL_RUN_ID")
        if not run_id or not settings.getdict("NETPATROL_STORE"):
            raise NotConfigured("not a netpatrol run")
        data_dir = data_dir_from_settings(settings)
        root = Path(settings.get("NETPATROL_EVIDENCE_DIR") or data_dir / "evidence")
        return cls(EvidenceKeeper(root / run_id, data_dir), crawler)

    def _inc(self, key: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(key)

    async def _keep(self, kind: str, content: bytes, fetched_at: str) -> Evidence:
        # The asyncio reactor is pinned in crawler/settings.py (TWISTED_REACTOR), so asyncio's pool is there.
        return await asyncio.to_thread(self.keeper.keep, kind, content, fetched_at)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, (PageItem, ResultItem)) or item.duplicate:
            return item
        if item.match is None or not item.match.matched:
            return item
        kept: list[Evidence] = []
        try:
            # Hashing, compressing and fsync-ing run in a thread (all three release the GIL): the crawl goes on.
            body = item.meta.get("html_body")
            if body:
                kept.append(await self._keep("html", body, item.meta.get("fetched_at") or item.fetched_at))
                self._inc("netpatrol/evidence/html")
            screenshot = item.meta.get("screenshot")
            if screenshot:
                kept.append(await self._keep("screenshot", screenshot, item.meta.get("screenshot_at") or item.fetched_at))
                self._inc("netpatrol/evidence/screenshots")
            elif item.meta.get("rendered"):
                self._inc("netpatrol/evidence/screenshot_missing")
        except OSError as exc:
            # The hit is still recorded; the missing file is counted and logged, never silently lost.
            logger.error("evidence for %s not written: %s", item.url, exc)
            self._inc("netpatrol/evidence/write_errors")
        item.meta["evidence"] = kept
        return item
