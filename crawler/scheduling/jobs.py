"""The persistent job store: where it is, how the config's schedules are synced into it, how to read it back.

One job per scheduled target, with the target's name as job id. A job's name carries the
schedule's description (and time zone), so a changed schedule is noticed and rescheduled,
while an unchanged one keeps the next run time it had before a restart.
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, Table, create_engine, event, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from crawler import settings as defaults
from crawler.config.schema import LoadedConfig
from pipelines.errors import ConfigError, StoreError
from crawler.scheduling.schedule import ScheduleSpec, zone

JOB_FUNC = "crawler.scheduling.daemon:fire"  # what a stored job calls (a textual reference survives restarts)
JOB_TABLE = "netpatrol_jobs"


def jobstore_url(loaded: LoadedConfig) -> str:
    """The job store's SQLAlchemy URL: `scheduler.jobstore_url(_env)`, else scheduler.db in the data directory.

    Relative SQLite paths resolve against the config file's folder, like every other path."""
    config = loaded.config.scheduler
    if config.jobstore_url_env:
        url = os.environ.get(config.jobstore_url_env, "")
        if not url:
            raise ConfigError(f"{loaded.path}: scheduler.jobstore_url_env: environment variable"
                              f" {config.jobstore_url_env} is not set")
    elif config.jobstore_url:
        url = config.jobstore_url
    else:
        return f"sqlite:///{loaded.data_dir / defaults.NETPATROL_SCHEDULER_JOBSTORE_FILE}"
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() == "sqlite" and database and database != ":memory:" and not Path(database).is_absolute():
        parsed = parsed.set(database=str(loaded.resolve(Path(database))))
    return parsed.render_as_string(hide_password=False)


def display_url(url: str) -> str:
    """The URL with any password masked, for logs and `status`."""
    return make_url(url).render_as_string(hide_password=True)


def job_store_error(url: str, exc: Exception) -> StoreError:
    """One line for a failing job store (SQLAlchemy's messages carry SQL and help links)."""
    problem = str(getattr(exc, "orig", None) or exc).splitlines()[0]
    return StoreError(f"job store {display_url(url)}: {problem}")


def sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def make_engine(url: str) -> Engine:
    """An engine for the job store; SQLite files get WAL and a busy timeout (the daemon and readers share them)."""
    path = sqlite_file(url)
    if path is None:
        try:
            return create_engine(url, pool_pre_ping=True)
        except ImportError as exc:
            raise StoreError(f"job store {display_url(url)}: its database driver is not installed ({exc}); install it"
                             " into netpatrol's environment (PostgreSQL: pip install 'psycopg[binary]')") from None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"job store {path}: cannot create its folder: {exc}") from None
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return engine


@dataclass(frozen=True)
class PlannedJob:
    """What the config asks for one target."""

    target: str
    spec: ScheduleSpec
    name: str  # "<target>: <schedule>[ (<time zone>)]": the fingerprint compared on sync
    trigger: Any


def plan(loaded: LoadedConfig) -> list[PlannedJob]:
    """One job per target that has a `schedule:`; targets without one are never run by the daemon."""
    tz_name = loaded.config.timezone
    tz = zone(tz_name)
    jobs = []
    for target in loaded.config.targets:
        spec = target.schedule
        if spec is None:
            continue
        name = f"{target.name}: {spec.describe()}" + (f" ({tz_name})" if spec.cron is not None else "")
        jobs.append(PlannedJob(target.name, spec, name, spec.trigger(tz)))
    return jobs


def misfire_grace_seconds(loaded: LoadedConfig) -> int:
    """APScheduler wants a positive whole number of seconds."""
    return max(1, int(round(loaded.config.scheduler.misfire_grace)))


@dataclass
class SyncReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{label} {', '.join(names)}" for label, names in
                 (("added", self.added), ("rescheduled", self.changed), ("removed", self.removed), ("kept", self.kept))
                 if names]
        return "; ".join(parts) or "no scheduled targets"


def sync_jobs(scheduler: Any, wanted: list[PlannedJob], misfire_grace: int) -> SyncReport:
    """Make the job store hold exactly the wanted jobs: add new, reschedule changed, remove stale.

    Unchanged jobs keep their stored next run time (that is what survives a restart)."""
    report = SyncReport()
    existing = {job.id: job for job in scheduler.get_jobs()}
    options = {"misfire_grace_time": misfire_grace, "coalesce": True, "max_instances": 1}
    for job in wanted:
        current = existing.pop(job.target, None)
        if current is None:
            scheduler.add_job(JOB_FUNC, job.trigger, id=job.target, name=job.name, args=[job.target],
                              replace_existing=True, **options)
            report.added.append(job.target)
        elif current.name != job.name or current.func_ref != JOB_FUNC or tuple(current.args) != (job.target,):
            scheduler.modify_job(job.target, func=JOB_FUNC, args=[job.target], name=job.name, **options)
            scheduler.reschedule_job(job.target, trigger=job.trigger)
            report.changed.append(job.target)
        else:
            if any(getattr(current, key) != value for key, value in options.items()):
                scheduler.modify_job(job.target, **options)
            report.kept.append(job.target)
    for stale in existing:
        scheduler.remove_job(stale)
        report.removed.append(stale)
    return report


@dataclass(frozen=True)
class StoredJob:
    """A job as the job store has it."""

    target: str
    name: str
    next_run: datetime | None  # None: paused


def stored_jobs(url: str) -> dict[str, StoredJob] | None:
    """The jobs in the job store, read-only; None when the store does not exist yet.

    Reads the rows APScheduler wrote (its pickled job state) rather than calling the job store's
    `get_all_jobs`, which deletes every job whose function cannot be imported — a read must never
    change the schedule."""
    path = sqlite_file(url)
    if path is not None and not path.exists():
        return None
    engine = make_engine(url)
    try:
        if not inspect(engine).has_table(JOB_TABLE):
            return None
        table = Table(JOB_TABLE, MetaData(), autoload_with=engine)
        jobs: dict[str, StoredJob] = {}
        with engine.connect() as conn:
            for row in conn.execute(select(table.c.id, table.c.job_state)):
                state = pickle.loads(row.job_state)  # written by APScheduler into netpatrol's own job store
                jobs[row.id] = StoredJob(row.id, state.get("name") or row.id, state.get("next_run_time"))
        return jobs
    except SQLAlchemyError as exc:
        raise job_store_error(url, exc) from None
    finally:
        engine.dispose()


def next_fire(spec: ScheduleSpec, tz_name: str, now: datetime | None = None) -> datetime | None:
    """When a schedule would fire next if it were synced now (jitter left out)."""
    now = now or datetime.now(timezone.utc)
    trigger = ScheduleSpec(cron=spec.cron, every=spec.every).trigger(zone(tz_name))
    return trigger.get_next_fire_time(None, now.astimezone(zone(tz_name)))  # type: ignore[no-any-return]
