"""The SQLite store: idempotent writes, transactions, and runs whose process died marked `interrupted`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from pipelines.stores.base import Observation, Run, iso, utcnow
from pipelines.stores.sqlite.store import SQLiteStore


def _obs(run_id: str, url: str) -> Observation:
    return Observation(run_id=run_id, target="t", url=url, canonical_url=url, domain="example.com",
                       seen_at=iso(utcnow()) or "", kind="page", categories=["gambling"], rules=["r"], score=1.0)


def test_observations_are_idempotent(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    store.start_run(Run(id="r1", target="t", kind="site", started_at=iso(utcnow()) or "", rules_version="v"))
    store.add_observations([_obs("r1", "http://example.com/a"), _obs("r1", "http://example.com/b")])
    store.add_observations([_obs("r1", "http://example.com/a")])  # a replay
    run = store.finish_run("r1", "completed", 2, 0, {})
    assert run.hits == 2
    assert [h["url"] for h in store.hits(["r1"])] == ["http://example.com/a", "http://example.com/b"]
    assert store.hits(["r1"])[0]["first_seen"] == store.hits(["r1"])[0]["last_seen"]


def test_run_of_a_dead_process_reads_as_interrupted(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    child = subprocess.Popen([
        sys.executable, "-c",
        "import sys, time\n"
        "from pipelines.stores.sqlite.store import SQLiteStore\n"
        "from pipelines.stores.base import Run, Observation, iso, utcnow\n"
        f"s = SQLiteStore({str(path)!r})\n"
        "s.start_run(Run(id='r1', target='t', kind='site', started_at=iso(utcnow()), rules_version='v'))\n"
        "s.add_observations([Observation(run_id='r1', target='t', url='http://e.com/a', canonical_url='http://e.com/a',"
        " domain='e.com', seen_at=iso(utcnow()), kind='page', categories=['fraud'], rules=['r'], score=1.0)])\n"
        "print('written', flush=True)\n"
        "time.sleep(60)\n",
    ], stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[1])
    assert child.stdout is not None and child.stdout.readline().strip() == "written"
    store = SQLiteStore(path)
    assert store.get_run("r1").status == "running"  # type: ignore[union-attr]
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    runs = store.runs()
    assert [(r.id, r.status, r.hits) for r in runs] == [("r1", "interrupted", 1)]
    assert store.hits(["r1"])[0]["url"] == "http://e.com/a"  # what was written before the crash is kept


def test_sigint_during_a_crawl_records_interrupted(cli, make_config, site) -> None:
    config = make_config(f"""
        store: {{path: data/np.db}}
        allowed_networks: ["127.0.0.0/8"]
        targets:
          - name: slow
            type: site
            start_urls: ["{site.base_url}/bad/slow?s=20"]
            robots: ignore
            politeness: {{retries: 0, timeout: 60}}
        """)
    proc = subprocess.Popen([sys.executable, "-m", "crawler.cli.main", "run", "--config", str(config), "--progress", "off"],
                            cwd=Path(__file__).resolve().parents[1], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not any(p.startswith("/bad/slow") for p in site.request_log):
        assert time.monotonic() < deadline, "the crawl never reached the slow page"
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    runs = cli("runs", "--config", str(config), "--format", "json").json()
    assert [r["status"] for r in runs] == ["interrupted"]
    assert runs[0]["finished_at"] is not None
