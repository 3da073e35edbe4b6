"""The shipped rule pack on the shipped labeled set: the issue's targets, and the tricky cases by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.engine.evaluate import evaluate, read_labeled
from pipelines.engine.matcher import Matcher
from pipelines.engine.rules import CATEGORIES, load_rules

LABELED = Path(__file__).parent / "data" / "labeled.jsonl"


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_rules())


def test_labeled_set_is_large_and_balanced() -> None:
    records = read_labeled(LABELED)
    assert len(records) >= 300
    for category in CATEGORIES:
        for label in ("illegal", "benign"):
            assert sum(r["category"] == category and r["label"] == label for r in records) >= 15, (category, label)


def test_targets_on_the_labeled_set(matcher: Matcher) -> None:
    result = evaluate(matcher, read_labeled(LABELED))
    assert result.overall.precision >= 0.97, result.false_positives
    assert result.overall.recall >= 0.93, result.false_negatives
    for category, counts in result.by_category.items():
        assert counts.precision >= 0.90 and counts.recall >= 0.90, (category, counts)


def test_pack_uses_contexts_and_signals(matcher: Matcher) -> None:
    assert matcher.ruleset.contexts and matcher.ruleset.signals
    assert matcher.warnings == []  # every regex runs in Hyperscan


@pytest.mark.parametrize(
    ("title", "text", "category"),
    [
        ("真 人 百 家 乐 在 线 开 户", "注册送58元，充值秒到。薇信：bjl6688", "gambling"),  # spaced, contact variant
        ("網上賭場 線上百家樂 首存贈送100%", "全台最穩定的線上娛樂城，LINE：ag888tw", "gambling"),  # traditional
        ("Buy c0caine online – discreet shipping", "90% purity, stealth shipping, no ID needed. Wickr: snowman99", "drugs"),
        ("代-开-发-票 可验证", "全国可查，当天出票，威信：fp8899", "fraud"),
    ],
)
def test_obfuscated_and_traditional_listings_are_hits(matcher: Matcher, title: str, text: str, category: str) -> None:
    result = matcher.match(title, text)
    assert category in result.categories, result.explanation


@pytest.mark.parametrize(
    ("title", "text"),
    [
        ("市公安局破获一起特大跨境网络赌博案", "警方抓获犯罪嫌疑人46名，涉案资金2亿余元。警方提醒广大市民远离网络赌博。"),
        ("反诈中心提醒：警惕代开发票骗局", "有不法分子以代开发票为名实施诈骗，切勿轻信。"),
        ("Police arrest DDoS-for-hire operators", "Authorities arrested four men who ran a DDoS-for-hire service."),
        ("德国进口厨房刀具套装", "不锈钢主厨刀、切片刀、面包刀，满199包邮。"),
    ],
)
def test_reports_and_legal_goods_are_not_hits(matcher: Matcher, title: str, text: str) -> None:
    result = matcher.match(title, text)
    assert not result.matched, result.explanation
