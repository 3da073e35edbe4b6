"""End to end through `netpatrol run`: both target types against the local demo site, runs, hits, report."""

from __future__ import annotations

import json
import urllib.request
import sqlite3
from pathlib import Path

import pytest
from conftest import market_target

from crawler.demo.site import DemoSite

SEARCH_SELECTORS = """
    selectors:
      result: "li.result"
      title: "a.title::text"
      url: "a.title::attr(href)"
      snippet: "p.snippet::text"
      total: "#total::text"
"""


def site_config(make_config, site: DemoSite, extra: str = "", name: str = "netpatrol.yml") -> Path:
    return make_config(
        f"""
        store: {{path: data/np.db}}
        allowed_networks: ["127.0.0.0/8"]
        targets:
          - {market_target(site.base_url, max_pages=300)}
          - name: market-search
            type: search
            url: "{site.base_url}/search?q={{query}}&page={{page}}"
            queries: ["赌博", "发票"]
            pages: 2
            politeness: {{concurrency: 8, autothrottle: false}}
        """
        + SEARCH_SELECTORS.replace("\n    ", "\n            ")
        + extra,
        name=name,
    )


def listing_urls(site: DemoSite, illegal: bool | None = None) -> set[str]:
    return {f"{site.base_url}/item/{item['id']}" for item in site.listings(illegal=illegal)}


def test_site_and_search_round(cli, make_config, site: DemoSite) -> None:
    config = site_config(make_config, site)
    result = cli("run", "--config", str(config), "--progress", "log")
    assert result.code == 0, result.stderr
    runs = cli("runs", "--config", str(config), "--format", "json").json()
    assert sorted(r["target"] for r in runs) == ["market", "market-search"]
    for run in runs:
        assert set(run) == {"id", "target", "started_at", "finished_at", "status", "pages", "hits", "errors", "rules_version"}
        assert run["status"] == "completed", run
        assert run["started_at"].endswith("Z") and run["finished_at"] >= run["started_at"]
    market = next(r for r in runs if r["target"] == "market")
    # Every listing page and category page was fetched; robots.txt kept the crawler out of /private/.
    assert market["pages"] >= len(site.listings()) + 1
    assert not any(p.startswith("/private/") for p in site.request_log)

    hits = cli("hits", "--config", str(config), "--target", "market", "--format", "json").json()
    found = {h["url"] for h in hits}
    illegal = listing_urls(site, illegal=True)
    benign = listing_urls(site, illegal=False)
    # The shipped rules find every illegal listing of the catalog and flag no benign look-alike (crackdown
    # news, locksmiths...): the exact set.
    assert found == illegal, (sorted(illegal - found), sorted(found & benign))
    assert market["hits"] == len(found)
    for hit in hits:
        assert set(hit) >= {"url", "target", "categories", "rules", "score", "title", "snippet", "first_seen", "last_seen"}
        assert hit["categories"] and hit["rules"] and hit["score"] >= 1.0

    search_hits = cli("hits", "--config", str(config), "--target", "market-search", "--format", "json").json()
    assert search_hits, "search results matching the rules are hits"
    assert all(h["url"].startswith(site.base_url + "/item/") for h in search_hits)
    assert {h["url"] for h in search_hits} <= illegal | benign

    db = sqlite3.connect(Path(config).parent / "data" / "np.db")
    totals = dict(db.execute("SELECT query, total FROM search_totals"))
    expected = {q: len([l for l in site.listings() if q in l["title"] or q in l["text"]]) for q in ("赌博", "发票")}
    assert totals == expected


def test_two_rounds_report_decline_exactly(cli, make_config, site: DemoSite) -> None:
    config = site_config(make_config, site)
    assert cli("run", "--config", str(config), "--target", "market").code == 0
    first = cli("hits", "--config", str(config), "--format", "json").json()
    first_urls = sorted({h["url"] for h in first})
    assert len(first_urls) >= 4

    # Take down half of the found listings: 404, 410, soft-404 page, and an edit that makes it harmless.
    modes = ["removed", "gone", "soft404", "edited"]
    taken = first_urls[: len(first_urls) // 2]
    for index, url in enumerate(taken):
        site.set_state(url.rsplit("/", 1)[-1], modes[index % len(modes)])
    assert cli("run", "--config", str(config), "--target", "market").code == 0
    runs = cli("runs", "--config", str(config), "--format", "json").json()
    assert [r["status"] for r in runs] == ["completed", "completed"], runs
    b, c = runs[0], runs[1]
    report = cli(
        "report", "--config", str(config), "--format", "json",
        "--baseline", f"{b['started_at']}..{b['started_at']}",
        "--compare", f"{c['started_at']}..{c['started_at']}",
    ).json()
    expected_base = len(first_urls)
    expected_comp = len(first_urls) - len(taken)
    assert report["baseline"]["hits"] == expected_base
    assert report["compare"]["hits"] == expected_comp
    assert report["baseline"]["runs"] == 1 and report["compare"]["runs"] == 1
    assert report["change_pct"] == pytest.approx((expected_comp - expected_base) / expected_base * 100)
    assert report["by_target"]["market"]["baseline"] == expected_base
    assert set(report["by_domain"]) == {"127.0.0.1"}
    assert sum(v["baseline"] for v in report["by_category"].values()) >= expected_base

    text = cli(
        "report", "--config", str(config),
        "--baseline", f"{b['started_at']}..{b['started_at']}",
        "--compare", f"{c['started_at']}..{c['started_at']}",
    )
    assert text.code == 0
    assert f"{report['change_pct']:+.1f}%" in text.stdout


def test_items_are_not_double_counted_across_rounds(cli, make_config, site: DemoSite) -> None:
    config = site_config(make_config, site)
    for _ in range(2):
        assert cli("run", "--config", str(config), "--target", "market").code == 0
    hits = cli("hits", "--config", str(config), "--format", "json").json()
    db = sqlite3.connect(Path(config).parent / "data" / "np.db")
    items = db.execute("SELECT count(*), min(times_seen), max(times_seen) FROM items").fetchone()
    assert items == (len(hits), 2, 2)
    assert all(h["first_seen"] < h["last_seen"] for h in hits)


def test_report_bad_windows(cli, make_config, site: DemoSite) -> None:
    config = site_config(make_config, site)
    bad = cli("report", "--config", str(config), "--baseline", "2026-02-01..2026-01-01", "--compare", "2026-03-01..2026-03-31")
    assert bad.code == 2 and "FROM is after TO" in bad.stderr
    bad = cli("report", "--config", str(config), "--baseline", "yesterday..today", "--compare", "2026-03-01..2026-03-31")
    assert bad.code == 2 and "not an ISO-8601" in bad.stderr
    empty = cli("report", "--config", str(config), "--format", "json", "--baseline", "2020-01-01..2020-01-31", "--compare", "2020-02-01..2020-02-29")
    assert empty.code == 0
    data = empty.json()
    assert data["baseline"]["hits"] == 0 and data["change_pct"] is None
    assert any("no clean runs" in w for w in data["warnings"])


def test_unknown_target(cli, make_config, site: DemoSite) -> None:
    result = cli("run", "--config", str(site_config(make_config, site)), "--target", "nope")
    assert result.code == 2 and "unknown target(s) nope" in result.stderr


def test_search_queries_are_encoded_in_the_configured_charset(cli, make_config, site: DemoSite) -> None:
    config = make_config(
        f"""
        store: {{path: data/np.db}}
        allowed_networks: ["127.0.0.0/8"]
        targets:
          - name: gbk-search
            type: search
            url: "{site.base_url}/search?q={{query}}&page={{page}}"
            queries: ["赌博"]
            query_encoding: GBK
            robots: ignore
            selectors: {{result: "li.result", title: "a.title::text", url: "a.title::attr(href)"}}
        """
    )
    site.clear_log()
    assert cli("run", "--config", str(config), "--progress", "off").code == 0
    assert "/search?q=%B6%C4%B2%A9&page=1" in site.request_log
    bad = make_config(config.read_text(encoding="utf-8").replace("GBK", "klingon"), name="bad.yml")
    result = cli("config", "check", str(bad))
    assert result.code == 2
    assert "targets[0].query_encoding: unknown encoding 'klingon'" in result.stderr


def test_list_pages_and_footer_change_no_count(cli, make_config, site: DemoSite) -> None:
    """Every page is matched (no match_urls): the home, category and "latest" list pages carry listing
    titles as link texts, and every page a disclaimer footer (谨防诈骗, 举报). Hits are exactly the item
    pages the rules flag on their own text, and a takedown reads as exactly that decline."""
    import re

    from pipelines.engine.anatomy import anatomy
    from pipelines.engine.html_text import visible_text
    from pipelines.engine.matcher import Matcher
    from pipelines.engine.rules import load_rules

    config = make_config(f"""
        store: {{path: data/np.db}}
        allowed_networks: ["127.0.0.0/8"]
        targets:
          - name: market
            type: site
            start_urls: ["{site.base_url}/"]
            follow: ["^/c/", "^/item/", "^/list/"]
            max_pages: 300
            politeness: {{concurrency: 8, autothrottle: false}}
        """)
    matcher = Matcher(load_rules())
    footer = re.compile(r"<footer.*?</footer>", re.S)

    def verdicts() -> dict[str, bool]:
        out = {}
        for url in sorted(listing_urls(site)):
            with urllib.request.urlopen(url, timeout=10) as response:
                page = response.read().decode("utf-8")
            assert "谨防诈骗" in page and "举报" in page
            with_footer = matcher.match(*visible_text(page)).matched
            # The footer changes no verdict, whether the page is read whole or through its anatomy.
            assert with_footer == matcher.match(*visible_text(footer.sub("", page))).matched, url
            blocks = anatomy(page, url)
            assert with_footer == matcher.match(blocks.title, blocks.content()).matched, url
            out[url] = with_footer
        return out

    expected = {url for url, hit in verdicts().items() if hit}
    assert len(expected) >= 0.8 * len(listing_urls(site, illegal=True))
    assert cli("run", "--config", str(config), "--target", "market").code == 0
    assert any(p.startswith("/list/latest") for p in site.request_log)
    first = {h["url"] for h in cli("hits", "--config", str(config), "--format", "json").json()}
    assert first == expected  # no list page, home or category page among the hits

    taken = sorted(expected)[: len(expected) // 2]
    for index, url in enumerate(taken):
        site.set_state(url.rsplit("/", 1)[-1], ["removed", "soft404", "edited"][index % 3])
    assert cli("run", "--config", str(config), "--target", "market").code == 0
    b, c = cli("runs", "--config", str(config), "--format", "json").json()
    report = cli("report", "--config", str(config), "--format", "json",
                 "--baseline", f"{b['started_at']}..{b['started_at']}",
                 "--compare", f"{c['started_at']}..{c['started_at']}").json()
    assert report["baseline"]["hits"] == len(expected)
    assert report["compare"]["hits"] == len(expected) - len(taken)


def test_unreachable_index_links_count_as_listings(cli, make_config, site: DemoSite) -> None:
    """With max_pages too small to reach the item pages, the list page's entries are the listings:
    each hit is the linked item URL, seen on the list page; the list page itself is no hit."""
    config = make_config(f"""
        store: {{path: data/np.db}}
        allowed_networks: ["127.0.0.0/8"]
        targets:
          - name: market
            type: site
            start_urls: ["{site.base_url}/list/latest"]
            follow: ["^/item/"]
            max_pages: 1
            politeness: {{concurrency: 2, autothrottle: false}}
        """)
    assert cli("run", "--config", str(config), "--target", "market").code == 0
    hits = cli("hits", "--config", str(config), "--format", "json").json()
    urls = {h["url"] for h in hits}
    assert urls and urls <= listing_urls(site)
    assert f"{site.base_url}/list/latest" not in urls
    db = sqlite3.connect(Path(config).parent / "data" / "np.db")
    explanations = [json.loads(e) for (e,) in db.execute("SELECT explanation FROM observations")]
    assert explanations and all(e.get("seen_on") == f"{site.base_url}/list/latest" for e in explanations)
