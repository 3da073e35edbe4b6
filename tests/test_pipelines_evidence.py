"""Evidence of hits (pipelines/evidence.py): files named by hash, hashes of the content, kept with the observation."""

from __future__ import annotations

import asyncio
import gzip
import html
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any


from conftest import market_target

from crawler.demo.site import DemoSite
from crawler.cli.evidence import list_evidence, verify
from crawler.config.schema import load_config
from pipelines.items import PageItem, ResultItem
from pipelines.evidence import EvidenceKeeper, EvidencePipeline, read_evidence
from pipelines.stores.base import Evidence, Observation, Run
from pipelines.stores.sqlite.store import SQLiteStore

HTML = "<html><body><p>网络赌博 真人百家乐</p></body></html>".encode("gbk")  # as fetched: bytes, any charset
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


@dataclass
class Matched:
    matched: bool = True


def item(url: str = "http://market.test/item/1", **meta: object) -> PageItem:
    page = PageItem(url=url, target="market", fetched_at="2026-11-01T10:00:00.000000Z", html="", meta=dict(meta))
    page.match = Matched()
    return page


def process(pipeline: EvidencePipeline, value: object) -> object:
    return asyncio.run(pipeline.process_item(value))


def test_hits_keep_gzip_html_and_png_named_by_their_sha256(tmp_path: Path) -> None:
    pipeline = EvidencePipeline(EvidenceKeeper(tmp_path / "evidence" / "run-1", tmp_path))
    hit = item(html_body=HTML, fetched_at="2026-11-01T10:00:01.000000Z", screenshot=PNG,
               screenshot_at="2026-11-01T10:00:02.000000Z", rendered=True)
    process(pipeline, hit)
    page_html, png = hit.meta["evidence"]
    assert (page_html.kind, page_html.media_type, page_html.size) == ("html", "text/html", len(HTML))
    assert page_html.sha256 == hashlib.sha256(HTML).hexdigest() and page_html.fetched_at == "2026-11-01T10:00:01.000000Z"
    assert page_html.path == f"evidence/run-1/{page_html.sha256}.html.gz"
    assert gzip.decompress((tmp_path / page_html.path).read_bytes()) == HTML
    assert (png.kind, png.sha256, png.fetched_at) == ("screenshot", hashlib.sha256(PNG).hexdigest(), "2026-11-01T10:00:02.000000Z")
    assert (tmp_path / png.path).read_bytes() == PNG
    assert read_evidence(tmp_path / png.path, "screenshot") == PNG


def test_non_hits_duplicates_and_other_items_keep_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "evidence" / "run-1"
    pipeline = EvidencePipeline(EvidenceKeeper(folder, tmp_path))
    miss = item(html_body=HTML)
    miss.match = Matched(False)
    duplicate = item(html_body=HTML)
    duplicate.duplicate = True
    for value in (miss, duplicate, {"not": "an item"}):
        process(pipeline, value)
    assert not folder.exists()
    assert "evidence" not in miss.meta and "evidence" not in duplicate.meta


def test_one_results_page_is_written_once_for_all_its_hits(tmp_path: Path) -> None:
    pipeline = EvidencePipeline(EvidenceKeeper(tmp_path / "evidence" / "run-1", tmp_path))
    results = []
    for rank in (1, 2, 3):
        result = ResultItem(url=f"http://market.test/item/{rank}", target="s", fetched_at="2026-11-01T10:00:00.000000Z",
                            query="赌博", rank=rank, meta={"html_body": HTML, "screenshot": PNG})
        result.match = Matched()
        process(pipeline, result)
        results.append(result)
    assert len({tuple(e.sha256 for e in r.meta["evidence"]) for r in results}) == 1
    assert sorted(p.suffix for p in (tmp_path / "evidence" / "run-1").iterdir()) == [".gz", ".png"]


def test_sqlite_keeps_evidence_with_the_observation_and_lists_it(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "np.db")
    store.start_run(Run(id="run-1", target="market", kind="site", started_at="2026-11-01T10:00:00.000000Z",
                        rules_version="v1"))
    evidence = [
        Evidence("html", "evidence/run-1/aa.html.gz", "aa" * 32, 120, "2026-11-01T10:00:01.000000Z", "text/html"),
        Evidence("screenshot", "evidence/run-1/bb.png", "bb" * 32, 999, "2026-11-01T10:00:02.000000Z", "image/png"),
    ]
    observation = Observation(run_id="run-1", target="market", url="http://market.test/item/1?utm_source=x",
                              canonical_url="http://market.test/item/1", domain="market.test",
                              seen_at="2026-11-01T10:00:01.000000Z", kind="page", categories=["gambling"],
                              rules=["gambling.online-casino"], score=1.0, evidence=evidence)
    store.add_observations([observation])
    store.add_observations([observation])  # a replay changes nothing
    rows = store.evidence("http://market.test/item/1")
    assert [(r["kind"], r["sha256"], r["size"], r["run_id"], r["target"]) for r in rows] == [
        ("html", "aa" * 32, 120, "run-1", "market"),
        ("screenshot", "bb" * 32, 999, "run-1", "market"),
    ]
    assert store.evidence("http://market.test/item/1", run_id="other") == []
    store.close()


def test_verify_tells_a_changed_or_missing_file(tmp_path: Path) -> None:
    keeper = EvidenceKeeper(tmp_path / "evidence" / "run-1", tmp_path)
    kept = keeper.keep("html", HTML, "2026-11-01T10:00:00.000000Z")
    path = tmp_path / kept.path
    assert verify(path, "html", kept.sha256) == "ok"
    path.write_bytes(gzip.compress(HTML + b"<!-- edited -->"))
    assert verify(path, "html", kept.sha256) == "modified"
    path.write_bytes(b"not gzip at all")
    assert verify(path, "html", kept.sha256) == "modified"
    path.unlink()
    assert verify(path, "html", kept.sha256) == "missing"


def test_every_hit_of_a_plain_crawl_keeps_its_html_and_evidence_lists_it(
    cli: Any, make_config: Any, site: DemoSite, store_yaml: str
) -> None:
    config = make_config(f"""
        store: {store_yaml}
        allowed_networks: ["127.0.0.0/8"]
        targets:
          - {market_target(site.base_url, render="never")}
        """)
    assert cli("run", "--config", str(config), "--progress", "off").code == 0
    hits = cli("hits", "--config", str(config), "--format", "json").json()
    assert len(hits) >= 3
    loaded = load_config(config)
    for hit in hits:  # every hit, read as `netpatrol evidence` reads it (in process: one CLI start per hit is slow)
        (row,) = list_evidence(loaded, hit["url"])  # a plain page: its HTML, no screenshot
        assert (row["kind"], row["check"], row["run_id"]) == ("html", "ok", hit["run_id"])
        body = gzip.decompress(Path(row["file"]).read_bytes())
        assert hashlib.sha256(body).hexdigest() == row["sha256"]
        assert hit["title"] in html.unescape(body.decode("utf-8"))
    for hit in (hits[0], hits[len(hits) // 2], hits[-1]):  # and the command itself gives the same rows
        result = cli("evidence", hit["url"], "--config", str(config), "--format", "json")
        assert result.code == 0, result.stderr
        assert result.json() == list_evidence(loaded, hit["url"])
    result = cli("evidence", f"{site.base_url}/item/never-seen", "--config", str(config))
    assert result.code == 0 and "no evidence kept" in result.stdout
