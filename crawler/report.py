"""The decline report: hits of a compare window against a baseline window, computed the same for every store.

hits of a window = for each target, the mean number of distinct matched items per
clean run of that target in the window, summed over targets — so windows with
different numbers of runs compare fairly. Runs that were not clean (partial,
failed, interrupted, timeout, still running) are left out and counted.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterable

from crawler.errors import UsageError
from pipelines.stores.base import CLEAN_STATUSES, HitRow, Run, Store, iso


@dataclass(frozen=True)
class Window:
    """Runs whose start time lies in [start, end] belong to the window."""

    start: datetime
    end: datetime
    label: str

    def bounds(self) -> tuple[str, str]:
        return iso(self.start) or "", iso(self.end) or ""


def _parse_bound(text: str, is_end: bool) -> datetime:
    text = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        day = date.fromisoformat(text)
        if is_end:  # a date as the end means "through the end of that day"
            return datetime.combine(day + timedelta(days=1), time(), timezone.utc) - timedelta(microseconds=1)
        return datetime.combine(day, time(), timezone.utc)
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{text!r} is not an ISO-8601 date or datetime (e.g. 2026-11-01 or 2026-11-01T08:00:00+08:00)") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def parse_window(text: str, name: str) -> Window:
    """Parse FROM..TO (ISO dates or datetimes, UTC unless an offset is given)."""
    if ".." not in text:
        raise UsageError(f"--{name} {text!r}: expected FROM..TO, e.g. 2026-10-01..2026-10-31")
    start_text, end_text = text.split("..", 1)
    if not start_text or not end_text:
        raise UsageError(f"--{name} {text!r}: both FROM and TO are needed")
    start, end = _parse_bound(start_text, False), _parse_bound(end_text, True)
    if start > end:
        raise UsageError(f"--{name} {text!r}: FROM is after TO")
    return Window(start, end, text)


def change_pct(baseline: float, compare: float) -> float | None:
    if baseline == 0:
        return None
    return (compare - baseline) / baseline * 100.0


def _mean_per_target(
    runs: list[Run], rows: list[HitRow], key: Any
) -> dict[str, float]:
    """For each breakdown value: sum over targets of (distinct items with that value per run, averaged over the target's runs)."""
    runs_per_target: dict[str, int] = defaultdict(int)
    for run in runs:
        runs_per_target[run.target] += 1
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for row in rows:
        for value in key(row):
            counts[(row.target, value)] += 1
    out: dict[str, float] = defaultdict(float)
    for (target, value), count in counts.items():
        out[value] += count / runs_per_target[target]
    return dict(out)


@dataclass
class WindowFigures:
    window: Window
    runs: list[Run]
    excluded: list[Run]
    rows: list[HitRow]

    @property
    def hits(self) -> float:
        return sum(_mean_per_target(self.runs, self.rows, lambda r: ["all"]).values())

    def by(self, key: Any) -> dict[str, float]:
        return _mean_per_target(self.runs, self.rows, key)

    def summary(self) -> dict[str, Any]:
        start, end = self.window.bounds()
        excluded_by_status: dict[str, int] = defaultdict(int)
        for run in self.excluded:
            excluded_by_status[run.status] += 1
        return {
            "from": start,
            "to": end,
            "runs": len(self.runs),
            "pages": sum(r.pages for r in self.runs),
            "hits": self.hits,
            "excluded_runs": len(self.excluded),
            "excluded_by_status": dict(sorted(excluded_by_status.items())),
        }


def window_figures(store: Store, window: Window, targets: Iterable[str] | None = None) -> WindowFigures:
    start, end = window.bounds()
    wanted = set(targets) if targets else None
    all_runs = [r for r in store.runs(since=start, until=end) if wanted is None or r.target in wanted]
    clean = [r for r in all_runs if r.status in CLEAN_STATUSES]
    excluded = [r for r in all_runs if r.status not in CLEAN_STATUSES]
    rows = store.hit_rows([r.id for r in clean]) if clean else []
    # Each (run, item) once, whatever the store returned.
    unique = {(r.run_id, r.canonical_url): r for r in rows}
    return WindowFigures(window, clean, excluded, list(unique.values()))


def _breakdown(base: dict[str, float], comp: dict[str, float]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for key in sorted(set(base) | set(comp)):
        b, c = base.get(key, 0.0), comp.get(key, 0.0)
        out[key] = {"baseline": b, "compare": c, "change_pct": change_pct(b, c)}
    return out


def build_report(store: Store, baseline: Window, compare: Window, targets: Iterable[str] | None = None) -> dict[str, Any]:
    """The report as the JSON contract describes it (plus counts of left-out runs)."""
    target_list = list(targets) if targets else None
    base = window_figures(store, baseline, target_list)
    comp = window_figures(store, compare, target_list)
    base_summary, comp_summary = base.summary(), comp.summary()
    return {
        "baseline": base_summary,
        "compare": comp_summary,
        "change_pct": change_pct(base_summary["hits"], comp_summary["hits"]),
        "by_category": _breakdown(base.by(lambda r: r.categories), comp.by(lambda r: r.categories)),
        "by_target": _breakdown(base.by(lambda r: [r.target]), comp.by(lambda r: [r.target])),
        "by_domain": _breakdown(base.by(lambda r: [r.domain]), comp.by(lambda r: [r.domain])),
        "warnings": _warnings(base, comp),
    }


def _warnings(base: WindowFigures, comp: WindowFigures) -> list[str]:
    warnings = []
    for name, figures in (("baseline", base), ("compare", comp)):
        if not figures.runs:
            warnings.append(f"the {name} window has no clean runs: its hits are 0 by absence, not by measurement")
        if figures.excluded:
            warnings.append(f"{len(figures.excluded)} run(s) of the {name} window were left out (not clean)")
    if base.window.start <= comp.window.end and comp.window.start <= base.window.end:
        warnings.append("the baseline and compare windows overlap")
    base_versions = {r.rules_version for r in base.runs}
    comp_versions = {r.rules_version for r in comp.runs}
    if base_versions and comp_versions and base_versions != comp_versions:
        warnings.append("the windows were matched with different rule versions; counts may not be comparable")
    return warnings
