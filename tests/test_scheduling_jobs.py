"""Syncing the config's schedules into a real APScheduler SQLAlchemy job store: added, changed, removed, kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from crawler.config.schema import LoadedConfig, load_config
from pipelines.errors import ConfigError
from crawler.scheduling.jobs import JOB_FUNC, JOB_TABLE, jobstore_url, make_engine, plan, stored_jobs, sync_jobs


def write(tmp_path: Path, targets: str, extra: str = "") -> LoadedConfig:
    path = tmp_path / "np.yml"
    path.write_text(f"store: {{path: data/np.db}}\n{extra}\ntargets:\n{targets}", encoding="utf-8")
    return load_config(path)


def target(name: str, schedule: str | None) -> str:
    line = f"    schedule: {schedule}\n" if schedule else ""
    return f"  - name: {name}\n    type: site\n    start_urls: ['https://example.com/']\n{line}"


class OpenScheduler:
    """A paused scheduler on the config's job store, as the daemon opens it before syncing."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.scheduler = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(engine=self.engine, tablename=JOB_TABLE)})
        self.scheduler.start(paused=True)

    def close(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.engine.dispose()


@pytest.fixture
def opened() -> Iterator[Any]:
    schedulers: list[OpenScheduler] = []

    def open_(url: str) -> BackgroundScheduler:
        schedulers.append(OpenScheduler(url))
        return schedulers[-1].scheduler

    yield open_
    for s in schedulers:
        s.close()


def test_sync_adds_keeps_reschedules_and_removes(tmp_path: Path, opened: Any) -> None:
    first = write(tmp_path, target("a", "{every: 1h}") + target("b", "'0 3 * * *'") + target("c", None))
    url = jobstore_url(first)
    assert stored_jobs(url) is None  # nothing synced yet

    scheduler = opened(url)
    report = sync_jobs(scheduler, plan(first), 600)
    assert (report.added, report.changed, report.removed, report.kept) == (["a", "b"], [], [], [])
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"a", "b"}  # targets without a schedule never become jobs
    assert jobs["a"].func_ref == JOB_FUNC and jobs["a"].args == ("a",)
    assert jobs["a"].coalesce is True and jobs["a"].max_instances == 1 and jobs["a"].misfire_grace_time == 600
    next_a = jobs["a"].next_run_time
    scheduler.shutdown(wait=False)

    # A restart with the same config keeps every job and its next run time (read back from the file).
    scheduler = opened(url)
    report = sync_jobs(scheduler, plan(first), 600)
    assert (report.added, report.changed, report.removed, report.kept) == ([], [], [], ["a", "b"])
    assert scheduler.get_job("a").next_run_time == next_a
    scheduler.shutdown(wait=False)

    # The config changes: a's interval, b gone, c gets a schedule, misfire grace changes.
    second = write(tmp_path, target("a", "{every: 2h}") + target("c", "{every: 5m, jitter: 10s}"))
    scheduler = opened(url)
    report = sync_jobs(scheduler, plan(second), 60)
    assert (report.added, report.changed, report.removed, report.kept) == (["c"], ["a"], ["b"], [])
    a = scheduler.get_job("a")
    assert a.name == "a: every 2h" and a.trigger.interval.total_seconds() == 7200 and a.misfire_grace_time == 60
    assert a.next_run_time != next_a
    scheduler.shutdown(wait=False)
    assert {job.target: job.name for job in (stored_jobs(url) or {}).values()} == {
        "a": "a: every 2h", "c": "c: every 5m, jitter 10s"}


def test_cron_jobs_carry_the_time_zone(tmp_path: Path, opened: Any) -> None:
    utc = write(tmp_path, target("n", "'0 2 * * *'"))
    scheduler = opened(jobstore_url(utc))
    sync_jobs(scheduler, plan(utc), 600)
    before = scheduler.get_job("n").next_run_time
    shanghai = write(tmp_path, target("n", "'0 2 * * *'"), extra="timezone: Asia/Shanghai")
    report = sync_jobs(scheduler, plan(shanghai), 600)
    assert report.changed == ["n"]  # 02:00 in another zone is another time
    after = scheduler.get_job("n").next_run_time
    assert (before.hour, str(before.tzinfo)) == (2, "UTC") and (after.hour, str(after.tzinfo)) == (2, "Asia/Shanghai")


def test_jobstore_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    default = write(tmp_path, target("a", None))
    assert jobstore_url(default) == f"sqlite:///{tmp_path / 'data' / 'scheduler.db'}"
    relative = write(tmp_path, target("a", None), extra="scheduler: {jobstore_url: 'sqlite:///state/jobs.db'}")
    assert jobstore_url(relative) == f"sqlite:///{tmp_path / 'state' / 'jobs.db'}"
    from_env = write(tmp_path, target("a", None), extra="scheduler: {jobstore_url_env: NP_TEST_JOBSTORE}")
    monkeypatch.setenv("NP_TEST_JOBSTORE", "postgresql://patrol:secret@127.0.0.1/jobs")
    assert jobstore_url(from_env) == "postgresql://patrol:secret@127.0.0.1/jobs"
    monkeypatch.delenv("NP_TEST_JOBSTORE")
    with pytest.raises(ConfigError, match="scheduler.jobstore_url_env: environment variable NP_TEST_JOBSTORE is not set"):
        jobstore_url(from_env)
