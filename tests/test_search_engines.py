"""Search engines as analysts meet them: presets read each engine's markup, wrapped links resolve to the
landing site, ads are flagged, walls and cut pages are lost coverage (fixture engines on loopback)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, Iterator

import pytest
from conftest import run_cli

from crawler.cli.engines import check_page
from crawler.config.schema import SearchTarget
from crawler.demo.engines import FixtureEngines, sample_page
from crawler.demo.serp_markup import PAGES, WALLS, Entry

RULES = "rules:\n  - id: gambling.online\n    category: gambling\n    any: [网络赌博]\n"
ENTRIES = [Entry("澳门网络赌博平台注册", "网络赌博 日赚万元", "https://casino.example/a"),
           Entry("网络赌博代理招募", "高额返水", "https://promo.example/b", ad=True),
           Entry("二手书籍出售", "旧书 九成新", "https://books.example/c", risk=True)]
TOTALS = {"baidu": 1_230_000, "sogou": 12, "so360": 1_230, "bing": 4_560_000, "shenma": 12_000}
REAL = {"baidu": "https://www.baidu.com", "sogou": "https://www.sogou.com", "so360": "https://www.so.com",
        "bing": "https://www.bing.com", "shenma": "https://m.sm.cn"}


def preset(name: str) -> SearchTarget:
    return SearchTarget.model_validate({"name": "t", "type": "search", "engine": name, "queries": ["q"]})


@pytest.mark.parametrize("engine", sorted(PAGES))
def test_engines_check_reads_each_presets_page(engine: str, tmp_path: Path) -> None:
    page = tmp_path / f"{engine}.html"
    page.write_text(sample_page(engine, "网络赌博", ENTRIES, REAL[engine]), encoding="utf-8")
    result = run_cli("engines", "check", engine, "--html", str(page), "--format", "json")
    assert result.code == 0, result.stderr
    out = result.json()
    assert (out["state"], out["total"], out["organic"], out["promoted"]) == ("results", TOTALS[engine], 2, 1)
    assert [(r["title"], r["ad"], r["risk"], r["wrapped"]) for r in out["results"]] == [
        ("澳门网络赌博平台注册", False, None, True), ("网络赌博代理招募", True, None, True),
        ("二手书籍出售", False, "该网站可能存在安全风险", True)]
    assert [r["snippet"] for r in out["results"]] == ["网络赌博 日赚万元", "高额返水", "旧书 九成新"]
    if engine == "bing":  # Bing's links carry the landing URL: read without a request
        assert [r["landing"] for r in out["results"]] == [e.landing for e in ENTRIES]
    else:
        assert all(r["url"].startswith(REAL[engine] + "/link?") for r in out["results"])


@pytest.mark.parametrize("engine", sorted(PAGES))
def test_no_results_wall_blank_and_cut_pages(engine: str) -> None:
    target = preset(engine)
    url = target.url.replace("{query}", "q").replace("{page}", str(target.page_start))
    assert check_page(target, PAGES[engine][1]("网络赌博"), url)["state"] == "no_results"
    assert check_page(target, WALLS[engine], url)["state"] == "blocked"
    blank = "<!DOCTYPE html>\n<html><head><title></title></head><body></body></html>\n"
    assert check_page(target, blank, url)["state"] == "empty"
    full = sample_page(engine, "q", ENTRIES, REAL[engine])
    cut = check_page(target, full[: len(full) * 2 // 3], url)
    assert cut["state"] == "truncated" and cut["lost"] is True


def test_engines_lists_presets_with_reference_and_date(cli) -> None:
    result = cli("engines", "--format", "json")
    assert result.code == 0, result.stderr
    rows = {r["name"]: r for r in result.json()}
    assert set(rows) == {"baidu", "sogou", "so360", "bing", "shenma"}
    assert all(rows[n]["confirmed"] == "2026-12-03" and rows[n]["reference"] for n in ("baidu", "sogou", "so360", "bing"))
    assert rows["shenma"]["confirmed"] is None and "none available" in rows["shenma"]["reference"][0]


def test_overrides_win_over_the_preset() -> None:
    target = SearchTarget.model_validate({"name": "t", "type": "search", "engine": "baidu", "queries": ["q"],
                                          "selectors": {"title": "h3 ::text"}, "pages": 3})
    assert target.selectors.title == "h3 ::text" and target.selectors.result == "#content_left > div.c-container"
    assert (target.page_start, target.page_step, target.pages) == (0, 10, 3)


# --- crawling the fixture engines --------------------------------------------------------------

@pytest.fixture(scope="module")
def engines() -> Iterator[FixtureEngines]:
    with FixtureEngines() as fixture:
        yield fixture


def engine_target(engines: FixtureEngines, engine: str, name: str, queries: list[str]) -> str:
    return (f"  - name: {name}\n    type: search\n    engine: {engine}\n    url: \"{engines.url_template(engine)}\"\n"
            f"    wrapped: ['{engines.wrapped_pattern(engine)}']\n    robots: ignore\n"
            f"    queries: {json.dumps(queries, ensure_ascii=False)}\n"
            "    politeness: {concurrency: 4, autothrottle: false, retries: 0}\n")


def stats_of(db: Path, target: str) -> list[dict[str, Any]]:
    with sqlite3.connect(db) as conn:
        return [json.loads(s) for (s,) in conn.execute("SELECT stats FROM runs WHERE target=? ORDER BY started_at", (target,))]


def test_wrapped_links_resolve_to_landing_pages(engines: FixtureEngines, tmp_path: Path) -> None:
    engines.reset()
    same = engines.landing("casino-1")
    baidu = engines.engines["baidu"]
    baidu.corpus = {
        "网络赌博": [Entry("澳门网络赌博平台", "网络赌博 首充", same),
                 Entry("网络赌博推广", "网络赌博 返水", engines.landing("promo-1"), ad=True),
                 Entry("网络赌博内部站", "网络赌博", "http://169.254.169.254/latest/meta-data/"),
                 Entry("网络赌博镜像", "网络赌博 镜像", engines.landing("mirror-1"), hops=2)],
        "赌博网站": [Entry("澳门网络赌博平台", "网络赌博 首充", same)],  # the same landing page, a fresh wrapped URL
    }
    engines.engines["so360"].corpus = {"网络赌博": [Entry("网络赌博大全", "网络赌博", engines.landing("casino-2"))],
                                       "赌博网站": [Entry("网络赌博大全", "网络赌博", engines.landing("casino-2"))]}
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    config = tmp_path / "np.yml"
    config.write_text("store: {path: np.db}\nrules: rules.yaml\nallowed_networks: [\"127.0.0.0/8\"]\ntargets:\n"
                      + engine_target(engines, "baidu", "baidu", ["网络赌博", "赌博网站"])
                      + engine_target(engines, "so360", "so360", ["网络赌博", "赌博网站"]), encoding="utf-8")
    result = run_cli("run", "--config", str(config), "--progress", "off")
    assert result.code == 0, result.stderr
    link_requests = [r for r in engines.requests if "/link?" in r or "/jump?" in r]
    # baidu: 5 distinct wrapped links (fresh tokens) + 1 second hop; so360: one stable link for both queries.
    assert sorted(r.split()[0] for r in link_requests) == ["HEAD"] * 7
    assert sum("/so360/link?" in r for r in link_requests) == 1
    assert not any("169.254" in r for r in engines.requests)  # refused before any connection
    assert sum(r.startswith("HEAD 127.0.0.2") for r in engines.requests) == 5  # landing pages answered HEAD only

    with sqlite3.connect(tmp_path / "np.db") as db:
        docs = db.execute("SELECT query, rank, ad, url, wrapped_url, domain FROM documents WHERE target='baidu'"
                          " ORDER BY query, ad, rank").fetchall()
        hits = db.execute("SELECT url, domain, ad, wrapped_url FROM observations WHERE target='baidu' ORDER BY url").fetchall()
    refused = [d for d in docs if d[3] == d[4]]
    assert len(refused) == 1 and refused[0][3].startswith(engines.base_url + "/baidu/link?")
    assert {(q, rank, ad, url) for q, rank, ad, url, _w, _d in docs if url != _w} == {
        ("网络赌博", 1, 0, same), ("网络赌博", 3, 0, engines.landing("mirror-1")),
        ("网络赌博", 1, 1, engines.landing("promo-1")), ("赌博网站", 1, 0, same)}
    # One landing page under two wrapped URLs is one item; its domain is the landing site's.
    assert [(u, d, ad) for u, d, ad, _w in hits if u.startswith(engines.landing_url)] == [
        (same, "127.0.0.2", 0), (engines.landing("mirror-1"), "127.0.0.2", 0), (engines.landing("promo-1"), "127.0.0.2", 1)]
    stats = stats_of(tmp_path / "np.db", "baidu")[0]
    assert stats["netpatrol/links/unresolved/refused"] == 1 and stats["netpatrol/links/resolved"] == 4
    assert stats["netpatrol/search/ads"] == 1

    # A second run: so360's stable link comes from the cross-run cache, without a request.
    engines.requests.clear()
    again = run_cli("run", "--config", str(config), "--progress", "off", "--target", "so360")
    assert again.code == 0, again.stderr
    assert not [r for r in engines.requests if "/link?" in r]
    assert stats_of(tmp_path / "np.db", "so360")[1]["netpatrol/links/cache/store"] == 1
