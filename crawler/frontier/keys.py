"""Every Redis key of the frontier, in one place: per-run keys live under `<prefix>:run:<id>:`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunKeys:
    prefix: str
    run_id: str

    @property
    def base(self) -> str:
        return f"{self.prefix}:run:{self.run_id}"

    @property
    def meta(self) -> str:
        """Hash {target, started_at}: exists exactly while the run is open (Redis lost it: the run is over)."""
        return f"{self.base}:meta"

    @property
    def requests(self) -> str:
        """scrapy-redis's priority queue (a sorted set of serialized requests)."""
        return f"{self.base}:requests"

    @property
    def dupefilter(self) -> str:
        """scrapy-redis's request fingerprints."""
        return f"{self.base}:dupefilter"

    @property
    def urls(self) -> str:
        """Canonical URLs the site spider has scheduled (its max_pages cap, shared by every worker)."""
        return f"{self.base}:urls"

    @property
    def leases(self) -> str:
        """Hash lease token -> serialized request, for requests a worker has taken and not yet finished."""
        return f"{self.base}:leases"

    @property
    def lease_owners(self) -> str:
        return f"{self.base}:lease-owners"

    @property
    def lease_scores(self) -> str:
        return f"{self.base}:lease-scores"

    @property
    def stats(self) -> str:
        """Hash of the run's summed stats (each request's counts added once, when its lease is acknowledged)."""
        return f"{self.base}:stats"

    def all(self) -> list[str]:
        return [self.meta, self.requests, self.dupefilter, self.urls, self.leases, self.lease_owners,
                self.lease_scores, self.stats]

    def lease_keys(self) -> list[str]:
        return [self.leases, self.lease_owners, self.lease_scores]


@dataclass(frozen=True)
class GlobalKeys:
    prefix: str

    @property
    def runs(self) -> str:
        """Hash run id -> JSON {target, started_at}: the open runs workers pull from."""
        return f"{self.prefix}:runs"

    @property
    def workers(self) -> str:
        """Hash worker name -> JSON {host, pid, runs, pages_per_minute, heartbeat...}."""
        return f"{self.prefix}:workers"

    @property
    def deadlines(self) -> str:
        """Sorted set worker name -> deadline (Redis server time): its leases expire after it."""
        return f"{self.prefix}:worker-deadlines"

    def target_lock(self, target: str) -> str:
        """Held by the open run of a target, so two runs of one target never overlap."""
        return f"{self.prefix}:target:{target}:lock"
