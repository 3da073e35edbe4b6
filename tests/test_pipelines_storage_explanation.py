"""Every stored hit carries its full explanation: rules, original spans, contexts, signals, score."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pipelines.items import PageItem
from pipelines.engine.matcher import Matcher
from pipelines.engine.rules import load_rules
from pipelines.storage import StoragePipeline
from pipelines.stores.base import Run, iso, utcnow
from pipelines.stores.sqlite.store import SQLiteStore


def test_explanation_is_stored_with_the_hit(tmp_path: Path) -> None:
    rules = tmp_path / "pack.yaml"
    rules.write_text(
        "contexts:\n  - {id: news, terms: [警方]}\n"
        "signals:\n  - {id: shipping, terms: [包邮], weight: 0.5}\n"
        "rules:\n  - {id: d.ice, category: drugs, any: [冰毒]}\n",
        encoding="utf-8",
    )
    matcher = Matcher(load_rules(rules))
    store = SQLiteStore(tmp_path / "np.db")
    store.start_run(Run(id="r1", target="t", kind="site", started_at=iso(utcnow()) or "", rules_version="v"))
    pipeline = StoragePipeline(store, "r1", "t", batch=10)
    text = "出 售 冰 毒，全国包邮"
    item = PageItem(url="http://shop.test/item/1", target="t", fetched_at=iso(utcnow()) or "", html="", title="",
                    text=text)
    item.match = matcher.match("", text)
    asyncio.run(pipeline.process_item(item))
    pipeline.close_spider()
    (hit,) = store.hits(["r1"])
    explanation = hit["explanation"]
    assert explanation["terms"] == {"d.ice": ["冰毒"]}
    assert explanation["matched"] is True and explanation["threshold"] == 1.0
    match = explanation["rules"][0]["matches"][0]
    assert (match["field"], match["text"]) == ("text", "冰 毒") and text[match["start"]:match["end"]] == "冰 毒"
    assert explanation["signals"][0]["id"] == "shipping"
    assert explanation["categories"]["drugs"]["score"] == 1.5
    assert "冰 毒" in hit["snippet"]
    store.close()
