"""`netpatrol match`: one JSON line per input, same code as the pipelines, text or HTML input."""

from __future__ import annotations

import json
from pathlib import Path


def test_match_jsonl(cli, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n"
        "  - {id: g.casino, category: gambling, any: [网络赌博, 百家乐], none: [警方]}\n"
        "  - {id: f.invoice, category: fraud, any: [代开发票]}\n",
        encoding="utf-8",
    )
    records = [
        {"id": "a", "url": "http://x/1", "title": "真人百家樂", "text": "充值返水"},
        {"id": "b", "url": "http://x/2", "title": "警方打击网络赌博", "text": ""},
        {"id": "c", "url": "http://x/3", "html": "<html><head><title>t</title><script>百家乐</script></head>"
                                               "<body><p>代-开-发-票</p></body></html>"},
        {"id": "d", "url": "http://x/4", "html": "<html><body><script>var s='百家乐';</script>hello</body></html>"},
    ]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
    result = cli("match", "--input", str(path), "--rules", str(rules))
    assert result.code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines == [
        {"id": "a", "matched": True, "categories": ["gambling"], "rules": ["g.casino"], "score": 1.0},
        {"id": "b", "matched": False, "categories": [], "rules": [], "score": 0.0},
        {"id": "c", "matched": True, "categories": ["fraud"], "rules": ["f.invoice"], "score": 1.0},
        {"id": "d", "matched": False, "categories": [], "rules": [], "score": 0.0},  # script text is not visible
    ]


def test_match_reports_bad_lines_and_goes_on(cli, tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": 1, "text": "代开发票"}\nnot json\n{"id": 2, "text": "hello"}\n', encoding="utf-8")
    result = cli("match", "--input", str(path))
    assert result.code == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line.get("id") for line in lines] == [1, None, 2]
    assert lines[1]["line"] == 2 and "error" in lines[1]
    assert f"{path}:2: invalid JSON line" in result.stderr


def test_match_explain_shows_original_spans(cli, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "contexts:\n  - {id: news, terms: [警方, 打击]}\n"
        "signals:\n  - {id: contact, regex: ['微信\\s*[:：]?\\s*[a-z0-9]{5,}'], weight: 0.5}\n"
        "rules:\n  - {id: g.casino, category: gambling, any: [网络赌博]}\n",
        encoding="utf-8",
    )
    records = [{"id": "a", "text": "網 絡 賭 博 加V信：abc12345"}, {"id": "b", "text": "警方打击网络赌博"}]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
    result = cli("match", "--input", str(path), "--rules", str(rules), "--explain")
    assert result.code == 0, result.stderr
    hit, news = (json.loads(line) for line in result.stdout.splitlines())
    assert hit["matched"] and hit["score"] == 1.5
    rule = hit["explanation"]["rules"][0]
    assert rule["matches"][0]["text"] == "網 絡 賭 博"
    assert hit["explanation"]["signals"][0]["text"] == "V信：abc12345"
    assert hit["explanation"]["categories"]["gambling"]["needed"] == 1.0
    assert not news["matched"]
    assert news["explanation"]["rules"][0]["cancelled"][0]["context"] == "news"


def test_rules_test_command(cli, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("contexts:\n  - {id: news, terms: [警方]}\nrules:\n  - {id: g.casino, category: gambling, any: [网络赌博]}\n",
                     encoding="utf-8")
    fired = cli("rules", "test", "g.casino", "網絡賭博 平台", "--rules", str(rules))
    assert fired.code == 0, fired.stderr
    assert "FIRED" in fired.stdout and "'網絡賭博'" in fired.stdout and "HIT gambling" in fired.stdout
    cancelled = cli("rules", "test", "g.casino", "警方 网络赌博", "--rules", str(rules))
    assert cancelled.code == 1
    assert "near '警方' (context news)" in cancelled.stdout
    unknown = cli("rules", "test", "g.nope", "x", "--rules", str(rules))
    assert unknown.code == 2 and "no rule with id 'g.nope'" in unknown.stderr
