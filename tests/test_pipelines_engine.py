"""Engine parts without a matcher around them: visible text of HTML, the regex engine, explanations as text.

(The matcher, normalization, rules, evaluation and the Hyperscan cache have their own test files.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.engine.explain import render_text
from pipelines.engine.html_text import visible_text
from pipelines.engine.matcher import Matcher
from pipelines.engine.regexes import RegexEngine, RegexSource
from pipelines.engine.rules import load_rules
from pipelines.errors import ConfigError

PACK = """
rules:
  - id: g.casino
    category: gambling
    any: [网络赌博]
    none: [警方]
  - id: d.phone
    category: drugs
    any: [冰毒]
"""


def test_visible_text_leaves_out_what_a_reader_never_sees() -> None:
    html = ("<html><head><title> 网络 赌博 </title><style>.x{}</style></head><body><h1>标题</h1>"
            "<script>var hidden = '冰毒';</script><noscript>不可见</noscript><template>模板</template>"
            "<p>第一段\u3000文字</p>\n\n\n<div>第二段<svg><text>图形</text></svg></div></body></html>")
    assert visible_text(html) == ("网络 赌博", "标题\n第一段 文字\n第二段")
    assert visible_text("<html><body><h1>只有标题</h1><p>正文</p></body></html>") == ("只有标题", "只有标题\n正文")
    assert visible_text("   ") == ("", "")
    assert visible_text("<p>断开的 <b>标记") == ("", "断开的\n标记")  # broken markup is repaired, not fatal


def test_regexes_run_in_hyperscan_or_a_bounded_python_fallback() -> None:
    engine = RegexEngine([RegexSource(r"微信\s*\d{6}", "rule a"), RegexSource(r"(?<!不)出售", "rule b"),
                          RegexSource(r"微信\s*\d{6}", "signal c")])
    assert list(engine.python) == [1]  # only the lookbehind needs Python
    assert engine.warnings == ["rule b: regex '(?<!不)出售' runs in Python, at most 50 ms a field"
                               " (Hyperscan: lookarounds, \\b and backreferences are not supported)"]
    plain = "出售 微信 123456"
    found, problems = engine.scan(plain, plain.encode("utf-8"))
    assert problems == [] and sorted(found) == [0, 1, 2]  # the shared pattern is reported under both owners
    assert found[0] == found[2] == len(plain.encode("utf-8"))
    assert engine.span(0, plain, len(plain)) == (3, len(plain))
    not_sold = "不出售"
    assert engine.scan(not_sold, not_sold.encode("utf-8"))[0] == {}
    with pytest.raises(ConfigError, match=r"rule x: regex '\(\?<=\[' cannot be compiled"):
        RegexEngine([RegexSource("(?<=[", "rule x")])


def test_an_explanation_reads_as_lines(tmp_path: Path) -> None:
    path = tmp_path / "pack.yaml"
    path.write_text(PACK, encoding="utf-8")
    matcher = Matcher(load_rules(path))
    # Only rules with something found are explained; a rule that found nothing is simply absent.
    assert render_text(matcher.match("出售冰毒 微信 abc1234", "").explanation) == [
        "rule d.phone (drugs, weight 1): FIRED",
        "  any       '冰毒' in title[2:4] = '冰毒'",
        "drugs: score 1 / needed 1 -> HIT  [d.phone]",
    ]
    assert render_text(matcher.match("警方打击网络赌博", "").explanation) == [
        "rule g.casino (gambling, weight 1): not fired: a `none` term occurs in the sentence of every occurrence",
        "  any       '网络赌博' in title[4:8] = '网络赌博', blocked:",
        "  blocked   by `none` term '警方' in title[0:2] = '警方'",
        "no rule fired: score 0 / threshold 1 -> no hit",
    ]
    assert render_text(matcher.match("警方打击网络赌博", "").explanation, only_rule="d.phone") == []
