"""Why a page is (or is not) a hit: rules, original spans, contexts, signals, score against threshold.

Built on demand from what matching recorded, so pages nobody looks at never pay for the
offset mapping. Spans are character offsets into the field's original text, with the text
that was really written there ('網 絡 賭 博', 'c4s1no'), so a highlight shows the evasion.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipelines.engine.matcher import Matcher, MatchResult
    from pipelines.engine.matchstate import FieldScan, Page, RuleEvaluation

Span = tuple[int, int]


def _char(data: bytes, offset: int) -> int:
    return len(data[:offset].decode("utf-8", "ignore"))


def original_span(field: "FieldScan", span: Span, kind: str = "key", matcher: "Matcher | None" = None,
                  regex_id: int | None = None) -> Span:
    """Map a byte span in the key form (or, for regexes, a byte end in the plain form) to the original text."""
    norm = field.norm
    if kind == "regex" and matcher is not None and regex_id is not None:
        end = _char(field.plain_bytes, span[1])
        start, end = matcher.regexes.span(regex_id, norm.plain, end)
        return norm.plain_to_original(start, end)
    start, end = _char(field.kb, span[0]), _char(field.kb, span[1])
    return norm.key_to_original(start, end)


def _where(field: "FieldScan", span: Span, kind: str = "key", matcher: "Matcher | None" = None,
           regex_id: int | None = None) -> dict[str, Any]:
    start, end = original_span(field, span, kind, matcher, regex_id)
    return {"field": field.name, "start": start, "end": end, "text": field.norm.original[start:end]}


def snippet_for(result: "MatchResult") -> str:
    """Original text around the strongest fired rule's match, at most the matcher's snippet width."""
    page, matcher = result._page, result._matcher
    if page is None or matcher is None or not result.matched or not result.rules:
        return ""
    best = next((ev for ev in page.evaluations if ev.compiled.rule.id == result.rules[0]), None)
    if best is None or best.trigger is None:
        return ""
    kind, ident, name, span, _ = best.trigger
    field = page.fields[name]
    start, end = original_span(field, span, "regex" if kind == "regex" else "key", matcher, ident)
    text = field.norm.original
    width = matcher.snippet_chars
    half = max(0, (width - (end - start)) // 2)
    lo, hi = max(0, start - half), min(len(text), end + half)
    body = " ".join(text[lo:hi].split())
    return ("…" if lo > 0 else "") + body + ("…" if hi < len(text) else "")


def _rule_entry(ev: "RuleEvaluation", page: "Page", matcher: "Matcher") -> dict[str, Any]:
    rule = ev.compiled.rule
    entry: dict[str, Any] = {"id": rule.id, "category": rule.category, "weight": rule.weight, "fired": ev.fired}
    if rule.min_score is not None:
        entry["min_score"] = rule.min_score
    matches: list[dict[str, Any]] = []
    if ev.trigger is not None:
        kind, ident, name, span, partner = ev.trigger
        field = page.fields[name]
        if kind == "regex":
            matches.append({"kind": "regex", "regex": matcher.regexes.sources[ident].pattern,
                            **_where(field, span, "regex", matcher, ident)})
        else:
            matches.append({"kind": kind, "term": matcher.terms[ident].key, **_where(field, span)})
            if partner is not None:
                matches.append({"kind": "near-with", "term": _term_at(field, partner), **_where(field, partner)})
    for term_id, name, span in ev.also:
        matches.append({"kind": "all", "term": matcher.terms[term_id].key, **_where(page.fields[name], span)})
    entry["matches"] = matches
    if ev.cancelled:
        entry["cancelled"] = [
            {"term": matcher.terms[t].key, **_where(page.fields[name], span),
             "context": matcher.contexts[ci].context.id,
             "by": {"term": matcher.terms[ct].key, **_where(page.fields[name], cspan)}}
            for t, name, span, ci, ct, cspan in ev.cancelled
        ]
    if ev.blocked is not None:
        t, name, span = ev.blocked
        field = page.fields[name]
        entry["blocked_by"] = {"term": matcher.terms[t].key, **_where(field, span)}
        if ev.blocked_occurrence is not None:  # which trigger occurrence the `none` term stood beside
            kind, ident, where = ev.blocked_occurrence
            entry["blocked_by"]["occurrence"] = (
                {"kind": "regex", "regex": matcher.regexes.sources[ident].pattern,
                 **_where(field, where, "regex", matcher, ident)} if kind == "regex"
                else {"kind": kind, "term": matcher.terms[ident].key, **_where(field, where)})
    if ev.missing:
        entry["missing"] = [matcher.terms[t].key for t in ev.missing]
    if ev.fired:
        entry["reason"] = "fired"
    elif ev.trigger is None and ev.cancelled and ev.blocked:
        entry["reason"] = "every occurrence stands near a context word or a `none` word in its sentence"
    elif ev.trigger is None and ev.cancelled:
        entry["reason"] = "every occurrence stands near a context word"
    elif ev.trigger is None and ev.blocked:
        entry["reason"] = "a `none` term occurs in the sentence of every occurrence"
    elif ev.trigger is None:
        entry["reason"] = "no trigger occurrence"
    else:
        entry["reason"] = "an `all` term is missing"
    return entry


def _term_at(field: "FieldScan", span: Span) -> str:
    return field.kb[span[0]:span[1]].decode("utf-8", "ignore")


def explain(result: "MatchResult") -> dict[str, Any]:
    """The full explanation of one match result (a JSON-ready dict)."""
    page, matcher = result._page, result._matcher
    out: dict[str, Any] = {"matched": result.matched, "score": result.score,
                           "threshold": matcher.threshold if matcher else None, "categories": {}, "rules": [],
                           "signals": []}
    if page is None or matcher is None:
        return out
    for category, score in sorted(page.scores.items()):
        out["categories"][category] = {
            "score": score,
            "needed": page.needed[category],
            "hit": category in result.categories,
            "rules": [ev.compiled.rule.id for ev in page.evaluations if ev.fired and ev.compiled.rule.category == category],
            "signals": [{"id": s.signal.id, "weight": s.signal.weight} for s, *_ in page.signals
                        if s.categories is None or category in s.categories],
        }
    out["rules"] = [_rule_entry(ev, page, matcher) for ev in page.evaluations]
    for signal, name, kind, span in page.signals:
        field = page.fields[name]
        entry: dict[str, Any] = {"id": signal.signal.id, "weight": signal.signal.weight}
        if kind.startswith("regex:"):
            rid = int(kind.split(":", 1)[1])
            entry.update(regex=matcher.regexes.sources[rid].pattern, **_where(field, span, "regex", matcher, rid))
        else:
            entry.update(term=matcher.terms[int(kind.split(":", 1)[1])].key, **_where(field, span))
        out["signals"].append(entry)
    if page.problems:
        out["problems"] = page.problems
    if page.truncated:
        out["truncated"] = page.truncated
    return out


def render_text(explanation: dict[str, Any], only_rule: str | None = None) -> list[str]:
    """The explanation as lines a person reads: per rule, what fired where, what cancelled it, the score."""
    lines: list[str] = []
    for rule in explanation["rules"]:
        if only_rule is not None and rule["id"] != only_rule:
            continue
        state = "FIRED" if rule["fired"] else f"not fired: {rule['reason']}"
        lines.append(f"rule {rule['id']} ({rule['category']}, weight {rule['weight']:g}): {state}")
        for m in rule["matches"]:
            what = m.get("term") or m.get("regex")
            lines.append(f"  {m['kind']:<9} {what!r} in {m['field']}[{m['start']}:{m['end']}] = {m['text']!r}")
        for c in rule.get("cancelled", []):
            by = c["by"]
            lines.append(f"  cancelled {c['term']!r} in {c['field']}[{c['start']}:{c['end']}] = {c['text']!r}"
                         f" near {by['text']!r} (context {c['context']})")
        if "blocked_by" in rule:
            b = rule["blocked_by"]
            o = b.get("occurrence")
            if o is not None:
                lines.append(f"  {o['kind']:<9} {o.get('term') or o.get('regex')!r} in {o['field']}[{o['start']}:{o['end']}]"
                             f" = {o['text']!r}, blocked:")
            lines.append(f"  blocked   by `none` term {b['term']!r} in {b['field']}[{b['start']}:{b['end']}] = {b['text']!r}")
        if rule.get("missing"):
            lines.append(f"  missing   `all` terms {rule['missing']}")
    if only_rule is not None:
        return lines
    for signal in explanation["signals"]:
        what = signal.get("term") or signal.get("regex")
        lines.append(f"signal {signal['id']} ({signal['weight']:+g}): {what!r} in"
                     f" {signal['field']}[{signal['start']}:{signal['end']}] = {signal['text']!r}")
    for category, c in explanation["categories"].items():
        verdict = "HIT" if c["hit"] else "no hit"
        parts = " + ".join([*c["rules"], *(f"{s['id']}({s['weight']:+g})" for s in c["signals"])])
        lines.append(f"{category}: score {c['score']:g} / needed {c['needed']:g} -> {verdict}  [{parts}]")
    if not explanation["categories"]:
        lines.append(f"no rule fired: score 0 / threshold {explanation['threshold']:g} -> no hit")
    for problem in explanation.get("problems", []):
        lines.append(f"problem: {problem}")
    return lines
