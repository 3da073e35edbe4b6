"""What the analyst's workbench (`netpatrol serve`) keeps beside hits: users, an audit trail, tips, filings.

    User            a login with a role (viewer < reviewer < admin) and an argon2 password hash
    AuditEntry      who did what, when: every triage and tip decision, logins, user changes
    Tip             a public report of a URL, queued, fetched through the crawl path and given an outcome
    FilingSighting  an ICP / public-security filing seen on a domain's pages (the unit behind the domain)

Both store backends keep these; they also answer a full-text search over hits
(`search_hits`) and find an evidence record by its SHA-256 (`evidence_by_sha256`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ROLES = ("viewer", "reviewer", "admin")
TIP_OUTCOMES = ("confirmed", "no_violation", "unreachable", "duplicate")
TIP_STATUSES = ("queued", "checked")


@dataclass
class User:
    name: str
    role: str
    password_hash: str
    created_at: str
    disabled: bool = False


@dataclass
class AuditEntry:
    at: str
    user: str
    action: str  # "triage", "tip.outcome", "tip.submit", "login", "login.failed", "user.add", ...
    subject: str  # the URL or tip id the action was about
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Tip:
    id: str
    url: str
    canonical_url: str
    reported_at: str  # when the public reported it (the CSV's reported_at, or the form's arrival)
    received_at: str  # when netpatrol took it in
    channel: str  # "web-form", "web-110", "email", ...
    note: str = ""
    status: str = "queued"  # queued | checked
    outcome: str | None = None  # one of TIP_OUTCOMES once checked
    reason: str = ""  # why the outcome (http_404, private_network, matched, known item ...)
    checked_at: str | None = None  # first check
    run_id: str | None = None  # the tips run that fetched it
    categories: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    reporter: str = ""  # the submitting address for form tips (kept for abuse handling; admins only)
    decided_by: str = ""  # "system" for the automatic check, else the reviewer who set the outcome


@dataclass
class FilingSighting:
    domain: str
    kind: str  # icp | icp_license | psb
    key: str  # the filing entity (unit key)
    text: str  # as shown, with site suffix
    first_seen: str
    last_seen: str
    url: str = ""  # a page showing it


class WorkbenchStore:
    """The workbench half of the Store interface; a backend that keeps none of it says so."""

    def _unsupported(self, what: str) -> Any:
        from pipelines.errors import StoreError

        raise StoreError(f"the {type(self).__name__} does not keep {what}")

    # users and audit
    def put_user(self, user: User) -> None:
        self._unsupported("users")

    def get_user(self, name: str) -> User | None:
        return self._unsupported("users")

    def users(self) -> list[User]:
        return self._unsupported("users")

    def add_audit(self, entries: list[AuditEntry]) -> None:
        self._unsupported("an audit trail")

    def audit(self, limit: int = 200, subject: str | None = None) -> list[AuditEntry]:
        """Newest first."""
        return self._unsupported("an audit trail")

    # tips
    def put_tips(self, tips: list[Tip]) -> None:
        """Insert or replace tips by id."""
        self._unsupported("tips")

    def tips(self, status: str | None = None, ids: list[str] | None = None) -> list[Tip]:
        """Ordered by received_at."""
        return self._unsupported("tips")

    # filings
    def add_filings(self, sightings: list[FilingSighting]) -> None:
        """Merge per (domain, text): first_seen is the earliest, last_seen the latest."""
        self._unsupported("filings")

    def filings(self) -> list[FilingSighting]:
        return self._unsupported("filings")

    # search and evidence by id
    def search_hits(self, query: str, offset: int = 0, limit: int = 50) -> tuple[int, list[dict[str, Any]]]:
        """Items whose title, snippet, URL or kept text contain the query: (total, one page of rows)."""
        return self._unsupported("a hits search")

    def evidence_by_sha256(self, sha256: str) -> dict[str, Any] | None:
        return self._unsupported("evidence lookups")
