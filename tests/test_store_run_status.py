"""`Store.set_run_status`: the scheduler overrules a finished run's status (timeout, killed child) — every backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crawler.config.schema import load_config
from crawler.config.stores import open_store
from pipelines.stores.base import Observation, Run


@pytest.fixture
def config(store_yaml: str, make_config: Any) -> Path:
    """A config on either store (the `store_yaml` fixture runs every test against SQLite and Elasticsearch)."""
    return make_config(f"store: {store_yaml}\ntargets:\n  - {{name: shop, type: site, start_urls: ['https://shop.example/']}}\n")


def observation(run_id: str, n: int) -> Observation:
    url = f"https://shop.example/item/{n}"
    return Observation(run_id=run_id, target="shop", url=url, canonical_url=url, domain="shop.example",
                       seen_at="2026-11-01T10:00:01.000000Z", kind="page", categories=["gambling"],
                       rules=["gambling.x"], score=1.0)


def test_set_run_status_keeps_figures_and_merges_stats(config: Path) -> None:
    loaded = load_config(config)
    with open_store(loaded) as store:
        store.start_run(Run(id="r1", target="shop", kind="site", started_at="2026-11-01T10:00:00.000000Z",
                            rules_version="v1"))
        store.add_observations([observation("r1", 1), observation("r1", 2)])
        finished = store.finish_run("r1", "interrupted", 7, 1, {"finish_reason": "shutdown"})
        store.start_run(Run(id="r2", target="shop", kind="site", started_at="2026-11-01T11:00:00.000000Z",
                            rules_version="v1"))
        changed = store.set_run_status("r1", "timeout", {"netpatrol/scheduler/timeout_seconds": 60.0})
        killed = store.set_run_status("r2", "interrupted", {"netpatrol/scheduler/exit_code": -9})
        assert store.set_run_status("nope", "timeout") is None
        with pytest.raises(ValueError, match="not a finished run's status: 'running'"):
            store.set_run_status("r1", "running")
    assert changed is not None and killed is not None
    assert (changed.status, changed.pages, changed.errors, changed.hits) == ("timeout", 7, 1, 2)
    assert changed.finished_at == finished.finished_at  # the crawl's own end time is kept
    assert changed.stats == {"finish_reason": "shutdown", "netpatrol/scheduler/timeout_seconds": 60.0}
    assert killed.status == "interrupted" and killed.finished_at is not None  # never finished: now it has an end

    with open_store(loaded) as store:  # what another process reads back
        runs = {r.id: r for r in store.runs()}
    assert runs["r1"].status == "timeout" and runs["r1"].hits == 2 and runs["r1"].finished_at == finished.finished_at
    assert runs["r1"].stats["netpatrol/scheduler/timeout_seconds"] == 60.0
    assert runs["r2"].status == "interrupted" and runs["r2"].stats == {"netpatrol/scheduler/exit_code": -9}
