"""The report's arithmetic on a small hand-made data set, every figure worked out by hand (no store, no CLI).

Baseline window (January)                          Compare window (February)
  site  b1  100 pages  hits u1 (a.com gambling)       site   c1  120 pages  hit u2
                        u2 (b.com fraud)              search s2    1 page   results u3, u4: none matched
  site  b2   50 pages  hit  u1                                              engine total 800
  site  b3  failed (left out)
  search s1   1 page   results u3 (rank 1, hit), u4 (rank 2), u5 (rank 3, hit); engine total 1000

Verifications: v1 on Feb 10 (u1 removed, u3 changed), v2 on Feb 20 (u5 removed, u2 online).
"""

from __future__ import annotations

import pytest

from crawler.report import coverage
from crawler.report.items import Timeline, cleaned_up, league_table
from crawler.report.loader import WindowData, rows_from_documents
from crawler.report.search import search_headline
from crawler.report.series import removal_series, run_series, search_series
from pipelines.stores.base import HitRow, Run, SearchTotal
from pipelines.stores.tracking import Document, ItemCheck, TrackedItem

DOMAIN = {"u1": "a.com", "p1": "a.com", "u2": "b.com", "u3": "c.com", "u4": "c.com", "u5": "c.com"}
CATEGORY = {"u1": "gambling", "u2": "fraud", "u3": "gambling", "u5": "gambling"}
RULE = {"gambling": "g1", "fraud": "f1"}


def run(run_id: str, target: str, day: str, pages: int, status: str = "completed") -> Run:
    return Run(id=run_id, target=target, kind="search" if target == "search" else "site",
               started_at=f"2026-{day}T00:00:00.000000Z", rules_version="v1", status=status, pages=pages)


def row(run_id: str, target: str, url: str) -> HitRow:
    return HitRow(run_id, target, url, DOMAIN[url], [CATEGORY[url]], [RULE[CATEGORY[url]]])


def page(run_id: str, url: str, matched: bool) -> Document:
    return Document(run_id=run_id, target="site", kind="page", url=url, canonical_url=url, domain=DOMAIN[url],
                    fetched_at="2026-01-01T00:00:00.000000Z", matched=matched,
                    categories=[CATEGORY[url]] if matched else [], rules=[RULE[CATEGORY[url]]] if matched else [])


def result(run_id: str, url: str, rank: int, matched: bool) -> Document:
    return Document(run_id=run_id, target="search", kind="result", url=url, canonical_url=url, domain=DOMAIN[url],
                    fetched_at="2026-01-01T00:00:00.000000Z", matched=matched,
                    categories=[CATEGORY[url]] if matched else [], rules=[RULE[CATEGORY[url]]] if matched else [],
                    query="赌博", rank=rank)


def total(run_id: str, engine_total: int) -> SearchTotal:
    return SearchTotal(run_id=run_id, target="search", query="赌博", total=engine_total, results=3, matched=1, pages=1,
                       recorded_at="2026-01-01T00:00:00.000000Z")


@pytest.fixture
def base() -> WindowData:
    b1, b2, s1 = run("b1", "site", "01-05", 100), run("b2", "site", "01-12", 50), run("s1", "search", "01-06", 1)
    return WindowData(
        start="2026-01-01T00:00:00.000000Z", end="2026-01-31T23:59:59.999999Z",
        runs=[b1, s1, b2], excluded=[run("b3", "site", "01-19", 7, status="failed")],
        rows=[row("b1", "site", "u1"), row("b1", "site", "u2"), row("b2", "site", "u1"),
              row("s1", "search", "u3"), row("s1", "search", "u5")],
        documents=[page("b1", "u1", True), page("b1", "u2", True), page("b1", "p1", False),
                   page("b2", "u1", True), page("b2", "p1", False),
                   result("s1", "u3", 1, True), result("s1", "u4", 2, False), result("s1", "u5", 3, True)],
        totals=[total("s1", 1000)],
        search_targets={"search"}, query_runs={("search", "赌博"): 1},  # as crawler.report.comparable sets them
    )


@pytest.fixture
def comp() -> WindowData:
    return WindowData(
        start="2026-02-01T00:00:00.000000Z", end="2026-02-28T23:59:59.999999Z",
        runs=[run("c1", "site", "02-05", 120), run("s2", "search", "02-06", 1)], excluded=[],
        rows=[row("c1", "site", "u2")],
        documents=[page("c1", "u2", True), page("c1", "p1", False),
                   result("s2", "u3", 1, False), result("s2", "u4", 2, False)],
        totals=[total("s2", 800)],
        search_targets={"search"}, query_runs={("search", "赌博"): 1},
    )


@pytest.fixture
def timeline(base: WindowData, comp: WindowData) -> Timeline:
    checks = [ItemCheck("u1", "2026-02-10T00:00:00.000000Z", "removed", "http_404", "v1"),
              ItemCheck("u3", "2026-02-10T00:00:01.000000Z", "changed", "lost_text", "v1"),
              ItemCheck("u5", "2026-02-20T00:00:00.000000Z", "removed", "http_404", "v2"),
              ItemCheck("u2", "2026-02-20T00:00:01.000000Z", "online", "matches", "v2")]
    started = {r.id: r.started_at for r in base.runs + comp.runs}
    return Timeline(checks, [(r.canonical_url, started[r.run_id]) for r in base.rows + comp.rows])


def test_hits_pages_and_rates(base: WindowData, comp: WindowData) -> None:
    assert coverage.hits(base) == 3.5  # site (2 + 1) / 2 runs + search 2 / 1 run
    assert coverage.hits(comp) == 1.0
    assert coverage.change_pct(3.5, 1.0) == pytest.approx(-71.428571428571)
    assert coverage.change_pct(0, 5) is None  # no baseline: no percentage, never +inf
    # site 150 / 2, plus the search query's 1 result page per clean observation; the failed run's 7 pages left out
    assert coverage.pages_per_run(base) == 76.0
    assert coverage.pages_per_run(base, "site") == 75.0
    assert coverage.pages_per_run(comp) == 121.0
    assert coverage.rate_per_1000(3.5, 76.0) == pytest.approx(46.052631578947)
    assert coverage.rate_per_1000(1.0, 0.0) is None
    assert coverage.coverage_changed(100, 120, 0.2) is False and coverage.coverage_changed(100, 121, 0.2) is True
    assert coverage.coverage_changed(0, 0, 0.2) is False and coverage.coverage_changed(0, 1, 0.2) is True


def test_breakdowns(base: WindowData, comp: WindowData) -> None:
    parts = coverage.breakdowns(base, comp, tolerance=0.2)
    window_pages = {"baseline": 76.0, "compare": 121.0, "change_pct": 59.2105}
    assert parts["by_category"] == {
        "fraud": {"baseline": 0.5, "compare": 1.0, "change_pct": 100.0, "pages": window_pages,
                  "rate_per_1000": {"baseline": 6.5789, "compare": 8.2645, "change_pct": 25.6198},
                  "coverage_changed": True},
        "gambling": {"baseline": 3.0, "compare": 0.0, "change_pct": -100.0, "pages": window_pages,
                     "rate_per_1000": {"baseline": 39.4737, "compare": 0.0, "change_pct": -100.0},
                     "coverage_changed": True},
    }
    assert parts["by_rule"].keys() == {"f1", "g1"} and parts["by_rule"]["g1"]["baseline"] == 3.0
    domains = parts["by_domain"]
    assert {d: (v["baseline"], v["compare"], v["pages"]["baseline"], v["pages"]["compare"]) for d, v in domains.items()} == {
        "a.com": (1.0, 0.0, 2.0, 1.0),  # pages: documents from the domain per clean run of their target
        "b.com": (0.5, 1.0, 0.5, 1.0),
        "c.com": (2.0, 0.0, 3.0, 2.0),
    }
    assert domains["b.com"]["rate_per_1000"] == {"baseline": 1000.0, "compare": 1000.0, "change_pct": 0.0}
    site = parts["by_target"]["site"]
    assert (site["baseline"], site["compare"], site["pages"]["baseline"], site["pages"]["compare"]) == (1.5, 1.0, 75.0, 120.0)
    assert site["runs"] == {"baseline": 2, "compare": 1} and site["excluded_runs"] == {"baseline": 1, "compare": 0}
    assert site["coverage_changed"] is True  # 75 → 120 pages per run is more than ±20%
    assert parts["by_target"]["search"]["coverage_changed"] is False  # 1 → 1
    query = parts["by_query"]["赌博"]
    assert (query["baseline"], query["compare"], query["change_pct"]) == (2.0, 0.0, -100.0)
    assert query["pages"] == {"baseline": 3.0, "compare": 2.0, "change_pct": -33.3333} and query["coverage_changed"] is True


def test_search_headline(base: WindowData, comp: WindowData) -> None:
    headline = search_headline(base, comp, top_n=2)
    assert headline is not None
    no_ads = {"matched": 0.0, "seen": 0.0, "share": None}
    assert headline["queries"] == [{
        "target": "search", "query": "赌博",
        "baseline": {"matched": 1.0, "seen": 2.0, "share": 0.5, "engine_total": 1000.0},  # u5 is a hit, but at rank 3
        "compare": {"matched": 0.0, "seen": 2.0, "share": 0.0, "engine_total": 800.0},
        "change_pct": -100.0,
        "promoted": {"baseline": no_ads, "compare": no_ads, "change_pct": None},
        "clean_runs": {"baseline": 1, "compare": 1},
    }]
    assert (headline["top_n"], headline["baseline"], headline["compare"], headline["change_pct"],
            headline["share_change_points"]) == (
        2, {"matched": 1.0, "seen": 2.0, "share": 0.5}, {"matched": 0.0, "seen": 2.0, "share": 0.0}, -100.0, -50.0)
    assert headline["lost"] == {"baseline": {"pages": 0, "query_runs": 0, "by_reason": {}},
                                "compare": {"pages": 0, "query_runs": 0, "by_reason": {}}}
    empty = WindowData("a", "b", [], [], [], [], [])
    assert search_headline(empty, empty, top_n=2) is None


def test_series(base: WindowData, comp: WindowData, timeline: Timeline) -> None:
    assert [(r["run_id"], r["window"], r["hits"], r["by_category"]) for r in run_series(base, comp, 2)] == [
        ("b1", "baseline", 2, {"fraud": 1, "gambling": 1}),
        ("s1", "baseline", 2, {"gambling": 2}),
        ("b2", "baseline", 1, {"gambling": 1}),
        ("b3", "baseline", None, {}),  # left out: drawn as a mark, never as a zero
        ("c1", "compare", 1, {"fraud": 1}),
        ("s2", "compare", 0, {}),
    ]
    assert [(p["run_id"], p["engine_total"], p["matched_top_n"], p["seen_top_n"]) for p in search_series(base, comp, 2)] == [
        ("s1", 1000, 1, 2), ("s2", 800, 0, 2)]
    assert removal_series(timeline, comp.start, comp.end) == [
        {"at": "2026-02-10T00:00:01.000000Z", "removed": 1, "changed": 1, "unreachable": 0, "online": 2},
        {"at": "2026-02-20T00:00:01.000000Z", "removed": 2, "changed": 1, "unreachable": 0, "online": 1},
    ]


def test_timeline_answers_what_and_since_when(timeline: Timeline) -> None:
    assert timeline.status_at("u1", "2026-01-04T00:00:00.000000Z") is None
    assert timeline.status_at("u1", "2026-01-05T00:00:00.000000Z") == "online"  # sighted by b1
    assert timeline.status_at("u1", "2026-02-28T00:00:00.000000Z") == "removed"
    assert timeline.since("u1", "2026-02-28T00:00:00.000000Z") == "2026-02-10T00:00:00.000000Z"
    assert timeline.since("u2", "2026-02-28T00:00:00.000000Z") == "2026-01-05T00:00:00.000000Z"  # online all along


def test_cleaned_up_and_league(base: WindowData, comp: WindowData, timeline: Timeline) -> None:
    items = {url: TrackedItem(url, url, DOMAIN[url], "site", [CATEGORY[url]], [RULE[CATEGORY[url]]], "", "online",
                              "2026-01-05T00:00:00.000000Z", "2026-02-05T00:00:00.000000Z") for url in CATEGORY}
    assert cleaned_up(base, comp, timeline, items) == {
        "removed": 2, "by_category": {"gambling": 2}, "by_domain": {"a.com": 1, "c.com": 1},
        "baseline_items": 4, "gone": 2, "gone_share": 0.5, "changed": 1, "changed_share": 0.25,
        "unreachable": 0, "still_online": 1, "unchecked": 0,
    }
    by_domain = coverage.breakdowns(base, comp, tolerance=0.2)["by_domain"]
    assert [(r["domain"], r["compare"], r["baseline"], r["items"], r["removed"], r["removal_rate"])
            for r in league_table(base, comp, by_domain, timeline, size=10)] == [
        ("b.com", 1.0, 0.5, 1, 0, 0.0), ("c.com", 0.0, 2.0, 2, 1, 0.5), ("a.com", 0.0, 1.0, 1, 1, 1.0)]
    assert len(league_table(base, comp, by_domain, timeline, size=1)) == 1


def test_rows_from_documents_count_an_item_once_per_run() -> None:
    twice = [result("s1", "u3", 1, True), result("s1", "u3", 4, True), result("s1", "u4", 2, False)]
    assert rows_from_documents(twice) == [HitRow("s1", "search", "u3", "c.com", ["gambling"], ["g1"])]
