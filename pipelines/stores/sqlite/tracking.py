"""SQLite tables and queries for the decline analytics: documents, item checks, verdicts.

A mixin of `SQLiteStore` (kept apart so the core store stays readable); it uses the
store's connection (`self.db`) and transaction helper (`self._tx`).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from pipelines.errors import StoreError
from pipelines.stores.tracking import Document, ItemCheck, TrackedItem, Verdict

TRACKING_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    run_id TEXT NOT NULL,
    canonical_url TEXT NOT NULL,
    query TEXT NOT NULL DEFAULT '',
    rank INTEGER NOT NULL DEFAULT 0,
    target TEXT NOT NULL,
    kind TEXT NOT NULL,
    url TEXT NOT NULL,
    domain TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    matched INTEGER NOT NULL,
    categories TEXT NOT NULL DEFAULT '[]',
    rules TEXT NOT NULL DEFAULT '[]',
    text_z BLOB,
    ad INTEGER NOT NULL DEFAULT 0,
    risk TEXT,
    wrapped_url TEXT,
    PRIMARY KEY (run_id, canonical_url, query, rank, ad)
);
CREATE TABLE IF NOT EXISTS item_checks (
    canonical_url TEXT NOT NULL,
    verify_id TEXT NOT NULL,
    checked_at TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    http_status INTEGER,
    url TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (canonical_url, verify_id)
);
CREATE INDEX IF NOT EXISTS item_checks_time ON item_checks (checked_at);
CREATE TABLE IF NOT EXISTS verdicts (
    canonical_url TEXT NOT NULL,
    decided_at TEXT NOT NULL,
    verdict TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    url TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (canonical_url, decided_at)
);
CREATE INDEX IF NOT EXISTS observations_url ON observations (canonical_url, seen_at);
"""


def _chunks(values: list[str], size: int = 500) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class SQLiteTrackingMixin:
    """Documents, item status history and analyst verdicts in the SQLite store."""

    db: sqlite3.Connection
    path: Path
    _tx: Callable[..., None]

    def _init_tracking(self) -> None:
        try:
            self.db.executescript(TRACKING_SCHEMA)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot create the analytics tables: {exc}") from None

    # --- documents ---
    def add_documents(self, documents: list[Document]) -> None:
        if not documents:
            return
        rows = [
            (d.run_id, d.canonical_url, d.query or "", d.rank or 0, d.target, d.kind, d.url, d.domain, d.fetched_at,
             int(d.matched), json.dumps(d.categories), json.dumps(d.rules), d.text_z, int(d.ad), d.risk, d.wrapped_url)
            for d in documents
        ]
        self._tx([(
            "INSERT OR IGNORE INTO documents (run_id, canonical_url, query, rank, target, kind, url, domain, fetched_at,"
            " matched, categories, rules, text_z, ad, risk, wrapped_url) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )], many=True)

    def documents(self, run_ids: Iterable[str], with_text: bool = False) -> list[Document]:
        text = "text_z" if with_text else "NULL"
        out: list[Document] = []
        for chunk in _chunks(list(run_ids)):
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute(
                "SELECT run_id, target, kind, url, canonical_url, domain, fetched_at, matched, categories, rules,"
                f" query, rank, {text}, ad, risk, wrapped_url FROM documents WHERE run_id IN ({marks})"
                " ORDER BY run_id, query, ad, rank, canonical_url",
                chunk,
            ):
                (run_id, target, kind, url, canonical, domain, fetched, matched, cats, rules, query, rank, blob,
                 ad, risk, wrapped) = row
                out.append(Document(
                    run_id=run_id, target=target, kind=kind, url=url, canonical_url=canonical, domain=domain,
                    fetched_at=fetched, matched=bool(matched), categories=json.loads(cats), rules=json.loads(rules),
                    query=query or None, rank=rank or None, text_z=blob, ad=bool(ad), risk=risk, wrapped_url=wrapped,
                ))
        return out

    def prune_document_text(self, before: str) -> int:
        """Drop the text of documents of runs started before `before` (rows stay: coverage figures need them)."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
            cur = self.db.execute(
                "UPDATE documents SET text_z=NULL WHERE text_z IS NOT NULL"
                " AND run_id IN (SELECT id FROM runs WHERE started_at < ?)",
                (before,),
            )
            self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise StoreError(f"{self.path}: pruning document text failed: {exc}") from None
        return int(cur.rowcount)

    # --- items and their status history ---
    def items(
        self,
        canonical_urls: Iterable[str] | None = None,
        target: str | None = None,
        seen_since: str | None = None,
        statuses: Iterable[str] | None = None,
    ) -> list[TrackedItem]:
        base = (
            "SELECT i.canonical_url, i.url, i.domain,"
            " (SELECT o.target FROM observations o WHERE o.canonical_url = i.canonical_url ORDER BY o.seen_at DESC LIMIT 1),"
            " i.categories, i.rules, i.title, i.status, i.first_seen, i.last_seen FROM items i WHERE 1=1"
        )
        params: list[Any] = []
        if seen_since:
            base += " AND i.last_seen >= ?"
            params.append(seen_since)
        wanted = list(statuses) if statuses is not None else None
        if wanted is not None:
            base += f" AND i.status IN ({','.join('?' * len(wanted))})"
            params.extend(wanted)
        queries: list[tuple[str, list[Any]]] = []
        if canonical_urls is None:
            queries.append((base + " ORDER BY i.first_seen, i.canonical_url", params))
        else:
            for chunk in _chunks(list(canonical_urls)):
                marks = ",".join("?" * len(chunk))
                queries.append((base + f" AND i.canonical_url IN ({marks}) ORDER BY i.first_seen, i.canonical_url",
                                params + chunk))
        out: list[TrackedItem] = []
        for sql, values in queries:
            for url_key, url, domain, last_target, cats, rules, title, status, first, last in self.db.execute(sql, values):
                if target and last_target != target:
                    continue
                out.append(TrackedItem(url_key, url, domain, last_target or "", json.loads(cats), json.loads(rules),
                                       title, status, first, last))
        return out

    def add_checks(self, checks: list[ItemCheck]) -> None:
        if not checks:
            return
        self._tx([
            ("INSERT OR REPLACE INTO item_checks (canonical_url, verify_id, checked_at, status, reason, http_status, url)"
             " VALUES (?,?,?,?,?,?,?)",
             [(c.canonical_url, c.verify_id, c.checked_at, c.status, c.reason, c.http_status, c.url) for c in checks]),
            ("UPDATE items SET status=? WHERE canonical_url=?", [(c.status, c.canonical_url) for c in checks]),
        ], many=True)

    def item_checks(self, canonical_urls: Iterable[str] | None = None, until: str | None = None) -> list[ItemCheck]:
        base = "SELECT canonical_url, checked_at, status, reason, verify_id, http_status, url FROM item_checks WHERE 1=1"
        params: list[Any] = []
        if until:
            base += " AND checked_at <= ?"
            params.append(until)
        queries: list[tuple[str, list[Any]]] = []
        if canonical_urls is None:
            queries.append((base, params))
        else:
            for chunk in _chunks(list(canonical_urls)):
                queries.append((base + f" AND canonical_url IN ({','.join('?' * len(chunk))})", params + chunk))
        out = [ItemCheck(*row) for sql, values in queries for row in self.db.execute(sql, values)]
        out.sort(key=lambda c: (c.checked_at, c.canonical_url))
        return out

    # --- analyst verdicts ---
    def add_verdicts(self, verdicts: list[Verdict]) -> None:
        if not verdicts:
            return
        self._tx([(
            "INSERT OR REPLACE INTO verdicts (canonical_url, decided_at, verdict, note, url) VALUES (?,?,?,?,?)",
            [(v.canonical_url, v.decided_at, v.verdict, v.note, v.url) for v in verdicts],
        )], many=True)

    def verdicts(self) -> dict[str, Verdict]:
        latest: dict[str, Verdict] = {}
        for url_key, decided, verdict, note, url in self.db.execute(
            "SELECT canonical_url, decided_at, verdict, note, url FROM verdicts ORDER BY decided_at, rowid"
        ):
            latest[url_key] = Verdict(url_key, verdict, decided, note, url)
        return latest
