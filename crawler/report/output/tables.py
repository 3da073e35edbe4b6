"""Terminal tables for the analytics parts of the report: queries, search headline, clean-up, league, rules."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from crawler.report.output.text import _breakdown_table, fmt_number, fmt_pct


def fmt_share(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _ratio(f: dict[str, Any]) -> str:
    return f"{fmt_number(f['matched'])}/{fmt_number(f['seen'])} ({fmt_share(f['share'])})"


def _search_table(search: dict[str, Any]) -> Table:
    n = search["top_n"]
    table = Table(title=f"Search: matched results in the top {n} per query, organic and promoted apart"
                        " (engine totals are context only)", title_justify="left")
    for column in ("Target", "Query", "Organic b", "Organic c", "Change", "Promoted b", "Promoted c", "Change ",
                   "Clean runs b/c", "Engine total b → c"):
        table.add_column(column, justify="left" if column in ("Target", "Query") else "right")
    for q in search["queries"]:
        b, c, ads = q["baseline"], q["compare"], q["promoted"]
        runs = q.get("clean_runs") or {}
        table.add_row(
            q["target"], q["query"], _ratio(b), _ratio(c), fmt_pct(q["change_pct"]),
            _ratio(ads["baseline"]), _ratio(ads["compare"]), fmt_pct(ads["change_pct"]),
            f"{runs.get('baseline', '–')}/{runs.get('compare', '–')}",
            f"{fmt_number(b['engine_total'])} → {fmt_number(c['engine_total'])}",
        )
    ads = search["promoted"]
    table.add_row("[bold]all[/bold]", "", _ratio(search["baseline"]), _ratio(search["compare"]),
                  fmt_pct(search["change_pct"]), _ratio(ads["baseline"]), _ratio(ads["compare"]),
                  fmt_pct(ads["change_pct"]), "", "")
    return table


def _search_lines(report: dict[str, Any]) -> list[str]:
    """Lost query pages, risk labels, unresolved links and what is not comparable: said, not hidden."""
    search = report.get("search") or {}
    lines = []
    for name in ("baseline", "compare"):
        lost = (search.get("lost") or {}).get(name)
        if lost is not None:
            reasons = ", ".join(f"{r} {n}" for r, n in lost["by_reason"].items()) or "none"
            lines.append(f"Lost search result pages, {name} window: {lost['pages']} in {lost['query_runs']}"
                         f" query run(s) (by reason: {reasons}) — left out of the search figures")
        labels = (search.get("labels") or {}).get(name)
        if labels:
            lines.append(f"Engine risk warnings, {name} window: {labels['risk_labeled']} result(s)"
                         f" ({labels['risk_labeled_matched']} matched); wrapped links {labels['wrapped']},"
                         f" unresolved {labels['unresolved']}")
    nc = report.get("not_comparable") or {}
    for row in nc.get("targets", []):
        lines.append(f"[yellow]Not comparable:[/yellow] target {row['target']} ({row['kind']}): {row['reason']};"
                     " left out of both windows' totals and the change")
    for row in nc.get("queries", []):
        b, c = row["baseline"], row["compare"]
        lines.append(f"[yellow]Not comparable:[/yellow] query {row['target']}/{row['query']}: {row['reason']}"
                     f" (clean runs {b['clean_runs']}/{c['clean_runs']}, lost pages {b['lost_pages']}/{c['lost_pages']})")
    return lines


def _league_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Domain league (most hits in the compare window)", title_justify="left")
    for column in ("Domain", "Compare", "Baseline", "Change", "Items", "Removed", "Removal rate"):
        table.add_column(column, justify="left" if column == "Domain" else "right")
    for row in rows:
        table.add_row(row["domain"], fmt_number(row["compare"]), fmt_number(row["baseline"]), fmt_pct(row["change_pct"]),
                      str(row["items"]), str(row["removed"]), fmt_share(row["removal_rate"]))
    return table


def _cleanup_lines(clean: dict[str, Any]) -> list[str]:
    per_category = ", ".join(f"{k} {v}" for k, v in clean["by_category"].items()) or "none"
    per_domain = ", ".join(f"{k} {v}" for k, v in clean["by_domain"].items()) or "none"
    total = clean["baseline_items"]
    return [
        f"[bold]Cleaned up:[/bold] {clean['removed']} item(s) removed within the compare window"
        f" — by category: {per_category}; by domain: {per_domain}",
        f"Of the baseline window's {total} hit item(s): {clean['gone']} gone ({fmt_share(clean['gone_share'])}),"
        f" {clean['changed']} changed to harmless ({fmt_share(clean['changed_share'])}),"
        f" {clean['unreachable']} unreachable, {clean['still_online']} still online, {clean['unchecked']} never verified",
    ]


def print_analytics(report: dict[str, Any], console: Console) -> None:
    if report.get("by_query"):
        console.print(_breakdown_table("Hits by query", report["by_query"], column="Query"))
    if report.get("search"):
        console.print(_search_table(report["search"]))
    for line in _search_lines(report):
        console.print(line, soft_wrap=True)
    if "cleaned_up" in report:
        for line in _cleanup_lines(report["cleaned_up"]):
            console.print(line, soft_wrap=True)
    if report.get("domains"):
        console.print(_league_table(report["domains"]))
    rules = report.get("rules")
    if rules:
        versions = f"baseline {', '.join(v[:8] for v in rules['baseline']) or '–'};" \
                   f" compare {', '.join(v[:8] for v in rules['compare']) or '–'}"
        if rules.get("current"):
            versions += f"; current {rules['current'][:8]}"
        note = f"Rule-set versions: {versions}"
        if rules["rematch"]:
            note += f" — re-matched {len(rules['rematched_runs'])} run(s) with the current rules"
        console.print(note, soft_wrap=True)
