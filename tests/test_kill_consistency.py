"""A run killed with kill -9 keeps a consistent record: every stored page has its hits, counters equal stored rows.

A real `netpatrol run` subprocess crawls 3,000 generated demo pages (every 10th illegal) and is
killed with SIGKILL at several points: before its first batch, after one batch, after several.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crawler.demo.site import DemoSite
from pipelines.stores import open_store
from pipelines.stores.spec import StoreSpec
from tests.conftest import ROOT, run_cli
from tests.es_support import drop_prefix, es_store_yaml, es_url, fresh_prefix

PAGES = 3000


def _config(folder: Path, site: DemoSite, store: str) -> Path:
    path = folder / "netpatrol.yml"
    path.write_text(f"""
store: {store}
allowed_networks: ["127.0.0.0/8"]
targets:
  - name: gen
    type: site
    start_urls: ["{site.base_url}/bad/pages?n={PAGES}"]
    follow: ["^/gen/"]
    match_urls: ["^/gen/"]
    max_pages: {PAGES + 1}
    max_depth: 1
    robots: ignore
    render: never
    politeness: {{concurrency: 8, autothrottle: false, retries: 0}}
""", encoding="utf-8")
    return path


def _start(config: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "NETPATROL_PROGRESS"}
    return subprocess.Popen([sys.executable, "-m", "crawler.cli.main", "run", "--config", str(config), "--progress", "off",
                             "-s", "NETPATROL_WRITE_BATCH_ITEMS=100", "-s", "NETPATROL_WRITE_BATCH_SECONDS=1"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_for(check, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert proc.poll() is None, "the crawl ended before the kill point"
        assert time.monotonic() < deadline, "kill point not reached"
        time.sleep(0.05)


def _count(db: Path, sql: str) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return int(conn.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:  # tables not created yet
        return 0


def _illegal(url: str) -> bool:
    return int(re.search(r"/gen/(\d+)$", url).group(1)) % 10 == 0  # type: ignore[union-attr]


@pytest.mark.parametrize("kill_after_documents", [0, 1, 500])
def test_sqlite_run_killed_at_any_point_is_consistent(tmp_path: Path, site: DemoSite, kill_after_documents: int) -> None:
    config = _config(tmp_path, site, "{path: data/np.db}")
    db = tmp_path / "data" / "np.db"
    proc = _start(config)
    try:
        _wait_for(lambda: _count(db, "SELECT count(*) FROM runs") >= 1
                  and _count(db, "SELECT count(*) FROM documents") >= kill_after_documents, proc)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    runs = run_cli("runs", "--config", str(config), "--format", "json").json()  # a reader notices the dead run
    (run,) = runs
    assert run["status"] == "interrupted"
    with sqlite3.connect(db) as conn:
        docs = conn.execute("SELECT canonical_url, matched FROM documents WHERE run_id=?", (run["id"],)).fetchall()
        hits = {u for (u,) in conn.execute("SELECT canonical_url FROM observations WHERE run_id=?", (run["id"],))}
        stats = conn.execute("SELECT stats FROM runs").fetchone()[0]
    matched = {url for url, flag in docs if flag}
    assert len(docs) >= kill_after_documents
    assert matched == hits  # every stored page's hits are there, and no hit without its page
    assert matched == {url for url, _ in docs if _illegal(url)}  # exact: every 10th generated page
    assert (run["pages"], run["hits"]) == (len(docs), len(hits))
    assert "rebuilt from stored rows" in stats
    print(f"kill after >= {kill_after_documents} documents: {len(docs)} pages, {len(hits)} hits stored and counted")


@pytest.mark.elasticsearch
def test_elasticsearch_run_killed_mid_crawl_is_consistent_after_replay(tmp_path: Path, site: DemoSite) -> None:
    url, prefix = es_url(), fresh_prefix()
    config = _config(tmp_path, site, es_store_yaml(url, prefix))
    spool = tmp_path / "spool"
    proc = _start(config)
    try:
        def batches() -> int:
            return sum(p.read_bytes().count(b'"op":"batch"') for p in spool.glob("*.spool")) if spool.exists() else 0

        _wait_for(lambda: batches() >= 3, proc)
        proc.send_signal(signal.SIGKILL)
        spooled = sum(len(part["docs"]) for p in spool.glob("*.spool") for line in p.read_bytes().splitlines()
                      if line.endswith(b"}") and b'"op":"batch"' in line
                      for part in json.loads(line)["parts"] if part["op"] == "docs" and "documents" in part["index"])
        proc.wait(30)
        assert proc.returncode == -signal.SIGKILL
        flushed = run_cli("es", "flush", "--config", str(config))  # the spool's writes are replayed, exactly once
        assert flushed.code == 0, flushed.stderr
        (run,) = run_cli("runs", "--config", str(config), "--format", "json").json()
        assert run["status"] == "interrupted"
        store = open_store(StoreSpec(backend="elasticsearch", url=url, index_prefix=prefix, path=tmp_path / "reader.db",
                                     spool_dir=tmp_path / "spool-reader"))
        try:
            docs = store.documents([run["id"]])
            hits = {row.canonical_url for row in store.hit_rows([run["id"]])}
            stored = store.get_run(run["id"])
        finally:
            store.close()
        matched = {d.canonical_url for d in docs if d.matched}
        assert len(docs) >= spooled > 0  # every page of a batch in the spool when killed is there
        assert matched == hits == {d.canonical_url for d in docs if _illegal(d.url)}
        assert stored is not None and (stored.pages, stored.hits) == (len(docs), len(hits)) == (run["pages"], run["hits"])
        assert stored.stats.get("counters") == "rebuilt from stored rows"
        print(f"ES kill: {len(docs)} pages, {len(hits)} hits stored and counted")
    finally:
        if proc.poll() is None:
            proc.kill()
        drop_prefix(url, prefix)
