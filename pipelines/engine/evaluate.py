"""Score a rule pack against labeled pages: precision, recall and F1, overall and per category.

A labeled line is a `netpatrol match` input plus `"label": "illegal" | "benign"` and
`"category"` (for benign pages: the category whose vocabulary they share). Overall figures
count pages (a hit on an illegal page is a true positive); per-category figures count a
page for category C when it is labeled illegal C or was matched as C, so a listing flagged
under the wrong category costs that category precision and its own recall.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from pipelines.errors import UsageError
from pipelines.engine.anatomy import anatomy
from pipelines.engine.matcher import Matcher, MatchResult
from pipelines.engine.rules import CATEGORIES

LABELS = ("illegal", "benign")


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_json(self) -> dict[str, Any]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": round(self.precision, 4),
                "recall": round(self.recall, 4), "f1": round(self.f1, 4)}


@dataclass
class Miss:
    """A false positive or false negative, with what the matcher said."""

    id: Any
    label: str
    category: str
    predicted: list[str]
    rules: list[str]
    score: float
    excerpt: str

    def as_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass
class Evaluation:
    items: int = 0
    overall: Counts = field(default_factory=Counts)
    by_category: dict[str, Counts] = field(default_factory=lambda: {c: Counts() for c in CATEGORIES})
    false_positives: list[Miss] = field(default_factory=list)
    false_negatives: list[Miss] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "overall": self.overall.as_json(),
            "by_category": {c: counts.as_json() for c, counts in self.by_category.items()},
            "false_positives": [m.as_json() for m in self.false_positives],
            "false_negatives": [m.as_json() for m in self.false_negatives],
        }


def read_labeled(path: Path) -> list[dict[str, Any]]:
    """Read and check a labeled JSON Lines file; a bad line is a UsageError naming file and line."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc}") from None
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise UsageError(f"{path}:{number}: invalid JSON line: {exc}") from None
        if not isinstance(record, dict):
            raise UsageError(f"{path}:{number}: expected a JSON object")
        if record.get("label") not in LABELS:
            raise UsageError(f"{path}:{number}: `label` must be one of {', '.join(LABELS)} (got {record.get('label')!r})")
        if record.get("category") not in CATEGORIES:
            raise UsageError(f"{path}:{number}: `category` must be one of {', '.join(CATEGORIES)}"
                             f" (got {record.get('category')!r})")
        records.append(record)
    if not records:
        raise UsageError(f"{path}: no labeled lines")
    return records


def match_record(matcher: Matcher, record: dict[str, Any]) -> MatchResult:
    """Match one `netpatrol match` input record (text, or html reduced to its visible text)."""
    title = str(record.get("title") or "")
    if record.get("text") is not None:
        text = str(record["text"])
    elif record.get("html") is not None:
        page = anatomy(str(record["html"]), str(record.get("url") or ""))
        title, text = title or page.title, page.content()
    else:
        text = ""
    return matcher.match(title, text, url=str(record.get("url") or ""), snippet=str(record.get("snippet") or ""))


def evaluate(matcher: Matcher, records: Iterable[dict[str, Any]]) -> Evaluation:
    out = Evaluation()
    for record in records:
        out.items += 1
        result = match_record(matcher, record)
        illegal = record["label"] == "illegal"
        category = record["category"]
        predicted = set(result.categories)
        if illegal and result.matched:
            out.overall.tp += 1
        elif result.matched:
            out.overall.fp += 1
        elif illegal:
            out.overall.fn += 1
        for c, counts in out.by_category.items():
            positive = illegal and c == category
            if positive and c in predicted:
                counts.tp += 1
            elif c in predicted:
                counts.fp += 1
            elif positive:
                counts.fn += 1
        wrong = predicted - ({category} if illegal else set())
        if wrong or (illegal and category not in predicted):
            excerpt = " ".join(f"{record.get('title') or ''} {record.get('text') or record.get('html') or ''}".split())
            miss = Miss(record.get("id"), record["label"], category, sorted(predicted), result.rules, result.score,
                        excerpt[:120])
            if wrong:
                out.false_positives.append(miss)
            if illegal and category not in predicted:
                out.false_negatives.append(miss)
    return out


@dataclass
class TransformFigures:
    """One transform of the labeled set: recall (verdict and category kept) and precision."""

    name: str
    items: int
    recall: float
    precision: float
    evaluation: Evaluation

    def as_json(self) -> dict[str, Any]:
        return {"transform": self.name, "items": self.items, "recall": round(self.recall, 4),
                "precision": round(self.precision, 4), "overall": self.evaluation.overall.as_json(),
                "false_negatives": [m.id for m in self.evaluation.false_negatives],
                "false_positives": [m.id for m in self.evaluation.false_positives]}


def evaluate_transforms(matcher: Matcher, records: list[dict[str, Any]],
                        names: Iterable[str] | None = None) -> list[TransformFigures]:
    """Score the pack on every evasion transform of the labeled set (pipelines.engine.transforms)."""
    from pipelines.engine.transforms import TRANSFORMS, transformed

    out = []
    illegal = sum(r["label"] == "illegal" for r in records)
    for name in names or TRANSFORMS:
        ev = evaluate(matcher, transformed(records, name))
        kept = illegal - len(ev.false_negatives)
        recall = kept / illegal if illegal else 1.0
        out.append(TransformFigures(name, ev.items, recall, ev.overall.precision, ev))
    return out
