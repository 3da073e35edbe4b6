"""`report --html FILE`: the whole report as one self-contained HTML file (inline SVG, inline CSS, no script).

It opens offline, mails as one attachment and prints. The JSON report is embedded too
(`<script type="application/json" id="netpatrol-report">`), and every chart mark carries
its figure in data attributes, so the page can be checked against the JSON.
"""

from __future__ import annotations

import json
from collections import defaultdict
from html import escape
from pathlib import Path
from typing import Any

from crawler.report.output.svg import (
    Band,
    Layout,
    Marker,
    Point,
    Series,
    bar_chart,
    color_for,
    fmt,
    line_chart,
)
from pipelines.errors import UsageError
from pipelines.stores.base import iso, utcnow

_CSS = """
body{font-family:-apple-system,'Segoe UI','PingFang SC','Noto Sans CJK SC','Microsoft YaHei',sans-serif;margin:0;
color:#1f2933;background:#f7f9fb}
header{background:#1f2933;color:#fff;padding:18px 28px}header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;color:#cbd2d9;font-size:13px}main{padding:18px 28px;max-width:1000px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin-bottom:14px}
.card{background:#fff;border:1px solid #e4e7eb;border-radius:6px;padding:10px 14px;min-width:170px}
.card .label{font-size:12px;color:#616e7c;text-transform:uppercase;letter-spacing:.04em}
.card .big{font-size:24px;font-weight:600;margin-top:2px}.card .small{font-size:12px;color:#616e7c}
.down{color:#1b7f4b}.up{color:#c0392b}.flag{color:#b7791f;font-weight:600}
section{background:#fff;border:1px solid #e4e7eb;border-radius:6px;padding:12px 16px;margin-bottom:16px}
section h2{font-size:16px;margin:0 0 6px}section p.note{font-size:12px;color:#616e7c;margin:2px 0 8px}
.warnings{background:#fffbea;border-color:#f0d58a}.warnings li{font-size:13px;margin:3px 0}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{padding:4px 8px;border-bottom:1px solid #edf0f3;text-align:right}
th:first-child,td:first-child{text-align:left}th{color:#52606d;font-weight:600;background:#f5f7fa}
svg.chart{width:100%;height:auto;font-size:11px}.tick{fill:#7b8794;font-size:11px}.legend{font-size:11px}
.axis-label{fill:#52606d;font-size:11px}.band-label{fill:#7b8794;font-size:11px}.value{fill:#3e4c59;font-size:11px}
.cat{fill:#1f2933;font-size:12px}.change{font-size:12px;font-weight:600;fill:#52606d}.change.down{fill:#1b7f4b}
.change.up{fill:#c0392b}.empty{fill:#9aa5b1;font-size:13px}
h3.target{font-size:13px;margin:10px 0 0;color:#3e4c59}
"""


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1f}%"


def _share(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _change_class(value: float | None) -> str:
    return "" if value is None or value == 0 else ("down" if value < 0 else "up")


def _card(label: str, big: str, small: str = "", css: str = "") -> str:
    return (f'<div class="card"><div class="label">{escape(label)}</div><div class="big {css}">{big}</div>'
            f'<div class="small">{small}</div></div>')


def _cards(report: dict[str, Any]) -> str:
    base, comp, cov = report["baseline"], report["compare"], report.get("coverage") or {}
    cards = [
        _card("Hits (per clean run)", f'{fmt(base["hits"])} → {fmt(comp["hits"])}',
              f'<span class="{_change_class(report["change_pct"])}" data-figure="change_pct">{_pct(report["change_pct"])}</span>'),
        _card("Hits per 1,000 pages", f'{fmt(base.get("rate_per_1000"))} → {fmt(comp.get("rate_per_1000"))}',
              _pct(cov.get("rate_change_pct"))),
        _card("Coverage (pages per run)", f'{fmt(cov.get("baseline"))} → {fmt(cov.get("compare"))}',
              '<span class="flag">coverage changed</span>' if cov.get("changed") else "coverage held"
              + f" (±{cov.get('tolerance', 0) * 100:g}%)"),
    ]
    search = report.get("search")
    if search:
        cards.append(_card(f"Search: matched in top {search['top_n']}",
                           f'{_share(search["baseline"]["share"])} → {_share(search["compare"]["share"])}',
                           f'{fmt(search["baseline"]["matched"])} → {fmt(search["compare"]["matched"])} organic results;'
                           f' promoted {fmt(search["promoted"]["baseline"]["matched"])} →'
                           f' {fmt(search["promoted"]["compare"]["matched"])}'))
    clean = report.get("cleaned_up")
    if clean:
        cards.append(_card("Baseline hits now gone", _share(clean["gone_share"]),
                           f'{clean["gone"]} of {clean["baseline_items"]}; {clean["removed"]} removed in the compare window'))
    return '<div class="cards">' + "".join(cards) + "</div>"


def _table(name: str, columns: list[str], rows: list[list[str]], keys: list[str]) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join(
        f'<tr data-table="{name}" data-key="{escape(key, quote=True)}">' + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>"
        for key, row in zip(keys, rows)
    )
    return f'<table data-table="{name}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _breakdown_table(name: str, label: str, rows: dict[str, dict[str, Any]]) -> str:
    ordered = sorted(rows.items(), key=lambda kv: (-max(kv[1]["baseline"] or 0, kv[1]["compare"] or 0), kv[0]))
    cells = []
    for key, c in ordered:
        rate, pages = c.get("rate_per_1000") or {}, c.get("pages") or {}
        cells.append([
            escape(key), f'<span data-field="baseline" data-value="{c["baseline"]}">{fmt(c["baseline"])}</span>',
            f'<span data-field="compare" data-value="{c["compare"]}">{fmt(c["compare"])}</span>',
            f'<span class="{_change_class(c["change_pct"])}">{_pct(c["change_pct"])}</span>',
            f'{fmt(pages.get("baseline"))} → {fmt(pages.get("compare"))}',
            f'{fmt(rate.get("baseline"))} → {fmt(rate.get("compare"))}',
            '<span class="flag">changed</span>' if c.get("coverage_changed") else "held",
        ])
    return _table(name, [label, "Baseline", "Compare", "Change", "Pages b → c", "Per 1k pages", "Coverage"], cells,
                  [k for k, _ in ordered])


#: Targets drawn as small multiples; the others are summed up in the tables below the charts.
MAX_TARGET_CHARTS = 8


def _hits_over_time(report: dict[str, Any]) -> str:
    """One small chart per target (runs of different targets are not comparable points of one line)."""
    runs = report["series"]["runs"]
    if not runs:
        return line_chart("hits-over-time", [], "Hits per run by category", "hits per run")
    categories = sorted({c for r in runs for c in r["by_category"]} | set(report["by_category"]))
    colors = {c: color_for(i) for i, c in enumerate(categories)}
    span = (runs[0]["started_at"], runs[-1]["started_at"])
    totals: dict[str, float] = defaultdict(float)
    for run in runs:
        totals[run["target"]] += run["hits"] or 0
    targets = sorted(totals, key=lambda t: (-totals[t], t))
    charts = []
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
        charts.append(f'<h3 class="target">{escape(target)}</h3>'
                      + line_chart("hits-over-time", series, f"Hits per run by category: {target}", "hits per run",
                                   markers, bands, layout=Layout(height=220), span=span, group=target))
    if len(targets) > MAX_TARGET_CHARTS:
        charts.append(f'<p class="note">{len(targets) - MAX_TARGET_CHARTS} more target(s) with fewer hits are in the'
                      " tables below.</p>")
    return "".join(charts)


def _clip(bands: list[Band], first: str, last: str) -> None:
    """Windows often reach far beyond the runs (a whole month): draw them within the runs' span."""
    for band in bands:
        band.start, band.end = max(band.start, first), min(band.end, last)


def _search_charts(report: dict[str, Any]) -> str:
    points = report["series"]["search"]
    if not points:
        return ""
    top_n = (report.get("search") or {}).get("top_n", 10)
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
    matched_chart = line_chart("search-matched", [Series(n, matched[n], color_for(i)) for i, n in enumerate(names)],
                               f"Matched results in the top {top_n} per query", "matched results")
    totals_chart = line_chart("search-totals", [Series(n, totals[n], color_for(i), dashed=True)
                                                for i, n in enumerate(names) if totals[n]],
                              "Engine result totals per query (context only)", "engine total",
                              layout=Layout(height=220))
    return (
        "<section><h2>Search results over time</h2>"
        f'<p class="note">The headline: how many of the top {top_n} results of each query match the rules.</p>'
        f"{matched_chart}"
        '<p class="note">The engines\' own totals ("about N results") are estimates that move for reasons of their'
        " own; they are shown as context, not as a measure.</p>"
        f"{totals_chart}</section>"
    )


def _removal_chart(report: dict[str, Any]) -> str:
    points = report["series"]["removal"]
    names = [("removed", "#1b7f4b"), ("changed", "#edae49"), ("unreachable", "#9aa5b1"), ("online", "#c0392b")]
    series = [Series(name, [Point(p["at"], float(p[name]), p["at"]) for p in points], color) for name, color in names]
    chart = line_chart("removal-over-time", [s for s in series if s.points], "Verified items by status after each check",
                       "items", step=True)
    return ("<section><h2>Removal over time</h2>"
            '<p class="note">After each <code>netpatrol verify</code>: checked items by status.</p>' + chart + "</section>")


def _league(report: dict[str, Any]) -> str:
    rows = report.get("domains") or []
    cells = [[escape(r["domain"]), f'<span data-field="compare" data-value="{r["compare"]}">{fmt(r["compare"])}</span>',
              f'<span data-field="baseline" data-value="{r["baseline"]}">{fmt(r["baseline"])}</span>',
              f'<span class="{_change_class(r["change_pct"])}">{_pct(r["change_pct"])}</span>',
              f'<span data-field="items" data-value="{r["items"]}">{r["items"]}</span>',
              f'<span data-field="removed" data-value="{r["removed"]}">{r["removed"]}</span>',
              f'<span data-field="removal_rate" data-value="{r["removal_rate"]}">{_share(r["removal_rate"])}</span>']
             for r in rows]
    table = _table("domains", ["Domain", "Compare", "Baseline", "Change", "Items", "Removed", "Removal rate"], cells,
                   [r["domain"] for r in rows])
    return ("<section><h2>Domain league</h2><p class=\"note\">Domains with the most hits in the compare window, their"
            " change against the baseline and the share of their items verified as removed.</p>" + table + "</section>")


def _search_table(report: dict[str, Any]) -> str:
    search = report.get("search")
    if not search:
        return ""
    rows, keys = [], []
    for q in search["queries"]:
        b, c = q["baseline"], q["compare"]
        keys.append(f'{q["target"]}/{q["query"]}')
        rows.append([escape(q["target"]), escape(q["query"]), f'{fmt(b["matched"])}/{fmt(b["seen"])} ({_share(b["share"])})',
                     f'{fmt(c["matched"])}/{fmt(c["seen"])} ({_share(c["share"])})', _pct(q["change_pct"]),
                     f'{fmt(b["engine_total"])} → {fmt(c["engine_total"])}'])
    return ("<section><h2>Search: matched in the top " + str(search["top_n"]) + " per query</h2>"
            + _table("search", ["Target", "Query", "Baseline", "Compare", "Change", "Engine total b → c"], rows, keys)
            + "</section>")


def _cleanup(report: dict[str, Any]) -> str:
    clean = report.get("cleaned_up")
    if not clean:
        return ""
    cats = ", ".join(f"{escape(k)} {v}" for k, v in clean["by_category"].items()) or "none"
    doms = ", ".join(f"{escape(k)} {v}" for k, v in clean["by_domain"].items()) or "none"
    return (
        "<section><h2>Cleaned up</h2>"
        f'<p><b data-figure="removed">{clean["removed"]}</b> item(s) removed within the compare window — by category: {cats};'
        f" by domain: {doms}.</p>"
        f'<p>Of the baseline window\'s <b>{clean["baseline_items"]}</b> hit items: <b data-figure="gone">{clean["gone"]}</b>'
        f' gone ({_share(clean["gone_share"])}), {clean["changed"]} changed to harmless ({_share(clean["changed_share"])}),'
        f' {clean["unreachable"]} unreachable, {clean["still_online"]} still online, {clean["unchecked"]} never verified.</p>'
        "</section>"
    )


def render_html(report: dict[str, Any]) -> str:
    """The report as a standalone HTML document."""
    base, comp = report["baseline"], report["compare"]
    bars = bar_chart("category-bars", [(k, v["baseline"], v["compare"], v["change_pct"])
                                       for k, v in sorted(report["by_category"].items())],
                     "Hits by category: baseline against compare")
    warnings = "".join(f"<li>{escape(w)}</li>" for w in report.get("warnings", []))
    embedded = json.dumps(report, ensure_ascii=False).replace("</", "<\\/")
    title = "netpatrol decline report" + (" — confirmed hits only" if report.get("confirmed_only") else "")
    parts = [
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n",
        f"<header><h1>{escape(title)}</h1><p>Baseline {escape(base['from'])} .. {escape(base['to'])}"
        f" ({base['runs']} clean runs, {base['excluded_runs']} left out) · Compare {escape(comp['from'])} .. {escape(comp['to'])}"
        f" ({comp['runs']} clean runs, {comp['excluded_runs']} left out) · generated {iso(utcnow())}</p></header>\n<main>\n",
        _cards(report),
        f'<section class="warnings"><h2>Notes</h2><ul>{warnings}</ul></section>' if warnings else "",
        "<section><h2>Hits per run over time</h2><p class=\"note\">Distinct matched items of each clean run, by category;"
        " ✕ marks runs left out (failed, partial, interrupted).</p>" + _hits_over_time(report) + "</section>",
        "<section><h2>Baseline against compare</h2><p class=\"note\">Hits per clean run, summed over targets.</p>"
        + bars + "</section>",
        _search_charts(report),
        _removal_chart(report),
        _league(report),
        _cleanup(report),
        _search_table(report),
        "<section><h2>By target</h2>" + _breakdown_table("by_target", "Target", report["by_target"]) + "</section>",
        "<section><h2>By rule</h2>" + _breakdown_table("by_rule", "Rule", report.get("by_rule", {})) + "</section>",
        "<section><h2>By query</h2>" + _breakdown_table("by_query", "Query", report.get("by_query", {})) + "</section>",
        "<section><h2>By domain</h2>" + _breakdown_table("by_domain", "Domain", report["by_domain"]) + "</section>",
        f'</main>\n<script type="application/json" id="netpatrol-report">{embedded}</script>\n</body>\n</html>\n',
    ]
    return "".join(parts)


def write_html(report: dict[str, Any], path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_html(report), encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot write the HTML report: {exc}") from None

