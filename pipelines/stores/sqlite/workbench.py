"""SQLite tables of the workbench: users, audit, tips, filings, and a full-text index of hits (FTS5).

The FTS index is brought up to date lazily, at search time, from the items and the text
the archive kept: the crawl's write path pays nothing for it. Chinese has no spaces, so
every CJK character is indexed as a token of its own and a query is searched as a phrase
of characters: 赌博 finds 网络赌博 without a dictionary.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any, Callable

from pipelines.errors import StoreError
from pipelines.stores.tracking import unpack_text
from pipelines.stores.workbench import AuditEntry, FilingSighting, Tip, User

WORKBENCH_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL, created_at TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS audit (
    at TEXT NOT NULL, user TEXT NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at);
CREATE TABLE IF NOT EXISTS tips (
    id TEXT PRIMARY KEY, url TEXT NOT NULL, canonical_url TEXT NOT NULL, reported_at TEXT NOT NULL,
    received_at TEXT NOT NULL, channel TEXT NOT NULL, note TEXT NOT NULL DEFAULT '', status TEXT NOT NULL,
    outcome TEXT, reason TEXT NOT NULL DEFAULT '', checked_at TEXT, run_id TEXT, categories TEXT NOT NULL DEFAULT '[]',
    rules TEXT NOT NULL DEFAULT '[]', reporter TEXT NOT NULL DEFAULT '', decided_by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS tips_status ON tips (status, received_at);
CREATE TABLE IF NOT EXISTS filings (
    domain TEXT NOT NULL, text TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL,
    first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, url TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (domain, text)
);
CREATE VIRTUAL TABLE IF NOT EXISTS hits_fts USING fts5(canonical_url UNINDEXED, title, body, tokenize='unicode61');
CREATE TABLE IF NOT EXISTS hits_fts_state (canonical_url TEXT PRIMARY KEY, last_seen TEXT NOT NULL);
"""

_CJK = re.compile(r"([\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af])")
_TIP_COLUMNS = ("id, url, canonical_url, reported_at, received_at, channel, note, status, outcome, reason, checked_at,"
                " run_id, categories, rules, reporter, decided_by")


def fts_text(text: str) -> str:
    """Text as the index sees it: each CJK character a token."""
    return _CJK.sub(r" \1 ", text)


def fts_query(query: str) -> str:
    """A user's words as an FTS5 query: each word a quoted phrase (no operators get through), all required."""
    phrases = []
    for word in query.split():
        tokens = fts_text(word).split()
        if tokens:
            phrases.append('"' + " ".join(t.replace('"', '""') for t in tokens) + '"')
    return " AND ".join(phrases)


class SQLiteWorkbenchMixin:
    db: sqlite3.Connection
    path: Path
    _tx: Callable[..., None]

    def _init_workbench(self) -> None:
        try:
            self.db.executescript(WORKBENCH_SCHEMA)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot create the workbench tables: {exc}") from None

    # --- users and audit ---
    def put_user(self, user: User) -> None:
        self._tx([("INSERT OR REPLACE INTO users (name, role, password_hash, created_at, disabled) VALUES (?,?,?,?,?)",
                   (user.name, user.role, user.password_hash, user.created_at, int(user.disabled)))])

    def get_user(self, name: str) -> User | None:
        row = self.db.execute("SELECT name, role, password_hash, created_at, disabled FROM users WHERE name=?",
                              (name,)).fetchone()
        return User(row[0], row[1], row[2], row[3], bool(row[4])) if row else None

    def users(self) -> list[User]:
        return [User(r[0], r[1], r[2], r[3], bool(r[4])) for r in
                self.db.execute("SELECT name, role, password_hash, created_at, disabled FROM users ORDER BY name")]

    def add_audit(self, entries: list[AuditEntry]) -> None:
        if entries:
            self._tx([("INSERT INTO audit (at, user, action, subject, detail) VALUES (?,?,?,?,?)",
                       [(e.at, e.user, e.action, e.subject, json.dumps(e.detail, ensure_ascii=False)) for e in entries])],
                     many=True)

    def audit(self, limit: int = 200, subject: str | None = None) -> list[AuditEntry]:
        sql = "SELECT at, user, action, subject, detail FROM audit"
        params: list[Any] = []
        if subject:
            sql += " WHERE subject=?"
            params.append(subject)
        sql += " ORDER BY at DESC, rowid DESC LIMIT ?"
        params.append(limit)
        return [AuditEntry(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in self.db.execute(sql, params)]

    # --- tips ---
    def put_tips(self, tips: list[Tip]) -> None:
        if tips:
            self._tx([(f"INSERT OR REPLACE INTO tips ({_TIP_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                       [(t.id, t.url, t.canonical_url, t.reported_at, t.received_at, t.channel, t.note, t.status,
                         t.outcome, t.reason, t.checked_at, t.run_id, json.dumps(t.categories), json.dumps(t.rules),
                         t.reporter, t.decided_by) for t in tips])], many=True)

    def tips(self, status: str | None = None, ids: list[str] | None = None) -> list[Tip]:
        sql = f"SELECT {_TIP_COLUMNS} FROM tips WHERE 1=1"
        params: list[Any] = []
        if status:
            sql += " AND status=?"
            params.append(status)
        if ids is not None:
            sql += f" AND id IN ({','.join('?' * len(ids))})"
            params.extend(ids)
        out = []
        for r in self.db.execute(sql + " ORDER BY received_at, id", params):
            out.append(Tip(id=r[0], url=r[1], canonical_url=r[2], reported_at=r[3], received_at=r[4], channel=r[5],
                           note=r[6], status=r[7], outcome=r[8], reason=r[9], checked_at=r[10], run_id=r[11],
                           categories=json.loads(r[12]), rules=json.loads(r[13]), reporter=r[14], decided_by=r[15]))
        return out

    # --- filings ---
    def add_filings(self, sightings: list[FilingSighting]) -> None:
        if sightings:
            self._tx([(
                "INSERT INTO filings (domain, text, kind, key, first_seen, last_seen, url) VALUES (?,?,?,?,?,?,?)"
                " ON CONFLICT (domain, text) DO UPDATE SET first_seen=min(first_seen, excluded.first_seen),"
                " last_seen=max(last_seen, excluded.last_seen), url=excluded.url",
                [(s.domain, s.text, s.kind, s.key, s.first_seen, s.last_seen, s.url) for s in sightings],
            )], many=True)

    def filings(self) -> list[FilingSighting]:
        return [FilingSighting(domain=r[0], text=r[1], kind=r[2], key=r[3], first_seen=r[4], last_seen=r[5], url=r[6])
                for r in self.db.execute("SELECT domain, text, kind, key, first_seen, last_seen, url FROM filings"
                                         " ORDER BY domain, text")]

    # --- full-text search over hits ---
    def _sync_fts(self) -> None:
        stale = self.db.execute(
            "SELECT i.canonical_url, i.url, i.title, i.snippet, i.last_seen FROM items i"
            " LEFT JOIN hits_fts_state s ON s.canonical_url = i.canonical_url"
            " WHERE s.last_seen IS NULL OR s.last_seen != i.last_seen"
        ).fetchall()
        if not stale:
            return
        rows, states = [], []
        for url_key, url, title, snippet, last_seen in stale:
            blob = self.db.execute(
                "SELECT text_z FROM documents WHERE canonical_url=? AND text_z IS NOT NULL ORDER BY fetched_at DESC LIMIT 1",
                (url_key,)).fetchone()
            text = unpack_text(blob[0])[1] if blob else ""
            rows.append((url_key, fts_text(title), fts_text(" ".join((url, snippet, text)))))
            states.append((url_key, last_seen))
        self._tx([
            ("DELETE FROM hits_fts WHERE canonical_url=?", [(r[0],) for r in rows]),
            ("INSERT INTO hits_fts (canonical_url, title, body) VALUES (?,?,?)", rows),
            ("INSERT OR REPLACE INTO hits_fts_state (canonical_url, last_seen) VALUES (?,?)", states),
        ], many=True)

    def search_hits(self, query: str, offset: int = 0, limit: int = 50) -> tuple[int, list[dict[str, Any]]]:
        match = fts_query(query)
        if not match:
            return 0, []
        self._sync_fts()
        try:
            total = self.db.execute("SELECT count(*) FROM hits_fts WHERE hits_fts MATCH ?", (match,)).fetchone()[0]
            found = self.db.execute(
                "SELECT i.canonical_url, i.url, i.domain, i.categories, i.rules, i.title, i.snippet, i.status,"
                " i.first_seen, i.last_seen FROM hits_fts f JOIN items i ON i.canonical_url = f.canonical_url"
                " WHERE hits_fts MATCH ? ORDER BY bm25(hits_fts), i.last_seen DESC LIMIT ? OFFSET ?",
                (match, limit, offset)).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: search failed: {exc}") from None
        keys = ("canonical_url", "url", "domain", "categories", "rules", "title", "snippet", "status", "first_seen",
                "last_seen")
        rows = []
        for row in found:
            entry = dict(zip(keys, row))
            entry["categories"], entry["rules"] = json.loads(entry["categories"]), json.loads(entry["rules"])
            rows.append(entry)
        return int(total), rows

    def evidence_by_sha256(self, sha256: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT run_id, canonical_url, kind, path, sha256, size, fetched_at, media_type"
                              " FROM evidence WHERE sha256=? LIMIT 1", (sha256,)).fetchone()
        keys = ("run_id", "canonical_url", "kind", "path", "sha256", "size", "fetched_at", "media_type")
        return dict(zip(keys, row)) if row else None
