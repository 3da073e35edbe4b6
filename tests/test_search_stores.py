"""Both stores record what search engines add: the ad flag, the engine's risk label, the wrapped URL beside the
landing URL, and lost result pages per query; an ad and an organic result of one landing page are two slots."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from es_support import drop_prefix, es_store_yaml, es_url, fresh_prefix

from crawler.config.schema import load_config
from crawler.config.stores import open_store
from pipelines.stores.base import Observation, Run, SearchTotal
from pipelines.stores.sqlite.store import SQLiteStore
from pipelines.stores.tracking import Document

LANDING = "http://casino.example/a"
WRAPPED = "https://www.baidu.com/link?url=abc"


def _write(store: Any) -> list[Any]:
    started = "2026-11-03T08:00:00.000000Z"
    store.start_run(Run(id="r1", target="engine", kind="search", started_at=started, rules_version="v1", host="x", pid=1))
    store.add_observations([Observation("r1", "engine", LANDING, LANDING, "casino.example", started, "result",
                                        ["gambling"], ["g"], 2.0, "t", "s", "赌博", 1, ad=True, risk="风险提示",
                                        wrapped_url=WRAPPED)])
    store.add_documents([
        Document(run_id="r1", target="engine", kind="result", url=LANDING, canonical_url=LANDING,
                 domain="casino.example", fetched_at=started, matched=True, query="赌博", rank=1, ad=ad,
                 risk="风险提示" if ad else None, wrapped_url=WRAPPED)
        for ad in (False, True)])
    store.add_search_totals([SearchTotal("r1", "engine", "赌博", 1230, 1, 1, 1, started, ads=1),
                             SearchTotal("r1", "engine", "发票", None, 0, 0, 0, started, lost=2,
                                         lost_reasons=["blocked", "truncated"])])
    store.finish_run("r1", "completed", 1, 2, {})
    hits = [{k: h[k] for k in ("url", "ad", "risk", "wrapped_url")} for h in store.hits(["r1"])]
    return [hits, store.documents(["r1"]), store.search_totals(["r1"])]


@pytest.mark.elasticsearch
def test_search_fields_read_back_the_same_from_both_stores(make_config: Any) -> None:
    url, prefix = es_url(), fresh_prefix()
    try:
        answers = {}
        for name, body in (("sqlite", "store: {path: data/np.db}\n"), ("es", f"store: {es_store_yaml(url, prefix)}\n")):
            with open_store(load_config(make_config(body, name=f"{name}.yml"))) as store:
                answers[name] = _write(store)
        assert answers["es"] == answers["sqlite"]
        hits, docs, totals = answers["sqlite"]
        assert hits == [{"url": LANDING, "ad": True, "risk": "风险提示", "wrapped_url": WRAPPED}]
        assert [(d.ad, d.rank, d.url, d.wrapped_url) for d in docs] == [(False, 1, LANDING, WRAPPED), (True, 1, LANDING, WRAPPED)]
        assert sorted((t.query, t.lost, t.lost_reasons, t.ads) for t in totals) == [
            ("发票", 2, ["blocked", "truncated"], 0), ("赌博", 0, [], 1)]
    finally:
        drop_prefix(url, prefix)


def test_an_older_sqlite_store_gains_the_new_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:  # the search_totals table as the first release created it
        db.execute("CREATE TABLE search_totals (run_id TEXT NOT NULL, query TEXT NOT NULL, target TEXT NOT NULL,"
                   " total INTEGER, results INTEGER NOT NULL, matched INTEGER NOT NULL, pages INTEGER NOT NULL,"
                   " recorded_at TEXT NOT NULL, PRIMARY KEY (run_id, query))")
        db.execute("INSERT INTO search_totals VALUES ('old', '赌博', 'engine', 5, 3, 1, 1, '2026-01-01T00:00:00.000000Z')")
    store = SQLiteStore(path)
    try:
        (old,) = store.search_totals(["old"])
        assert (old.query, old.lost, old.lost_reasons, old.ads) == ("赌博", 0, [], 0)
    finally:
        store.close()
