"""`netpatrol schedule` as users run it: a real daemon process, real APScheduler, real crawls of the demo site.

Every wait below polls for a fact (a log line, a run in the store) with a generous bound; no
assertion depends on how fast this machine is.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, TypeVar

import pytest
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

from crawler.config.schema import load_config
from crawler.demo.site import DemoSite
from crawler.scheduling.jobs import JOB_TABLE, jobstore_url, make_engine, stored_jobs
from crawler.scheduling.ledger import MISSED, SKIPPED, STARTED, Ledger
from pipelines.stores.sqlite.store import SQLiteStore

ROOT = Path(__file__).resolve().parents[1]
BOUND = 180.0  # seconds any single wait may take on a loaded machine before the test fails
T = TypeVar("T")


class Daemon:
    """`netpatrol schedule --config FILE` in a subprocess, its log collected line by line."""

    def __init__(self, config: Path) -> None:
        env = dict(os.environ)
        env.pop("NETPATROL_PROGRESS", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "crawler.cli.main", "schedule", "--config", str(config)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT, env=env,
        )
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, pattern: str, after: int = 0, bound: float = BOUND) -> re.Match[str]:
        """The first log line (from line number `after`) matching `pattern`."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + bound
        with self._changed:
            while True:
                for line in self.lines[after:]:
                    match = regex.search(line)
                    if match:
                        return match
                if self.proc.poll() is not None and not self._reader.is_alive():
                    raise AssertionError(f"daemon exited ({self.proc.returncode}) before {pattern!r}:\n{self.log}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no log line {pattern!r} within {bound}s:\n{self.log}")
                self._changed.wait(min(remaining, 1.0))

    def started(self) -> "Daemon":
        self.wait_for(r"scheduler running \(pid \d+\)")
        return self

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def stop(self) -> int:
        """SIGTERM, then the exit code (bounded wait)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(BOUND)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"daemon did not exit within {BOUND}s of SIGTERM:\n{self.log}") from None
        self._reader.join(10)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)


@pytest.fixture
def daemons() -> Any:
    started: list[Daemon] = []

    def start(config: Path) -> Daemon:
        started.append(Daemon(config))
        return started[-1]

    yield start
    for daemon in started:
        daemon.kill()


def eventually(check: Callable[[], T], what: str, bound: float = BOUND, daemon: Daemon | None = None) -> T:
    """Poll `check` until it returns something truthy."""
    deadline = time.monotonic() + bound
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {bound}s: {what}" + (f"\n{daemon.log}" if daemon else ""))
        time.sleep(0.25)


def runs_of(config: Path, target: str) -> list[Any]:
    store = SQLiteStore(load_config(config).store_path)
    try:
        return store.runs(target=target)
    finally:
        store.close()


def firings(config: Path, target: str) -> list[Any]:
    engine = make_engine(jobstore_url(load_config(config)))
    try:
        return Ledger(engine).history(target)
    finally:
        engine.dispose()


def page_target(name: str, url: str, schedule: str, extra: str = "") -> str:
    return f"""
  - name: {name}
    type: site
    start_urls: ["{url}"]
    max_depth: 0
    robots: ignore
    render: never
    schedule: {schedule}
    politeness: {{autothrottle: false}}{extra}"""


def config_text(targets: str, scheduler: str = "{}") -> str:
    return f"store: {{path: data/np.db}}\nallowed_networks: ['127.0.0.0/8']\nscheduler: {scheduler}\ntargets:{targets}\n"


def test_runs_on_schedule_and_a_slow_target_is_never_overlapped(make_config, site: DemoSite, daemons, cli) -> None:
    config = make_config(config_text(
        page_target("quick", f"{site.base_url}/", "{every: 2s}")
        + page_target("slow", f"{site.base_url}/bad/slow?s=5", "{every: 1s}"),
    ))
    daemon = daemons(config).started()
    eventually(lambda: len([r for r in runs_of(config, "quick") if r.status == "completed"]) >= 3,
               "three completed runs of `quick`", daemon=daemon)
    eventually(lambda: len([r for r in runs_of(config, "slow") if r.status == "completed"]) >= 2
               and any(f.outcome == SKIPPED for f in firings(config, "slow")),
               "two completed runs of `slow` and a skipped firing", daemon=daemon)
    status = cli("status", "--config", str(config), "--format", "json").json()
    assert status["scheduler"]["running"] is True and status["scheduler"]["pid"] == daemon.proc.pid
    assert daemon.stop() == 0, daemon.log

    for name, interval in (("quick", 2), ("slow", 1)):
        started = [f for f in firings(config, name) if f.outcome == STARTED]
        runs = [r for r in runs_of(config, name) if r.status != "interrupted"]
        assert len(started) >= len(runs) >= 2
        # Every run served a firing on the interval's grid (APScheduler's exact times, not wall-clock luck).
        due = [datetime.fromisoformat(f.due_at.replace("Z", "+00:00")) for f in started]
        assert all((d - due[0]).total_seconds() % interval == 0 for d in due), due
        assert due == sorted(due) and len(set(due)) == len(due)
        # Never two runs of one target at once: each run ended before the next began.
        everything = runs_of(config, name)
        for earlier, later in zip(everything, everything[1:]):
            assert earlier.finished_at is not None and earlier.finished_at <= later.started_at, (earlier, later)

    # The slow target (5 s a run, due every second) had firings skipped, never a second concurrent run.
    skipped = [f for f in firings(config, "slow") if f.outcome == SKIPPED]
    assert any("previous run is still going" in (f.detail or "") for f in skipped), skipped
    assert all(re.search(r"still going|still running|was stopping", f.detail or "") for f in skipped), skipped
    assert re.search(r"slow: firing due .* skipped: its previous run is still going", daemon.log)
    slow_fetches = [p for p in site.request_log if p.startswith("/bad/slow")]
    assert 2 <= len(slow_fetches) <= len(runs_of(config, "slow"))  # no fetch from a hidden second run

    status = cli("status", "--config", str(config), "--format", "json").json()
    assert status["scheduler"]["running"] is False
    by_name = {t["name"]: t for t in status["targets"]}
    assert by_name["slow"]["firings"]["skipped"] == len(skipped)
    assert by_name["quick"]["firings"]["started"] >= 3
    assert by_name["quick"]["consecutive_failures"] == 0
    assert by_name["quick"]["job"] == "scheduled" and by_name["quick"]["next_run"].endswith("Z")


def test_sigterm_during_a_run_records_interrupted_and_keeps_what_was_written(make_config, site: DemoSite, daemons,
                                                                             cli) -> None:
    config = make_config(config_text(f"""
  - name: market
    type: site
    start_urls: ["{site.base_url}/", "{site.base_url}/bad/slow?s=20"]
    follow: ["^/c/", "^/item/"]
    match_urls: ["^/item/"]
    robots: ignore
    render: never
    schedule: {{every: 2s}}
    politeness: {{concurrency: 8, autothrottle: false}}""", scheduler="{stop_timeout: 90s}"))
    illegal = {f"/item/{item['id']}" for item in site.listings(illegal=True)}
    daemon = daemons(config).started()
    # The run is going and has fetched every illegal listing; the slow page keeps it alive.
    eventually(lambda: any(r.status == "running" for r in runs_of(config, "market")), "a running run", daemon=daemon)
    eventually(lambda: illegal <= set(site.request_log), "every illegal listing fetched", daemon=daemon)
    status = cli("status", "--config", str(config), "--format", "json").json()
    market = status["targets"][0]
    assert market["health"] == "running" and market["running_run"]["status"] == "running"

    assert daemon.stop() == 0, daemon.log  # one SIGTERM (a second one would kill the run at once)
    runs = runs_of(config, "market")
    assert len(runs) == 1, runs
    run = runs[0]
    assert run.status == "interrupted", daemon.log
    assert run.finished_at is not None and run.stats.get("finish_reason") == "shutdown", (run.stats, daemon.log)
    hits = cli("hits", "--config", str(config), "--run", run.id, "--format", "json").json()
    found = {h["url"].replace(site.base_url, "") for h in hits}
    # Nothing the crawl had matched was lost: every illegal listing had been requested before the SIGTERM, a
    # graceful stop lets requests in progress finish, and the batch in memory was written on the way out.
    assert found == illegal, sorted(illegal ^ found)
    assert run.hits == len(hits)
    assert "asking 1 running run(s) to finish" in daemon.log
    assert re.search(r"market: run \S+ interrupted after .* \(stopped: shutdown\)", daemon.log)


def test_a_second_sigterm_kills_the_running_children_and_their_runs_read_interrupted(make_config, site: DemoSite,
                                                                                      daemons) -> None:
    config = make_config(config_text(page_target("stuck", f"{site.base_url}/bad/slow?s=30", "{every: 1s}"),
                                     scheduler="{stop_timeout: 10m}"))
    daemon = daemons(config).started()
    eventually(lambda: any(r.status == "running" for r in runs_of(config, "stuck")), "a running run", daemon=daemon)
    eventually(lambda: any(p.startswith("/bad/slow") for p in site.request_log), "the slow page requested", daemon=daemon)
    daemon.signal(signal.SIGTERM)
    daemon.wait_for(r"asking 1 running run\(s\) to finish")
    assert daemon.stop() == 0, daemon.log  # the second SIGTERM: no waiting for the slow page or stop_timeout
    (run,) = runs_of(config, "stuck")
    assert run.status == "interrupted" and run.finished_at is not None
    assert run.stats["netpatrol/scheduler/exit_code"] == -signal.SIGKILL


def test_restart_keeps_the_schedule_and_drops_stale_jobs(make_config, site: DemoSite, daemons, cli) -> None:
    hourly = page_target("hourly", f"{site.base_url}/", "{every: 1h}")
    nightly = page_target("nightly", f"{site.base_url}/", "'0 3 * * *'")
    config = make_config(config_text(hourly + nightly) + "timezone: Asia/Shanghai\n")
    daemon = daemons(config).started()
    assert daemon.stop() == 0, daemon.log
    before = {j["name"]: j for j in cli("jobs", "list", "--config", str(config), "--format", "json").json()}
    assert set(before) == {"hourly", "nightly"} and all(j["job"] == "scheduled" for j in before.values())

    # Restarted later, the interval job keeps its stored next run (an unsynced one would be now + 1h).
    daemon = daemons(config).started()
    assert "jobs synced from" in daemon.log and "kept hourly, nightly" in daemon.log
    second = cli("schedule", "--config", str(config))  # one daemon per data directory
    assert second.code == 1 and f"another `netpatrol schedule` (pid {daemon.proc.pid}" in second.stderr
    after = {j["name"]: j for j in cli("jobs", "list", "--config", str(config), "--format", "json").json()}
    assert after["hourly"]["next_run"] == before["hourly"]["next_run"]
    assert after["nightly"]["next_run"] == before["nightly"]["next_run"]
    assert daemon.stop() == 0, daemon.log

    # The config changed while the daemon was down: `nightly` removed, `hourly` every 2h.
    config.write_text(config_text(hourly.replace("every: 1h", "every: 2h")), encoding="utf-8")
    daemon = daemons(config).started()
    assert "rescheduled hourly; removed nightly" in daemon.log
    assert daemon.stop() == 0, daemon.log
    jobs = stored_jobs(jobstore_url(load_config(config))) or {}
    assert {j.target: j.name for j in jobs.values()} == {"hourly": "hourly: every 2h"}


def test_sighup_reloads_and_an_invalid_config_keeps_the_old_jobs(make_config, site: DemoSite, daemons) -> None:
    first = page_target("first", f"{site.base_url}/", "{every: 1h}")
    second = page_target("second", f"{site.base_url}/", "{every: 1h}")
    config = make_config(config_text(first + second))
    url = jobstore_url(load_config(config))
    daemon = daemons(config).started()
    assert set(stored_jobs(url) or {}) == {"first", "second"}

    mark = len(daemon.lines)
    config.write_text(config_text(first), encoding="utf-8")
    daemon.signal(signal.SIGHUP)
    daemon.wait_for(r"jobs synced from .*: removed second; kept first", after=mark)
    assert set(stored_jobs(url) or {}) == {"first"}

    mark = len(daemon.lines)
    config.write_text(config_text(first.replace("{every: 1h}", "'0 */6 * *'") + second), encoding="utf-8")
    daemon.signal(signal.SIGHUP)
    failed = daemon.wait_for(r"reload failed, keeping the current jobs: (.*)", after=mark)
    assert "targets[0].schedule: target 'first': invalid cron expression" in failed.group(1)
    assert set(stored_jobs(url) or {}) == {"first"}
    assert daemon.proc.poll() is None  # still serving
    assert daemon.stop() == 0, daemon.log


def shift_due_times(config: Path, due: dict[str, timedelta]) -> None:
    """What downtime leaves in the job store: next run times in the past (written through APScheduler's job store)."""
    engine = make_engine(jobstore_url(load_config(config)))
    store = SQLAlchemyJobStore(engine=engine, tablename=JOB_TABLE)
    try:
        now = datetime.now(timezone.utc)
        for job_id, ago in due.items():
            job = store.lookup_job(job_id)
            job.next_run_time = now - ago
            store.update_job(job)
    finally:
        engine.dispose()


def test_after_downtime_missed_firings_coalesce_or_are_skipped_and_runs_wait_their_turn(make_config, site: DemoSite,
                                                                                       daemons) -> None:
    page = f"{site.base_url}/"
    config = make_config(config_text(
        page_target("recent", page, "{every: 1h}") + page_target("stale", page, "{every: 6h}")
        + page_target("third", page, "{every: 1h}") + page_target("fourth", page, "{every: 1h}"),
        scheduler="{max_concurrent_runs: 1, misfire_grace: 1h}",
    ))
    daemon = daemons(config).started()
    assert daemon.stop() == 0, daemon.log
    # Down for 5.5 hours: `recent` missed 6 hourly firings, the last 30 minutes ago (inside the grace);
    # `stale` missed one firing 5 h 10 min ago (outside it); the other two are due as well.
    shift_due_times(config, {"recent": timedelta(hours=5, minutes=30), "stale": timedelta(hours=5, minutes=10),
                             "third": timedelta(minutes=1), "fourth": timedelta(minutes=1)})

    daemon = daemons(config).started()
    for name in ("recent", "third", "fourth"):
        eventually(lambda: any(r.status == "completed" for r in runs_of(config, name)), f"a run of {name}", daemon=daemon)
    daemon.wait_for(r"stale: firing due .* missed by more than misfire_grace")
    assert daemon.stop() == 0, daemon.log

    # One run for six missed firings (coalesced), not a burst; nothing skipped or missed besides.
    assert [f.outcome for f in firings(config, "recent")] == [STARTED]
    assert len(runs_of(config, "recent")) == 1
    # Outside the grace: skipped and logged, never run.
    assert [f.outcome for f in firings(config, "stale")] == [MISSED]
    assert runs_of(config, "stale") == []
    # At most one run at once: the three runs' lifetimes do not overlap.
    runs = sorted((r for name in ("recent", "third", "fourth") for r in runs_of(config, name)), key=lambda r: r.started_at)
    assert len(runs) == 3
    for earlier, later in zip(runs, runs[1:]):
        assert earlier.finished_at is not None and earlier.finished_at <= later.started_at, (earlier, later)
