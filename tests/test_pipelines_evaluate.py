"""`netpatrol rules eval`: precision, recall and F1 overall and per category, with FP/FN listed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.errors import UsageError
from pipelines.engine.evaluate import evaluate, read_labeled
from pipelines.engine.matcher import Matcher
from pipelines.engine.rules import load_rules

PACK = """
contexts:
  - {id: news, terms: [警方, 抓获]}
rules:
  - {id: g.casino, category: gambling, any: [网络赌博]}
  - {id: f.invoice, category: fraud, any: [代开发票]}
"""
LABELED = [
    {"id": 1, "title": "网络赌博平台", "text": "", "label": "illegal", "category": "gambling"},  # TP
    {"id": 2, "title": "警方抓获网络赌博团伙", "text": "", "label": "benign", "category": "gambling"},  # TN
    {"id": 3, "title": "真人百家乐", "text": "", "label": "illegal", "category": "gambling"},  # FN
    {"id": 4, "title": "代开发票 网络赌博", "text": "", "label": "illegal", "category": "fraud"},  # TP fraud, FP gambling
    {"id": 5, "title": "如何识别代开发票骗局", "text": "", "label": "benign", "category": "fraud"},  # FP fraud
]


def _write(tmp_path: Path) -> tuple[Path, Path]:
    rules = tmp_path / "pack.yaml"
    rules.write_text(PACK, encoding="utf-8")
    labeled = tmp_path / "labeled.jsonl"
    labeled.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in LABELED) + "\n", encoding="utf-8")
    return rules, labeled


def test_figures(tmp_path: Path) -> None:
    rules, labeled = _write(tmp_path)
    result = evaluate(Matcher(load_rules(rules)), read_labeled(labeled))
    assert result.items == 5
    assert (result.overall.tp, result.overall.fp, result.overall.fn) == (2, 1, 1)
    gambling, fraud = result.by_category["gambling"], result.by_category["fraud"]
    assert (gambling.tp, gambling.fp, gambling.fn) == (1, 1, 1)
    assert (fraud.tp, fraud.fp, fraud.fn) == (1, 1, 0)
    assert fraud.precision == 0.5 and fraud.recall == 1.0 and round(fraud.f1, 4) == 0.6667
    assert sorted(m.id for m in result.false_positives) == [4, 5]
    assert [m.id for m in result.false_negatives] == [3]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": 1, "text": "x", "label": "bad", "category": "fraud"}', "`label` must be one of illegal, benign"),
        ('{"id": 1, "text": "x", "label": "benign", "category": "nope"}', "`category` must be one of"),
        ("not json", "invalid JSON line"),
    ],
)
def test_bad_labeled_lines(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "l.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(UsageError) as info:
        read_labeled(path)
    assert message in str(info.value) and f"{path}:1" in str(info.value)


def test_cli_rules_eval(cli, tmp_path: Path) -> None:
    rules, labeled = _write(tmp_path)
    text = cli("rules", "eval", "--labeled", str(labeled), "--rules", str(rules))
    assert text.code == 0, text.stderr
    assert "overall" in text.stdout and "false negatives (1)" in text.stdout and "真人百家乐" in text.stdout
    data = cli("rules", "eval", "--labeled", str(labeled), "--rules", str(rules), "--format", "json").json()
    assert data["overall"] == {"tp": 2, "fp": 1, "fn": 1, "precision": 0.6667, "recall": 0.6667, "f1": 0.6667}
    bad = cli("rules", "eval", "--labeled", str(tmp_path / "missing.jsonl"), "--rules", str(rules))
    assert bad.code == 2 and "cannot read" in bad.stderr and "Traceback" not in bad.stderr
