"""`netpatrol rules test` and `netpatrol rules eval`: try one rule on a text, score a pack on labeled pages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO

from pipelines.errors import UsageError
from pipelines.engine.evaluate import Evaluation, TransformFigures, evaluate, evaluate_transforms, read_labeled
from pipelines.engine.explain import render_text
from pipelines.engine.matcher import Matcher
from pipelines.engine.rules import load_rules


def rules_test(rule_id: str, text: str, out: IO[str], title: str = "", rules: Path | None = None,
               threshold: float = 1.0, fmt: str = "text") -> int:
    """Explain how RULE_ID (and the page as a whole) fares on TEXT; exit 0 when the rule fired, 1 when not."""
    matcher = Matcher(load_rules(rules), threshold=threshold)
    known = {r.id for r in matcher.ruleset.rules}
    if rule_id not in known:
        close = sorted(r for r in known if rule_id.split(".")[0] in r)[:8]
        hint = f"; rules of that category: {', '.join(close)}" if close else " (see `netpatrol rules check`)"
        raise UsageError(f"no rule with id {rule_id!r}{hint}")
    result = matcher.match(title, text)
    explanation = result.explanation
    entry = next((r for r in explanation["rules"] if r["id"] == rule_id), None)
    fired = bool(entry and entry["fired"])
    if fmt == "json":
        out.write(json.dumps({"rule": rule_id, "fired": fired, **result.as_json(), "snippet": result.snippet,
                              "explanation": explanation}, ensure_ascii=False, indent=2) + "\n")
        return 0 if fired else 1
    if entry is None:
        out.write(f"rule {rule_id}: not fired: none of its terms, regexes or near pairs occur\n")
    else:
        out.write("\n".join(render_text(explanation, only_rule=rule_id)) + "\n")
    out.write("page: " + ("HIT " + ", ".join(result.categories) if result.matched else "no hit")
              + f" (score {result.score:g}, threshold {matcher.threshold:g})\n")
    others = [line for line in render_text(explanation) if not line.startswith(f"rule {rule_id} ")
              and not line.startswith("  ")]
    if others:
        out.write("\n".join("  " + line for line in others) + "\n")
    return 0 if fired else 1


def print_evaluation(evaluation: Evaluation, out: IO[str]) -> None:
    out.write(f"{evaluation.items} labeled items\n")
    out.write(f"{'':<16} {'precision':>9} {'recall':>7} {'F1':>6} {'TP':>5} {'FP':>4} {'FN':>4}\n")
    rows = [("overall", evaluation.overall), *evaluation.by_category.items()]
    for name, c in rows:
        out.write(f"{name:<16} {c.precision:>9.3f} {c.recall:>7.3f} {c.f1:>6.3f} {c.tp:>5} {c.fp:>4} {c.fn:>4}\n")
    for title, misses in (("false positives", evaluation.false_positives), ("false negatives", evaluation.false_negatives)):
        out.write(f"\n{title} ({len(misses)}):\n")
        for m in misses:
            out.write(f"  {m.id} [{m.label} {m.category}] matched {m.predicted or '-'} score {m.score:g}"
                      f" rules {m.rules or '-'}: {m.excerpt}\n")


def print_transforms(figures: list[TransformFigures], out: IO[str]) -> None:
    plain = next((f.recall for f in figures if f.name == "plain"), None)
    out.write(f"{'transform':<12} {'items':>5} {'recall':>7} {'vs plain':>8} {'precision':>9} {'FN':>4} {'FP':>4}\n")
    for f in figures:
        ratio = f"{f.recall / plain:.3f}" if plain else "-"
        out.write(f"{f.name:<12} {f.items:>5} {f.recall:>7.3f} {ratio:>8} {f.precision:>9.3f}"
                  f" {len(f.evaluation.false_negatives):>4} {len(f.evaluation.false_positives):>4}\n")
    out.write("recall: illegal items that keep their verdict and category; vs plain: recall / plain recall\n")


def rules_eval(labeled: Path, out: IO[str], rules: Path | None = None, threshold: float = 1.0, fmt: str = "text",
               transforms: bool = False) -> int:
    matcher = Matcher(load_rules(rules), threshold=threshold)
    if transforms:
        figures = evaluate_transforms(matcher, read_labeled(labeled))
        if fmt == "json":
            out.write(json.dumps([f.as_json() for f in figures], ensure_ascii=False, indent=2) + "\n")
        else:
            print_transforms(figures, out)
        return 0
    evaluation = evaluate(matcher, read_labeled(labeled))
    if fmt == "json":
        out.write(json.dumps(evaluation.as_json(), ensure_ascii=False, indent=2) + "\n")
    else:
        print_evaluation(evaluation, out)
    return 0
