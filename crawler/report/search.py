"""The search headline: how many of the top N results of each query match, and what share that is.

This is the "cleanliness score" brand-protection teams track. The engines' own result
totals ("about 1,230 results") are shown beside it as context only: they are estimates
that move for reasons of their own.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from crawler.report.coverage import change_pct, rounded
from crawler.report.loader import WindowData


def _per_query(data: WindowData, top_n: int) -> dict[tuple[str, str], dict[str, Any]]:
    """(target, query) -> matched and seen among the top N, and the engine total, each a mean per clean run."""
    runs = data.runs_per_target()
    matched: dict[tuple[str, str], int] = defaultdict(int)
    seen: dict[tuple[str, str], int] = defaultdict(int)
    for doc in data.documents:
        if doc.kind != "result" or doc.rank is None or doc.rank > top_n:
            continue
        key = (doc.target, doc.query or "")
        seen[key] += 1
        matched[key] += int(doc.matched)
    totals: dict[tuple[str, str], list[int]] = defaultdict(list)
    for total in data.totals:
        key = (total.target, total.query)
        seen.setdefault(key, 0)
        if total.total is not None:
            totals[key].append(total.total)
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for key in seen:
        count = runs.get(key[0], 0)
        if not count:
            continue
        m, s = matched.get(key, 0) / count, seen[key] / count
        engine = totals.get(key)
        out[key] = {
            "matched": m,
            "seen": s,
            "share": rounded(m / s) if s else None,
            "engine_total": rounded(sum(engine) / len(engine)) if engine else None,
        }
    return out


def _sum(figures: list[dict[str, Any]]) -> dict[str, Any]:
    matched = sum(f["matched"] for f in figures)
    seen = sum(f["seen"] for f in figures)
    return {"matched": matched, "seen": seen, "share": rounded(matched / seen) if seen else None}


def search_headline(base: WindowData, comp: WindowData, top_n: int) -> dict[str, Any] | None:
    """Matched results among the top N per query, per window; None when neither window has search runs."""
    b, c = _per_query(base, top_n), _per_query(comp, top_n)
    if not b and not c:
        return None
    empty = {"matched": 0.0, "seen": 0.0, "share": None, "engine_total": None}
    queries = []
    for target, query in sorted(set(b) | set(c)):
        fb, fc = b.get((target, query), empty), c.get((target, query), empty)
        queries.append({
            "target": target,
            "query": query,
            "baseline": fb,
            "compare": fc,
            "change_pct": change_pct(fb["matched"], fc["matched"]),
        })
    sb, sc = _sum(list(b.values())), _sum(list(c.values()))
    share_points = None
    if sb["share"] is not None and sc["share"] is not None:
        share_points = rounded((sc["share"] - sb["share"]) * 100)
    return {
        "top_n": top_n,
        "baseline": sb,
        "compare": sc,
        "change_pct": change_pct(sb["matched"], sc["matched"]),
        "share_change_points": share_points,
        "queries": queries,
    }
