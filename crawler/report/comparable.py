"""What both windows observed cleanly: only that is compared.

A target with no clean run in one window, or a search query with no clean observation in one
window (its result pages were walled, empty or cut short there), is not comparable: it drops
out of BOTH windows' figures and the headline change, and the report lists it. It is never 0.

A search target is counted per query: a query's results are averaged over the runs in which
that query was clean, so a run whose engine walled some queries keeps its good ones. An item
found by several queries of one run counts once, under the first of them in sorted order.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from crawler.report.loader import WindowData
from pipelines.stores.base import HitRow, Run
from pipelines.stores.tracking import Document


def _search_rows(documents: list[Document]) -> list[HitRow]:
    """One hit row per run and matched item, attributed to the first (sorted) query that found it."""
    rows: dict[tuple[str, str], HitRow] = {}
    for doc in sorted(documents, key=lambda d: (d.run_id, d.query or "", d.ad, d.rank or 0)):
        if not doc.matched:
            continue
        key = (doc.run_id, doc.canonical_url)
        row = rows.get(key)
        if row is None:
            rows[key] = HitRow(doc.run_id, doc.target, doc.canonical_url, doc.domain, list(doc.categories),
                               list(doc.rules), query=doc.query or "")
        else:
            row.categories = sorted(set(row.categories) | set(doc.categories))
            row.rules = sorted(set(row.rules) | set(doc.rules))
    return list(rows.values())


def _clean_observations(data: WindowData) -> tuple[dict[tuple[str, str], int], set[tuple[str, str]]]:
    """(clean runs per (target, query), the (run, query) pairs with lost pages) of the window's search runs."""
    clean: dict[tuple[str, str], int] = defaultdict(int)
    lost: set[tuple[str, str]] = set()
    for total in data.totals:
        if total.lost:
            lost.add((total.run_id, total.query))
        else:
            clean[(total.target, total.query)] += 1
    return clean, lost


def _set_aside(data: WindowData, targets: set[str]) -> None:
    data.set_aside = [r for r in data.runs if r.target in targets]
    data.set_aside_rows = [r for r in data.rows if r.target in targets]
    data.runs = [r for r in data.runs if r.target not in targets]
    data.rows = [r for r in data.rows if r.target not in targets]
    data.documents = [d for d in data.documents if d.target not in targets]
    data.totals = [t for t in data.totals if t.target not in targets]


def _target_entry(name: str, base: WindowData, comp: WindowData) -> dict[str, Any]:
    def figures(data: WindowData) -> dict[str, Any]:
        runs = [r for r in data.set_aside if r.target == name]
        items = {(r.run_id, r.canonical_url) for r in data.set_aside_rows if r.target == name}
        excluded = [r for r in data.excluded if r.target == name]
        return {
            "clean_runs": len(runs),
            "hits": len(items) / len(runs) if runs else None,
            "excluded_runs": len(excluded),
            "excluded_by_status": dict(sorted(_count(r.status for r in excluded).items())),
        }

    b, c = figures(base), figures(comp)
    missing = [w for w, f in (("baseline", b), ("compare", c)) if not f["clean_runs"]]
    return {"target": name, "kind": _kind(name, base, comp), "baseline": b, "compare": c,
            "reason": f"no clean run in the {' and '.join(missing)} window" + ("s" if len(missing) > 1 else "")}


def _count(values: Any) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for value in values:
        out[value] += 1
    return out


def _kind(name: str, base: WindowData, comp: WindowData) -> str:
    for run in base.set_aside + comp.set_aside + base.excluded + comp.excluded + base.runs + comp.runs:
        if run.target == name:
            return run.kind
    return ""


def make_comparable(base: WindowData, comp: WindowData) -> dict[str, list[dict[str, Any]]]:
    """Restrict both windows to what both observed cleanly; return what was left out, for the report."""
    for data in (base, comp):
        data.search_targets = {r.target for r in data.runs + data.excluded if r.kind == "search"}
    search_targets = base.search_targets | comp.search_targets
    base.search_targets = comp.search_targets = search_targets

    # Targets: clean runs in both windows, or out of both.
    clean_b, clean_c = set(base.runs_per_target()), set(comp.runs_per_target())
    seen = clean_b | clean_c | {r.target for r in base.excluded + comp.excluded}
    out_targets = seen - (clean_b & clean_c)
    for data in (base, comp):
        _set_aside(data, out_targets)
    targets = [_target_entry(name, base, comp) for name in sorted(out_targets)]

    # Queries of search targets: a clean observation in both windows, or out of both.
    (obs_b, lost_b), (obs_c, lost_c) = _clean_observations(base), _clean_observations(comp)
    pairs = {(t.target, t.query) for t in base.totals + comp.totals}
    out_queries = {pair for pair in pairs if not (obs_b.get(pair) and obs_c.get(pair))}
    queries = []
    for target, query in sorted(out_queries):
        def figures(data: WindowData, obs: dict[tuple[str, str], int]) -> dict[str, Any]:
            lost = [t for t in data.totals if t.target == target and t.query == query and t.lost]
            return {"clean_runs": obs.get((target, query), 0), "lost_runs": len(lost),
                    "lost_pages": sum(t.lost for t in lost),
                    "reasons": sorted({reason for t in lost for reason in t.lost_reasons})}

        b, c = figures(base, obs_b), figures(comp, obs_c)
        missing = [w for w, f in (("baseline", b), ("compare", c)) if not f["clean_runs"]]
        queries.append({"target": target, "query": query, "baseline": b, "compare": c,
                        "reason": f"no clean observation in the {' and '.join(missing)} window"
                                  + ("s" if len(missing) > 1 else "")})

    for data, obs, lost in ((base, obs_b, lost_b), (comp, obs_c, lost_c)):
        data.lost = [t for t in data.totals if t.lost]
        data.query_runs = {pair: n for pair, n in obs.items() if pair not in out_queries}
        search_runs = {r.id for r in data.runs if r.target in search_targets}

        def keep(doc: Document) -> bool:
            if doc.run_id not in search_runs:
                return True
            return (doc.target, doc.query or "") not in out_queries and (doc.run_id, doc.query or "") not in lost

        data.documents = [d for d in data.documents if keep(d)]
        data.totals = [t for t in data.totals if not t.lost and (t.target, t.query) not in out_queries]
        data.rows = [r for r in data.rows if r.run_id not in search_runs] + _search_rows(
            [d for d in data.documents if d.run_id in search_runs and d.kind == "result"])
    return {"targets": targets, "queries": queries}


def set_aside_runs(data: WindowData) -> list[Run]:
    return list(data.set_aside)
