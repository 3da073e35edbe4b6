"""`report --html FILE`: the whole report as one self-contained HTML file (inline SVG, inline CSS, no script).

It opens offline, mails as one attachment and prints. The JSON report is embedded too
(`<script type="application/json" id="netpatrol-report">`), and every chart mark carries
its figure in data attributes, so the page can be checked against the JSON.

This module picks and orders what the page shows; the markup is `templates/report.html.j2`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup

from crawler.report.output.svg import Band, Layout, Marker, Point, Series, bar_chart, color_for, line_chart
from crawler.report.output.templating import render
from pipelines.errors import UsageError
from pipelines.stores.base import iso, utcnow

#: Targets drawn as small multiples; the others are summed up in the tables below the charts.
MAX_TARGET_CHARTS = 8


def _ordered(rows: dict[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Breakdown rows, the largest (in either window) first."""
    return sorted(rows.items(), key=lambda kv: (-max(kv[1]["baseline"] or 0, kv[1]["compare"] or 0), kv[0]))


def _hits_over_time(report: dict[str, Any]) -> tuple[list[tuple[str | None, Markup]], int]:
    """One small chart per target (runs of different targets are not comparable points of one line).

    Returns (target, chart) pairs and how many targets were left to the tables."""
    runs = report["series"]["runs"]
    if not runs:
        return [(None, line_chart("hits-over-time", [], "Hits per run by category", "hits per run"))], 0
    categories = sorted({c for r in runs for c in r["by_category"]} | set(report["by_category"]))
    colors = {c: color_for(i) for i, c in enumerate(categories)}
    span = (runs[0]["started_at"], runs[-1]["started_at"])
    totals: dict[str, float] = defaultdict(float)
    for run in runs:
        totals[run["target"]] += run["hits"] or 0
    targets = sorted(totals, key=lambda t: (-totals[t], t))
    charts: list[tuple[str | None, Markup]] = []
    for target in targets[:MAX_TARGET_CHARTS]:
        mine = [r for r in runs if r["target"] == target]
        by_category: dict[str, list[Point]] = defaultdict(list)
        hit = {c for r in mine for c in r["by_category"]}  # a line per category this target ever hit
        for run in mine:
            if run["hits"] is None:
                continue
            for category in sorted(hit):
                by_category[category].append(Point(run["started_at"], float(run["by_category"].get(category, 0)),
                                                   run["run_id"], f'{target}, {run["started_at"][:19]}'))
        series = [Series(c, by_category[c], colors[c]) for c in categories if by_category[c]]
        markers = [Marker(r["started_at"], r["run_id"], f'{target} run {r["run_id"]}: {r["status"]} (left out)')
                   for r in mine if r["hits"] is None]
        bands = [Band(report["baseline"]["from"], report["baseline"]["to"], "baseline"),
                 Band(report["compare"]["from"], report["compare"]["to"], "compare", "#e8f3f8")]
        bands = [b for b in bands if b.start <= span[1] and b.end >= span[0]]
        _clip(bands, *span)
        charts.append((target, line_chart("hits-over-time", series, f"Hits per run by category: {target}",
                                          "hits per run", markers, bands, layout=Layout(height=220), span=span,
                                          group=target)))
    return charts, max(0, len(targets) - MAX_TARGET_CHARTS)


def _clip(bands: list[Band], first: str, last: str) -> None:
    """Windows often reach far beyond the runs (a whole month): draw them within the runs' span."""
    for band in bands:
        band.start, band.end = max(band.start, first), min(band.end, last)


def _search_charts(report: dict[str, Any], top_n: int) -> list[Markup]:
    """Matched results in the top N per query (the headline), then the engines' totals (context only)."""
    points = report["series"]["search"]
    if not points:
        return []
    matched: dict[str, list[Point]] = defaultdict(list)
    totals: dict[str, list[Point]] = defaultdict(list)
    for p in points:
        if p["matched_top_n"] is None:  # a lost query page: a gap, never a 0
            continue
        name = p["query"] if len({q["target"] for q in points}) == 1 else f'{p["target"]}: {p["query"]}'
        matched[name].append(Point(p["started_at"], float(p["matched_top_n"]), p["run_id"],
                                   f'{p["matched_top_n"]} of {p["seen_top_n"]} in the top {top_n}'))
        if p["engine_total"] is not None:
            totals[name].append(Point(p["started_at"], float(p["engine_total"]), p["run_id"], "engine total"))
    names = sorted(matched)
    return [
        line_chart("search-matched", [Series(n, matched[n], color_for(i)) for i, n in enumerate(names)],
                   f"Matched results in the top {top_n} per query", "matched results"),
        line_chart("search-totals", [Series(n, totals[n], color_for(i), dashed=True)
                                     for i, n in enumerate(names) if totals[n]],
                   "Engine result totals per query (context only)", "engine total", layout=Layout(height=220)),
    ]


def _removal_chart(report: dict[str, Any]) -> Markup:
    points = report["series"]["removal"]
    names = [("removed", "#1b7f4b"), ("changed", "#edae49"), ("unreachable", "#9aa5b1"), ("online", "#c0392b")]
    series = [Series(name, [Point(p["at"], float(p[name]), p["at"]) for p in points], color) for name, color in names]
    return line_chart("removal-over-time", [s for s in series if s.points], "Verified items by status after each check",
                      "items", step=True)


def _embedded_json(report: dict[str, Any]) -> Markup:
    """The report as JSON inside <script>: `<`, `>`, `&` and `'` as \\u escapes, so no name can end the element
    (or start an HTML comment in it); the JSON reads back the same."""
    return htmlsafe_json_dumps(report, dumps=json.dumps, ensure_ascii=False)


def render_html(report: dict[str, Any]) -> str:
    """The report as a standalone HTML document."""
    search = report.get("search")
    top_n = (search or {}).get("top_n", 10)
    hit_charts, more_targets = _hits_over_time(report)
    bars = bar_chart("category-bars", [(k, v["baseline"], v["compare"], v["change_pct"])
                                       for k, v in sorted(report["by_category"].items())],
                     "Hits by category: baseline against compare")
    return str(render(
        "report.html.j2",
        report=report,
        title="netpatrol decline report" + (" — confirmed hits only" if report.get("confirmed_only") else ""),
        base=report["baseline"], comp=report["compare"], cov=report.get("coverage") or {},
        search=search, top_n=top_n, clean=report.get("cleaned_up"), warnings=report.get("warnings", []),
        generated=iso(utcnow()),
        hit_charts=hit_charts, more_targets=more_targets, bars=bars,
        search_charts=_search_charts(report, top_n), removal_chart=_removal_chart(report),
        domains=report.get("domains") or [],
        by_target=_ordered(report["by_target"]), by_rule=_ordered(report.get("by_rule", {})),
        by_query=_ordered(report.get("by_query", {})), by_domain=_ordered(report["by_domain"]),
        embedded=_embedded_json(report),
    ))


def write_html(report: dict[str, Any], path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_html(report), encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot write the HTML report: {exc}") from None
