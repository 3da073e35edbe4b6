"""Move spooled writes into Elasticsearch: a background thread for a crawl, a loop for `netpatrol es flush`.

The crawl never waits for the cluster: the store appends each write to its spool segment
and wakes the drainer. The drainer first replays orphaned segments (left by runs that
crashed or could not reach the cluster), oldest first, then tails its own segment,
acknowledging each applied group. When the cluster is unreachable it backs off and
tries again; at close it gives up after a bounded wait and leaves the rest in the spool.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from pipelines.stores.elasticsearch.spool import ClaimedSegment, MemoryTail, Record, SegmentReader, claim_orphans
from pipelines.stores.elasticsearch.writer import Applied, BulkApplier, Unavailable

logger = logging.getLogger(__name__)

MAX_RECORDS_PER_GROUP = 256
GROUP_BULKS = 4  # a group holds up to this many bulk requests' worth of documents (fewer item reads, more overlap)
LINGER_SECONDS = 0.2  # a short wait for a full bulk group while a crawl is writing (fewer, fuller requests)


@dataclass
class DrainState:
    applied: Applied = field(default_factory=Applied)
    unavailable: str | None = None  # the last reason the cluster could not take writes
    replayed_segments: int = 0


def drain_segment(reader: SegmentReader | MemoryTail, applier: BulkApplier, state: DrainState, group_docs: int,
                  before_read: Callable[[], None] | None = None) -> bool:
    """Apply the complete records available now; True when the reader reached the end of what is written.

    `group_docs` is the size of one bulk request; a group gathers up to GROUP_BULKS of them, so its items
    are read in one request and its observations and items stream out side by side (see `BulkApplier.apply`).
    """
    while True:
        if before_read is not None:
            before_read()
        records = reader.read(MAX_RECORDS_PER_GROUP, group_docs * GROUP_BULKS)
        if reader.corrupt:
            applier._reject(state.applied, [{"index": "(spool)", "id": str(reader.path), "status": "corrupt",
                                             "error": "unreadable spool line", "document": line}
                                            for line in reader.corrupt])
            reader.corrupt.clear()
        if not records:
            return reader.at_end()
        for group in applier.in_order(records):
            try:
                state.applied.add(applier.apply(group))
            except BaseException:
                reader.rewind()  # back to the last acknowledged record: the rest is read again on the next try
                raise
            reader.ack(group[-1].end, len(group))


def replay_orphans(directory: Path, applier: BulkApplier, state: DrainState, group_docs: int,
                   exclude: Path | None = None, on_segment: Callable[[ClaimedSegment], None] | None = None) -> None:
    """Replay every segment no living writer holds, oldest first; raise Unavailable if the cluster fails."""
    for claimed in claim_orphans(directory, exclude=exclude):
        done = False
        try:
            if on_segment is not None:
                on_segment(claimed)
            done = drain_segment(claimed.reader, applier, state, group_docs)
            state.replayed_segments += 1
        finally:
            claimed.finish(remove=done)


class Drainer(threading.Thread):
    """The background writer of one store: orphans first, then its own segment, until closed."""

    def __init__(self, applier: BulkApplier, own: Path, group_docs: int, prepare: Callable[[], None],
                 max_backoff: float = 30.0) -> None:
        super().__init__(name=f"netpatrol-es-drain-{own.name[:20]}", daemon=True)
        self.applier = applier
        self.own = own
        self.group_docs = group_docs
        self.prepare = prepare
        self.max_backoff = max_backoff
        self.state = DrainState()
        self.wake = threading.Event()
        self.closing = threading.Event()
        self.caught_up = False
        self._warned = False
        self._progress = threading.Condition()
        self.applied_records = 0  # of this store's own segment
        self.tail = MemoryTail(own)
        self.urgent = threading.Event()  # a reader waits for this store's writes: no lingering

    def run(self) -> None:
        reader = self.tail
        prepared = False
        orphans_done = False
        backoff = 0.5
        try:
            while True:
                try:
                    if not prepared:
                        self.prepare()
                        prepared = True
                    if not orphans_done:
                        replay_orphans(self.own.parent, self.applier, self.state, self.group_docs, exclude=self.own)
                        orphans_done = True
                    self.caught_up = drain_segment(reader, self.applier, self.state, self.group_docs, self._linger)
                    if self.caught_up:
                        self.urgent.clear()
                    with self._progress:
                        self.applied_records = reader.acked_records
                        self._progress.notify_all()
                    self.state.unavailable = None
                    backoff = 0.5
                    if self.caught_up and self.closing.is_set():
                        return
                    if self.caught_up:
                        self.wake.wait(1.0)
                        self.wake.clear()
                except Unavailable as exc:
                    self._unavailable(str(exc))
                    with self._progress:
                        self._progress.notify_all()
                    if self.closing.is_set():
                        return  # one try after close: the rest waits in the spool
                    self.closing.wait(backoff)
                    backoff = min(self.max_backoff, backoff * 2)
                except Exception as exc:  # noqa: BLE001 - a writer thread must report, not vanish
                    self._unavailable(f"{type(exc).__name__}: {exc}")
                    logger.exception("Elasticsearch writer failed; writes stay in the spool %s", self.own.parent)
                    if self.closing.is_set():
                        return
                    self.closing.wait(self.max_backoff)
        finally:
            reader.close()

    def _linger(self) -> None:
        """Wait briefly for a full bulk request's worth of documents, unless closing or someone waits to read.

        (Not for a whole group: the first request goes out as soon as it is full, and what arrives
        meanwhile makes the next group.)"""
        deadline = time.monotonic() + LINGER_SECONDS
        while (self.tail.pending_docs() < self.group_docs and not self.closing.is_set()
               and not self.urgent.is_set()):
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self.wake.wait(left)
            self.wake.clear()

    def _unavailable(self, reason: str) -> None:
        self.state.unavailable = reason
        self.caught_up = False
        if not self._warned:
            self._warned = True
            logger.warning("Elasticsearch cannot take writes (%s); writes are kept in the spool %s and retried",
                           reason, self.own.parent)

    def notify(self) -> None:
        self.wake.set()

    def hand_over(self, record: Record) -> None:
        """A record just written to this store's segment, for the thread to apply without reading it back."""
        self.tail.push(record)
        self.wake.set()

    def wait_applied(self, records: int, timeout: float) -> bool:
        """Wait until the first `records` records of this store's segment are applied (read-your-writes)."""
        self.urgent.set()
        self.wake.set()
        with self._progress:
            return self._progress.wait_for(
                lambda: self.applied_records >= records or not self.is_alive() or self.state.unavailable is not None,
                timeout,
            ) and self.applied_records >= records

    def close(self, timeout: float) -> bool:
        """Ask the thread to finish what is written; True if everything was applied within `timeout` seconds."""
        self.closing.set()
        self.wake.set()
        self.join(timeout)
        return not self.is_alive() and self.caught_up
