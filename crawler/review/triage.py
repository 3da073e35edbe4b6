"""Analysts' verdicts on hits: record confirm/dismiss decisions and measure each rule's real precision.

A bulk file is checked completely before anything is written: one bad line (an unknown
verdict, a URL that is not a tracked item) and the command names every problem and
records nothing, so a half-applied spreadsheet never has to be untangled.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.review.csvfile import read_rows
from pipelines.errors import UsageError
from pipelines.stores.base import Store, iso, utcnow
from pipelines.stores.tracking import TrackedItem, Verdict
from pipelines.urls import canonical_url

_VERDICT_WORDS = {
    "confirm": "confirmed", "confirmed": "confirmed", "yes": "confirmed", "true": "confirmed",
    "dismiss": "dismissed", "dismissed": "dismissed", "no": "dismissed", "false": "dismissed",
}


@dataclass(frozen=True)
class Decision:
    line: int
    url: str
    verdict: str
    note: str


def read_csv(path: Path) -> list[Decision]:
    """Rows of `url,verdict[,note]` (with a header line); raise UsageError naming every bad line."""
    rows = read_rows(path, ("url", "verdict"))
    decisions, problems = [], []
    for index, row in enumerate(rows, start=2):
        word = row.get("verdict", "").lower()
        if not row.get("url"):
            problems.append(f"line {index}: no url")
        elif word not in _VERDICT_WORDS:
            problems.append(f"line {index}: verdict {row.get('verdict')!r} is not confirm or dismiss")
        else:
            decisions.append(Decision(index, row["url"], _VERDICT_WORDS[word], row.get("note", "")))
    if problems:
        raise UsageError(_problems(path, problems))
    if not decisions:
        raise UsageError(f"{path}: no decisions in the file")
    return decisions


def _problems(where: object, problems: list[str]) -> str:
    shown = "; ".join(problems[:10]) + (f"; … {len(problems) - 10} more" if len(problems) > 10 else "")
    return f"{where}: nothing recorded, {len(problems)} problem(s): {shown}"


def record(store: Store, decisions: list[Decision], source: str) -> list[Verdict]:
    """Write the decisions after checking that every URL is a tracked item."""
    keys = {d.url: canonical_url(d.url) for d in decisions}
    known = {item.canonical_url for item in store.items(canonical_urls=set(keys.values()))}
    problems = [f"line {d.line}: {d.url} is not a hit netpatrol has recorded" if d.line else
                f"{d.url} is not a hit netpatrol has recorded (see `netpatrol hits`)"
                for d in decisions if keys[d.url] not in known]
    if problems:
        raise UsageError(_problems(source, problems))
    now = iso(utcnow()) or ""
    verdicts = [Verdict(keys[d.url], d.verdict, now, d.note, d.url) for d in decisions]
    store.add_verdicts(verdicts)
    return verdicts


def precision(items: list[TrackedItem], verdicts: dict[str, Verdict]) -> list[dict[str, Any]]:
    """Per rule: items it flagged, how many analysts confirmed and dismissed, and confirmed / (confirmed + dismissed)."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"hits": 0, "confirmed": 0, "dismissed": 0})
    for item in items:
        verdict = verdicts.get(item.canonical_url)
        for rule in item.rules:
            counts[rule]["hits"] += 1
            if verdict is not None:
                counts[rule][verdict.verdict] += 1
    out = []
    for rule, c in sorted(counts.items()):
        judged = c["confirmed"] + c["dismissed"]
        out.append({
            "rule": rule, "hits": c["hits"], "confirmed": c["confirmed"], "dismissed": c["dismissed"],
            "untriaged": c["hits"] - judged, "precision": round(c["confirmed"] / judged, 4) if judged else None,
        })
    return out
