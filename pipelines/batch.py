"""One bounded write batch per crawl: a page's document and its hits are committed together.

The storage pipeline (hits) and the archive pipeline (every examined page) used to write on
their own schedules, so a crawl killed with `kill -9` left pages without their hits. Both
now hand their rows to the crawl's `WriteBatch`, which commits them with `Store.write_batch`
(one SQLite transaction; one Elasticsearch spool record) when the batch holds
NETPATROL_WRITE_BATCH_ITEMS pages or is NETPATROL_WRITE_BATCH_SECONDS old, checked on every
item and by a timer while the crawl is quiet, and at close. A kill loses at most the batch
being filled: never half of a page.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Callable

from pipelines.stores.base import Observation, SearchTotal, Store
from pipelines.stores.tracking import Document

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class WriteBatch:
    """Documents, observations and the latest search figures of a crawl, waiting to be committed together."""

    def __init__(self, store: Store, max_items: int = 200, max_seconds: float = 2.0,
                 crawler: "Crawler | None" = None) -> None:
        self.store = store
        self.max_items = max(1, max_items)
        self.max_seconds = max_seconds
        self.crawler = crawler
        self.documents: list[Document] = []
        self.observations: list[Observation] = []
        self.totals: Callable[[], list[SearchTotal]] | None = None  # the storage pipeline's running figures
        self.totals_dirty = False
        self.items = 0
        self.opened_at: float | None = None
        self.written_documents = 0
        self.written_observations = 0
        self.batches = 0
        self.has_archive = False  # the archive pipeline closes each item; else the storage pipeline does
        self._timer: object | None = None

    # --- filling ---
    def _touch(self) -> None:
        if self.opened_at is None:
            self.opened_at = time.monotonic()
            self._start_timer()

    def add_observation(self, observation: Observation) -> None:
        self._touch()
        self.observations.append(observation)

    def add_document(self, document: Document) -> None:
        self._touch()
        self.documents.append(document)

    def totals_changed(self) -> None:
        self._touch()
        self.totals_dirty = True

    def item_done(self) -> None:
        """An item has passed every writing stage: its rows are complete, so the batch may be committed now."""
        self.items += 1
        if self.items >= self.max_items or self.age() >= self.max_seconds:
            self.flush()

    def age(self) -> float:
        return 0.0 if self.opened_at is None else time.monotonic() - self.opened_at

    # --- committing ---
    def flush(self) -> None:
        if not (self.documents or self.observations or self.totals_dirty):
            self.opened_at = None
            return
        totals = self.totals() if (self.totals is not None and self.totals_dirty) else []
        self.store.write_batch(self.documents, self.observations, totals)
        self.written_documents += len(self.documents)
        self.written_observations += len(self.observations)
        self.batches += 1
        self.documents, self.observations, self.totals_dirty, self.items, self.opened_at = [], [], False, 0, None
        if self.crawler is not None and self.crawler.stats is not None:
            stats = self.crawler.stats
            stats.set_value("netpatrol/stored/observations", self.written_observations)
            stats.set_value("netpatrol/archive/documents", self.written_documents)
            stats.set_value("netpatrol/stored/batches", self.batches)

    def _start_timer(self) -> None:
        """Commit an aged batch while no item arrives (a slow site, a crawl waiting on back-off)."""
        if self._timer is not None or self.max_seconds <= 0:
            return
        try:
            from twisted.internet import reactor
            from twisted.internet.task import LoopingCall
        except ImportError:  # pragma: no cover - twisted comes with scrapy
            return
        if not reactor.running:  # type: ignore[attr-defined]
            return
        timer = LoopingCall(self._tick)
        timer.start(self.max_seconds / 2, now=False)
        self._timer = timer

    def _tick(self) -> None:
        if self.opened_at is not None and self.age() >= self.max_seconds:
            try:
                self.flush()
            except Exception as exc:  # the next item or the close retries; a timer must not die
                logger.warning("write batch not committed yet: %s", exc)

    def close(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None and timer.running:  # type: ignore[attr-defined]
            timer.stop()  # type: ignore[attr-defined]
        self.flush()


def batch_for(crawler: "Crawler", store: Store) -> WriteBatch:
    """The crawl's one write batch, shared by the storage and archive pipelines."""
    batch = getattr(crawler, "_netpatrol_write_batch", None)
    if batch is None:
        settings = crawler.settings
        batch = WriteBatch(store, settings.getint("NETPATROL_WRITE_BATCH_ITEMS"),
                           settings.getfloat("NETPATROL_WRITE_BATCH_SECONDS"), crawler)
        crawler._netpatrol_write_batch = batch  # type: ignore[attr-defined]
    return batch
