"""A campaign in which the engine walls the compare window half-way and a site target's compare runs all fail.

Baseline: a baidu-preset search target (8 queries, each: 2 matched organic results, 1 benign, 1 matched ad)
and a site target on the demo site. Compare: every query keeps 1 matched organic result, even queries keep
their ad; the engine walls every query after the 4th; the site is unreachable. The report must leave the
walled queries and the site target out of BOTH windows and keep the decline right: −50% organic, not −100%.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest
from conftest import run_cli, unused_port

from crawler.demo.engines import FixtureEngines
from crawler.demo.serp_markup import Entry
from crawler.demo.site import DemoSite

RULES = "rules:\n  - id: gambling.online\n    category: gambling\n    any: [网络赌博]\n"
QUERIES = [f"赌博{n}" for n in range(1, 9)]


def corpus(engines: FixtureEngines, compare: bool) -> dict[str, list[Entry]]:
    out = {}
    for n, query in enumerate(QUERIES, start=1):
        entries = [Entry(f"网络赌博平台{n}A", "网络赌博 注册", engines.landing(f"q{n}-a"))]
        if not compare:
            entries.append(Entry(f"网络赌博平台{n}B", "网络赌博 返水", engines.landing(f"q{n}-b")))
        entries.append(Entry(f"二手书籍{n}", "旧书出售", engines.landing(f"q{n}-book")))
        if not compare or n % 2 == 0:
            entries.insert(1, Entry(f"网络赌博推广{n}", "网络赌博", engines.landing(f"q{n}-ad"), ad=True))
        out[query] = entries
    return out


def config(folder: Path, engines: FixtureEngines, site_url: str) -> str:
    return (f"store: {{path: {folder / 'np.db'}}}\nrules: {folder / 'rules.yaml'}\nallowed_networks: [\"127.0.0.0/8\"]\n"
            "analytics: {top_n: 10}\ntargets:\n"
            f"  - name: engine\n    type: search\n    engine: baidu\n    url: \"{engines.url_template('baidu')}\"\n"
            f"    wrapped: ['{engines.wrapped_pattern('baidu')}']\n    robots: ignore\n"
            f"    queries: {json.dumps(QUERIES, ensure_ascii=False)}\n"
            "    politeness: {concurrency: 1, autothrottle: false, retries: 0}\n"
            f"  - name: market\n    type: site\n    start_urls: [\"{site_url}/c/gambling/\"]\n"
            "    follow: [\"^/c/gambling/\", \"^/item/\"]\n    match_urls: [\"^/item/\"]\n"
            "    politeness: {concurrency: 4, autothrottle: false, retries: 0, timeout: 5}\n")


@pytest.fixture(scope="module")
def campaign(site_server: DemoSite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    site_server.reset()
    folder = tmp_path_factory.mktemp("walled")
    (folder / "rules.yaml").write_text(RULES, encoding="utf-8")
    with FixtureEngines() as engines:
        good, broken = folder / "good.yml", folder / "broken.yml"
        good.write_text(config(folder, engines, site_server.base_url), encoding="utf-8")
        broken.write_text(config(folder, engines, f"http://127.0.0.1:{unused_port()}"), encoding="utf-8")
        engines.engines["baidu"].corpus = corpus(engines, compare=False)
        first = run_cli("run", "--config", str(good), "--progress", "off")
        assert first.code == 0, first.stderr
        runs = run_cli("runs", "--config", str(good), "--format", "json").json()
        engines.engines["baidu"].corpus = corpus(engines, compare=True)
        engines.engines["baidu"].served, engines.engines["baidu"].wall_after = 0, 4
        second = run_cli("run", "--config", str(broken), "--progress", "off")
        walled = sorted(engines.engines["baidu"].walled)
        runs = run_cli("runs", "--config", str(good), "--format", "json").json()
        started = sorted(r["started_at"] for r in runs)
        windows = ["--baseline", f"{started[0]}..{started[1]}", "--compare", f"{started[2]}..2100-01-01"]
        report = run_cli("report", "--config", str(good), "--format", "json", *windows)
        assert report.code == 0, report.stderr
        text = run_cli("report", "--config", str(good), *windows, "--csv", str(folder / "csv"))
        assert text.code == 0, text.stderr
        yield {"runs": runs, "walled": walled, "report": report.json(), "text": text.stdout, "second": second,
               "folder": folder}


def test_the_engine_walled_half_of_the_compare_queries(campaign: dict[str, Any]) -> None:
    # Four queries walled; back-off (crawler/middlewares/backoff.py) asks each of them twice more, later in the run.
    walled = campaign["walled"]
    assert len(set(walled)) == 4 and set(walled) <= set(QUERIES)
    assert walled == sorted(q for q in set(walled) for _ in range(3))
    statuses = sorted((r["target"], r["status"]) for r in campaign["runs"])
    # The walled search run keeps its 4 good queries: it is not thrown away as `failed`.
    assert statuses == [("engine", "completed"), ("engine", "completed"), ("market", "completed"), ("market", "failed")]
    assert "run" in campaign["second"].stderr and "4 of 8 queries lost" in campaign["second"].stderr


def test_lost_queries_and_the_failed_site_are_left_out_of_both_windows(campaign: dict[str, Any]) -> None:
    report, walled = campaign["report"], set(campaign["walled"])
    clean = [q for q in QUERIES if q not in walled]
    ads_b, ads_c = len(clean), sum(1 for q in clean if int(q[-1]) % 2 == 0)
    search = report["search"]
    # Organic: 2 matched of 3 seen per clean query in the baseline, 1 of 2 in the compare window: −50%.
    assert search["baseline"] == {"matched": 2.0 * len(clean), "seen": 3.0 * len(clean), "share": round(2 / 3, 4)}
    assert search["compare"] == {"matched": 1.0 * len(clean), "seen": 2.0 * len(clean), "share": 0.5}
    assert search["change_pct"] == -50.0
    assert search["promoted"] == {"baseline": {"matched": ads_b, "seen": ads_b, "share": 1.0 if ads_b else None},
                                  "compare": {"matched": ads_c, "seen": ads_c, "share": 1.0 if ads_c else None},
                                  "change_pct": pytest.approx((ads_c - ads_b) / ads_b * 100)}
    assert search["lost"] == {"baseline": {"pages": 0, "query_runs": 0, "by_reason": {}},
                              "compare": {"pages": 4, "query_runs": 4, "by_reason": {"blocked": 4}}}
    assert sorted(q["query"] for q in search["queries"]) == sorted(clean)
    assert [(q["target"], q["query"], q["reason"]) for q in report["not_comparable"]["queries"]] == [
        ("engine", q, "no clean observation in the compare window") for q in sorted(walled)]
    # The site target whose compare runs all failed: out of both windows' totals and the headline, listed.
    (market,) = report["not_comparable"]["targets"]
    assert (market["target"], market["kind"], market["reason"]) == ("market", "site", "no clean run in the compare window")
    assert market["compare"] == {"clean_runs": 0, "hits": None, "excluded_runs": 1, "excluded_by_status": {"failed": 1}}
    assert report["by_target"]["market"]["comparable"] is False and report["by_target"]["market"]["change_pct"] is None
    # Hits: distinct matched items per run of the comparable queries only; the headline is the engine's.
    base_hits, comp_hits = 3.0 * len(clean), 1.0 * len(clean) + ads_c
    assert (report["baseline"]["hits"], report["compare"]["hits"]) == (base_hits, comp_hits)
    assert report["by_target"]["engine"]["baseline"] == base_hits and report["by_target"]["engine"]["comparable"] is True
    assert report["change_pct"] == pytest.approx((comp_hits - base_hits) / base_hits * 100)
    assert report["baseline"]["not_comparable_runs"] == 1 and report["compare"]["not_comparable_runs"] == 0
    assert report["by_domain"]["127.0.0.2"]["baseline"] == base_hits  # the landing site, never the engine
    # Coverage compares the comparable queries' result pages: 1 per query and run in both windows.
    assert (report["coverage"]["baseline"], report["coverage"]["compare"], report["coverage"]["changed"]) == (4.0, 4.0, False)


def test_the_text_report_says_what_it_left_out(campaign: dict[str, Any]) -> None:
    text = campaign["text"]
    assert "organic and promoted apart" in text
    assert "Lost search result pages, compare window: 4 in 4 query run(s) (by reason: blocked 4)" in text
    assert "Not comparable: target market (site): no clean run in the compare window" in text
    assert text.count("Not comparable: query engine/") == 4
    rows = (campaign["folder"] / "csv" / "not_comparable.csv").read_text(encoding="utf-8-sig").splitlines()
    assert len(rows) == 1 + 1 + 4
