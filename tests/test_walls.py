"""Walls are seen as a person sees them: a corpus of walls and look-alikes, and crawls of a hostile site."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from parsel import Selector

from crawler.render.walls import detect_wall
from tests.hostile_site import HostileSite

CORPUS = Path(__file__).parent / "data" / "walls"
WALLS = sorted((CORPUS / "wall").glob("*.html"))
PAGES = sorted((CORPUS / "page").glob("*.html"))


def test_the_corpus_is_big_and_varied() -> None:
    assert len(WALLS) >= 40 and len(PAGES) >= 40
    kinds = {p.name.split("-")[0] for p in WALLS}
    assert kinds == {"captcha", "rate_limit", "login", "javascript"}
    chinese = [p for p in WALLS + PAGES if any("\u4e00" <= c <= "\u9fff" for c in p.read_text(encoding="utf-8"))]
    assert len(chinese) >= 30


@pytest.mark.parametrize("path", WALLS, ids=lambda p: p.name)
def test_every_wall_is_a_wall_of_its_kind(path: Path) -> None:
    verdict = detect_wall(path.read_text(encoding="utf-8"))
    assert verdict is not None, path.name
    assert verdict.kind == path.name.split("-")[0], verdict


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_every_look_alike_is_a_page(path: Path) -> None:
    assert detect_wall(path.read_text(encoding="utf-8")) is None


def test_shouting_walls_are_walls_and_the_shared_tree_gives_the_same_verdicts() -> None:
    """Phrases are pre-screened in lowercased text: upper-case walls must still be seen, and a verdict
    from the tree a crawl already parsed must equal the verdict from the HTML."""
    shouting = "<html><head><title>Error</title></head><body><h1>TOO MANY REQUESTS</h1><p>PLEASE SLOW DOWN.</p></body></html>"
    verdict = detect_wall(shouting)
    assert verdict is not None and verdict.kind == "rate_limit"
    for path in WALLS + PAGES:
        html = path.read_text(encoding="utf-8")
        assert detect_wall(root=Selector(text=html).root) == detect_wall(html), path.name


def _config(folder: Path, site: HostileSite, extra: str = "", politeness: str = "") -> Path:
    path = folder / "netpatrol.yml"
    path.write_text(f"""
store: {{path: data/np.db}}
allowed_networks: ["127.0.0.0/8"]
targets:
  - name: hostile
    type: site
    start_urls: ["{site.base_url}/"]
    follow: ["."]
    robots: ignore
    max_pages: 100
    max_depth: 30
    politeness: {{concurrency: 2, autothrottle: false, retries: 0, timeout: 5{politeness}}}
{extra}""", encoding="utf-8")
    return path


def _sets(values: dict) -> list[str]:
    return [arg for name, value in values.items() for arg in ("-s", f"{name}={json.dumps(value)}")]


def _run(config: Path) -> tuple[dict, dict]:
    db = sqlite3.connect(config.parent / "data" / "np.db")
    status, pages, errors, hits, stats = db.execute("SELECT status, pages, errors, hits, stats FROM runs").fetchone()
    return {"status": status, "pages": pages, "errors": errors, "hits": hits}, json.loads(stats)


def test_a_link_to_a_captcha_no_longer_kills_the_crawl(cli, tmp_path: Path) -> None:
    with HostileSite() as site:
        config = _config(tmp_path, site)
        result = cli("run", "--config", str(config), "--progress", "off", *_sets({"NETPATROL_BACKOFF_BASE_SECONDS": 0.2}))
        assert result.code == 0, result.stderr
        fetched = site.paths()
    run, stats = _run(config)
    # index + 5 items + 20 benign pages are read; the wall and the junk are counted, not read.
    assert run["pages"] == 26 and run["hits"] == 5, (run, stats)
    assert run["status"] == "completed"
    assert stats["netpatrol/walls/captcha"] == 1 and stats["netpatrol/fetch/errors/blocked"] == 1
    assert stats["netpatrol/fetch/skipped/non_text"] == 1
    # The CAPTCHA page was retried twice later in the run (the default), then given up as lost to walls.
    assert fetched.count("/captcha") == 3 and stats["netpatrol/walls/lost"] == 1
    assert "netpatrol/match/hits/page" in stats and stats["netpatrol/match/hits/page"] == 5
    # Neither a wall's links nor links inside junk are followed.
    assert "/behind-wall" not in fetched and "/behind-junk" not in fetched
    hits = cli("hits", "--config", str(config), "--format", "json").json()
    assert sorted(h["url"].rsplit("/", 2)[-2] + "/" + h["url"].rsplit("/", 1)[-1] for h in hits) == [
        f"item/{n}" for n in range(1, 6)]


def test_a_walling_host_is_backed_off_and_retried_later(cli, tmp_path: Path) -> None:
    # 6 requests per 2 s, then a "访问过于频繁" page: the crawl backs off and still reads every page.
    with HostileSite(limit=6, window=2.0, hostile=False) as site:
        config = _config(tmp_path, site, politeness="")
        result = cli("run", "--config", str(config), "--progress", "off", *_sets({"NETPATROL_BACKOFF_BASE_SECONDS": 2.0, "NETPATROL_WALL_RETRIES": 4}))
        assert result.code == 0, result.stderr
        walled = list(site.walled)
        fetched = site.paths()
    run, stats = _run(config)
    assert walled, "the fixture never walled: the test proves nothing"
    assert stats["netpatrol/walls/seen"] == len(walled)
    assert stats["netpatrol/backoff/retried"] == len(walled)
    assert stats.get("netpatrol/walls/lost", 0) == 0
    assert stats["netpatrol/walls/recovered"] >= 1
    assert run["pages"] == 26 and run["hits"] == 5 and run["status"] == "completed", (run, stats)
    for path in set(walled):
        assert fetched.count(path) >= 2  # walled, then fetched again later in the run


def test_a_host_that_keeps_walling_is_given_up_and_accounted(cli, tmp_path: Path) -> None:
    # Banned after 3 requests; 429 with a Retry-After of 1 s; two retries each, then the pages are lost.
    with HostileSite(limit=3, window=60.0, wall="429", retry_after=1, ban=True, hostile=False) as site:
        config = _config(tmp_path, site)
        result = cli("run", "--config", str(config), "--progress", "off", *_sets({"NETPATROL_WALL_RETRIES": 2}))
        assert result.code == 0, result.stderr
        walled = list(site.walled)
    run, stats = _run(config)
    lost = stats["netpatrol/walls/lost"]
    assert lost >= 1 and stats["netpatrol/walls/seen"] == len(walled) == 3 * lost
    assert stats["netpatrol/backoff/retried"] == 2 * lost
    assert stats["netpatrol/fetch/errors/blocked"] == lost
    assert run["status"] in ("partial", "failed") and run["errors"] == lost


def test_walls_slow_autothrottle_down(cli, tmp_path: Path) -> None:
    with HostileSite(limit=4, window=2.0, hostile=False) as site:
        config = _config(tmp_path, site).read_text().replace("autothrottle: false", "autothrottle: true")
        (tmp_path / "netpatrol.yml").write_text(config)
        result = cli("run", "--config", str(tmp_path / "netpatrol.yml"), "--progress", "off", *_sets({"NETPATROL_BACKOFF_BASE_SECONDS": 0.5, "NETPATROL_WALL_RETRIES": 5,
                                                   "AUTOTHROTTLE_MAX_DELAY": 0.5}))
        assert result.code == 0, result.stderr
        walled = list(site.walled)
    run, stats = _run(tmp_path / "netpatrol.yml")
    assert walled and stats["netpatrol/backoff/throttled"] == len(walled)
    assert run["hits"] == 5
