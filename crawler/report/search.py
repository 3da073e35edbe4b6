"""The search headline: how many of the top N organic results of each query match, and the promoted ones apart.

This is the "cleanliness score" brand-protection teams track. Promoted results (the engine's
ads) are counted apart: the engine can be held to account for an ad it sold. The engines' own
result totals ("about 1,230 results") are shown beside it as context only. Only clean
observations count (crawler.report.comparable): a query page that was walled, empty or cut
short is left out and counted under `lost`, never read as "0 matched".
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from crawler.report.coverage import change_pct, rounded
from crawler.report.loader import WindowData

_EMPTY = {"matched": 0.0, "seen": 0.0, "share": None, "engine_total": None}


def _per_query(data: WindowData, top_n: int, ads: bool) -> dict[tuple[str, str], dict[str, Any]]:
    """(target, query) -> matched and seen among the top N (organic or promoted), each a mean per clean observation."""
    matched: dict[tuple[str, str], int] = defaultdict(int)
    seen: dict[tuple[str, str], int] = defaultdict(int)
    for doc in data.documents:
        if doc.kind != "result" or doc.rank is None or doc.rank > top_n or doc.ad != ads:
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
        count = data.runs_for(*key)
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


def _lost(data: WindowData) -> dict[str, Any]:
    """Result pages left out of the window: walled, empty or cut short (of every clean search run)."""
    reasons: dict[str, int] = defaultdict(int)
    for total in data.lost:
        for reason in total.lost_reasons:
            reasons[reason] += 1
    return {"pages": sum(t.lost for t in data.lost), "query_runs": len(data.lost), "by_reason": dict(sorted(reasons.items()))}


def _labels(data: WindowData) -> dict[str, Any]:
    """Results carrying the engine's risk warning, and wrapped links left unresolved (raw counts over clean observations)."""
    risky = [d for d in data.documents if d.kind == "result" and d.risk]
    wrapped = [d for d in data.documents if d.kind == "result" and d.wrapped_url]
    return {"risk_labeled": len(risky), "risk_labeled_matched": sum(1 for d in risky if d.matched),
            "wrapped": len(wrapped), "unresolved": sum(1 for d in wrapped if d.url == d.wrapped_url)}


def search_headline(base: WindowData, comp: WindowData, top_n: int) -> dict[str, Any] | None:
    """Matched organic (and promoted) results among the top N per query, per window; None without search runs."""
    b, c = _per_query(base, top_n, False), _per_query(comp, top_n, False)
    pb, pc = _per_query(base, top_n, True), _per_query(comp, top_n, True)
    if not b and not c and not base.lost and not comp.lost:
        return None
    queries = []
    for target, query in sorted(set(b) | set(c)):
        fb, fc = b.get((target, query), _EMPTY), c.get((target, query), _EMPTY)
        ab, ac = pb.get((target, query), _EMPTY), pc.get((target, query), _EMPTY)
        queries.append({
            "target": target,
            "query": query,
            "baseline": fb,
            "compare": fc,
            "change_pct": change_pct(fb["matched"], fc["matched"]),
            "promoted": {"baseline": {k: ab[k] for k in ("matched", "seen", "share")},
                         "compare": {k: ac[k] for k in ("matched", "seen", "share")},
                         "change_pct": change_pct(ab["matched"], ac["matched"])},
            "clean_runs": {"baseline": base.runs_for(target, query), "compare": comp.runs_for(target, query)},
        })
    sb, sc = _sum(list(b.values())), _sum(list(c.values()))
    ab_sum, ac_sum = _sum(list(pb.values())), _sum(list(pc.values()))
    share_points = None
    if sb["share"] is not None and sc["share"] is not None:
        share_points = rounded((sc["share"] - sb["share"]) * 100)
    return {
        "top_n": top_n,
        "baseline": sb,
        "compare": sc,
        "change_pct": change_pct(sb["matched"], sc["matched"]),
        "share_change_points": share_points,
        "promoted": {"baseline": ab_sum, "compare": ac_sum, "change_pct": change_pct(ab_sum["matched"], ac_sum["matched"])},
        "lost": {"baseline": _lost(base), "compare": _lost(comp)},
        "labels": {"baseline": _labels(base), "compare": _labels(comp)},
        "queries": queries,
    }
