"""One supervised run (`netpatrol jobs run NAME`, the daemon's own path): timeout, target lock, failures recorded."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from conftest import LOOPBACK_ONLY

from crawler.config.schema import load_config
from crawler.demo.site import DemoSite
from crawler.scheduling.jobs import jobstore_url, make_engine
from crawler.scheduling.ledger import SKIPPED, STARTED, Ledger
from crawler.scheduling.locks import is_held, target_lock_path
from pipelines.stores.sqlite.store import SQLiteStore

ROOT = Path(__file__).resolve().parents[1]


def config_for(make_config, site: DemoSite, slow_seconds: int, timeout: str, private: bool = True) -> Path:
    return make_config(f"""
        store: {{path: data/np.db}}
        {LOOPBACK_ONLY if private else 'allow_private_networks: false  # the guard itself, switched on'}
        scheduler: {{stop_timeout: 5s}}
        targets:
          - name: slow
            type: site
            start_urls: ["{site.base_url}/bad/slow?s={slow_seconds}"]
            max_depth: 0
            robots: ignore
            render: never
            timeout: {timeout}
        """)


def stored_runs(config: Path) -> list:
    store = SQLiteStore(load_config(config).store_path)
    try:
        return store.runs()
    finally:
        store.close()


def ledger_of(config: Path) -> list:
    engine = make_engine(jobstore_url(load_config(config)))
    try:
        return Ledger(engine).history()
    finally:
        engine.dispose()


def test_a_run_past_its_timeout_is_stopped_and_recorded_timeout(cli, make_config, site: DemoSite) -> None:
    config = config_for(make_config, site, slow_seconds=25, timeout="8s")
    result = cli("jobs", "run", "slow", "--config", str(config))
    assert result.code == 1, result.stderr
    runs = stored_runs(config)
    assert len(runs) == 1
    run = runs[0]
    assert run.status == "timeout", (run, result.stderr)
    assert run.finished_at is not None and run.stats["netpatrol/scheduler/timeout_seconds"] == 8.0
    assert result.stdout.startswith(f"slow: run {run.id} timeout after ")
    assert [f.outcome for f in ledger_of(config)] == [STARTED]
    status = {t["name"]: t for t in cli("status", "--config", str(config), "--format", "json").json()["targets"]}
    assert status["slow"]["last_run"]["status"] == "timeout"
    assert status["slow"]["consecutive_failures"] == 1 and status["slow"]["health"] == "failing (1 in a row)"
    assert not is_held(target_lock_path(load_config(config).data_dir, "slow"))  # the lock died with the run


def test_a_target_still_running_is_not_started_twice(cli, make_config, site: DemoSite) -> None:
    config = config_for(make_config, site, slow_seconds=6, timeout="2m")
    lock = target_lock_path(load_config(config).data_dir, "slow")
    env = {k: v for k, v in os.environ.items() if k != "NETPATROL_PROGRESS"}
    first = subprocess.Popen([sys.executable, "-m", "crawler.cli.main", "jobs", "run", "slow", "--config", str(config)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 120
        while not is_held(lock):
            assert first.poll() is None and time.monotonic() < deadline, "the first run never took the target"
            time.sleep(0.1)
        second = cli("jobs", "run", "slow", "--config", str(config))
        out, err = first.communicate(timeout=180)
    finally:
        if first.poll() is None:
            first.kill()
    assert second.code == 1
    assert "target slow is still running (pid" in second.stderr and "not started" in second.stderr
    assert first.returncode == 0, err
    runs = stored_runs(config)
    assert [r.status for r in runs] == ["completed"]
    assert sum(1 for p in site.request_log if p.startswith("/bad/slow")) == 1
    outcomes = [(f.outcome, f.detail) for f in ledger_of(config)]
    assert (STARTED, "jobs run") in outcomes and any(o == SKIPPED and "still running" in (d or "") for o, d in outcomes)


def test_a_run_that_cannot_start_is_recorded_failed_with_the_reason(cli, make_config, site: DemoSite) -> None:
    config = config_for(make_config, site, slow_seconds=0, timeout="1m", private=False)
    result = cli("jobs", "run", "slow", "--config", str(config))
    assert result.code == 1
    assert "[slow] netpatrol: target slow not started:" in result.stderr
    (run,) = stored_runs(config)
    assert run.status == "failed" and run.pages == 0
    assert "loopback address; refused" in run.stats["netpatrol/scheduler/error"]
    assert run.stats["netpatrol/scheduler/exit_code"] == 1


def test_jobs_run_of_an_unknown_target(cli, make_config, site: DemoSite) -> None:
    config = config_for(make_config, site, slow_seconds=0, timeout="1m")
    result = cli("jobs", "run", "nope", "--config", str(config))
    assert result.code == 2
    assert result.stderr.strip() == "netpatrol: unknown target 'nope'; configured: slow"


def test_run_id_is_only_for_one_target(cli, make_config, site: DemoSite) -> None:
    config = config_for(make_config, site, slow_seconds=0, timeout="1m")
    result = cli("run", "--config", str(config), "--run-id", "abc")
    assert result.code == 2 and result.stderr.strip() == "netpatrol: --run-id needs exactly one --target"
    result = cli("run", "--config", str(config), "--target", "slow", "--run-id", "../x")
    assert result.code == 2 and "letters, digits, _ . - only" in result.stderr
