"""The document archive: every examined page and result kept once, text compressed, old text pruned."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pipelines.items import PageItem, ResultItem
from pipelines.archive import DocumentArchivePipeline
from pipelines.engine.matcher import MatchResult
from pipelines.stores.base import Run
from pipelines.stores.sqlite.store import SQLiteStore
from pipelines.stores.tracking import pack_text, unpack_text

NO = MatchResult(False, [], [], 0.0)
YES = MatchResult(True, ["gambling"], ["gambling.online"], 1.0)


def test_pack_text_round_trip() -> None:
    assert unpack_text(pack_text("标题\x01", "正文 text\n第二行")) == ("标题\x01", "正文 text\n第二行")


def _store(tmp_path: Path, *run_ids_and_starts: tuple[str, str]) -> SQLiteStore:
    store = SQLiteStore(tmp_path / "s.db")
    for run_id, started in run_ids_and_starts:
        store.start_run(Run(id=run_id, target="t", kind="site", started_at=started, rules_version="v"))
    return store


def test_every_page_and_result_is_kept_once(tmp_path: Path) -> None:
    store = _store(tmp_path, ("r1", "2026-01-01T00:00:00.000000Z"))
    archive = DocumentArchivePipeline(store, "r1", "t", keep_text=True, retention_days=None, batch=2)
    items = [
        PageItem(url="http://a.example/1", target="t", fetched_at="2026-01-01T00:00:01.000000Z", html="", title="T1",
                 text="网络赌博", match=YES),
        PageItem(url="http://a.example/2#x", target="t", fetched_at="2026-01-01T00:00:02.000000Z", html="", title="T2",
                 text="benign", match=NO),
        ResultItem(url="http://a.example/1", target="t", fetched_at="2026-01-01T00:00:03.000000Z", query="q1", rank=1,
                   title="T1", text="snippet", match=YES),
        ResultItem(url="http://a.example/1", target="t", fetched_at="2026-01-01T00:00:03.000000Z", query="q2", rank=4,
                   title="T1", text="snippet", match=YES),
    ]
    for item in items + items[:1]:  # a replayed page is not kept twice
        asyncio.run(archive.process_item(item))
    archive.close_spider()
    docs = store.documents(["r1"], with_text=True)
    assert [(d.kind, d.canonical_url, d.query, d.rank, d.matched, d.categories) for d in docs] == [
        ("page", "http://a.example/1", None, None, True, ["gambling"]),
        ("page", "http://a.example/2", None, None, False, []),
        ("result", "http://a.example/1", "q1", 1, True, ["gambling"]),
        ("result", "http://a.example/1", "q2", 4, True, ["gambling"]),
    ]
    assert unpack_text(docs[1].text_z or b"") == ("T2", "benign")
    assert all(d.text_z is None for d in store.documents(["r1"]))  # text only when asked for


def test_keep_text_off_and_retention(tmp_path: Path) -> None:
    store = _store(tmp_path, ("old", "2020-01-01T00:00:00.000000Z"), ("new", "2999-01-01T00:00:00.000000Z"))
    page = PageItem(url="http://a.example/1", target="t", fetched_at="2020-01-01T00:00:01.000000Z", html="",
                    title="T", text="x", match=NO)
    keep = DocumentArchivePipeline(store, "old", "t", retention_days=None)
    asyncio.run(keep.process_item(page))
    keep.close_spider()
    no_text = DocumentArchivePipeline(store, "new", "t", keep_text=False, retention_days=None)
    asyncio.run(no_text.process_item(page))
    no_text.close_spider()
    assert store.documents(["new"], with_text=True)[0].text_z is None
    assert store.documents(["old"], with_text=True)[0].text_z is not None
    pruning = DocumentArchivePipeline(store, "new", "t", retention_days=30)
    pruning.close_spider()  # the 2020 run is older than 30 days: its text goes, its row stays
    old = store.documents(["old"], with_text=True)
    assert len(old) == 1 and old[0].text_z is None
