"""The store interface: what every backend (SQLite, Elasticsearch) keeps and answers.

Run state lives here, not in crawler memory, so several crawl workers can later
share one store. Figures are computed by `crawler.report.build` from these answers, so
both backends produce the same report for the same data.
"""

from __future__ import annotations

import os
import socket
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable

from pipelines.stores.tracking import Document, ItemCheck, TrackedItem, Verdict
from pipelines.stores.workbench import WorkbenchStore

RUN_STATUSES = ("running", "completed", "partial", "failed", "interrupted", "timeout")
CLEAN_STATUSES = ("completed",)


def check_final_status(status: str) -> str:
    """A status a finished run may be given (anything but `running`), or ValueError."""
    if status not in RUN_STATUSES or status == "running":
        raise ValueError(f"not a finished run's status: {status!r} (one of {', '.join(RUN_STATUSES[1:])})")
    return status


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def iso(dt: datetime | None) -> str | None:
    """ISO-8601 UTC with a Z and fixed microsecond width, so stored strings sort as times."""
    if dt is None:
        return None
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(value: str | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass
class Run:
    """One patrol of one target."""

    id: str
    target: str
    kind: str
    started_at: str
    rules_version: str
    status: str = "running"
    finished_at: str | None = None
    pages: int = 0
    errors: int = 0
    hits: int = 0
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    heartbeat_at: str | None = None
    stats: dict[str, Any] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        """The fields of `netpatrol runs --format json` (a contract)."""
        return {
            "id": self.id,
            "target": self.target,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "status": self.status,
            "pages": self.pages,
            "hits": self.hits,
            "errors": self.errors,
            "rules_version": self.rules_version,
        }

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Evidence:
    """A file kept as proof of a hit: the HTML as fetched (gzip) or a full-page screenshot (PNG).

    `sha256` is of the content itself (the HTML before compression, the PNG as written), so
    anyone holding the file can check it against the recorded hash.
    """

    kind: str  # "html" | "screenshot"
    path: str  # relative to the data directory (absolute when kept elsewhere)
    sha256: str
    size: int  # bytes of the content (uncompressed HTML, PNG)
    fetched_at: str  # when the page was fetched / the screenshot taken (ISO-8601 UTC)
    media_type: str  # "text/html" (stored gzip) | "image/png"


@dataclass
class Observation:
    """A matched item seen in a run (a page, or a search result)."""

    run_id: str
    target: str
    url: str
    canonical_url: str
    domain: str
    seen_at: str
    kind: str  # "page" | "result"
    categories: list[str]
    rules: list[str]
    score: float
    title: str = ""
    snippet: str = ""
    query: str | None = None
    rank: int | None = None
    explanation: dict[str, Any] = field(default_factory=dict)
    evidence: list[Evidence] = field(default_factory=list)
    unit: str = ""  # the page's own filing entity (pipelines.engine.filings.unit_key), else its domain
    filings: list[str] = field(default_factory=list)  # filings shown on the page, as normalized text
    ad: bool = False  # a promoted result
    risk: str | None = None  # the engine's own risk warning on the result
    wrapped_url: str | None = None  # the engine's redirect link the landing URL was found behind


@dataclass
class SearchTotal:
    """One query's figures in a run: the engine's own total (context only) and the results seen/matched.

    `lost` counts the query's result pages that were walled, empty or cut short: a query with
    lost pages has no clean observation in that run and is left out of the search figures."""

    run_id: str
    target: str
    query: str
    total: int | None
    results: int
    matched: int
    pages: int
    recorded_at: str
    lost: int = 0
    lost_reasons: list[str] = field(default_factory=list)
    ads: int = 0


@dataclass
class HitRow:
    """One distinct matched item of a run, as the report counts it."""

    run_id: str
    target: str
    canonical_url: str
    domain: str
    categories: list[str]
    rules: list[str] = field(default_factory=list)
    query: str | None = None  # search targets: the query the report counts the item under (crawler.report.comparable)


class Store(WorkbenchStore, ABC):
    """A place runs, observations and search totals are written to and read from."""

    # --- writing (called by the crawl) ---
    @abstractmethod
    def start_run(self, run: Run) -> None: ...

    @abstractmethod
    def heartbeat(self, run_id: str, pages: int, errors: int, hits: int) -> None: ...

    @abstractmethod
    def add_observations(self, observations: list[Observation]) -> None:
        """Idempotent per (run, canonical URL): a replay never double-counts."""

    @abstractmethod
    def add_search_totals(self, totals: list[SearchTotal]) -> None: ...

    @abstractmethod
    def finish_run(self, run_id: str, status: str, pages: int, errors: int, stats: dict[str, Any]) -> Run: ...

    @abstractmethod
    def set_run_status(self, run_id: str, status: str, stats: dict[str, Any] | None = None) -> Run | None:
        """Overrule the status of a run whose crawl has ended (the scheduler's `timeout`, a killed child).

        Pages, errors and hits are kept, `stats` is merged into the run's stats and `finished_at`
        is set if the crawl never wrote it. None when there is no such run."""

    # --- reading (called by commands and reports) ---
    @abstractmethod
    def runs(self, target: str | None = None, since: str | None = None, until: str | None = None) -> list[Run]:
        """Runs ordered by start time; `since`/`until` bound started_at (inclusive)."""

    @abstractmethod
    def get_run(self, run_id: str) -> Run | None: ...

    @abstractmethod
    def hit_rows(self, run_ids: Iterable[str]) -> list[HitRow]: ...

    @abstractmethod
    def hits(self, run_ids: Iterable[str]) -> list[dict[str, Any]]:
        """Matched items of the runs with their first/last seen times (for `netpatrol hits`)."""

    @abstractmethod
    def search_totals(self, run_ids: Iterable[str]) -> list[SearchTotal]: ...

    def evidence(self, canonical_url: str, run_id: str | None = None) -> list[dict[str, Any]]:
        """Evidence kept for an item (every run, or one): run, target, seen_at, url plus the Evidence fields.

        Backends that keep no evidence yet say so instead of answering "none"."""
        from pipelines.errors import StoreError

        raise StoreError(f"the {type(self).__name__} does not list evidence yet")

    # --- decline analytics (crawler.report, `netpatrol verify`, `netpatrol triage`) ---
    @abstractmethod
    def add_documents(self, documents: list[Document]) -> None:
        """Keep every examined page/result of a run; idempotent per `Document.key()`."""

    @abstractmethod
    def documents(self, run_ids: Iterable[str], with_text: bool = False) -> list[Document]:
        """Documents of the runs (`text_z` filled only when asked: it is the bulk of the data)."""

    @abstractmethod
    def prune_document_text(self, before: str) -> int:
        """Drop the text (not the row) of documents fetched before `before`; return how many."""

    @abstractmethod
    def items(
        self,
        canonical_urls: Iterable[str] | None = None,
        target: str | None = None,
        seen_since: str | None = None,
        statuses: Iterable[str] | None = None,
    ) -> list[TrackedItem]:
        """Tracked items, filtered; `target` is the target that saw the item last."""

    @abstractmethod
    def add_checks(self, checks: list[ItemCheck]) -> None:
        """Append to the items' status history and set their current status."""

    @abstractmethod
    def item_checks(self, canonical_urls: Iterable[str] | None = None, until: str | None = None) -> list[ItemCheck]:
        """Status history ordered by time (all items, or these), up to `until` inclusive."""

    @abstractmethod
    def add_verdicts(self, verdicts: list[Verdict]) -> None: ...

    @abstractmethod
    def verdicts(self) -> dict[str, Verdict]:
        """The latest verdict per canonical URL."""

    def latest_runs(self) -> list[Run]:
        latest: dict[str, Run] = {}
        for run in self.runs():
            latest[run.target] = run
        return list(latest.values())

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
