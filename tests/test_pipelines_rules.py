"""Rule packs: loading, validation messages (file, path, rule id, problem) and the version hash."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.errors import ConfigError
from pipelines.engine.rules import CATEGORIES, default_rules_path, load_rules


def _write(tmp_path: Path, body: str, name: str = "pack.yaml") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def _error(tmp_path: Path, body: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_rules(_write(tmp_path, body))
    return str(info.value)


def test_default_pack_covers_every_category() -> None:
    ruleset = load_rules()
    counts = ruleset.by_category()
    assert set(counts) == set(CATEGORIES)
    assert all(counts[c] > 0 for c in CATEGORIES), counts
    assert default_rules_path().is_dir()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("rules:\n  - {id: a, category: gambling, any: [x], regex: ['(bad']}\n",
         "rules[0].regex: invalid regex '(bad'"),
        ("rules:\n  - {id: a, category: casino, any: [x]}\n", "rules[0].category: unknown category 'casino'"),
        ("rules:\n  - {id: a, category: gambling, any: [x]}\n  - {id: a, category: fraud, any: [y]}\n",
         "rules[1].id: duplicate rule id 'a'"),
        ("rules:\n  - {id: a, category: gambling, any: [' ']}\n", "would match everything"),
        ("rules:\n  - {id: a, category: gambling, regex: ['x*']}\n", "matches the empty string"),
        ("rules:\n  - {id: a, category: gambling, regex: ['[\\s\\S]']}\n", "matches any single character"),
        ("rules:\n  - {id: a, category: gambling, any: [x], colour: red}\n", "rules[0].colour: unknown field"),
        ("rules:\n  - {id: a, category: gambling}\n", "needs at least one `any` term, `regex` or `near`"),
        ("rules:\n  - {id: a, category: gambling, near: {terms: [x]}}\n", "rules[0].near[0].with: required field is missing"),
        ("rules:\n  - {id: a, category: gambling, any: [x], fields: [body]}\n", "rules[0].fields[0]"),
        ("rules:\n  - {id: a, category: gambling, any: ['*']}\n", "would match everything"),
        ("signals:\n  - {id: s, terms: [x], weight: 0}\n", "signals[0]: signal 's' has weight 0"),
        ("signals:\n  - {id: s, weight: 1}\n", "needs `terms` or `regex`"),
        ("contexts:\n  - {id: c, terms: []}\n", "contexts[0].terms: List should have at least 1 item"),
        ("contexts:\n  - {id: c, terms: [x], categories: [casino]}\n", "unknown category 'casino'"),
        ("category: gambling\n", "a rule file needs `rules`, `contexts` or `signals`"),
        ("rules: []\n", "rules: List should have at least 1 item"),
    ],
)
def test_invalid_rules(tmp_path: Path, body: str, expected: str) -> None:
    message = _error(tmp_path, body)
    assert expected in message, message
    assert message.startswith(str(tmp_path / "pack.yaml"))


def test_rule_id_named_in_error(tmp_path: Path) -> None:
    message = _error(tmp_path, "rules:\n  - {id: g.casino, category: gambling, any: [x], regex: ['(bad']}\n")
    assert "[rule g.casino]" in message


def test_file_category_is_the_default(tmp_path: Path) -> None:
    ruleset = load_rules(_write(tmp_path, "category: drugs\nrules:\n  - {id: a, any: [x]}\n"))
    assert ruleset.rules[0].category == "drugs"


def test_version_ignores_layout_and_changes_with_meaning(tmp_path: Path) -> None:
    a = load_rules(_write(tmp_path, "rules:\n  - {id: a, category: gambling, any: [赌博, X]}\n", "a.yaml"))
    b = load_rules(_write(tmp_path, "# comment\nrules:\n  - id: a\n    category: gambling\n    any: [x, 賭博]\n", "b.yaml"))
    c = load_rules(_write(tmp_path, "rules:\n  - {id: a, category: gambling, any: [赌博, x], weight: 2}\n", "c.yaml"))
    assert a.version == b.version
    assert a.version != c.version


def test_cli_rules_check(cli, tmp_path: Path) -> None:
    ok = cli("rules", "check")
    assert ok.code == 0, ok.stderr
    assert "gambling" in ok.stdout and "version" in ok.stdout
    bad = _write(tmp_path, "rules:\n  - {id: a, category: gambling, any: [x], regex: ['(bad']}\n")
    result = cli("rules", "check", str(bad))
    assert result.code == 2
    assert "Traceback" not in result.stderr
    assert "rules[0].regex" in result.stderr and "[rule a]" in result.stderr


def test_unknown_context_named_with_rule(tmp_path: Path) -> None:
    message = _error(tmp_path, "rules:\n  - {id: g.x, category: gambling, any: [x], contexts: [nope]}\n")
    assert "rule 'g.x': unknown context 'nope'" in message


def test_contexts_and_signals_take_the_file_category(tmp_path: Path) -> None:
    body = ("category: drugs\ncontexts:\n  - {id: c, terms: [警方]}\nsignals:\n  - {id: s, terms: [包邮]}\n"
            "rules:\n  - {id: a, any: [x], near: {terms: [y], with: [z], window: 3}}\n")
    ruleset = load_rules(_write(tmp_path, body))
    assert ruleset.contexts[0].categories == ["drugs"] and ruleset.signals[0].categories == ["drugs"]
    assert ruleset.rules[0].near[0].window == 3


def test_version_covers_new_keys(tmp_path: Path) -> None:
    base = "rules:\n  - {id: a, category: gambling, any: [x]%s}\n"
    plain = load_rules(_write(tmp_path, base % "", "a.yaml")).version
    versions = {plain}
    for extra in (", min_score: 2", ", fields: [title]", ", contexts: []", ", near: {terms: [y], with: [z]}"):
        versions.add(load_rules(_write(tmp_path, base % extra, "b.yaml")).version)
    assert len(versions) == 5
    with_signal = load_rules(_write(tmp_path, base % "" + "signals:\n  - {id: s, terms: [包邮]}\n", "c.yaml")).version
    assert with_signal not in versions
