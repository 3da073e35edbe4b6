"""The matcher: any/all/none/regex/weight semantics, thresholds, evasion, and agreement with a reference."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from pipelines.engine.matcher import Matcher
from pipelines.engine.normalize import normalize
from pipelines.engine.rules import load_rules

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
        expected = sorted(f"r{i}" for i, t in enumerate(terms)
                          if any(_reference(v).search(norm) for v in _variants(normalize(t).strip())))
        assert sorted(m.match("", text).rules) == expected, text


def _variants(term: str) -> set[str]:
    """A multi-word term also matches with its words run together ('online-casino', 'onlinecasino')."""
    return {term, term.replace(" ", "")}


def _reference(term: str) -> "re.Pattern[str]":
    """Latin terms match whole words and numbers (plus a plural s/es); Chinese terms match anywhere."""
    def edge(ch: str) -> str:
        return "[a-z]" if ch.isalpha() and ch.isascii() else "[0-9]" if ch.isdigit() else ""

    left, right = edge(term[0]), edge(term[-1])
    pattern = (f"(?<!{left})" if left else "") + re.escape(term)
    if right == "[a-z]":
        pattern += "(?:s|es)?(?![a-z])"
    elif right:
        pattern += f"(?!{right})"
    return re.compile(pattern)


FEATURES = """
category: gambling
contexts:
  - id: enforcement
    terms: [警方, 打击, 抓获, arrested, crackdown, 谨防]
    window: 6
signals:
  - id: contact
    regex: ['(?:微信|qq|telegram)\\s*[:：]?\\s*[a-z0-9_]{5,}']
    weight: 0.5
  - id: reporting
    terms: [记者, 据报道, reported]
    weight: -1
rules:
  - id: g.casino
    any: [网络赌博, online casino, casino*]
  - id: g.near
    near: {terms: [充值], with: [返水, 彩金], window: 3}
  - id: g.weak
    any: [赌场]
    min_score: 1.5
  - id: g.url
    any: [bet365]
    fields: [url]
  - id: g.nocontext
    any: [百家乐]
    contexts: []
  - id: d.gun
    category: dangerous_goods
    any: [gun]
"""


@pytest.fixture(scope="module")
def features(tmp_path_factory: pytest.TempPathFactory) -> Matcher:
    path = Path(tmp_path_factory.mktemp("rules")) / "pack.yaml"
    path.write_text(FEATURES, encoding="utf-8")
    return Matcher(load_rules(path))


def test_context_cancels_news_but_not_the_offer(features: Matcher) -> None:
    offer = features.match("网络赌博平台 注册就送", "")
    assert offer.matched and offer.rules == ["g.casino"]
    news = features.match("警方打击网络赌博 抓获12人", "")
    assert not news.matched
    rule = next(r for r in news.explanation["rules"] if r["id"] == "g.casino")
    assert rule["reason"] == "every occurrence stands near a context word"
    # The one occurrence, cancelled by the first context word of the window (警方 at 0, before 打击 at 2).
    assert rule["cancelled"] == [{"term": "网络赌博", "field": "title", "start": 4, "end": 8, "text": "网络赌博",
                                  "context": "enforcement",
                                  "by": {"term": "警方", "field": "title", "start": 0, "end": 2, "text": "警方"}}]
    # A mention far from any context word still counts.
    assert features.match("", "警方打击" + "。" * 3 + "今天天气很好我们去公园散步吧然后回家" + "网络赌博平台").matched
    # The title is the page's headline: a reporting word there holds back the whole page.
    assert not features.match("警方打击", "今天天气很好我们去公园散步吧然后回家。网络赌博平台").matched


def test_signals_raise_and_reporting_lowers_the_score(features: Matcher) -> None:
    plain = features.match("", "网络赌博平台")
    assert plain.score == 1.0
    listing = features.match("", "网络赌博平台 加微信: abc12345")
    assert listing.matched and listing.score == 1.5
    assert [s["id"] for s in listing.explanation["signals"]] == ["contact"]
    report = features.match("", "记者调查：网络赌博平台")
    assert not report.matched and report.score == 0.0


def test_min_score_needs_more_evidence(features: Matcher) -> None:
    assert not features.match("", "赌场").matched
    assert features.match("", "赌场 加微信: abc12345").matched


def test_near_pairs_within_the_window(features: Matcher) -> None:
    assert features.match("", "充值送返水").rules == ["g.near"]
    assert not features.match("", "充值之后很久很久很久以后才有返水").matched
    explained = features.match("", "充值送返水").explanation
    kinds = [m["kind"] for m in next(r for r in explained["rules"] if r["id"] == "g.near")["matches"]]
    assert kinds == ["near", "near-with"]


def test_fields_limit_where_a_rule_looks(features: Matcher) -> None:
    assert not features.match("bet365", "bet365").matched
    assert features.match("", "", url="https://bet365.example/").rules == ["g.url"]
    assert not features.match("", "", url="https://example.com/网络赌博").matched  # url is not a default field


def test_rule_can_opt_out_of_contexts(features: Matcher) -> None:
    assert features.match("警方 百家乐", "").rules == ["g.nocontext"]


def test_latin_terms_match_whole_words(features: Matcher) -> None:
    assert features.match("", "buy a gun here").matched
    assert features.match("", "guns for sale").matched  # plural
    assert not features.match("", "it has begun").matched
    assert not features.match("", "big unit").matched
    assert features.match("", "casinos online").matched  # casino* also matches casinos, casinoonline
    assert features.match("", "C 4 S I N O bonus").matched
    assert features.match("", "best online-casino").rules == ["g.casino"]


def test_explanation_shows_the_original_text(features: Matcher) -> None:
    result = features.match("真人", "最新 網 絡 賭 博 平台，加ＷＸ：abc12345")
    assert result.matched
    match = next(r for r in result.explanation["rules"] if r["id"] == "g.casino")["matches"][0]
    assert match["field"] == "text" and match["text"] == "網 絡 賭 博"
    text = "最新 網 絡 賭 博 平台，加ＷＸ：abc12345"
    assert text[match["start"]:match["end"]] == "網 絡 賭 博"
    signal = result.explanation["signals"][0]
    assert signal["id"] == "contact" and signal["text"] == "ＷＸ：abc12345"
    category = result.explanation["categories"]["gambling"]
    assert category == {"score": 1.5, "needed": 1.0, "hit": True, "rules": ["g.casino"],
                        "signals": [{"id": "contact", "weight": 0.5}]}
    assert "網 絡 賭 博" in result.snippet


def test_bad_input_is_bounded(features: Matcher) -> None:
    garbage = bytes(range(256)).decode("latin-1") * 1000 + "\ud800" + "网络赌博"
    assert features.match("", garbage).matched
    big = ("无关内容 unrelated words " * 400_000) + "网络赌博"  # ~ 14 MB
    result = features.match("", big)
    assert result.matched and "网络赌博" in result.snippet


def test_catastrophic_regex_is_run_by_hyperscan(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("rules:\n  - {id: r, category: fraud, regex: ['(a+)+$']}\n", encoding="utf-8")
    matcher = Matcher(load_rules(path))
    assert matcher.warnings == []
    assert not matcher.match("", "a" * 50_000 + "!").matched  # linear time in Hyperscan, no backtracking
    assert matcher.match("", "xx aaaa").matched


def test_unsupported_regex_falls_back_with_a_time_bound(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("rules:\n  - {id: r, category: fraud, regex: ['(?<![a-z])(a|aa)+\\1$']}\n", encoding="utf-8")
    matcher = Matcher(load_rules(path), regex_timeout=0.05)
    assert "rule r" in matcher.warnings[0] and "runs in Python" in matcher.warnings[0]
    result = matcher.match("", "a" * 5000 + "!")
    assert not result.matched
    assert matcher.match("", "x aa").matched


def test_code_like_terms_whose_digits_fold_are_warned_about(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("rules:\n  - {id: d, category: drugs, any: ['3-mmc', 'c4sino', '0day', '冰毒']}\n", encoding="utf-8")
    matcher = Matcher(load_rules(path))
    assert len(matcher.warnings) == 1 and "rule d: term '3-mmc' is compared as 'emmc'" in matcher.warnings[0]
    assert matcher.match("", "平板 64GB eMMC 存储").matched  # what the warning is about: the code also matches eMMC
    assert Matcher(load_rules()).warnings == []  # the shipped pack writes such codes as regexes
