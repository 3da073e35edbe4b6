"""What one worker holds of one run: its leases, their counts, and which are finished.

A lease is acknowledged only after its request's outputs are safe: new requests are in Redis
(they are pushed while the callback runs) and items are written (the pipelines are flushed
first). A worker killed before that leaves the lease to expire and the request is done again;
the store is idempotent per (run, URL) and the counts of an unacknowledged lease are never added.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Lease:
    token: str
    counts: Counter[str] = field(default_factory=Counter)
    done: bool = False
    tainted: bool = False  # some output could not reach Redis: give the request back instead of acknowledging


class LeaseBook:
    def __init__(self, worker: str) -> None:
        self.worker = worker
        self._seq = itertools.count(1)
        self.held: dict[str, Lease] = {}
        self.loose: Counter[str] = Counter()  # counts made outside any lease (added at least once)

    def new_token(self) -> str:
        return f"{self.worker}#{next(self._seq)}"

    def hold(self, token: str) -> None:
        self.held[token] = Lease(token)

    def count(self, token: str | None, key: str, value: int) -> None:
        lease = self.held.get(token) if token else None
        if lease is not None:
            lease.counts[key] += value
        else:
            self.loose[key] += value

    def finish(self, token: str | None) -> None:
        lease = self.held.get(token) if token else None
        if lease is not None:
            lease.done = True

    def taint(self, token: str | None) -> None:
        lease = self.held.get(token) if token else None
        if lease is not None:
            lease.tainted = True

    def take(self, token: str) -> Lease | None:
        return self.held.pop(token, None)

    def take_done(self) -> list[Lease]:
        done = [lease for lease in self.held.values() if lease.done]
        for lease in done:
            del self.held[lease.token]
        return done

    def give_back(self, leases: list[Lease]) -> None:
        """Leases whose acknowledgement failed (Redis away): try again next round."""
        for lease in leases:
            self.held[lease.token] = lease

    def take_loose(self) -> Counter[str]:
        loose, self.loose = self.loose, Counter()
        return loose

    def unfinished(self) -> list[str]:
        return [t for t, lease in self.held.items() if not lease.done]


def flat_counts(counts: Counter[str] | dict[str, int]) -> list[Any]:
    """field1, count1, field2, count2, ... for the Lua scripts."""
    out: list[Any] = []
    for key, value in counts.items():
        if value:
            out += [key, int(value)]
    return out


def lease_book(crawler: Any) -> LeaseBook:
    """The crawler's lease book (one per run crawler in a worker)."""
    book = getattr(crawler, "_netpatrol_leases", None)
    if book is None:
        book = LeaseBook(crawler.settings.get("NETPATROL_FRONTIER_WORKER") or "worker")
        crawler._netpatrol_leases = book
    return book
