"""Breakdowns that carry their denominator: hits, pages examined, hits per 1,000 pages, coverage flag.

Every figure is a mean per clean run of a target, summed over targets (the foundation's
rule for hits), so a window of 30 daily runs and one of 4 weekly runs compare fairly.
"pages" per breakdown value:

    window, category, rule   pages fetched by the window's clean runs
    target                   pages fetched by that target's clean runs
    domain                   pages and search results from that domain that were examined
    query                    search results examined for that query

A change is flagged `coverage_changed` when those pages differ between the windows by more
than the tolerance: fewer hits from a crawl that reached fewer pages is not a decline.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable, Iterable

from crawler.report.loader import WindowData
from pipelines.stores.base import HitRow
from pipelines.stores.tracking import Document

Key = Callable[[Any], Iterable[str]]


def change_pct(baseline: float, compare: float) -> float | None:
    if baseline == 0:
        return None
    return (compare - baseline) / baseline * 100.0


def rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def per_run(data: WindowData, records: Iterable[Any], key: Key) -> dict[str, float]:
    """For each key value: records with that value per clean run of their target, summed over targets.

    A search target's records are averaged per query, over the runs in which that query was clean."""
    counts: dict[tuple[str, str | None, str], int] = defaultdict(int)
    for record in records:
        query = getattr(record, "query", None) if record.target in data.search_targets else None
        for value in key(record):
            counts[(record.target, query, value)] += 1
    out: dict[str, float] = defaultdict(float)
    for (target, query, value), count in counts.items():
        runs = data.runs_for(target, query)
        if runs:
            out[value] += count / runs
    return dict(out)


def pages_per_run(data: WindowData, target: str | None = None) -> float:
    """Pages fetched per clean run, summed over targets (or of one target).

    A search target's pages are those of its comparable queries, per clean observation of each."""
    totals: dict[str, int] = defaultdict(int)
    for run in data.runs:
        if run.target not in data.search_targets:
            totals[run.target] += run.pages
    runs = data.runs_per_target()
    out = sum(totals[t] / runs[t] for t in totals if target is None or t == target)
    for (name, query), pages in per_query_pages(data).items():
        if target is None or name == target:
            out += pages
    return out


def per_query_pages(data: WindowData) -> dict[tuple[str, str], float]:
    """Real result pages per clean observation of each (search target, query)."""
    pages: dict[tuple[str, str], int] = defaultdict(int)
    for total in data.totals:
        pages[(total.target, total.query)] += total.pages
    return {key: n / data.runs_for(*key) for key, n in pages.items() if data.runs_for(*key)}


def hits(data: WindowData) -> float:
    return sum(per_run(data, data.rows, lambda r: ["all"]).values())


def rate_per_1000(hit_count: float, pages: float) -> float | None:
    return None if pages == 0 else hit_count / pages * 1000.0


def coverage_changed(baseline_pages: float, compare_pages: float, tolerance: float) -> bool:
    if baseline_pages == compare_pages:
        return False
    if baseline_pages == 0 or compare_pages == 0:
        return True
    return abs(compare_pages - baseline_pages) / baseline_pages > tolerance


def entry(b: float, c: float, pb: float, pc: float, tolerance: float) -> dict[str, Any]:
    """One breakdown value: the foundation's {baseline, compare, change_pct} plus pages, rate and the flag."""
    rb, rc = rate_per_1000(b, pb), rate_per_1000(c, pc)
    return {
        "baseline": b,
        "compare": c,
        "change_pct": change_pct(b, c),
        "pages": {"baseline": rounded(pb), "compare": rounded(pc), "change_pct": rounded(change_pct(pb, pc))},
        "rate_per_1000": {
            "baseline": rounded(rb),
            "compare": rounded(rc),
            "change_pct": rounded(change_pct(rb, rc)) if rb is not None and rc is not None else None,
        },
        "coverage_changed": coverage_changed(pb, pc, tolerance),
    }


def breakdown(
    base: WindowData,
    comp: WindowData,
    key: Callable[[HitRow], Iterable[str]],
    pages: Callable[[WindowData], dict[str, float]] | None,
    tolerance: float,
    keep_unhit: bool = False,
) -> dict[str, dict[str, Any]]:
    """Entries for every value of `key`; `pages` gives per-value pages (None: the window's pages).

    Values that were examined but never hit (a domain with clean pages) are left out unless `keep_unhit`."""
    b_hits, c_hits = per_run(base, base.rows, key), per_run(comp, comp.rows, key)
    b_pages = pages(base) if pages else {}
    c_pages = pages(comp) if pages else {}
    b_all, c_all = pages_per_run(base), pages_per_run(comp)
    out: dict[str, dict[str, Any]] = {}
    for value in sorted(set(b_hits) | set(c_hits) | set(b_pages) | set(c_pages)):
        if value not in b_hits and value not in c_hits and not keep_unhit:
            continue
        pb = b_pages.get(value, 0.0) if pages else b_all
        pc = c_pages.get(value, 0.0) if pages else c_all
        out[value] = entry(b_hits.get(value, 0.0), c_hits.get(value, 0.0), pb, pc, tolerance)
    return out


def _target_pages(data: WindowData) -> dict[str, float]:
    return {target: pages_per_run(data, target) for target in data.runs_per_target()}


def _domain_pages(data: WindowData) -> dict[str, float]:
    return per_run(data, data.documents, lambda d: [d.domain])


def _query_pages(data: WindowData) -> dict[str, float]:
    return per_run(data, (d for d in data.documents if d.kind == "result"), lambda d: [d.query or ""])


def _query_hits(data: WindowData) -> dict[str, float]:
    """Distinct matched items per query per run (an item can count under several queries)."""
    seen: set[tuple[str, str, str]] = set()
    unique: list[Document] = []
    for doc in data.documents:
        if doc.kind == "result" and doc.matched and (doc.run_id, doc.query or "", doc.canonical_url) not in seen:
            seen.add((doc.run_id, doc.query or "", doc.canonical_url))
            unique.append(doc)
    return per_run(data, unique, lambda d: [d.query or ""])


def breakdowns(base: WindowData, comp: WindowData, tolerance: float) -> dict[str, dict[str, dict[str, Any]]]:
    """by_category, by_rule, by_target, by_domain and by_query."""
    by_query: dict[str, dict[str, Any]] = {}
    b_q, c_q = _query_hits(base), _query_hits(comp)
    b_qp, c_qp = _query_pages(base), _query_pages(comp)
    for query in sorted(set(b_qp) | set(c_qp) | set(b_q) | set(c_q)):
        by_query[query] = entry(b_q.get(query, 0.0), c_q.get(query, 0.0), b_qp.get(query, 0.0), c_qp.get(query, 0.0),
                                tolerance)
    by_target = breakdown(base, comp, lambda r: [r.target], _target_pages, tolerance, keep_unhit=True)
    base_runs, comp_runs = base.runs_per_target(), comp.runs_per_target()
    for target, values in by_target.items():
        values["runs"] = {"baseline": base_runs.get(target, 0), "compare": comp_runs.get(target, 0)}
        values["excluded_runs"] = {
            "baseline": sum(1 for r in base.excluded if r.target == target),
            "compare": sum(1 for r in comp.excluded if r.target == target),
        }
        values["comparable"] = True
    return {
        "by_category": breakdown(base, comp, lambda r: r.categories, None, tolerance),
        "by_rule": breakdown(base, comp, lambda r: r.rules, None, tolerance),
        "by_target": dict(sorted(by_target.items())),
        "by_domain": breakdown(base, comp, lambda r: [r.domain], _domain_pages, tolerance),
        "by_query": by_query,
    }
