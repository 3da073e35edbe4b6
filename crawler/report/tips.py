"""The report's tips section: tips received per window and their change, outcome shares, time to first check."""

from __future__ import annotations

from statistics import median
from typing import Any, Iterable

from crawler.report.coverage import change_pct, rounded
from pipelines.stores.base import parse_iso
from pipelines.stores.workbench import TIP_OUTCOMES, Tip


def _window(tips: Iterable[Tip], start: str, end: str) -> dict[str, Any]:
    mine = [t for t in tips if start <= t.reported_at <= end]
    checked = [t for t in mine if t.outcome]
    outcomes = {o: sum(1 for t in checked if t.outcome == o) for o in TIP_OUTCOMES}
    waits = []
    for t in checked:
        reported, first = parse_iso(t.reported_at), parse_iso(t.checked_at)
        if reported is not None and first is not None:
            waits.append(max(0.0, (first - reported).total_seconds()))
    by_channel: dict[str, int] = {}
    for t in mine:
        by_channel[t.channel] = by_channel.get(t.channel, 0) + 1
    return {
        "received": len(mine),
        "checked": len(checked),
        "queued": len(mine) - len(checked),
        "outcomes": outcomes,
        "shares": {o: rounded(n / len(checked)) if checked else None for o, n in outcomes.items()},
        "median_hours_to_check": rounded(median(waits) / 3600) if waits else None,
        "by_channel": dict(sorted(by_channel.items())),
    }


def tips_section(tips: list[Tip], baseline: tuple[str, str], compare: tuple[str, str]) -> dict[str, Any]:
    base, comp = _window(tips, *baseline), _window(tips, *compare)
    return {"baseline": base, "compare": comp, "change_pct": change_pct(base["received"], comp["received"])}
