"""The evasion suite: every transform of the labeled set keeps illegal items' verdict and category
(recall >= 0.97 x plain recall), and benign items wrapped in page templates stay benign (precision >= 0.97)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.engine.evaluate import evaluate_transforms, read_labeled
from pipelines.engine.matcher import Matcher
from pipelines.engine.rules import load_rules
from pipelines.engine.transforms import TRANSFORMS, phrasings, transformed

LABELED = Path(__file__).parent / "data" / "labeled.jsonl"


@pytest.fixture(scope="module")
def figures():  # type: ignore[no-untyped-def]
    return {f.name: f for f in evaluate_transforms(Matcher(load_rules()), read_labeled(LABELED))}


def test_at_least_30_phrasings_per_kind() -> None:
    for kind in ("footers", "compliance", "prefixes"):
        lines = phrasings(kind)
        assert len(lines) >= 30 and len(set(lines)) == len(lines), kind


def test_transforms_change_the_text() -> None:
    record = {"id": 1, "title": "代开发票 fp", "text": "专业代开各类发票，CASH ok", "label": "illegal", "category": "fraud"}
    out = {name: transformed([record], name)[0] for name in TRANSFORMS}
    assert out["plain"] == record
    assert out["traditional"]["text"] == "專業代開各類發票，CASH ok"
    assert out["fullwidth"]["text"].endswith("ＣＡＳＨ ｏｋ")
    assert out["separators"]["title"] == "代-开-发-票 fp"
    assert out["pinyin"]["title"] == "DKFP fp"
    assert out["footer"]["text"].startswith(record["text"] + "。") or out["footer"]["text"].startswith(record["text"] + "\n")
    assert out["template"]["text"].startswith("代开发票 fp\n") and "专业代开各类发票" in out["template"]["text"]
    assert "谨防诈骗" not in out["template"]["text"]  # the footer is chrome


def test_recall_holds_under_every_transform(figures) -> None:  # type: ignore[no-untyped-def]
    plain = figures["plain"].recall
    for name, f in figures.items():
        assert f.recall >= 0.97 * plain, (name, f.recall, [m.id for m in f.evaluation.false_negatives][:10])


def test_wrapped_benign_items_stay_benign(figures) -> None:  # type: ignore[no-untyped-def]
    assert figures["template"].precision >= 0.97
