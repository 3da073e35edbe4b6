"""Rule packs: loading, validation messages (file, path, rule id, problem) and the version hash."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.errors import ConfigError
from pipelines.rules import CATEGORIES, default_rules_path, load_rules


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
        ("rules:\n  - {id: a, category: gambling, any: [x], colour: red}\n", "rules[0].colour: unknown field"),
        ("rules:\n  - {id: a, category: gambling}\n", "needs at least one `any` term or `regex`"),
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
