"""The scheduler's ledger: what became of each firing — started, skipped (overlap) or missed (misfire).

Runs themselves live in the netpatrol store; this table (next to the job table, in the job
store's database) keeps the firings that produced no run, so `status` can count them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Column, DateTime, Engine, Integer, MetaData, String, Table, delete, func, insert, select

from pipelines.stores.base import iso

STARTED = "started"  # a run was launched
SKIPPED = "skipped"  # the target's previous run was still going (or it was shutting down): no second run
MISSED = "missed"  # the daemon was down past misfire_grace: the firing was dropped
OUTCOMES = (STARTED, SKIPPED, MISSED)

metadata = MetaData()
firings = Table(
    "netpatrol_firings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("target", String(80), nullable=False, index=True),
    Column("outcome", String(16), nullable=False),
    Column("due_at", DateTime(timezone=True)),  # the scheduled time (None for `jobs run`)
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("run_id", String(160)),
    Column("detail", String(500)),
)


@dataclass
class FiringCounts:
    """Per target: how many firings ended each way, and when the last skip/miss was."""

    started: int = 0
    skipped: int = 0
    missed: int = 0
    last_skipped_at: str | None = None
    last_missed_at: str | None = None
    last_due_at: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"started": self.started, "skipped": self.skipped, "missed": self.missed,
                "last_skipped_at": self.last_skipped_at, "last_missed_at": self.last_missed_at}


@dataclass
class Firing:
    target: str
    outcome: str
    due_at: str | None
    recorded_at: str
    run_id: str | None = None
    detail: str | None = None


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Ledger:
    """Append and count firings in the job store's database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self) -> None:
        metadata.create_all(self.engine, tables=[firings])

    def exists(self) -> bool:
        from sqlalchemy import inspect

        return inspect(self.engine).has_table(firings.name)

    def record(self, target: str, outcome: str, due_at: datetime | None = None, run_id: str | None = None,
               detail: str | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(firings).values(
                target=target, outcome=outcome, due_at=_utc(due_at), recorded_at=datetime.now(timezone.utc),
                run_id=run_id, detail=(detail or "")[:500] or None,
            ))

    def counts(self) -> dict[str, FiringCounts]:
        out: dict[str, FiringCounts] = {}
        if not self.exists():
            return out
        query = select(firings.c.target, firings.c.outcome, func.count(), func.max(firings.c.recorded_at),
                       func.max(firings.c.due_at)).group_by(firings.c.target, firings.c.outcome)
        with self.engine.connect() as conn:
            for target, outcome, count, last, last_due in conn.execute(query):
                counts = out.setdefault(target, FiringCounts())
                if outcome == STARTED:
                    counts.started = count
                    counts.last_due_at = iso(_utc(last_due))
                elif outcome == SKIPPED:
                    counts.skipped, counts.last_skipped_at = count, iso(_utc(last))
                elif outcome == MISSED:
                    counts.missed, counts.last_missed_at = count, iso(_utc(last))
        return out

    def history(self, target: str | None = None) -> list[Firing]:
        """Firings oldest first (for tests and troubleshooting)."""
        if not self.exists():
            return []
        query = select(firings).order_by(firings.c.id)
        if target:
            query = query.where(firings.c.target == target)
        with self.engine.connect() as conn:
            return [Firing(r.target, r.outcome, iso(_utc(r.due_at)), iso(_utc(r.recorded_at)) or "", r.run_id, r.detail)
                    for r in conn.execute(query)]

    def prune(self, days: int) -> int:
        cutoff = datetime.now(timezone.utc) - timedelta(days=days)
        with self.engine.begin() as conn:
            return conn.execute(delete(firings).where(firings.c.recorded_at < cutoff)).rowcount or 0
