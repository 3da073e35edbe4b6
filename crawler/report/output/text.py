"""Render reports and run lists as readable terminal tables (rich), with the same figures as the JSON."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from pipelines.stores.base import Run


def fmt_number(value: float | None) -> str:
    if value is None:
        return "–"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def fmt_pct(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.1f}%"


def fmt_rate(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f}"


def _breakdown_table(title: str, rows: dict[str, dict[str, Any]], limit: int = 20, column: str | None = None) -> Table:
    """Baseline, compare and change, plus hits per 1,000 pages and the coverage flag when the report has them."""
    table = Table(title=title, title_justify="left")
    table.add_column(column or title.split()[-1].capitalize(), overflow="fold")
    table.add_column("Baseline", justify="right")
    table.add_column("Compare", justify="right")
    table.add_column("Change", justify="right")
    with_rates = any("rate_per_1000" in c for c in rows.values())
    if with_rates:
        table.add_column("Pages b → c", justify="right")
        table.add_column("Per 1k pages b → c", justify="right")
        table.add_column("Coverage", justify="left")
    ordered = sorted(rows.items(), key=lambda kv: (-max(kv[1]["baseline"] or 0, kv[1]["compare"] or 0), kv[0]))
    for key, c in ordered[:limit]:
        change = fmt_pct(c["change_pct"]) if c.get("comparable", True) else "not comparable"
        cells = [key, fmt_number(c["baseline"]), fmt_number(c["compare"]), change]
        if with_rates:
            pages, rate = c.get("pages", {}), c.get("rate_per_1000", {})
            cells += [
                f"{fmt_number(pages.get('baseline'))} → {fmt_number(pages.get('compare'))}",
                f"{fmt_rate(rate.get('baseline'))} → {fmt_rate(rate.get('compare'))}",
                "[yellow]changed[/yellow]" if c.get("coverage_changed") else "held",
            ]
        table.add_row(*cells)
    if len(ordered) > limit:
        table.add_row(f"… {len(ordered) - limit} more", *[""] * (len(table.columns) - 1))
    return table


def print_report(report: dict[str, Any], console: Console) -> None:
    from crawler.report.output.tables import print_analytics

    base, comp = report["baseline"], report["compare"]
    head = Table(title="netpatrol decline report" + (" (confirmed hits only)" if report.get("confirmed_only") else ""),
                 title_justify="left")
    head.add_column("")
    head.add_column("Window")
    head.add_column("Clean runs", justify="right")
    head.add_column("Left out", justify="right")
    head.add_column("Pages", justify="right")
    head.add_column("Pages/run", justify="right")
    head.add_column("Hits", justify="right")
    head.add_column("Hits/1k pages", justify="right")
    for name, w in (("Baseline", base), ("Compare", comp)):
        left_out = str(w.get("excluded_runs", 0))
        if w.get("excluded_by_status"):
            left_out += " (" + ", ".join(f"{n} {s}" for s, n in w["excluded_by_status"].items()) + ")"
        runs = str(w["runs"]) + (f" (+{w['not_comparable_runs']} not comparable)" if w.get("not_comparable_runs") else "")
        head.add_row(name, f"{w['from']} .. {w['to']}", runs, left_out,
                     fmt_number(w["pages"]), fmt_number(w.get("pages_per_run")), fmt_number(w["hits"]),
                     fmt_rate(w.get("rate_per_1000")))
    console.print(head)
    line = f"[bold]Change in hits: {fmt_pct(report['change_pct'])}[/bold]"
    cov = report.get("coverage")
    if cov:
        line += f"  · hits per 1,000 pages: {fmt_pct(cov.get('rate_change_pct'))}"
        if not cov.get("baseline") and not cov.get("compare"):
            line += "  · no pages fetched in either window"
        elif cov.get("changed"):
            line += f"  · [yellow]coverage changed[/yellow] (pages per run {fmt_pct(cov.get('change_pct'))})"
        else:
            line += f"  · coverage held (pages per run {fmt_pct(cov.get('change_pct'))})"
    console.print(line)
    console.print("(hits = mean distinct matched items per clean run, summed over targets)")
    console.print(_breakdown_table("Hits by category", report["by_category"]))
    if "by_rule" in report:
        console.print(_breakdown_table("Hits by rule", report["by_rule"]))
    console.print(_breakdown_table("Hits by target", report["by_target"]))
    console.print(_breakdown_table("Hits by domain", report["by_domain"]))
    print_analytics(report, console)
    from crawler.report.output.workbench_text import print_tips, print_units

    print_units(report, console)
    print_tips(report, console)
    for warning in report.get("warnings", []):
        console.print(f"[yellow]note:[/yellow] {warning}")


def print_runs(runs: list[Run], console: Console) -> None:
    table = Table(title="Runs", title_justify="left")
    for col in ("Run", "Target", "Started (UTC)", "Finished", "Status", "Pages", "Errors", "Hits", "Rules"):
        table.add_column(col, justify="right" if col in ("Pages", "Errors", "Hits") else "left")
    for run in runs:
        style = {"completed": "green", "partial": "yellow", "failed": "red", "interrupted": "red", "timeout": "red"}.get(run.status, "")
        table.add_row(run.id, run.target, run.started_at[:19], (run.finished_at or "")[:19],
                      f"[{style}]{run.status}[/]" if style else run.status,
                      str(run.pages), str(run.errors), str(run.hits), run.rules_version[:8])
    console.print(table)


def print_hits(hits: list[dict[str, Any]], console: Console) -> None:
    table = Table(title=f"{len(hits)} hits", title_justify="left", show_lines=False)
    for col in ("Target", "Categories", "Score", "Title", "URL"):
        table.add_column(col, overflow="fold")
    for hit in hits:
        table.add_row(hit["target"], ",".join(hit["categories"]), fmt_number(hit["score"]), hit["title"][:40], hit["url"])
    console.print(table)
