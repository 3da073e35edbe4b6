"""The matcher: any/all/none/regex/weight semantics, thresholds, evasion, and agreement with a reference."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from pipelines.matcher import Matcher
from pipelines.normalize import normalize
from pipelines.rules import load_rules

PACK = """
category: gambling
rules:
  - id: g.casino
    any: [网络赌博, 百家乐, online casino]
    none: [警方, 抓获]
  - id: g.deposit
    any: [充值]
    all: [返水]
    weight: 0.5
  - id: g.signal
    regex: ['(?:微信|vx|qq)[:：]?\\s*\\d{5,}']
    weight: 0.5
  - id: f.invoice
    category: fraud
    any: [代开发票]
"""


@pytest.fixture(scope="module")
def matcher(tmp_path_factory: pytest.TempPathFactory) -> Matcher:
    path = Path(tmp_path_factory.mktemp("rules")) / "pack.yaml"
    path.write_text(PACK, encoding="utf-8")
    return Matcher(load_rules(path))


def test_any_term_fires(matcher: Matcher) -> None:
    result = matcher.match("真人百家乐", "")
    assert result.matched and result.categories == ["gambling"] and result.rules == ["g.casino"]
    assert result.score == 1.0


def test_obfuscated_and_traditional(matcher: Matcher) -> None:
    assert matcher.match("", "網 絡 賭 博 開戶").matched
    assert matcher.match("", "代-开-发-票 全国可查").categories == ["fraud"]
    assert matcher.match("", "ＯＮＬＩＮＥ ＣＡＳＩＮＯ").matched


def test_none_term_cancels(matcher: Matcher) -> None:
    assert not matcher.match("警方抓获网络赌博团伙", "").matched


def test_all_terms_and_weights_add_up(matcher: Matcher) -> None:
    weak = matcher.match("", "充值返水 优惠")
    assert not weak.matched and weak.score == 0.5
    strong = matcher.match("", "充值返水 加微信: 12345678")
    assert strong.matched and strong.rules == ["g.deposit", "g.signal"] and strong.score == 1.0
    assert not matcher.match("", "充值 优惠").matched  # `all` term missing


def test_threshold_is_per_category(matcher: Matcher) -> None:
    both = matcher.match("", "代开发票 百家乐")
    assert both.categories == ["fraud", "gambling"]


def test_snippet_shows_the_match(matcher: Matcher) -> None:
    text = "无关内容" * 50 + "百家乐真人荷官" + "无关内容" * 50
    result = matcher.match("", text)
    assert "百家乐" in result.snippet and len(result.snippet) <= 170


def test_agrees_with_naive_reference_on_random_text() -> None:
    rng = random.Random(7)
    alphabet = "赌博网络百家乐充值返水代开发票abcxyz 0123"
    terms = sorted({"".join(rng.choice(alphabet) for _ in range(rng.randint(2, 4))).strip() for _ in range(300)} - {""})
    terms = [t for t in terms if normalize(t).strip()]
    rules = "rules:\n" + "".join(f"  - {{id: r{i}, category: gambling, any: ['{t}']}}\n" for i, t in enumerate(terms))
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.yaml"
        path.write_text(rules, encoding="utf-8")
        m = Matcher(load_rules(path))
    for _ in range(200):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
        norm = normalize(text)
        expected = sorted(f"r{i}" for i, t in enumerate(terms) if normalize(t).strip() in norm)
        assert sorted(m.match("", text).rules) == expected, text
