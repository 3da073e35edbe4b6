"""`netpatrol match`: match JSON Lines records with the same code the crawl pipelines use."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO, Any, Iterator

from pipelines.errors import UsageError
from pipelines.engine import evaluate
from pipelines.engine.matcher import Matcher
from pipelines.engine.rules import load_rules


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    if str(path) == "-":
        yield from enumerate(sys.stdin, start=1)
        return
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            yield from enumerate(handle, start=1)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc}") from None


def match_record(matcher: Matcher, record: dict[str, Any], explain: bool = False) -> dict[str, Any]:
    result = evaluate.match_record(matcher, record)
    out = {"id": record.get("id"), **result.as_json()}
    if explain:
        out["snippet"] = result.snippet
        out["explanation"] = result.explanation
    return out


def match_jsonl(path: Path, rules: Path | None, out: IO[str], threshold: float = 1.0, explain: bool = False) -> int:
    """Print one JSON line per input line; malformed lines get an `error` line and exit status 1.

    With `explain`, each line also carries the snippet and the full explanation (rules, original
    spans, contexts, signals, score against threshold)."""
    matcher = Matcher(load_rules(rules), threshold=threshold)
    failures = 0
    for number, line in _lines(path):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("expected a JSON object")
        except ValueError as exc:
            failures += 1
            print(f"netpatrol: {path}:{number}: invalid JSON line: {exc}", file=sys.stderr)
            out.write(json.dumps({"id": None, "line": number, "error": str(exc)}) + "\n")
            continue
        out.write(json.dumps(match_record(matcher, record, explain), ensure_ascii=False) + "\n")
    return 1 if failures else 0
