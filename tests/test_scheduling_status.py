"""`netpatrol status` and `netpatrol jobs list`: health from the store's runs, next runs from the job store."""

from __future__ import annotations

from pathlib import Path

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from crawler.config.schema import load_config
from crawler.scheduling.jobs import JOB_TABLE, jobstore_url, make_engine, plan, sync_jobs
from crawler.scheduling.ledger import MISSED, SKIPPED, STARTED, Ledger
from crawler.scheduling.status import consecutive_failures
from crawler.config.stores import open_store
from pipelines.stores.base import Run


def run(status: str, n: int = 0) -> Run:
    return Run(id=f"r{n}", target="t", kind="site", started_at=f"2026-11-0{n + 1}T00:00:00.000000Z",
               rules_version="v", status=status)


def test_failure_streak_counts_like_the_failure_alert() -> None:
    assert consecutive_failures([]) == 0
    assert consecutive_failures([run("failed"), run("completed")]) == 0
    assert consecutive_failures([run("completed"), run("failed"), run("timeout"), run("partial")]) == 3
    # interrupted (someone stopped it) and running neither count nor break the streak
    assert consecutive_failures([run("completed"), run("failed"), run("interrupted"), run("timeout"), run("running")]) == 2
    assert consecutive_failures([run("failed"), run("completed"), run("interrupted")]) == 0


TARGETS = """
store: {path: data/np.db}
timezone: Asia/Shanghai
targets:
  - {name: shop, type: site, start_urls: ['https://shop.example/'], schedule: {every: 1h}}
  - {name: forum, type: site, start_urls: ['https://forum.example/'], schedule: '0 3 * * *', timeout: 20m}
  - {name: adhoc, type: site, start_urls: ['https://adhoc.example/']}
  - {name: old, type: site, start_urls: ['https://old.example/'], schedule: {every: 2h}}
"""


def prepare(make_config) -> Path:
    config = make_config(TARGETS)
    loaded = load_config(config)
    engine = make_engine(jobstore_url(loaded))
    scheduler = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename=JOB_TABLE)})
    scheduler.start(paused=True)
    sync_jobs(scheduler, plan(loaded), 600)
    scheduler.shutdown(wait=False)
    ledger = Ledger(engine)
    ledger.create()
    for outcome in (STARTED, STARTED, SKIPPED, MISSED):
        ledger.record("shop", outcome, detail="test")
    engine.dispose()
    with open_store(loaded) as store:
        for n, (target, status) in enumerate([("shop", "completed"), ("shop", "failed"), ("shop", "timeout"),
                                              ("forum", "completed")]):
            store.start_run(Run(id=f"r{n}", target=target, kind="site", rules_version="v",
                                started_at=f"2026-11-0{n + 1}T00:00:00.000000Z"))
            store.finish_run(f"r{n}", status, 10 + n, n, {})
    # Afterwards the config changes without the daemon syncing: forum's schedule, old removed, adhoc scheduled.
    config.write_text(TARGETS.replace("'0 3 * * *'", "'0 4 * * *'").replace(
        "  - {name: old, type: site, start_urls: ['https://old.example/'], schedule: {every: 2h}}\n", "").replace(
        "start_urls: ['https://adhoc.example/']}", "start_urls: ['https://adhoc.example/'], schedule: {every: 1d}}"),
        encoding="utf-8")
    return config


def test_status_json(cli, make_config) -> None:
    config = prepare(make_config)
    result = cli("status", "--config", str(config), "--format", "json")
    assert result.code == 0, result.stderr
    status = result.json()
    assert status["scheduler"] == {
        "running": False, "pid": None, "since": None, "jobstore": f"sqlite:///{config.parent / 'data' / 'scheduler.db'}",
        "timezone": "Asia/Shanghai", "max_concurrent_runs": 2, "misfire_grace": 600.0,
    }
    targets = {t["name"]: t for t in status["targets"]}
    assert list(targets) == ["shop", "forum", "adhoc", "old"]
    shop = targets["shop"]
    assert shop["job"] == "scheduled" and shop["schedule"] == "every 1h" and shop["timeout"] == 21600.0
    assert shop["last_run"]["id"] == "r2" and shop["last_run"]["status"] == "timeout" and shop["last_run"]["pages"] == 12
    assert shop["consecutive_failures"] == 2 and shop["health"] == "failing (2 in a row)"
    assert (shop["firings"]["started"], shop["firings"]["skipped"], shop["firings"]["missed"]) == (2, 1, 1)
    assert shop["next_run"].endswith("Z") and shop["running_run"] is None
    forum = targets["forum"]
    assert forum["job"] == "reload pending" and forum["timeout"] == 1200.0 and forum["health"] == "ok"
    assert forum["next_run"].endswith("T19:00:00.000000Z")  # still the job store's 03:00 Asia/Shanghai
    assert targets["adhoc"]["job"] == "not synced" and targets["adhoc"]["last_run"] is None
    assert targets["adhoc"]["health"] == "never run"
    assert targets["old"]["job"] == "stale"


def test_status_and_jobs_list_text(cli, make_config) -> None:
    config = prepare(make_config)
    status = cli("status", "--config", str(config))
    assert status.code == 0, status.stderr
    assert status.stdout.startswith("scheduler: not running; job store sqlite:///")
    assert "Targets (times in Asia/Shanghai)" in status.stdout
    shop = next(line for line in status.stdout.splitlines() if "│ shop " in line)
    assert "timeout" in shop and "failing (2 in a row)" in shop
    assert "start `netpatrol schedule` or send it SIGHUP to sync" in status.stdout

    jobs = cli("jobs", "list", "--config", str(config))
    assert jobs.code == 0, jobs.stderr
    rows = {line.split("│")[1].strip(): line for line in jobs.stdout.splitlines() if line.startswith("│")}
    assert set(rows) == {"shop", "forum", "adhoc", "old"}  # scheduled targets and the stale job
    assert "03:00:00" in rows["forum"] and "reload pending" in rows["forum"]
    assert "stale" in rows["old"] and "timeout" in rows["shop"]
    listed = cli("jobs", "list", "--config", str(config), "--format", "json").json()
    assert [j["name"] for j in listed] == ["shop", "forum", "adhoc", "old"]
