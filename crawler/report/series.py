"""Per-run and per-check figures over time, for the report's charts (and its JSON, so both agree)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from crawler.report.items import Timeline
from crawler.report.loader import WindowData


def run_series(base: WindowData, comp: WindowData, top_n: int) -> list[dict[str, Any]]:
    """Every run of both windows in time order: clean runs with their hits by category, left-out runs marked."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for window_name, data in (("baseline", base), ("compare", comp)):
        per_run: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        items: dict[str, set[str]] = defaultdict(set)
        for row in data.rows + data.set_aside_rows:
            items[row.run_id].add(row.canonical_url)
            for category in row.categories:
                per_run[row.run_id][category].add(row.canonical_url)
        for run in data.runs + data.set_aside + data.excluded:
            if run.id in seen:  # overlapping windows: a run is drawn once
                continue
            seen.add(run.id)
            clean = run in data.runs or run in data.set_aside
            out.append({
                "comparable": run in data.runs,
                "run_id": run.id,
                "target": run.target,
                "started_at": run.started_at,
                "status": run.status,
                "window": window_name,
                "pages": run.pages,
                "hits": len(items[run.id]) if clean else None,
                "by_category": {c: len(u) for c, u in sorted(per_run[run.id].items())} if clean else {},
            })
    out.sort(key=lambda r: (r["started_at"], r["run_id"]))
    return out


def search_series(base: WindowData, comp: WindowData, top_n: int) -> list[dict[str, Any]]:
    """Per clean search run and query: the engine's total (context) and matched/seen among the top N."""
    points: dict[tuple[str, str], dict[str, Any]] = {}
    for data in (base, comp):
        started = {r.id: r for r in data.runs}
        for total in data.totals:
            run = started.get(total.run_id)
            if run is None:
                continue
            points[(run.id, total.query)] = {
                "run_id": run.id, "target": run.target, "started_at": run.started_at, "query": total.query,
                "engine_total": total.total, "matched_top_n": 0, "seen_top_n": 0,
            }
        for total in data.lost:  # lost query pages are drawn as gaps, never as 0
            run = started.get(total.run_id)
            if run is not None:
                points[(run.id, total.query)] = {
                    "run_id": run.id, "target": run.target, "started_at": run.started_at, "query": total.query,
                    "engine_total": total.total, "matched_top_n": None, "seen_top_n": None, "lost": total.lost,
                }
        for doc in data.documents:
            if doc.kind != "result" or doc.rank is None or doc.rank > top_n or doc.ad:
                continue
            point = points.get((doc.run_id, doc.query or ""))
            if point is not None:
                point["seen_top_n"] += 1
                point["matched_top_n"] += int(doc.matched)
    return sorted(points.values(), key=lambda p: (p["started_at"], p["query"], p["run_id"]))


def removal_series(timeline: Timeline, start: str, end: str) -> list[dict[str, Any]]:
    """After each `netpatrol verify` that ended in [start, end]: how many checked items are removed, changed, online."""
    times = sorted(at for at in set(timeline.sessions.values()) if start <= at <= end)
    out = []
    for at in times:
        counts: dict[str, int] = defaultdict(int)
        for url in timeline.checked:
            status = timeline.status_at(url, at)
            if status is not None:
                counts[status] += 1
        out.append({"at": at, "removed": counts["removed"], "changed": counts["changed"],
                    "unreachable": counts["unreachable"], "online": counts["online"]})
    return out
