"""The embedded store: one SQLite file, WAL mode, every write in a transaction.

A crash mid-run leaves earlier runs intact; the interrupted run keeps status
`running` until a reader notices its process is gone and marks it `interrupted`.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from pathlib import Path
from typing import Any, Iterable

from pipelines.errors import StoreError
from pipelines.stores.base import HitRow, Observation, Run, SearchTotal, Store, check_final_status, iso, utcnow
from pipelines.stores.sqlite.tracking import SQLiteTrackingMixin
from pipelines.stores.sqlite.workbench import SQLiteWorkbenchMixin
from pipelines.stores.tracking import Document

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    target TEXT NOT NULL,
    kind TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL,
    pages INTEGER NOT NULL DEFAULT 0,
    errors INTEGER NOT NULL DEFAULT 0,
    hits INTEGER NOT NULL DEFAULT 0,
    rules_version TEXT NOT NULL,
    host TEXT,
    pid INTEGER,
    heartbeat_at TEXT,
    stats TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS runs_started ON runs (started_at);
CREATE INDEX IF NOT EXISTS runs_target ON runs (target, started_at);
CREATE TABLE IF NOT EXISTS observations (
    run_id TEXT NOT NULL REFERENCES runs (id),
    canonical_url TEXT NOT NULL,
    target TEXT NOT NULL,
    url TEXT NOT NULL,
    domain TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    kind TEXT NOT NULL,
    categories TEXT NOT NULL,
    rules TEXT NOT NULL,
    score REAL NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    snippet TEXT NOT NULL DEFAULT '',
    query TEXT,
    rank INTEGER,
    explanation TEXT NOT NULL DEFAULT '{}',
    ad INTEGER NOT NULL DEFAULT 0,
    risk TEXT,
    wrapped_url TEXT,
    PRIMARY KEY (run_id, canonical_url)
);
CREATE TABLE IF NOT EXISTS items (
    canonical_url TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    domain TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    times_seen INTEGER NOT NULL,
    categories TEXT NOT NULL,
    rules TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    snippet TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'online'
);
CREATE TABLE IF NOT EXISTS search_totals (
    run_id TEXT NOT NULL REFERENCES runs (id),
    query TEXT NOT NULL,
    target TEXT NOT NULL,
    total INTEGER,
    results INTEGER NOT NULL,
    matched INTEGER NOT NULL,
    pages INTEGER NOT NULL,
    recorded_at TEXT NOT NULL,
    lost INTEGER NOT NULL DEFAULT 0,
    lost_reasons TEXT NOT NULL DEFAULT '[]',
    ads INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, query)
);
CREATE TABLE IF NOT EXISTS evidence (
    run_id TEXT NOT NULL REFERENCES runs (id),
    canonical_url TEXT NOT NULL,
    kind TEXT NOT NULL,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    fetched_at TEXT NOT NULL,
    media_type TEXT NOT NULL,
    PRIMARY KEY (run_id, canonical_url, kind)
);
CREATE INDEX IF NOT EXISTS evidence_url ON evidence (canonical_url);
"""

#: Columns added after the first release: added in place to stores created before (SQLite ADD COLUMN).
MIGRATIONS = {
    "observations": {"ad": "INTEGER NOT NULL DEFAULT 0", "risk": "TEXT", "wrapped_url": "TEXT"},
    "search_totals": {"lost": "INTEGER NOT NULL DEFAULT 0", "lost_reasons": "TEXT NOT NULL DEFAULT '[]'",
                      "ads": "INTEGER NOT NULL DEFAULT 0"},
    "documents": {"ad": "INTEGER NOT NULL DEFAULT 0", "risk": "TEXT", "wrapped_url": "TEXT"},
}


def add_missing_columns(db: sqlite3.Connection) -> None:
    for table, columns in MIGRATIONS.items():
        have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        for name, decl in columns.items():
            if name not in have:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {decl}")


_RUN_COLUMNS = (
    "id, target, kind, started_at, rules_version, status, finished_at, pages, errors, hits, host, pid, heartbeat_at, stats"
)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class SQLiteStore(SQLiteTrackingMixin, SQLiteWorkbenchMixin, Store):
    """Runs, observations, items and search totals in one SQLite database file."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.executescript(SCHEMA)
            self._init_tracking()  # documents, item checks, verdicts (crawler.report)
            self._init_workbench()  # users, audit, tips, filings, hits search (crawler.web)
            add_missing_columns(self.db)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"{self.path}: cannot open the SQLite store: {exc}") from None

    # --- helpers ---
    def _tx(self, statements: Iterable[tuple[str, tuple[Any, ...] | list[tuple[Any, ...]]]], many: bool = False) -> None:
        def run() -> None:
            for sql, params in statements:
                if many:
                    self.db.executemany(sql, params)  # type: ignore[arg-type]
                else:
                    self.db.execute(sql, params)  # type: ignore[arg-type]

        self._atomic(run)

    @staticmethod
    def _run(row: tuple[Any, ...]) -> Run:
        (id_, target, kind, started, version, status, finished, pages, errors, hits, host, pid, heartbeat, stats) = row
        return Run(
            id=id_, target=target, kind=kind, started_at=started, rules_version=version, status=status,
            finished_at=finished, pages=pages, errors=errors, hits=hits, host=host, pid=pid,
            heartbeat_at=heartbeat, stats=json.loads(stats or "{}"),
        )

    # --- writing ---
    def start_run(self, run: Run) -> None:
        self._tx([(
            f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (run.id, run.target, run.kind, run.started_at, run.rules_version, run.status, run.finished_at,
             run.pages, run.errors, run.hits, run.host, run.pid, run.heartbeat_at or run.started_at,
             json.dumps(run.stats)),
        )])

    def heartbeat(self, run_id: str, pages: int, errors: int, hits: int) -> None:
        self._tx([(
            "UPDATE runs SET pages=?, errors=?, hits=?, heartbeat_at=? WHERE id=? AND status='running'",
            (pages, errors, hits, iso(utcnow()), run_id),
        )])

    def add_observations(self, observations: list[Observation]) -> None:
        if observations:
            self._atomic(lambda: self._insert_observations(observations))

    def write_batch(self, documents: list[Document], observations: list[Observation],
                    totals: list[SearchTotal] | None = None) -> None:
        """Documents, their hits and the search figures in one transaction: all of them or none."""
        def write() -> None:
            self._insert_documents(documents)
            self._insert_observations(observations)
            if totals:
                self._insert_totals(totals)

        if documents or observations or totals:
            self._atomic(write)

    def _atomic(self, work: Any) -> None:
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                work()
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: write failed: {exc}") from None

    def _insert_observations(self, observations: list[Observation]) -> None:
        """Inside a transaction: observations, their items and evidence, and the runs' hit counts."""
        if not observations:
            return
        rows = [
            (o.run_id, o.canonical_url, o.target, o.url, o.domain, o.seen_at, o.kind, json.dumps(o.categories),
             json.dumps(o.rules), o.score, o.title, o.snippet, o.query, o.rank,
             json.dumps(o.explanation, ensure_ascii=False), int(o.ad), o.risk, o.wrapped_url)
            for o in observations
        ]
        items = [
            (o.canonical_url, o.url, o.domain, o.seen_at, o.seen_at, json.dumps(o.categories), json.dumps(o.rules),
             o.title, o.snippet)
            for o in observations
        ]
        new = []
        for row, item in zip(rows, items):
            cur = self.db.execute(
                "INSERT OR IGNORE INTO observations (run_id, canonical_url, target, url, domain, seen_at, kind,"
                " categories, rules, score, title, snippet, query, rank, explanation, ad, risk, wrapped_url)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                row,
            )
            if cur.rowcount:
                new.append(item)
        self.db.executemany(
            "INSERT INTO items (canonical_url, url, domain, first_seen, last_seen, times_seen, categories, rules,"
            " title, snippet) VALUES (?,?,?,?,?,1,?,?,?,?)"
            " ON CONFLICT (canonical_url) DO UPDATE SET"
            "  first_seen=min(first_seen, excluded.first_seen), last_seen=max(last_seen, excluded.last_seen),"
            "  times_seen=times_seen+1, url=excluded.url, categories=excluded.categories,"
            "  rules=excluded.rules, title=excluded.title, snippet=excluded.snippet, status='online'",
            new,
        )
        evidence = [
            (o.run_id, o.canonical_url, e.kind, e.path, e.sha256, e.size, e.fetched_at, e.media_type)
            for o in observations
            for e in o.evidence
        ]
        if evidence:
            self.db.executemany(
                "INSERT OR IGNORE INTO evidence (run_id, canonical_url, kind, path, sha256, size, fetched_at,"
                " media_type) VALUES (?,?,?,?,?,?,?,?)",
                evidence,
            )
        for run_id in {o.run_id for o in observations}:
            self.db.execute(
                "UPDATE runs SET hits=(SELECT count(*) FROM observations WHERE run_id=?) WHERE id=?",
                (run_id, run_id),
            )

    def add_search_totals(self, totals: list[SearchTotal]) -> None:
        self._atomic(lambda: self._insert_totals(totals))

    def _insert_totals(self, totals: list[SearchTotal]) -> None:
        self.db.executemany(
            "INSERT OR REPLACE INTO search_totals (run_id, query, target, total, results, matched, pages, recorded_at,"
            " lost, lost_reasons, ads) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [(t.run_id, t.query, t.target, t.total, t.results, t.matched, t.pages, t.recorded_at, t.lost,
              json.dumps(sorted(t.lost_reasons)), t.ads) for t in totals],
        )

    def finish_run(self, run_id: str, status: str, pages: int, errors: int, stats: dict[str, Any]) -> Run:
        now = iso(utcnow())
        self._tx([(
            "UPDATE runs SET status=?, finished_at=?, pages=?, errors=?, heartbeat_at=?, stats=?,"
            " hits=(SELECT count(*) FROM observations WHERE run_id=?) WHERE id=?",
            (status, now, pages, errors, now, json.dumps(stats, default=str), run_id, run_id),
        )])
        run = self.get_run(run_id)
        assert run is not None
        return run

    def set_run_status(self, run_id: str, status: str, stats: dict[str, Any] | None = None) -> Run | None:
        check_final_status(status)
        run = self.get_run(run_id)
        if run is None:
            return None
        merged = {**run.stats, **(stats or {})}
        self._tx([(
            "UPDATE runs SET status=?, finished_at=coalesce(finished_at, ?), stats=? WHERE id=?",
            (status, iso(utcnow()), json.dumps(merged, default=str), run_id),
        )])
        return self.get_run(run_id)

    # --- reading ---
    def _reap(self) -> None:
        """Mark runs whose crawl process on this host has died as `interrupted`."""
        me = socket.gethostname()
        rows = self.db.execute("SELECT id, pid, heartbeat_at FROM runs WHERE status='running' AND host=?", (me,)).fetchall()
        dead = [(hb, run_id) for run_id, pid, hb in rows if pid and not _pid_alive(pid)]
        if dead:
            self._tx([("UPDATE runs SET status='interrupted', finished_at=? WHERE id=?", (hb, run_id)) for hb, run_id in dead])
            for _hb, run_id in dead:
                self.rebuild_counters(run_id)

    def rebuild_counters(self, run_id: str) -> Run | None:
        """An interrupted run's pages and hits from its stored rows; the heartbeat's figures are kept in its stats.

        Pages: its stored page documents (site runs) or its search result pages (search runs)."""
        run = self.get_run(run_id)
        if run is None:
            return None
        if run.kind == "search":
            (pages,) = self.db.execute("SELECT coalesce(sum(pages), 0) FROM search_totals WHERE run_id=?",
                                       (run_id,)).fetchone()
        else:
            (pages,) = self.db.execute("SELECT count(*) FROM documents WHERE run_id=? AND kind='page'",
                                       (run_id,)).fetchone()
        (hits,) = self.db.execute("SELECT count(*) FROM observations WHERE run_id=?", (run_id,)).fetchone()
        stats = {**run.stats, "counters": "rebuilt from stored rows", "heartbeat_pages": run.pages,
                 "heartbeat_hits": run.hits}
        self._tx([("UPDATE runs SET pages=?, hits=?, stats=? WHERE id=?",
                   (pages, hits, json.dumps(stats, default=str), run_id))])
        return self.get_run(run_id)

    def runs(self, target: str | None = None, since: str | None = None, until: str | None = None) -> list[Run]:
        self._reap()
        sql = f"SELECT {_RUN_COLUMNS} FROM runs WHERE 1=1"
        params: list[Any] = []
        if target:
            sql += " AND target=?"
            params.append(target)
        if since:
            sql += " AND started_at>=?"
            params.append(since)
        if until:
            sql += " AND started_at<=?"
            params.append(until)
        sql += " ORDER BY started_at, id"
        return [self._run(r) for r in self.db.execute(sql, params)]

    def get_run(self, run_id: str) -> Run | None:
        row = self.db.execute(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id=?", (run_id,)).fetchone()
        return self._run(row) if row else None

    def hit_rows(self, run_ids: Iterable[str]) -> list[HitRow]:
        ids = list(run_ids)
        out: list[HitRow] = []
        for chunk in _chunks(ids, 500):
            marks = ",".join("?" * len(chunk))
            for run_id, target, url, domain, cats, rules in self.db.execute(
                "SELECT run_id, target, canonical_url, domain, categories, rules FROM observations"
                f" WHERE run_id IN ({marks})",
                chunk,
            ):
                out.append(HitRow(run_id, target, url, domain, json.loads(cats), json.loads(rules)))
        return out

    def hits(self, run_ids: Iterable[str]) -> list[dict[str, Any]]:
        ids = list(run_ids)
        out: list[dict[str, Any]] = []
        for chunk in _chunks(ids, 500):
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                "SELECT o.url, o.target, o.categories, o.rules, o.score, o.title, o.snippet, i.first_seen, i.last_seen,"
                " o.run_id, o.kind, o.query, o.domain, o.explanation, o.ad, o.risk, o.wrapped_url"
                " FROM observations o JOIN items i ON i.canonical_url = o.canonical_url"
                f" WHERE o.run_id IN ({marks}) ORDER BY o.target, o.seen_at, o.url",
                chunk,
            )
            for (url, target, cats, rules, score, title, snippet, first, last, run_id, kind, query, domain, expl,
                 ad, risk, wrapped) in rows:
                out.append({
                    "url": url, "target": target, "categories": json.loads(cats), "rules": json.loads(rules),
                    "score": score, "title": title, "snippet": snippet, "first_seen": first, "last_seen": last,
                    "run_id": run_id, "kind": kind, "query": query, "domain": domain,
                    "explanation": json.loads(expl or "{}"), "ad": bool(ad), "risk": risk, "wrapped_url": wrapped,
                })
        return out

    def evidence(self, canonical_url: str, run_id: str | None = None) -> list[dict[str, Any]]:
        sql = (
            "SELECT e.run_id, o.target, o.url, o.seen_at, e.kind, e.path, e.sha256, e.size, e.fetched_at, e.media_type"
            " FROM evidence e JOIN observations o ON o.run_id = e.run_id AND o.canonical_url = e.canonical_url"
            " WHERE e.canonical_url = ?"
        )
        params: list[Any] = [canonical_url]
        if run_id:
            sql += " AND e.run_id = ?"
            params.append(run_id)
        sql += " ORDER BY e.fetched_at, e.kind"
        keys = ("run_id", "target", "url", "seen_at", "kind", "path", "sha256", "size", "fetched_at", "media_type")
        return [dict(zip(keys, row)) for row in self.db.execute(sql, params)]

    def search_totals(self, run_ids: Iterable[str]) -> list[SearchTotal]:
        ids = list(run_ids)
        out: list[SearchTotal] = []
        for chunk in _chunks(ids, 500):
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute(
                "SELECT run_id, target, query, total, results, matched, pages, recorded_at, lost, lost_reasons, ads"
                f" FROM search_totals WHERE run_id IN ({marks}) ORDER BY recorded_at, query",
                chunk,
            ):
                run_id, target, query, total, results, matched, pages, recorded_at, lost, reasons, ads = row
                out.append(SearchTotal(run_id, target, query, total, results, matched, pages, recorded_at, lost,
                                       json.loads(reasons or "[]"), ads))
        return out

    def close(self) -> None:
        try:
            self.db.close()
        except sqlite3.Error:
            pass


def _chunks(values: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
