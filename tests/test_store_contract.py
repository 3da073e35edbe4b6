"""One contract, every store: the same crawls through the real CLI give the same runs, hits and report.

Each test runs against SQLite and against a real Elasticsearch (fresh index prefix per
test). The last test writes identical data into both stores and checks that `runs`,
`hits` and `report` print exactly the same figures.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import market_target
from es_support import es_store_yaml

from crawler.config.schema import load_config
from crawler.demo.site import DemoSite
from crawler.config.stores import open_store
from pipelines.stores.base import Observation, Run, SearchTotal

ROOT = Path(__file__).resolve().parents[1]

SEARCH_SELECTORS = """
    selectors:
      result: "li.result"
      title: "a.title::text"
      url: "a.title::attr(href)"
      snippet: "p.snippet::text"
      total: "#total::text"
"""


def market_config(make_config: Any, site: DemoSite, store: str, search: bool = True) -> Path:
    body = f"""
        store: {store}
        allowed_networks: ["127.0.0.0/8"]
        targets:
          - {market_target(site.base_url, max_pages=300)}
        """
    if search:
        body += f"""
          - name: market-search
            type: search
            url: "{site.base_url}/search?q={{query}}&page={{page}}"
            queries: ["赌博", "发票"]
            pages: 2
            politeness: {{concurrency: 8, autothrottle: false}}
        """ + SEARCH_SELECTORS.replace("\n    ", "\n            ")
    return make_config(body)


def ok_json(result: Any) -> Any:
    assert result.code == 0, result.stderr
    return result.json()


def listing_urls(site: DemoSite, illegal: bool | None = None) -> set[str]:
    return {f"{site.base_url}/item/{item['id']}" for item in site.listings(illegal=illegal)}


def test_round_gives_runs_hits_and_search_totals(cli, make_config, site: DemoSite, store_yaml: str) -> None:
    config = market_config(make_config, site, store_yaml)
    result = cli("run", "--config", str(config), "--progress", "log")
    assert result.code == 0, result.stderr
    runs = ok_json(cli("runs", "--config", str(config), "--format", "json"))
    assert sorted(r["target"] for r in runs) == ["market", "market-search"]
    for run in runs:
        assert set(run) == {"id", "target", "started_at", "finished_at", "status", "pages", "hits", "errors", "rules_version"}
        assert run["status"] == "completed", run
        assert run["started_at"].endswith("Z") and run["finished_at"] >= run["started_at"]

    hits = ok_json(cli("hits", "--config", str(config), "--target", "market", "--format", "json"))
    found = {h["url"] for h in hits}
    illegal, benign = listing_urls(site, illegal=True), listing_urls(site, illegal=False)
    assert found == illegal, (sorted(illegal - found), sorted(found & benign))  # the catalog's exact set
    market = next(r for r in runs if r["target"] == "market")
    assert market["hits"] == len(found) == len(hits)
    for hit in hits:
        assert hit["categories"] and hit["rules"] and hit["score"] >= 1.0
        assert hit["first_seen"] <= hit["last_seen"]

    with open_store(load_config(config)) as store:
        search_run = next(r for r in runs if r["target"] == "market-search")
        totals = {t.query: t.total for t in store.search_totals([search_run["id"]])}
    expected = {q: len([l for l in site.listings() if q in l["title"] or q in l["text"]]) for q in ("赌博", "发票")}
    assert totals == expected


def test_two_rounds_report_the_decline_exactly(cli, make_config, site: DemoSite, store_yaml: str) -> None:
    config = market_config(make_config, site, store_yaml, search=False)
    assert cli("run", "--config", str(config)).code == 0
    first_urls = sorted({h["url"] for h in ok_json(cli("hits", "--config", str(config), "--format", "json"))})
    assert len(first_urls) >= 4
    modes = ["removed", "gone", "soft404", "edited"]
    taken = first_urls[: len(first_urls) // 2]
    for index, url in enumerate(taken):
        site.set_state(url.rsplit("/", 1)[-1], modes[index % len(modes)])
    assert cli("run", "--config", str(config)).code == 0

    runs = ok_json(cli("runs", "--config", str(config), "--format", "json"))
    assert [r["status"] for r in runs] == ["completed", "completed"], runs
    b, c = runs
    report = ok_json(cli("report", "--config", str(config), "--format", "json",
                 "--baseline", f"{b['started_at']}..{b['started_at']}",
                 "--compare", f"{c['started_at']}..{c['started_at']}"))
    base, comp = len(first_urls), len(first_urls) - len(taken)
    assert (report["baseline"]["hits"], report["compare"]["hits"]) == (base, comp)
    assert report["baseline"]["runs"] == report["compare"]["runs"] == 1
    assert report["change_pct"] == pytest.approx((comp - base) / base * 100)
    assert (report["by_target"]["market"]["baseline"], report["by_target"]["market"]["compare"]) == (base, comp)
    assert set(report["by_domain"]) == {"127.0.0.1"}

    # Items seen by both runs keep their first sighting; times seen is not double-counted.
    second = ok_json(cli("hits", "--config", str(config), "--format", "json"))
    assert len(second) == comp
    assert all(h["first_seen"] < h["last_seen"] for h in second)
    with open_store(load_config(config)) as store:
        items = {i.canonical_url: i for i in store.items()}
    assert set(items) == set(first_urls)
    assert all(items[h["url"]].first_seen < items[h["url"]].last_seen for h in second)


def test_a_killed_crawl_reads_as_interrupted(cli, make_config, site: DemoSite, store_yaml: str) -> None:
    config = make_config(f"""
        store: {store_yaml}
        allowed_networks: ["127.0.0.0/8"]
        targets:
          - name: slow
            type: site
            start_urls: ["{site.base_url}/item/gam01", "{site.base_url}/bad/slow?s=25"]
            robots: ignore
            politeness: {{retries: 0, timeout: 60, concurrency: 1, autothrottle: false}}
        """)
    proc = subprocess.Popen([sys.executable, "-m", "crawler.cli.main", "run", "--config", str(config), "--progress", "off"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not any(p.startswith("/bad/slow") for p in site.request_log):
        assert time.monotonic() < deadline and proc.poll() is None, "the crawl never reached the slow page"
        time.sleep(0.1)
    # The run is recorded: written at once (SQLite) or applied from the spool by the writer thread (Elasticsearch).
    while not ok_json(cli("runs", "--config", str(config), "--format", "json")):
        assert time.monotonic() < deadline, "the run was never recorded"
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    runs = ok_json(cli("runs", "--config", str(config), "--format", "json"))
    assert [r["status"] for r in runs] == ["interrupted"]
    assert runs[0]["finished_at"] is not None


# --- identical data, identical figures ---------------------------------------------------------

def _synthetic(store: Any) -> None:
    """Runs of two targets over two windows, clean and not, with overlapping items and a replayed batch."""
    def obs(run: str, target: str, n: int, cats: list[str], seen: str, domain: str = "example.com") -> Observation:
        url = f"https://{domain}/item/{n}"
        return Observation(run_id=run, target=target, url=url, canonical_url=url, domain=domain, seen_at=seen,
                           kind="page", categories=cats, rules=[f"{cats[0]}.rule-{n % 3}"], score=1.0 + n % 2,
                           title=f"商品 {n}", snippet=f"网络赌博 {n}", explanation={"terms": {f"{cats[0]}.rule": ["赌博"]}})

    plan = [
        ("b1", "shop", "2026-10-03T08:00:00.000000Z", "completed", range(0, 12)),
        ("b2", "shop", "2026-10-10T08:00:00.000000Z", "completed", range(2, 12)),
        ("b3", "forum", "2026-10-11T08:00:00.000000Z", "completed", range(20, 26)),
        ("b4", "shop", "2026-10-12T08:00:00.000000Z", "partial", range(0, 3)),
        ("c1", "shop", "2026-11-03T08:00:00.000000Z", "completed", range(5, 11)),
        ("c2", "forum", "2026-11-04T08:00:00.000000Z", "completed", range(20, 23)),
        ("c3", "forum", "2026-11-05T08:00:00.000000Z", "failed", range(20, 21)),
    ]
    for run_id, target, started, status, numbers in plan:
        store.start_run(Run(id=run_id, target=target, kind="site", started_at=started,
                            rules_version="v2" if run_id.startswith("c") else "v1", host="elsewhere", pid=1))
        batch = [obs(run_id, target, n, ["gambling", "fraud"] if n % 4 == 0 else ["drugs"],
                     started.replace("08:00:00", f"08:{n % 60:02d}:00"), "a.example.com.cn" if n % 5 == 0 else "example.com")
                 for n in numbers]
        store.add_observations(batch)
        store.add_observations(batch[:3])  # a replayed batch adds nothing
        if target == "forum":
            store.add_search_totals([SearchTotal(run_id, target, "赌博", 1200 + len(batch), 50, len(batch), 5, started)])
        store.finish_run(run_id, status, 100 + len(batch), 3, {"netpatrol/pages": 100 + len(batch)})


@pytest.mark.elasticsearch
def test_identical_data_gives_identical_figures(cli, make_config, es: tuple[str, str]) -> None:
    url, prefix = es
    targets = ("targets:\n  - {name: shop, type: site, start_urls: ['https://shop.example/']}\n"
               "  - {name: forum, type: site, start_urls: ['https://forum.example/']}\n")
    configs = {
        "sqlite": make_config("store: {path: data/np.db}\n" + targets, name="sqlite.yml"),
        "elasticsearch": make_config(f"store: {es_store_yaml(url, prefix)}\n" + targets, name="es.yml"),
    }
    for config in configs.values():
        with open_store(load_config(config)) as store:
            _synthetic(store)
    outputs: dict[str, list[Any]] = {}
    for name, config in configs.items():
        outputs[name] = [
            ok_json(cli("runs", "--config", str(config), "--format", "json")),
            ok_json(cli("report", "--config", str(config), "--format", "json",
                "--baseline", "2026-10-01..2026-10-31", "--compare", "2026-11-01..2026-11-30")),
            ok_json(cli("hits", "--config", str(config), "--run", "b2", "--format", "json")),
            ok_json(cli("report", "--config", str(config), "--format", "json", "--target", "forum",
                "--baseline", "2026-10-11..2026-10-11", "--compare", "2026-11-01T00:00:00Z..2026-11-04T08:00:00Z")),
        ]
    for output in outputs.values():  # finish times are the wall clock of each write, the rest must agree
        for run in output[0]:
            assert run.pop("finished_at") is not None
    assert outputs["elasticsearch"] == outputs["sqlite"]
    runs, report = outputs["sqlite"][0], outputs["sqlite"][1]
    assert [r["hits"] for r in runs] == [12, 10, 6, 3, 6, 3, 1]
    assert report["baseline"]["hits"] == 17.0 and report["compare"]["hits"] == 9.0  # (12+10)/2 + 6, 6 + 3
    assert report["baseline"]["excluded_runs"] == 1 and report["compare"]["excluded_runs"] == 1


@pytest.mark.elasticsearch
def test_analytics_records_read_back_the_same_from_both_stores(make_config, es: tuple[str, str]) -> None:
    from pipelines.stores.tracking import Document, ItemCheck, Verdict, pack_text

    url, prefix = es
    stores = {
        "sqlite": load_config(make_config("store: {path: data/np.db}\n", name="sqlite.yml")),
        "elasticsearch": load_config(make_config(f"store: {es_store_yaml(url, prefix)}\n", name="es.yml")),
    }
    answers: dict[str, list[Any]] = {}
    for name, loaded in stores.items():
        with open_store(loaded) as store:
            _synthetic(store)
            store.add_documents([
                Document(run_id=run, target="shop", kind="page", url=f"https://example.com/item/{n}",
                         canonical_url=f"https://example.com/item/{n}", domain="example.com",
                         fetched_at=f"2026-1{m}-0{m + 1}T09:00:00.000000Z", matched=n % 2 == 0,
                         categories=["drugs"] if n % 2 == 0 else [], text_z=pack_text(f"商品 {n}", "正文" * n))
                for m, run in ((0, "b1"), (1, "c1")) for n in range(4)
            ])
            store.add_checks([ItemCheck("https://example.com/item/3", "2026-11-06T00:00:00.000000Z", "removed",
                                        "http_404", "v1", 404, "https://example.com/item/3"),
                              ItemCheck("https://example.com/item/6", "2026-11-06T00:00:01.000000Z", "changed",
                                        "lost_text", "v1", 200, "https://example.com/item/6")])
            store.add_verdicts([Verdict("https://example.com/item/7", "confirmed", "2026-11-07T00:00:00.000000Z"),
                                Verdict("https://example.com/item/7", "dismissed", "2026-11-08T00:00:00.000000Z", "news")])
            pruned = store.prune_document_text("2026-11-01T00:00:00.000000Z")
            answers[name] = [
                pruned,
                store.documents(["b1", "c1"], with_text=True),
                store.documents(["c1"]),
                store.items(),
                store.items(target="forum", seen_since="2026-11-01T00:00:00.000000Z"),
                store.items(canonical_urls=["https://example.com/item/3"], statuses=["removed"]),
                store.item_checks(until="2026-11-06T00:00:00.500000Z"),
                store.verdicts(),
                store.search_totals(["b3", "c2"]),
            ]
    assert answers["elasticsearch"] == answers["sqlite"]
    pruned, with_text = answers["sqlite"][0], answers["sqlite"][1]
    assert pruned == 4 and [d.text_z is None for d in with_text] == [True] * 4 + [False] * 4
    assert [i.status for i in answers["sqlite"][5]] == ["removed"]
