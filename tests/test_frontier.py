"""The shared Redis frontier end to end: real redis-server, real `netpatrol worker` processes, the demo site.

A worker killed with SIGKILL mid-run loses nothing (its leases go back to the queue) and
counts nothing twice; Redis restarted mid-run ends the run `interrupted`, and the workers
reconnect and crawl the next run, without a traceback anywhere.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pytest
import redis

from conftest import ROOT
from crawler.demo.site import DemoSite
from redis_support import RedisServer, fresh_prefix

PAGES = 62  # the demo site's category and listing pages reached from / (see tests/test_cli_run.py)


def frontier_config(make_config: Any, site: DemoSite, url: str, prefix: str, name: str, delay: float = 0.0,
                    backend: str = "redis", lease: float = 2.0, concurrency: int = 4) -> Path:
    frontier = f'frontier: {{backend: {backend}, url: "{url}", prefix: {prefix}, lease: {lease}, reconnect_wait: 20}}'
    return make_config(
        f"""
        store: {{path: data/{name}.db}}
        allowed_networks: ["127.0.0.0/8"]
        {frontier if backend == "redis" else ""}
        targets:
          - name: market
            type: site
            start_urls: ["{site.base_url}/"]
            follow: ["^/c/", "^/item/"]
            match_urls: ["^/item/"]
            max_pages: 300
            render: never
            politeness: {{concurrency: {concurrency}, autothrottle: false, download_delay: {delay}}}
          - name: market-search
            type: search
            url: "{site.base_url}/search?q={{query}}&page={{page}}"
            queries: ["赌博", "发票"]
            pages: 2
            render: never
            selectors:
              result: "li.result"
              title: "a.title::text"
              url: "a.title::attr(href)"
              snippet: "p.snippet::text"
              total: "#total::text"
        """,
        name=f"{name}.yml",
    )


def netpatrol(*args: str) -> subprocess.Popen[str]:
    env = dict(os.environ)
    env.pop("NETPATROL_PROGRESS", None)
    return subprocess.Popen([sys.executable, "-m", "crawler.cli.main", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def live_workers(client: redis.Redis, prefix: str) -> set[str]:
    now = client.time()[0]
    return {m.decode() for m, d in client.zrange(f"{prefix}:worker-deadlines", 0, -1, withscores=True) if d >= now}


def stop(proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> tuple[int, str]:
    if proc.poll() is None:
        proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out + err


def runs_of(db: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT id, target, status, pages, errors, stats FROM runs ORDER BY started_at").fetchall()
    return [{"id": r[0], "target": r[1], "status": r[2], "pages": r[3], "errors": r[4], "stats": json.loads(r[5] or "{}")}
            for r in rows]


def observations(db: Path, run_id: str) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [r[0] for r in conn.execute("SELECT canonical_url FROM observations WHERE run_id = ?", (run_id,))]


def search_totals(db: Path, run_id: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT query, total, results, matched, pages FROM search_totals WHERE run_id = ?"
                            " ORDER BY query", (run_id,)).fetchall()


def test_killed_worker_loses_nothing_and_counts_nothing_twice(make_config, site: DemoSite, redis_url: str,
                                                               tmp_path: Path) -> None:
    prefix = fresh_prefix()
    client = redis.Redis.from_url(redis_url)
    # The baseline: the same targets in one process, without Redis.
    single = frontier_config(make_config, site, redis_url, prefix, "single", backend="memory")
    base = subprocess.run([sys.executable, "-m", "crawler.cli.main", "run", "--config", str(single), "--progress",
                           "off"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert base.returncode == 0, base.stderr
    # A slowed crawl, so that the kill lands while the worker holds requests.
    config = frontier_config(make_config, site, redis_url, prefix, "shared", delay=0.05, concurrency=2)
    workers = {name: netpatrol("worker", "--config", str(config), "--name", name) for name in ("w1", "w2")}
    try:
        wait_for(lambda: live_workers(client, prefix) == {"w1", "w2"}, 60, "both workers to beat")
        listed = subprocess.run([sys.executable, "-m", "crawler.cli.main", "workers", "--config", str(config),
                                 "--format", "json"], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert listed.returncode == 0, listed.stderr
        assert {w["name"] for w in json.loads(listed.stdout)} == {"w1", "w2"}
        assert {w["pid"] for w in json.loads(listed.stdout)} == {workers["w1"].pid, workers["w2"].pid}

        run = netpatrol("run", "--config", str(config), "--progress", "log")

        def w1_holds_work() -> bool:
            runs = client.hkeys(f"{prefix}:runs")
            for run_id in runs:
                owners = client.hvals(f"{prefix}:run:{run_id.decode()}:lease-owners")
                stats = client.hget(f"{prefix}:run:{run_id.decode()}:stats", "netpatrol/pages")
                if b"w1" in owners and stats is not None and int(stats) >= 5:
                    return True
            return False

        wait_for(w1_holds_work, 60, "w1 to hold leases mid-run")
        workers["w1"].kill()  # SIGKILL: no goodbye, its leases simply stop being renewed
        output = run.communicate(timeout=120)[1]
        code = run.returncode
        assert code == 0, output
        assert "Traceback" not in output
    finally:
        outputs = {name: stop(proc)[1] for name, proc in workers.items()}
    assert "Traceback" not in outputs["w2"], outputs["w2"]

    baseline = {r["target"]: r for r in runs_of(tmp_path / "data" / "single.db")}
    shared = {r["target"]: r for r in runs_of(tmp_path / "data" / "shared.db")}
    for target in ("market", "market-search"):
        one, many = baseline[target], shared[target]
        assert many["status"] == "completed" == one["status"], (many, one)
        assert (many["pages"], many["errors"]) == (one["pages"], one["errors"])
        # Every count of the run, summed over workers, equals the single process's (none counted twice).
        counted = {k: v for k, v in one["stats"].items() if k.startswith(("netpatrol/pages", "netpatrol/match/"))}
        assert {k: many["stats"].get(k) for k in counted} == counted
        # The same hits, each stored once although some pages were fetched twice (store idempotent per run and URL).
        hits_one, hits_many = observations(tmp_path / "data" / "single.db", one["id"]), \
            observations(tmp_path / "data" / "shared.db", many["id"])
        assert sorted(hits_many) == sorted(hits_one) and len(set(hits_many)) == len(hits_many)
    assert shared["market"]["pages"] == PAGES
    # The kill really cost w1 its leases: they went back to the queue and were done again.
    assert shared["market"]["stats"]["netpatrol/frontier/reclaimed"] >= 1
    assert search_totals(tmp_path / "data" / "shared.db", shared["market-search"]["id"]) == \
        search_totals(tmp_path / "data" / "single.db", baseline["market-search"]["id"])
    # The runs' keys are gone: queue, leases, dupefilter, stats; nothing leaks into the next run.
    assert client.keys(f"{prefix}:run:*") == [] and client.hlen(f"{prefix}:runs") == 0


def test_redis_restart_mid_run_interrupts_and_workers_reconnect(make_config, site: DemoSite) -> None:
    prefix = fresh_prefix()
    with RedisServer() as server:
        client = redis.Redis.from_url(server.url)
        config = frontier_config(make_config, site, server.url, prefix, "restart", delay=0.2, concurrency=1)
        workers = [netpatrol("worker", "--config", str(config), "--name", name) for name in ("r1", "r2")]
        try:
            wait_for(lambda: live_workers(client, prefix) == {"r1", "r2"}, 60, "both workers to beat")
            run = netpatrol("run", "--config", str(config), "--target", "market", "--progress", "log")

            def pages() -> int:
                for run_id in client.hkeys(f"{prefix}:runs"):
                    value = client.hget(f"{prefix}:run:{run_id.decode()}:stats", "netpatrol/pages")
                    if value is not None and int(value) >= 5:
                        return int(value)
                return 0

            wait_for(pages, 60, "the run to get going")
            time.sleep(1.0)  # `run` reads the run's figures every 0.5 s: let it see some
            server.kill()  # Redis goes away with the run's queue, leases and figures ...
            time.sleep(1.5)
            server.start()  # ... and comes back empty (no persistence)
            output = run.communicate(timeout=90)[1]
            assert "Traceback" not in output, output
            assert "Redis lost the run's queue" in output
            (first,) = runs_of(Path(config).parent / "data" / "restart.db")
            assert first["status"] == "interrupted" and first["pages"] >= 1, (first, output)
            assert first["stats"]["finish_reason"] == "interrupted"

            # The workers waited, reconnected, and crawl the next run to the end.
            wait_for(lambda: live_workers(client, prefix) == {"r1", "r2"}, 60, "both workers back")
            again = subprocess.run([sys.executable, "-m", "crawler.cli.main", "run", "--config", str(config),
                                    "--target", "market", "--progress", "off"], cwd=ROOT, capture_output=True,
                                   text=True, timeout=120)
            assert again.returncode == 0, again.stderr
            second = runs_of(Path(config).parent / "data" / "restart.db")[-1]
            assert (second["status"], second["pages"]) == ("completed", PAGES), second
        finally:
            outputs = [stop(proc) for proc in workers]
    for code, output in outputs:
        assert code == 0, output
        assert "Traceback" not in output, output
        assert "Redis unreachable" in output and "Redis is back" in output


def test_lease_of_a_silent_worker_goes_back_to_the_queue(redis_url: str) -> None:
    """The Lua steps alone: a pop is a lease; no heartbeat, and it is queued again; an old ack adds nothing."""
    from crawler.frontier import scripts
    from crawler.frontier.keys import GlobalKeys, RunKeys

    client = redis.Redis.from_url(redis_url)
    keys = RunKeys(fresh_prefix(), "r1")
    gkeys = GlobalKeys(keys.prefix)
    client.hset(keys.meta, "target", "t")
    client.zadd(keys.requests, {b"request-a": 0})
    pop, ack, reclaim, renew = (client.register_script(s) for s in (scripts.POP, scripts.ACK, scripts.RECLAIM,
                                                                    scripts.RENEW))
    renew(keys=[gkeys.deadlines], args=["alive", 60])
    assert pop(keys=[keys.requests, *keys.lease_keys(), keys.meta], args=["alive#1", "alive"]) == b"request-a"
    assert client.zcard(keys.requests) == 0 and client.hget(keys.lease_owners, "alive#1") == b"alive"
    reclaim_keys = [*keys.lease_keys(), keys.requests, keys.meta, gkeys.deadlines, keys.stats]
    assert reclaim(keys=reclaim_keys) == 0  # its worker beats: the lease holds
    client.zadd(gkeys.deadlines, {"alive": 0})  # the heartbeat stopped long ago
    assert reclaim(keys=reclaim_keys) == 1
    assert client.zrange(keys.requests, 0, -1) == [b"request-a"] and client.hlen(keys.leases) == 0
    # The presumed-dead worker finishes after all: its acknowledgement and its counts are refused.
    assert ack(keys=[*keys.lease_keys(), keys.stats], args=["alive#1", "netpatrol/pages", 1]) == 0
    assert client.hget(keys.stats, "netpatrol/pages") is None
    assert client.hget(keys.stats, "netpatrol/frontier/reclaimed") == b"1"
    client.delete(*keys.all(), gkeys.deadlines)


def test_config_frontier_checks(cli, make_config) -> None:
    bad = make_config("frontier: {backend: redis}\n", name="bad.yml")
    result = cli("config", "check", str(bad))
    assert result.code == 2 and "Traceback" not in result.stderr
    assert "frontier" in result.stderr and "needs `url`" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    sqlite = make_config("frontier: {backend: redis, url: 'redis://127.0.0.1:1/0'}\n", name="sqlite.yml")
    result = cli("config", "check", str(sqlite))
    assert result.code == 0, result.stderr
    assert "every `netpatrol worker` must run on this host" in result.stdout
    result = cli("worker", "--config", str(make_config("targets: []\n", name="memory.yml")))
    assert result.code == 2 and "workers need a shared frontier" in result.stderr
