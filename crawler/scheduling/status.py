"""Per-target health for `netpatrol status` and `netpatrol jobs list`, read without disturbing the daemon.

Last run, its figures and the failure streak come from the store's runs; next run times from the
job store; skipped and missed firings from the scheduler's ledger; whether the daemon is up from
its lock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError
from rich.table import Table

from crawler.report.spikes import FAILED_STATUSES
from crawler.config.schema import LoadedConfig
from crawler.scheduling.jobs import (StoredJob, display_url, job_store_error, jobstore_url, make_engine, next_fire,
                                     plan, sqlite_file, stored_jobs)
from crawler.scheduling.ledger import FiringCounts, Ledger
from crawler.scheduling.locks import daemon_lock_path, is_held, read_holder
from crawler.scheduling.schedule import format_duration, zone
from crawler.config.stores import open_store
from pipelines.stores.base import CLEAN_STATUSES, Run, iso

# job states
SYNCED = "scheduled"  # the job store has the config's schedule
NOT_SYNCED = "not synced"  # scheduled in the config, not in the job store yet (start the daemon or send SIGHUP)
CHANGED = "reload pending"  # the config's schedule differs from the job store's
UNSCHEDULED = "no schedule"  # the daemon never runs this target
STALE = "stale"  # in the job store, not in the config (removed at the daemon's next start or SIGHUP)


@dataclass
class TargetHealth:
    name: str
    kind: str | None
    schedule: str | None
    timeout: float | None
    job: str
    next_run: datetime | None
    last_run: Run | None = None
    running: Run | None = None
    consecutive_failures: int = 0
    firings: FiringCounts = field(default_factory=FiringCounts)

    @property
    def health(self) -> str:
        if self.running is not None:
            return "running"
        if self.last_run is None:
            return "never run"
        if self.consecutive_failures:
            return f"failing ({self.consecutive_failures} in a row)"
        return "ok"

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.kind,
            "schedule": self.schedule,
            "timeout": self.timeout,
            "job": self.job,
            "next_run": iso(self.next_run),
            "health": self.health,
            "last_run": self.last_run.public() if self.last_run else None,
            "running_run": self.running.public() if self.running else None,
            "consecutive_failures": self.consecutive_failures,
            "firings": self.firings.as_dict(),
        }


@dataclass
class SchedulerHealth:
    running: bool
    pid: int | None
    since: str | None
    jobstore: str
    timezone: str
    max_concurrent_runs: int
    misfire_grace: float

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def consecutive_failures(runs: list[Run]) -> int:
    """The latest runs' failure streak (failed, partial, timeout), as the failure alert counts it:
    `interrupted` runs (someone stopped them) and `running` ones neither count nor break it."""
    count = 0
    for run in reversed(runs):
        if run.status in CLEAN_STATUSES:
            break
        if run.status in FAILED_STATUSES:
            count += 1
    return count


def scheduler_health(loaded: LoadedConfig) -> SchedulerHealth:
    lock = daemon_lock_path(loaded.data_dir)
    running = is_held(lock)
    holder = read_holder(lock) if running else None
    config = loaded.config.scheduler
    return SchedulerHealth(
        running=running,
        pid=(holder or {}).get("pid"),
        since=(holder or {}).get("since"),
        jobstore=display_url(jobstore_url(loaded)),
        timezone=loaded.config.timezone,
        max_concurrent_runs=config.max_concurrent_runs,
        misfire_grace=config.misfire_grace,
    )


def _ledger_counts(url: str) -> dict[str, FiringCounts]:
    path = sqlite_file(url)
    if path is not None and not path.exists():
        return {}
    engine = make_engine(url)
    try:
        return Ledger(engine).counts()
    except SQLAlchemyError as exc:
        raise job_store_error(url, exc) from None
    finally:
        engine.dispose()


def collect(loaded: LoadedConfig, with_runs: bool = True) -> list[TargetHealth]:
    """Every configured target (scheduled or not) and every stale job, with what is known about it."""
    url = jobstore_url(loaded)
    stored: dict[str, StoredJob] = stored_jobs(url) or {}
    planned = {job.target: job for job in plan(loaded)}
    counts = _ledger_counts(url)
    tz_name = loaded.config.timezone
    default_timeout = loaded.config.scheduler.default_timeout
    out: list[TargetHealth] = []
    for target in loaded.config.targets:
        job = planned.get(target.name)
        stored_job = stored.pop(target.name, None)
        if job is None:
            state, next_run = UNSCHEDULED, None
        elif stored_job is None:
            state, next_run = NOT_SYNCED, next_fire(job.spec, tz_name)
        elif stored_job.name != job.name:
            state, next_run = CHANGED, stored_job.next_run
        else:
            state, next_run = SYNCED, stored_job.next_run
        out.append(TargetHealth(
            name=target.name, kind=target.type, schedule=target.schedule.describe() if target.schedule else None,
            timeout=(target.timeout or default_timeout) if target.schedule else target.timeout,
            job=state, next_run=next_run, firings=counts.get(target.name, FiringCounts()),
        ))
    for stale in stored.values():
        out.append(TargetHealth(name=stale.target, kind=None, schedule=stale.name.split(": ", 1)[-1], timeout=None,
                                job=STALE, next_run=stale.next_run, firings=counts.get(stale.target, FiringCounts())))
    if with_runs:
        with open_store(loaded) as store:
            for health in out:
                runs = store.runs(target=health.name)
                finished = [r for r in runs if r.status != "running"]
                health.last_run = finished[-1] if finished else None
                health.running = next((r for r in reversed(runs) if r.status == "running"), None)
                health.consecutive_failures = consecutive_failures(runs)
    return out


# --- text output ---------------------------------------------------------------------------------

def _local(value: datetime | str | None, tz_name: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.astimezone(zone(tz_name)).strftime("%Y-%m-%d %H:%M:%S")


def print_scheduler(health: SchedulerHealth, console: Console) -> None:
    state = (f"running (pid {health.pid}, since {_local(health.since, health.timezone)})" if health.running
             else "not running")
    console.print(f"scheduler: {state}; job store {health.jobstore}; time zone {health.timezone};"
                  f" at most {health.max_concurrent_runs} run(s) at once;"
                  f" misfire grace {format_duration(health.misfire_grace)}")


def _health_cell(t: TargetHealth) -> str:
    if t.job == STALE:
        return "stale job"
    return t.health + (f"; {t.job}" if t.job in (NOT_SYNCED, CHANGED) else "")


def print_status(targets: list[TargetHealth], tz_name: str, console: Console) -> None:
    table = Table(title=f"Targets (times in {tz_name})", title_justify="left")
    numbers = ("Pages", "Hits", "Errors", "Fails", "Skipped", "Missed")
    for column in ("Target", "Schedule", "Next run", "Last run", "Status", *numbers, "Health"):
        table.add_column(column, justify="right" if column in numbers else "left", no_wrap=column != "Schedule")
    for t in targets:
        last = t.last_run
        table.add_row(
            t.name, t.schedule or "-", _local(t.next_run, tz_name) if t.job != UNSCHEDULED else "-",
            _local(last.started_at, tz_name) if last else "-", last.status if last else "-",
            str(last.pages) if last else "-", str(last.hits) if last else "-", str(last.errors) if last else "-",
            str(t.consecutive_failures), str(t.firings.skipped), str(t.firings.missed), _health_cell(t),
        )
    console.print(table)
    notes = {t.job for t in targets} & {NOT_SYNCED, CHANGED, STALE}
    if notes:
        console.print("job store differs from the config (" + ", ".join(sorted(notes))
                      + "): start `netpatrol schedule` or send it SIGHUP to sync")


def print_jobs(targets: list[TargetHealth], tz_name: str, console: Console) -> None:
    table = Table(title=f"Scheduled jobs (times in {tz_name})", title_justify="left")
    for column in ("Target", "Schedule", "Next run", "Job", "Last run", "Last status"):
        table.add_column(column, no_wrap=column != "Schedule")
    for t in targets:
        if t.job == UNSCHEDULED:
            continue
        last = t.last_run
        table.add_row(t.name, t.schedule or "-", _local(t.next_run, tz_name), t.job,
                      _local(last.started_at, tz_name) if last else "-",
                      (last.status if last else "-") + (" (running now)" if t.running else ""))
    console.print(table)
