"""The Elasticsearch store when the cluster misbehaves: outages, a kill -9 mid-bulk, 503s, refused documents.

Every test talks to the real node of `make test` on 127.0.0.1, through a loopback proxy
when the cluster must disappear or misbehave at a chosen moment.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from es_support import Proxy, count_docs, es_store_yaml, search_all

from crawler.config.schema import load_config
from crawler.demo.site import DemoSite, generated_page_is_illegal
from crawler.config.stores import open_store
from pipelines.stores.base import Observation, Run, iso, utcnow

pytestmark = pytest.mark.elasticsearch
ROOT = Path(__file__).resolve().parents[1]


def generated_config(make_config: Any, site: DemoSite, store: str, pages: int, name: str = "np.yml") -> Path:
    return make_config(f"""
        store: {store}
        allowed_networks: ["127.0.0.0/8"]
        targets:
          - name: gen
            type: site
            start_urls: ["{site.base_url}/bad/pages?n={pages}"]
            follow: ["^/gen/"]
            match_urls: ["^/gen/"]
            max_pages: {pages + 10}
            robots: ignore
            politeness: {{concurrency: 8, autothrottle: false}}
        """, name=name)


def reference_hits(cli: Any, make_config: Any, site: DemoSite, pages: int) -> set[str]:
    """The hits of the same crawl stored in SQLite: what the Elasticsearch store must end up holding."""
    config = generated_config(make_config, site, "{path: reference/np.db}", pages, name="reference.yml")
    assert cli("run", "--config", str(config), "--progress", "off").code == 0
    hits = {h["url"] for h in cli("hits", "--config", str(config), "--format", "json").json()}
    assert any(generated_page_is_illegal(int(u.rsplit("/", 1)[1])) for u in hits)
    return hits


def observations_of(url: str, prefix: str) -> list[dict[str, Any]]:
    return [hit["_source"] for hit in search_all(url, f"{prefix}-observations-*")]


def assert_indexed_once(url: str, prefix: str, run_ids: list[str], expected_urls: set[str]) -> None:
    """Every expected hit is an observation exactly once per run, and its item counts each run once."""
    docs = observations_of(url, prefix)
    for run_id in run_ids:
        urls = [d["canonical_url"] for d in docs if d["run_id"] == run_id]
        assert len(urls) == len(set(urls)), "an observation was indexed twice"
        assert set(urls) == expected_urls
    items = {hit["_source"]["canonical_url"]: hit["_source"] for hit in search_all(url, f"{prefix}-items")}
    assert set(items) == expected_urls
    assert {item["times_seen"] for item in items.values()} == {len(run_ids)}


def test_cluster_gone_mid_run_then_flush_indexes_every_hit_once(cli, make_config, site: DemoSite,
                                                                es: tuple[str, str], proxy: Proxy) -> None:
    url, prefix = es
    pages = 1500
    via_proxy = generated_config(make_config, site, es_store_yaml(proxy.url, prefix), pages)
    direct = generated_config(make_config, site, es_store_yaml(url, prefix), pages, name="direct.yml")
    crawl = subprocess.Popen([sys.executable, "-m", "crawler.cli.main", "run", "--config", str(via_proxy), "--progress", "off"],
                             cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    # Take the cluster away once the run is recorded and the crawl is well under way.
    deadline = time.monotonic() + 120
    while count_docs(url, f"{prefix}-runs") == 0 or len(site.request_log) < 200:
        assert time.monotonic() < deadline and crawl.poll() is None, "the crawl did not get going"
        time.sleep(0.1)
    proxy.stop()
    _, stderr = crawl.communicate(timeout=300)
    assert crawl.returncode == 0, stderr
    assert "kept in the spool" in stderr and "es flush" in stderr
    assert "Traceback" not in stderr
    assert len(site.request_log) > pages  # the crawl went on without the cluster
    site.clear_log()

    flushed = cli("es", "flush", "--config", str(direct))
    assert flushed.code == 0, flushed.stderr
    assert "replayed 1 spool segment(s)" in flushed.stdout
    runs = cli("runs", "--config", str(direct), "--format", "json").json()
    assert [r["status"] for r in runs] == ["completed"]
    expected = reference_hits(cli, make_config, site, pages)
    assert runs[0]["hits"] == len(expected)
    assert_indexed_once(url, prefix, [runs[0]["id"]], expected)

    again = cli("es", "flush", "--config", str(direct))  # nothing left: a second flush changes nothing
    assert again.code == 0 and "replayed 0 spool segment(s)" in again.stdout
    assert_indexed_once(url, prefix, [runs[0]["id"]], expected)


def test_unreachable_cluster_spools_and_the_next_run_replays(cli, make_config, site: DemoSite,
                                                             es: tuple[str, str], proxy: Proxy) -> None:
    url, prefix = es
    proxy.stop()  # nothing listens on the proxy's port now
    down = generated_config(make_config, site, es_store_yaml(proxy.url, prefix), 200)
    first = cli("run", "--config", str(down), "--progress", "off")
    assert first.code == 0, first.stderr
    assert "kept in the spool" in first.stderr
    # An unreachable cluster is an expected state: said in plain lines, never with a traceback.
    assert "Traceback" not in first.stderr and "cannot reach Elasticsearch: Connection refused" in first.stderr
    unreachable = cli("runs", "--config", str(down))
    assert unreachable.code == 1 and "unreachable" in unreachable.stderr and "Traceback" not in unreachable.stderr

    up = generated_config(make_config, site, es_store_yaml(url, prefix), 200, name="up.yml")
    second = cli("run", "--config", str(up), "--progress", "off")  # replays the spool before its own writes
    assert second.code == 0, second.stderr
    runs = cli("runs", "--config", str(up), "--format", "json").json()
    assert [r["status"] for r in runs] == ["completed", "completed"]
    expected = reference_hits(cli, make_config, site, 200)
    assert [r["hits"] for r in runs] == [len(expected)] * 2
    assert_indexed_once(url, prefix, [r["id"] for r in runs], expected)
    assert not list((Path(up).parent / "spool").glob("*.spool"))


WRITER = """
import sys
from crawler.config.schema import load_config
from crawler.config.stores import open_store
from pipelines.stores.base import Observation, Run, iso, utcnow
store = open_store(load_config(sys.argv[1]))
store.start_run(Run(id="k1", target="t", kind="site", started_at=iso(utcnow()), rules_version="v"))
for batch in range(200):
    store.add_observations([
        Observation(run_id="k1", target="t", url=f"https://e.com/{batch}/{i}", canonical_url=f"https://e.com/{batch}/{i}",
                    domain="e.com", seen_at=iso(utcnow()), kind="page", categories=["fraud"], rules=["fraud.r"],
                    score=1.0, title="代开发票", snippet="代开发票 " * 10)
        for i in range(100)])
    print("handed", batch + 1, flush=True)
store.close()
"""


def test_kill_9_in_the_middle_of_a_bulk_request_loses_and_duplicates_nothing(make_config, cli, es: tuple[str, str],
                                                                             proxy: Proxy) -> None:
    url, prefix = es
    via_proxy = make_config(f"store: {es_store_yaml(proxy.url, prefix)}\n")
    direct = make_config(f"store: {es_store_yaml(url, prefix)}\n", name="direct.yml")
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(via_proxy)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert writer.stdout is not None
    for line in writer.stdout:  # let a few bulk requests through, then hold the next answer
        if line.startswith("handed 20"):
            break
    deadline = time.monotonic() + 60
    while count_docs(url, f"{prefix}-observations-*") == 0:
        assert time.monotonic() < deadline, "nothing was indexed"
        time.sleep(0.05)
    proxy.bulk_seen.clear()
    proxy.hold.set()
    assert proxy.response_held.wait(60), "no bulk request was answered while held"
    os.kill(writer.pid, signal.SIGKILL)  # the cluster applied the bulk; the writer never heard back
    writer.wait(30)
    handed = max([20] + [int(l.split()[1]) for l in writer.stdout.read().splitlines() if l.startswith("handed")])
    proxy.hold.clear()

    flushed = cli("es", "flush", "--config", str(direct))
    assert flushed.code == 0, flushed.stderr
    assert "already indexed" in flushed.stdout and " 0 already indexed" not in flushed.stdout  # the bulk in flight replayed
    docs = observations_of(url, prefix)
    urls = [d["canonical_url"] for d in docs]
    assert len(urls) == len(set(urls)), "an observation was indexed twice"
    assert len(urls) % 100 == 0 and handed * 100 <= len(urls) <= (handed + 1) * 100  # every batch handed over, whole
    items = [hit["_source"]["times_seen"] for hit in search_all(url, f"{prefix}-items")]
    assert len(items) == len(urls) and set(items) == {1}


def test_503_answers_are_retried(make_config, es: tuple[str, str], proxy: Proxy) -> None:
    url, prefix = es
    proxy.fail_bulks = 2
    config = make_config(f"store: {es_store_yaml(proxy.url, prefix)}\n")
    with open_store(load_config(config)) as store:
        store.start_run(Run(id="r1", target="t", kind="site", started_at=iso(utcnow()) or "", rules_version="v"))
        store.add_observations([_obs("r1", f"https://e.com/{i}") for i in range(50)])
        store.finish_run("r1", "completed", 50, 0, {})
    assert proxy.failed_bulks == 2
    assert count_docs(url, f"{prefix}-observations-*") == 50


def _obs(run_id: str, url: str, **extra: Any) -> Observation:
    values: dict[str, Any] = dict(run_id=run_id, target="t", url=url, canonical_url=url, domain="e.com",
                                  seen_at=iso(utcnow()) or "", kind="page", categories=["drugs"], rules=["drugs.r"],
                                  score=1.0, title="出售", snippet="出售")
    values.update(extra)
    return Observation(**values)


def test_a_refused_document_is_reported_with_its_error_not_dropped(make_config, es: tuple[str, str],
                                                                  capfd: pytest.CaptureFixture[str]) -> None:
    url, prefix = es
    config = make_config(f"store: {es_store_yaml(url, prefix)}\n")
    with open_store(load_config(config)) as store:
        store.start_run(Run(id="r1", target="t", kind="site", started_at=iso(utcnow()) or "", rules_version="v"))
        store.add_observations([_obs("r1", "https://e.com/good"), _obs("r1", "https://e.com/bad", rank="not a number")])
        store.finish_run("r1", "completed", 2, 0, {})
    assert "refused 1 document(s)" in capfd.readouterr().err
    rejected = [json.loads(line) for line in (Path(config).parent / "spool" / "rejected.jsonl").read_text().splitlines()]
    assert len(rejected) == 1 and rejected[0]["document"]["url"] == "https://e.com/bad"
    assert rejected[0]["status"] == 400 and "rank" in json.dumps(rejected[0]["error"])
    assert [d["url"] for d in observations_of(url, prefix)] == ["https://e.com/good"]


def _direct_store(url: str, prefix: str, spool: Path, bulk_docs: int) -> Any:
    from elasticsearch import Elasticsearch

    from pipelines.stores.elasticsearch.store import ElasticsearchStore
    from pipelines.stores.elasticsearch.client import fast_serializer
    from pipelines.stores.elasticsearch.layout import Layout

    return ElasticsearchStore(Elasticsearch(url, request_timeout=60, **fast_serializer()), Layout(prefix), spool,
                              url=url, bulk_docs=bulk_docs, close_timeout=120)


def test_concurrent_stores_count_each_run_once_in_every_item(es: tuple[str, str], tmp_path: Path) -> None:
    """Three crawls at once on the same items, in bulk groups of many small requests and item slices (written
    side by side, while the indices are still being created): optimistic concurrency loses no sighting."""
    import threading

    url, prefix = es
    urls = [f"https://e.com/shared/{i}" for i in range(240)]
    runs = ["c1", "c2", "c3"]
    start = threading.Barrier(len(runs))
    errors: list[BaseException] = []

    def crawl(run_id: str) -> None:
        try:
            store = _direct_store(url, prefix, tmp_path / "spool", bulk_docs=20)
            store.start_run(Run(id=run_id, target="t", kind="site", started_at=iso(utcnow()) or "", rules_version="v"))
            start.wait(30)
            order = urls if run_id != "c2" else list(reversed(urls))
            for offset in range(0, len(order), 30):
                store.add_observations([_obs(run_id, u) for u in order[offset : offset + 30]])
            store.finish_run(run_id, "completed", len(urls), 0, {})
            store.close()
            assert store._drainer is not None and store._drainer.caught_up
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            errors.append(exc)

    threads = [threading.Thread(target=crawl, args=(run_id,)) for run_id in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    assert count_docs(url, f"{prefix}-observations-*") == len(urls) * len(runs)
    items = {hit["_source"]["canonical_url"]: hit["_source"] for hit in search_all(url, f"{prefix}-items")}
    assert set(items) == set(urls)
    assert {item["times_seen"] for item in items.values()} == {len(runs)}
    assert all(sorted(item["seen_runs"]) == runs for item in items.values())
    assert not list((tmp_path / "spool").glob("*.spool"))


def test_the_spooled_line_is_the_document_indexed(es: tuple[str, str], tmp_path: Path) -> None:
    """An observation is serialized once: the spool line holds it, and the same bytes are what gets indexed."""
    from pipelines.stores.elasticsearch import layout as es_layout

    url, prefix = es
    store = _direct_store(url, prefix, tmp_path / "spool", bulk_docs=1000)
    started = iso(utcnow()) or ""
    store.start_run(Run(id="s1", target="t", kind="site", started_at=started, rules_version="v"))
    observations = [_obs("s1", f"https://e.com/{i}", title=f"出售 {i}", explanation={"terms": {"r": ["出售"]}})
                    for i in range(3)]
    store.add_observations(observations)
    assert store._segment is not None
    lines = [json.loads(line) for line in store._segment.path.read_text(encoding="utf-8").splitlines()]
    store.finish_run("s1", "completed", 3, 0, {})
    store.close()
    spooled = [entry for line in lines if line["op"] == "observations" for entry in line["docs"]]
    expected = [es_layout.observation_doc(o, started) for o in observations]
    assert [e["doc"] for e in spooled] == json.loads(json.dumps(expected))
    assert [e["_id"] for e in spooled] == [es_layout.observation_id("s1", o.canonical_url) for o in observations]
    indexed = {hit["_id"]: hit["_source"] for hit in search_all(url, f"{prefix}-observations-*")}
    assert {e["_id"]: e["doc"] for e in spooled} == indexed
    items = [hit["_source"] for hit in search_all(url, f"{prefix}-items")]
    assert sorted(i["title"] for i in items) == ["出售 0", "出售 1", "出售 2"] and {i["times_seen"] for i in items} == {1}
