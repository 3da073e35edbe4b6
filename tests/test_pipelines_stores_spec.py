"""The stores on their own: opened from a plain `StoreSpec` (no config file, no app, no CLI), and the Scrapy
settings that reach them through `pipelines.runtime` — a `NETPATROL_*` setting must really apply."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from es_support import count_docs, drop_prefix, es_url, fresh_prefix
from scrapy.exceptions import NotConfigured
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from crawler import settings as defaults
from pipelines.runtime import store_for, store_spec_from_settings
from pipelines.stores import StoreSpec, open_store
from pipelines.stores.base import Observation, Run, SearchTotal


def _observation(run_id: str, n: int, **extra: Any) -> Observation:
    url = f"https://shop.example/item/{n}"
    values: dict[str, Any] = dict(run_id=run_id, target="shop", url=url, canonical_url=url, domain="shop.example",
                                  seen_at=f"2026-11-01T10:00:0{n}.000000Z", kind="page", categories=["gambling"],
                                  rules=["gambling.x"], score=1.0, title=f"赌场 {n}")
    values.update(extra)
    return Observation(**values)


@pytest.fixture(params=["sqlite", pytest.param("elasticsearch", marks=pytest.mark.elasticsearch)])
def spec(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "sqlite":
        yield StoreSpec(path=tmp_path / "np.db")
        return

    url, prefix = es_url(), fresh_prefix()
    yield StoreSpec(backend="elasticsearch", url=url, index_prefix=prefix, path=tmp_path / "np.db", close_timeout=60)
    drop_prefix(url, prefix)


def test_a_store_from_a_spec_records_a_run(spec: StoreSpec) -> None:
    with open_store(spec) as store:
        store.start_run(Run(id="r1", target="shop", kind="site", started_at="2026-11-01T10:00:00.000000Z",
                            rules_version="v1"))
        store.add_observations([_observation("r1", 1), _observation("r1", 2), _observation("r1", 1)])  # a replay
        store.add_search_totals([SearchTotal("r1", "shop", "赌场", 1200, 10, 2, 1, "2026-11-01T10:00:05.000000Z")])
        finished = store.finish_run("r1", "completed", 12, 1, {"finish_reason": "finished"})
        assert (finished.status, finished.pages, finished.errors, finished.hits) == ("completed", 12, 1, 2)
    with open_store(spec) as store:  # a second connection reads what the first wrote
        (run,) = store.runs()
        assert (run.id, run.status, run.hits) == ("r1", "completed", 2)
        assert sorted(h["url"] for h in store.hits(["r1"])) == ["https://shop.example/item/1", "https://shop.example/item/2"]
        assert [(t.query, t.total) for t in store.search_totals(["r1"])] == [("赌场", 1200)]
        assert sorted((r.canonical_url, tuple(r.categories)) for r in store.hit_rows(["r1"])) == [
            ("https://shop.example/item/1", ("gambling",)), ("https://shop.example/item/2", ("gambling",))]


def test_the_spec_round_trips_through_scrapy_settings(tmp_path: Path) -> None:
    spec = StoreSpec(backend="elasticsearch", url="http://127.0.0.1:9", index_prefix="np", path=tmp_path / "np.db")
    assert StoreSpec.from_dict(spec.as_dict()) == spec
    with pytest.raises(ValueError, match="unknown store spec keys: nope"):
        StoreSpec.from_dict({"nope": 1})
    with pytest.raises(NotConfigured, match="NETPATROL_STORE is not set"):
        store_spec_from_settings(Settings())


def _crawler_settings(**overrides: Any) -> dict[str, Any]:
    """netpatrol's NETPATROL_* defaults (crawler/settings.py) with a run's overrides: what the store reads.

    (The app's extensions and reactor are left out: the test builds a crawler, it never crawls.)"""
    values = {name: getattr(defaults, name) for name in dir(defaults) if name.startswith("NETPATROL_")}
    values.update(overrides)
    return values


@pytest.mark.elasticsearch
def test_netpatrol_es_settings_reach_the_store(tmp_path: Path) -> None:
    url, prefix = es_url(), fresh_prefix()
    spec = StoreSpec(backend="elasticsearch", url=url, index_prefix=prefix, path=tmp_path / "np.db")
    crawler = get_crawler(settings_dict=_crawler_settings(
        NETPATROL_STORE=spec.as_dict(), NETPATROL_ES_BULK_DOCS=37, NETPATROL_ES_CLIENT_RETRIES=4,
        NETPATROL_ES_REQUEST_TIMEOUT=12.5, NETPATROL_ES_CLOSE_TIMEOUT=45.0))
    store = store_for(crawler)
    try:
        assert store is store_for(crawler)  # one connection per crawler
        assert store.bulk_docs == 37 and store.applier().chunk_size == 37  # documents per bulk request
        assert store.close_timeout == 45.0
        assert store.client._max_retries == 4 and store.client._request_timeout == 12.5  # the client's own settings
        store.start_run(Run(id="r1", target="shop", kind="site", started_at="2026-11-01T10:00:00.000000Z",
                            rules_version="v1"))
        store.add_observations([_observation("r1", n) for n in range(1, 9)])
        store.finish_run("r1", "completed", 8, 0, {})
    finally:
        store.close()
    assert count_docs(url, f"{prefix}-observations-*") == 8
    drop_prefix(url, prefix)


def test_the_defaults_apply_when_a_run_sets_none(tmp_path: Path) -> None:
    spec = StoreSpec(backend="elasticsearch", url="http://127.0.0.1:9", index_prefix="np", path=tmp_path / "np.db")
    applied = store_spec_from_settings(Settings(_crawler_settings(NETPATROL_STORE=spec.as_dict())))
    assert (applied.bulk_docs, applied.client_retries, applied.request_timeout, applied.close_timeout) == (
        defaults.NETPATROL_ES_BULK_DOCS, defaults.NETPATROL_ES_CLIENT_RETRIES, defaults.NETPATROL_ES_REQUEST_TIMEOUT,
        defaults.NETPATROL_ES_CLOSE_TIMEOUT)
