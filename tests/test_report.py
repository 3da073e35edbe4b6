"""A scripted campaign on the demo sites, and every figure of its decline report checked exactly.

Rounds (each `netpatrol run` in its own process, as users run it):

    R1, R2   baseline: market (site), market-search (search), mirror (a second site on 127.0.0.2);
             between them hak01 goes offline for R2 only
    takedown fra01 → 404, gam01 → soft-404 page, drg01 → edited to be harmless, gam02 → 410
    R3       compare, broken: the market crawl is killed half-way (a crash: `interrupted`), the search
             engine is unreachable (`failed`); both are left out
    R4       compare: all three targets, clean
    verify   after R4, inside the compare window

The expected figures are derived here from the demo site's listings and the test's own rule
pack, not read back from the code under test.
"""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
from conftest import ROOT, run_cli

from crawler.demo.site import CATEGORY_PAGE_SIZE, VISIBLE_STATES, DemoSite

RULES = """\
rules:
  - id: gambling.online
    category: gambling
    any: [网络赌博]
    none: [警方, 抓获]
  - id: fraud.invoice
    category: fraud
    any: [代开发票, 刷单返利]
    none: [反诈, 诈骗]
  - id: drugs.meth
    category: drugs
    any: [冰毒]
    none: [禁毒]
  - id: hacking.hire
    category: hacking
    any: [黑客接单]
"""
# Which listings the pack above flags (title + text, normalized): derived by reading the catalog.
SITE_HITS = {"gam01": "gambling", "gam02": "gambling", "fra01": "fraud", "fra02": "fraud", "drg01": "drugs",
             "hak01": "hacking"}
RULE_OF = {"gambling": "gambling.online", "fraud": "fraud.invoice", "drugs": "drugs.meth", "hacking": "hacking.hire"}
QUERIES = ["赌博", "发票", "冰毒"]
TOP_N = 3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def config_text(store: Path, market: str, mirror: str, search_base: str, extra_start: str = "") -> str:
    return f"""\
store: {{path: {store}}}
rules: {store.parent / 'rules.yaml'}
allow_private_networks: true
analytics: {{top_n: {TOP_N}, coverage_tolerance: 0.2}}
targets:
  - name: market
    type: site
    start_urls: ["{market}/"{extra_start}]
    follow: ["^/c/", "^/item/"]
    match_urls: ["^/item/"]
    politeness: {{concurrency: 8, autothrottle: false, retries: 0, timeout: 60}}
  - name: market-search
    type: search
    url: "{search_base}/search?q={{query}}&page={{page}}"
    queries: {json.dumps(QUERIES, ensure_ascii=False)}
    pages: 2
    politeness: {{concurrency: 8, autothrottle: false, retries: 0}}
    selectors: {{result: "li.result", title: "a.title::text", url: "a.title::attr(href)",
                 snippet: "p.snippet::text", total: "#total::text"}}
  - name: mirror
    type: site
    start_urls: ["{mirror}/c/gambling/"]
    follow: ["^/c/gambling/", "^/item/"]
    match_urls: ["^/item/"]
    politeness: {{concurrency: 8, autothrottle: false}}
"""


def market_pages(site: DemoSite) -> tuple[int, int]:
    """(pages, listing pages) of a full market crawl: home, every category page, every visible listing."""
    visible: dict[str, int] = {}
    for listing in site.listings():
        visible.setdefault(listing["category"], 0)
        if listing["state"] in VISIBLE_STATES:
            visible[listing["category"]] += 1
    category_pages = sum(max(1, math.ceil(n / CATEGORY_PAGE_SIZE)) for n in visible.values())
    return 1 + category_pages + sum(visible.values()), sum(visible.values())


def search_results(site: DemoSite) -> dict[str, list[str]]:
    """Listing ids per query, in rank order, as the demo search engine answers (raw substring, visible listings)."""
    out = {}
    for query in QUERIES:
        out[query] = [l["id"] for l in site.listings() if l["state"] in VISIBLE_STATES
                      and (query in l["title"] or query in l["text"])]
    return out


def runs_of(config: Path) -> list[dict[str, Any]]:
    result = run_cli("runs", "--config", str(config), "--format", "json")
    assert result.code == 0, result.stderr
    return result.json()


def patrol(config: Path, *targets: str) -> None:
    args = ["run", "--config", str(config), "--progress", "off"]
    for target in targets:
        args += ["--target", target]
    result = run_cli(*args)
    assert result.code == 0, result.stderr


def crash_market_half_way(config: Path, site: DemoSite) -> None:
    """Start a market crawl that also waits on a slow page, and SIGKILL it once listings are being fetched."""
    site.clear_log()
    proc = subprocess.Popen([sys.executable, "-m", "crawler.cli.main", "run", "--config", str(config), "--target", "market",
                             "--progress", "off"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not (any(p.startswith("/bad/slow") for p in site.request_log)
               and sum(p.startswith("/item/") for p in site.request_log) >= 10):
        assert proc.poll() is None, "the crawl ended before it could be killed"
        assert time.monotonic() < deadline, "the crawl never got going"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def campaign(site_server: DemoSite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    site = site_server
    site.reset()
    folder = tmp_path_factory.mktemp("campaign")
    (folder / "rules.yaml").write_text(RULES, encoding="utf-8")
    store = folder / "np.db"
    with DemoSite() as mirror:
        mirror_url = mirror.start(host="127.0.0.2")
        config = folder / "campaign.yml"
        config.write_text(config_text(store, site.base_url, mirror_url, site.base_url), encoding="utf-8")
        crash = folder / "crash.yml"
        crash.write_text(config_text(store, site.base_url, mirror_url, site.base_url,
                                     f', "{site.base_url}/bad/slow?s=30"'), encoding="utf-8")
        broken = folder / "broken.yml"
        broken.write_text(config_text(store, site.base_url, mirror_url, f"http://127.0.0.1:{_free_port()}"),
                          encoding="utf-8")
        expected: dict[str, Any] = {"pages": {}, "listings": {}, "results": {}}

        # R1 and R2: the baseline; hak01 is offline during R2 only.
        expected["results"]["R1"] = search_results(site)
        expected["pages"]["R1"], expected["listings"]["R1"] = market_pages(site)
        patrol(config)
        site.set_state("hak01", "removed")
        expected["results"]["R2"] = search_results(site)
        expected["pages"]["R2"], expected["listings"]["R2"] = market_pages(site)
        patrol(config)
        site.set_state("hak01", "online")

        # The takedown, then a crashed market crawl and an unreachable search engine.
        for listing, state in (("fra01", "removed"), ("gam01", "soft404"), ("drg01", "edited"), ("gam02", "gone")):
            site.set_state(listing, state)
        crash_market_half_way(crash, site)
        patrol(broken, "market-search")

        # R4: a clean compare round, then verification.
        expected["results"]["R4"] = search_results(site)
        expected["pages"]["R4"], expected["listings"]["R4"] = market_pages(site)
        patrol(config)
        verify = run_cli("verify", "--config", str(config), "--format", "json", "--progress", "off")
        assert verify.code == 0, verify.stderr
        time.sleep(0.01)
        end = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

        runs = runs_of(config)
        assert [r["target"] for r in runs].count("market") == 4
        baseline = f"{runs[0]['started_at']}..{runs[5]['started_at']}"
        compare = f"{runs[6]['started_at']}..{end}"
        report = run_cli("report", "--config", str(config), "--baseline", baseline, "--compare", compare,
                         "--format", "json")
        assert report.code == 0, report.stderr
        text = run_cli("report", "--config", str(config), "--baseline", baseline, "--compare", compare,
                       "--html", str(folder / "report.html"), "--csv", str(folder / "csv"))
        assert text.code == 0, text.stderr
        (folder / "report.txt").write_text(text.stdout, encoding="utf-8")
        yield {
            "site": site, "mirror": mirror_url, "folder": folder, "config": config, "runs": runs,
            "verify": verify.json(), "report": report.json(), "text": text.stdout, "expected": expected,
            "windows": (baseline, compare),
        }
    site.reset()


def test_runs_of_the_campaign(campaign: dict[str, Any]) -> None:
    runs = campaign["runs"]
    statuses = [(r["target"], r["status"]) for r in runs]
    assert sorted(statuses[:6]) == sorted([(t, "completed") for t in ("market", "market-search", "mirror")] * 2)
    assert sorted(statuses[6:8]) == [("market", "interrupted"), ("market-search", "failed")]
    assert sorted(statuses[8:]) == [("market", "completed"), ("market-search", "completed"), ("mirror", "completed")]
    market = [r["pages"] for r in runs if r["target"] == "market" and r["status"] == "completed"]
    expected = campaign["expected"]["pages"]
    assert market == [expected["R1"], expected["R2"], expected["R4"]]
    assert [r["pages"] for r in runs if r["target"] == "market-search"] == [6, 6, 0, 6]
    assert [r["pages"] for r in runs if r["target"] == "mirror"] == [8, 8, 8]


def test_verify_classifies_each_item(campaign: dict[str, Any]) -> None:
    base, mirror = campaign["site"].base_url, campaign["mirror"]
    got = {c["url"]: (c["previous"], c["status"], c["reason"], c["http_status"]) for c in campaign["verify"]["items"]}
    assert got == {
        f"{base}/item/fra01": ("online", "removed", "http_404", 404),
        f"{base}/item/gam01": ("online", "removed", "soft404", 200),
        f"{base}/item/gam02": ("online", "removed", "http_410", 410),
        f"{base}/item/drg01": ("online", "changed", "no_match", 200),
        f"{base}/item/fra02": ("online", "online", "matches", 200),
        f"{base}/item/hak01": ("online", "online", "matches", 200),
        f"{mirror}/item/gam01": ("online", "online", "matches", 200),
        f"{mirror}/item/gam02": ("online", "online", "matches", 200),
    }
    assert campaign["verify"]["by_status"] == {"changed": 1, "online": 4, "removed": 3}
    assert campaign["verify"]["interrupted"] is False


def _entry(b: float, c: float, pb: float, pc: float) -> dict[str, Any]:
    def pct(x: float, y: float) -> float | None:
        return None if x == 0 else (y - x) / x * 100

    raw_b = None if pb == 0 else b / pb * 1000
    raw_c = None if pc == 0 else c / pc * 1000
    rb = None if raw_b is None else round(raw_b, 4)
    rc = None if raw_c is None else round(raw_c, 4)
    return {
        "baseline": pytest.approx(b), "compare": pytest.approx(c),
        "change_pct": None if b == 0 else pytest.approx(pct(b, c)),
        "pages": {"baseline": pytest.approx(pb), "compare": pytest.approx(pc),
                  "change_pct": None if pb == 0 else pytest.approx(round(pct(pb, pc), 4))},
        "rate_per_1000": {"baseline": rb, "compare": rc,
                          "change_pct": None if raw_b is None or raw_c is None or raw_b == 0
                          else pytest.approx(round(pct(raw_b, raw_c), 4))},
        "coverage_changed": pb != pc and (pb == 0 or pc == 0 or abs(pc - pb) / pb > 0.2),
    }


def test_every_report_figure(campaign: dict[str, Any]) -> None:
    report, exp = campaign["report"], campaign["expected"]
    pages = exp["pages"]
    results = exp["results"]
    base_market = (6 + 5) / 2  # hak01 was offline in R2
    base_search = 2.0  # gam01 (赌博) and fra01 (发票), rank 1 each, both rounds
    comp_market, comp_search, mirror = 2.0, 0.0, 2.0  # fra02, hak01; nothing; gam01, gam02 on the mirror
    base_hits, comp_hits = base_market + base_search + mirror, comp_market + comp_search + mirror
    base_ppr = (pages["R1"] + pages["R2"]) / 2 + 6 + 8
    comp_ppr = pages["R4"] + 6 + 8

    b, c = report["baseline"], report["compare"]
    assert (b["runs"], b["excluded_runs"], b["excluded_by_status"]) == (6, 0, {})
    assert (c["runs"], c["excluded_runs"], c["excluded_by_status"]) == (3, 2, {"failed": 1, "interrupted": 1})
    assert (c["failed_runs"], c["interrupted_runs"]) == (1, 1)
    assert b["pages"] == pages["R1"] + pages["R2"] + 6 * 2 + 8 * 2
    assert c["pages"] == pages["R4"] + 6 + 8
    assert b["hits"] == pytest.approx(base_hits) and c["hits"] == pytest.approx(comp_hits)
    assert report["change_pct"] == pytest.approx((comp_hits - base_hits) / base_hits * 100)
    assert b["pages_per_run"] == pytest.approx(base_ppr) and c["pages_per_run"] == pytest.approx(comp_ppr)
    assert b["rate_per_1000"] == round(base_hits / base_ppr * 1000, 4)
    assert c["rate_per_1000"] == round(comp_hits / comp_ppr * 1000, 4)
    assert report["coverage"] == {
        "baseline": base_ppr, "compare": comp_ppr, "change_pct": round((comp_ppr - base_ppr) / base_ppr * 100, 4),
        "changed": False, "tolerance": 0.2,
        "rate_change_pct": round(((comp_hits / comp_ppr) - (base_hits / base_ppr)) / (base_hits / base_ppr) * 100, 4),
    }

    # Categories and rules: per-run means of distinct items, summed over the three targets.
    cats_b = {"gambling": 2 + 1 + 2, "fraud": 2 + 1, "drugs": 1, "hacking": 0.5}
    cats_c = {"gambling": 0 + 0 + 2, "fraud": 1, "drugs": 0, "hacking": 1}
    assert report["by_category"] == {k: _entry(cats_b[k], cats_c[k], base_ppr, comp_ppr) for k in cats_b}
    assert report["by_rule"] == {RULE_OF[k]: _entry(cats_b[k], cats_c[k], base_ppr, comp_ppr) for k in cats_b}
    assert report["by_target"] == {
        "market": _entry(base_market, comp_market, (pages["R1"] + pages["R2"]) / 2, pages["R4"])
        | {"runs": {"baseline": 2, "compare": 1}, "excluded_runs": {"baseline": 0, "compare": 1}, "comparable": True},
        "market-search": _entry(base_search, comp_search, 6, 6)
        | {"runs": {"baseline": 2, "compare": 1}, "excluded_runs": {"baseline": 0, "compare": 1}, "comparable": True},
        "mirror": _entry(mirror, mirror, 8, 8) | {"runs": {"baseline": 2, "compare": 1},
                                                  "excluded_runs": {"baseline": 0, "compare": 0}, "comparable": True},
    }
    # Domains: pages = listing pages and search results examined from the domain, per run.
    n_results = {r: sum(len(v) for v in results[r].values()) for r in ("R1", "R2", "R4")}
    listings = exp["listings"]
    local_b = (listings["R1"] + listings["R2"]) / 2 + (n_results["R1"] + n_results["R2"]) / 2
    local_c = listings["R4"] + n_results["R4"]
    assert report["by_domain"] == {
        "127.0.0.1": _entry(base_market + base_search, comp_market + comp_search, local_b, local_c),
        "127.0.0.2": _entry(mirror, mirror, 6, 6),
    }
    assert report["by_query"] == {
        q: _entry(1.0 if q in ("赌博", "发票") else 0.0, 0.0,
                  (len(results["R1"][q]) + len(results["R2"][q])) / 2, len(results["R4"][q]))
        for q in QUERIES
    }
    assert report["by_query"]["赌博"]["coverage_changed"] is True  # 2 results -> 1: a query that lost results

    # The search headline: matched among the top 3 per query; engine totals as context.
    search = report["search"]
    assert search["top_n"] == TOP_N
    seen_b = sum(min(TOP_N, len(results["R1"][q])) for q in QUERIES)
    seen_c = sum(min(TOP_N, len(results["R4"][q])) for q in QUERIES)
    assert search["baseline"] == {"matched": 2.0, "seen": seen_b, "share": round(2 / seen_b, 4)}
    assert search["compare"] == {"matched": 0.0, "seen": seen_c, "share": 0.0}
    assert search["change_pct"] == -100.0
    assert search["share_change_points"] == round((0.0 - round(2 / seen_b, 4)) * 100, 4)
    by_query = {q["query"]: q for q in search["queries"]}
    for query in QUERIES:
        hit = 1.0 if query in ("赌博", "发票") else 0.0
        n_b, n_c = len(results["R1"][query]), len(results["R4"][query])
        assert by_query[query]["baseline"] == {"matched": hit, "seen": min(TOP_N, n_b),
                                               "share": round(hit / min(TOP_N, n_b), 4), "engine_total": n_b}
        assert by_query[query]["compare"] == {"matched": 0.0, "seen": min(TOP_N, n_c), "share": 0.0, "engine_total": n_c}

    # Clean-up: three listings removed inside the compare window; what became of the baseline's 8 items.
    assert report["cleaned_up"] == {
        "removed": 3, "by_category": {"fraud": 1, "gambling": 2}, "by_domain": {"127.0.0.1": 3},
        "baseline_items": 8, "gone": 3, "gone_share": 0.375, "changed": 1, "changed_share": 0.125,
        "unreachable": 0, "still_online": 4, "unchecked": 0,
    }
    assert report["domains"] == [
        {"domain": "127.0.0.1", "compare": 2.0, "baseline": 7.5, "change_pct": pytest.approx((2 - 7.5) / 7.5 * 100),
         "items": 6, "removed": 3, "removal_rate": 0.5},
        {"domain": "127.0.0.2", "compare": 2.0, "baseline": 2.0, "change_pct": 0.0, "items": 2, "removed": 0,
         "removal_rate": 0.0},
    ]
    assert report["rules"]["differ"] is False and report["rules"]["baseline"] == report["rules"]["compare"]
    assert report["warnings"] == ["2 run(s) of the compare window were left out (not clean)"]

    # Series for the charts: every run once, left-out runs without hits; one verification point.
    series = report["series"]["runs"]
    assert len(series) == 11
    assert sorted(s["status"] for s in series if s["hits"] is None) == ["failed", "interrupted"]
    assert sum(s["hits"] for s in series if s["hits"] is not None) == 6 + 2 + 2 + 5 + 2 + 2 + 2 + 0 + 2
    assert report["series"]["removal"] == [
        {"at": report["series"]["removal"][0]["at"], "removed": 3, "changed": 1, "unreachable": 0, "online": 4}]


def test_text_report_shows_the_figures(campaign: dict[str, Any]) -> None:
    text, report = campaign["text"], campaign["report"]
    assert f"Change in hits: {report['change_pct']:+.1f}%" in text
    assert "coverage held" in text
    assert "3 item(s) removed within the compare window — by category: fraud 1, gambling 2; by domain: 127.0.0.1 3" in text
    assert "8 hit item(s): 3 gone (37.5%), 1 changed to harmless (12.5%)" in text
    assert "Domain league" in text and "127.0.0.2" in text
    assert "matched results in the top 3 per query" in text
    assert "2 (1 failed, 1 interrupted)" in text


def test_csv_export(campaign: dict[str, Any]) -> None:
    folder = campaign["folder"] / "csv"
    with (folder / "by_category.csv").open(encoding="utf-8-sig") as handle:
        rows = {r["key"]: r for r in csv.DictReader(handle)}
    for key, values in campaign["report"]["by_category"].items():
        assert float(rows[key]["baseline"]) == values["baseline"]
        assert float(rows[key]["compare"]) == values["compare"]
    with (folder / "domains.csv").open(encoding="utf-8-sig") as handle:
        assert [r["domain"] for r in csv.DictReader(handle)] == ["127.0.0.1", "127.0.0.2"]


def test_report_bad_windows_and_empty_store(cli, make_config, tmp_path: Path) -> None:
    config = make_config("store: {path: data/np.db}\ntargets: []\n")
    empty = cli("report", "--config", str(config), "--format", "json",
                "--baseline", "2026-01-01..2026-01-31", "--compare", "2026-02-01..2026-02-28")
    assert empty.code == 0, empty.stderr
    data = empty.json()
    assert data["baseline"]["hits"] == 0 and data["change_pct"] is None and data["search"] is None
    assert data["cleaned_up"]["baseline_items"] == 0 and data["domains"] == []
    assert sum("no clean runs" in w for w in data["warnings"]) == 2
    overlap = cli("report", "--config", str(config), "--format", "json",
                  "--baseline", "2026-01-01..2026-01-31", "--compare", "2026-01-15..2026-02-28").json()
    assert "the baseline and compare windows overlap" in overlap["warnings"]
    bad = cli("report", "--config", str(config), "--baseline", "2026-01-31..2026-01-01", "--compare", "2026-02-01..2026-02-28")
    assert bad.code == 2 and "FROM is after TO" in bad.stderr and "Traceback" not in bad.stderr
    unknown = cli("report", "--config", str(config), "--target", "nope",
                  "--baseline", "2026-01-01..2026-01-31", "--compare", "2026-02-01..2026-02-28")
    assert unknown.code == 2 and "unknown target(s) nope" in unknown.stderr
    html = cli("report", "--config", str(config), "--baseline", "2026-01-01..2026-01-31",
               "--compare", "2026-02-01..2026-02-28", "--html", str(tmp_path / "empty.html"))
    assert html.code == 0 and "no data" in (tmp_path / "empty.html").read_text(encoding="utf-8")


def chromium_path() -> str:
    from crawler.render.browser import find_browser

    lookup = find_browser(None)
    if lookup.path is None:
        pytest.fail(f"no Chromium for the HTML report test ({lookup.problem}); `bash scripts/chromium ensure` installs it")
    return str(lookup.path)


@pytest.mark.browser
def test_html_report_renders_the_json_figures(campaign: dict[str, Any]) -> None:
    from playwright.sync_api import sync_playwright

    report = campaign["report"]
    html_file = campaign["folder"] / "report.html"
    outside: list[str] = []
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=["--disable-gpu", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.route("**/*", lambda route: (outside.append(route.request.url) if not route.request.url.startswith("file:")
                                              else None, route.continue_())[1])
            page.goto(html_file.as_uri())
            embedded = json.loads(page.locator("#netpatrol-report").text_content() or "{}")

            def marks(selector: str, *attributes: str) -> list[tuple[str, ...]]:
                return [tuple(v) for v in page.eval_on_selector_all(
                    selector, f"els => els.map(e => [{', '.join(repr(a) for a in attributes)}].map(a => e.getAttribute(a)))")]

            bars = marks('rect.bar[data-chart="category-bars"]', "data-key", "data-window", "data-value")
            points = marks('circle.point[data-chart="hits-over-time"]', "data-group", "data-series", "data-key",
                           "data-value")
            searched = marks('circle.point[data-chart="search-matched"]', "data-key", "data-value")
            removal = marks('circle.point[data-chart="removal-over-time"]', "data-series", "data-value")
            left_out = marks('path.marker[data-chart="hits-over-time"]', "data-group", "data-key")
            league = page.eval_on_selector_all(
                'tr[data-table="domains"]',
                "rows => rows.map(r => [r.dataset.key, ...['compare', 'baseline', 'items', 'removed', 'removal_rate']"
                ".map(f => r.querySelector(`[data-field=${f}]`).dataset.value)])")
            sizes = page.eval_on_selector_all("svg.chart", "els => els.map(e => e.getBoundingClientRect().height)")
            page.screenshot(path=str(campaign["folder"] / "report.png"), full_page=True)
        finally:
            browser.close()
    assert outside == [] and errors == []
    assert embedded == report
    assert len(sizes) == 3 + 4 and all(h > 100 for h in sizes)  # one hits chart per target, then four
    assert sorted(bars) == sorted((k, w, str(v[w])) for k, v in report["by_category"].items() for w in ("baseline", "compare"))
    clean = [r for r in report["series"]["runs"] if r["hits"] is not None]
    hit = {t: {c for r in report["series"]["runs"] if r["target"] == t for c in r["by_category"]} for t in report["by_target"]}
    assert sorted(points) == sorted((r["target"], c, r["run_id"], str(float(r["by_category"].get(c, 0))))
                                    for r in clean for c in hit[r["target"]])
    assert sorted(left_out) == sorted((r["target"], r["run_id"]) for r in report["series"]["runs"] if r["hits"] is None)
    assert sorted(searched) == sorted((p["run_id"], str(float(p["matched_top_n"]))) for p in report["series"]["search"])
    assert sorted(removal) == sorted((k, str(float(p[k]))) for p in report["series"]["removal"]
                                     for k in ("removed", "changed", "unreachable", "online"))
    assert league == [[d["domain"], str(d["compare"]), str(d["baseline"]), str(d["items"]), str(d["removed"]),
                       str(d["removal_rate"])] for d in report["domains"]]
