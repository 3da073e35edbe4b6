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


def _breakdown_table(title: str, rows: dict[str, dict[str, Any]], limit: int = 20) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(title.split()[-1].capitalize())
    table.add_column("Baseline", justify="right")
    table.add_column("Compare", justify="right")
    table.add_column("Change", justify="right")
    ordered = sorted(rows.items(), key=lambda kv: (-max(kv[1]["baseline"], kv[1]["compare"]), kv[0]))
    for key, c in ordered[:limit]:
        table.add_row(key, fmt_number(c["baseline"]), fmt_number(c["compare"]), fmt_pct(c["change_pct"]))
    if len(ordered) > limit:
        table.add_row(f"… {len(ordered) - limit} more", "", "", "")
    return table


def print_report(report: dict[str, Any], console: Console) -> None:
    base, comp = report["baseline"], report["compare"]
    head = Table(title="netpatrol decline report", title_justify="left")
    head.add_column("")
    head.add_column("Window")
    head.add_column("Clean runs", justify="right")
    head.add_column("Left out", justify="right")
    head.add_column("Pages", justify="right")
    head.add_column("Hits", justify="right")
    for name, w in (("Baseline", base), ("Compare", comp)):
        head.add_row(name, f"{w['from']} .. {w['to']}", str(w["runs"]), str(w.get("excluded_runs", 0)),
                     fmt_number(w["pages"]), fmt_number(w["hits"]))
    console.print(head)
    console.print(f"[bold]Change in hits: {fmt_pct(report['change_pct'])}[/bold]  "
                  "(hits = mean distinct matched items per clean run, summed over targets)")
    console.print(_breakdown_table("Hits by category", report["by_category"]))
    console.print(_breakdown_table("Hits by target", report["by_target"]))
    console.print(_breakdown_table("Hits by domain", report["by_domain"]))
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
