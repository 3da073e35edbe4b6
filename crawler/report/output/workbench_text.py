"""The report's unit league and tips section as terminal tables (beside crawler.report.output.text)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from crawler.report.output.text import fmt_number, fmt_pct


def _share(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def print_units(report: dict[str, Any], console: Console) -> None:
    units = report.get("units")
    if not units:
        return
    table = Table(title=f"Unit league: operators behind the domains (units with hits {units['baseline']} → "
                        f"{units['compare']}, {fmt_pct(units['change_pct'])}; {units['cleared']} cleared)",
                  title_justify="left")
    for column in ("Unit", "Domains", "Baseline", "Compare", "Change", "Items", "Removed", "Removal rate"):
        table.add_column(column, overflow="fold", justify="left" if column in ("Unit", "Domains") else "right")
    for u in units["league"]:
        table.add_row(u["unit"], ", ".join(u["domains"]), fmt_number(u["baseline"]), fmt_number(u["compare"]),
                      fmt_pct(u["change_pct"]), str(u["items"]), str(u["removed"]), _share(u["removal_rate"]))
    console.print(table)


def print_tips(report: dict[str, Any], console: Console) -> None:
    tips = report.get("tips")
    if not tips:
        return
    table = Table(title=f"Tips: received {tips['baseline']['received']} → {tips['compare']['received']}"
                        f" ({fmt_pct(tips['change_pct'])})", title_justify="left")
    table.add_column("Window")
    for column in ("Received", "Checked", "Confirmed", "No violation", "Unreachable", "Duplicate", "Median h to check"):
        table.add_column(column, justify="right")
    for name in ("baseline", "compare"):
        w = tips[name]
        shares = w["shares"]
        table.add_row(name, str(w["received"]), str(w["checked"]),
                      *(f"{w['outcomes'][o]} ({_share(shares[o])})" for o in
                        ("confirmed", "no_violation", "unreachable", "duplicate")),
                      fmt_number(w["median_hours_to_check"]))
    console.print(table)
