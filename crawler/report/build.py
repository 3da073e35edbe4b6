"""The decline report: hits of a compare window against a baseline window, computed the same for every store.

hits of a window = for each target, the mean number of distinct matched items per
clean run of that target in the window, summed over targets — so windows with
different numbers of runs compare fairly. Runs that were not clean (partial,
failed, interrupted, timeout, still running) are left out and counted.

Beside the foundation's figures the report carries their denominators (pages, hit
rates, a coverage flag), the search headline (matched among the top N), what became
of the baseline's hits (`netpatrol verify`), the domain league table, the rule-set
versions (and `--rematch`), and the per-run series the charts draw.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterable

from crawler.report import coverage
from crawler.report.comparable import make_comparable
from crawler.report.coverage import change_pct, rounded
from crawler.report.items import build_timeline, cleaned_up, league_table
from crawler.report.loader import Filters, WindowData, load_window
from crawler.report.search import search_headline
from crawler.report.series import removal_series, run_series, search_series
from pipelines.errors import UsageError
from pipelines.engine.matcher import Matcher
from pipelines.stores.base import Store, iso


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


@dataclass(frozen=True)
class ReportOptions:
    """How the report counts: see `analytics:` in the config and `report --rematch/--confirmed`."""

    rematch_with: Matcher | None = None  # today's matcher, to count stale windows again (--rematch)
    current_rules_version: str | None = None
    confirmed_only: bool = False
    top_n: int = 10
    coverage_tolerance: float = 0.2
    league_size: int = 20


def _summary(data: WindowData, window: Window) -> dict[str, Any]:
    start, end = window.bounds()
    excluded_by_status: dict[str, int] = defaultdict(int)
    for run in data.excluded:
        excluded_by_status[run.status] += 1
    hits = coverage.hits(data)
    pages = coverage.pages_per_run(data)
    return {
        "from": start,
        "to": end,
        "runs": len(data.runs),
        "pages": sum(r.pages for r in data.runs),
        "hits": hits,
        "excluded_runs": len(data.excluded),
        "excluded_by_status": dict(sorted(excluded_by_status.items())),
        "pages_per_run": rounded(pages),
        "rate_per_1000": rounded(coverage.rate_per_1000(hits, pages)),
        "not_comparable_runs": len(data.set_aside),
        "failed_runs": sum(1 for r in data.excluded if r.status in ("failed", "partial", "timeout")),
        "interrupted_runs": sum(1 for r in data.excluded if r.status == "interrupted"),
        "rules_versions": sorted({r.rules_version for r in data.runs}),
    }


def build_report(
    store: Store,
    baseline: Window,
    compare: Window,
    targets: Iterable[str] | None = None,
    options: ReportOptions | None = None,
) -> dict[str, Any]:
    """The report as the JSON contract describes it, extended with the analytics figures."""
    options = options or ReportOptions()
    wanted = set(targets) if targets else None
    filters = Filters(
        rematch_with=options.rematch_with,
        confirmed=store.verdicts() if options.confirmed_only else None,
    )
    base = load_window(store, *baseline.bounds(), wanted, filters)
    comp = load_window(store, *compare.bounds(), wanted, filters)
    not_comparable = make_comparable(base, comp)  # what one window did not observe cleanly is out of both
    base_summary, comp_summary = _summary(base, baseline), _summary(comp, compare)
    tolerance = options.coverage_tolerance
    parts = coverage.breakdowns(base, comp, tolerance)
    for row in not_comparable["targets"]:
        parts["by_target"][row["target"]] = _not_comparable_row(row)
    parts["by_target"] = dict(sorted(parts["by_target"].items()))
    timeline, items = build_timeline(store, base, comp, wanted)
    b_pages, c_pages = coverage.pages_per_run(base), coverage.pages_per_run(comp)
    b_rate = coverage.rate_per_1000(base_summary["hits"], b_pages)
    c_rate = coverage.rate_per_1000(comp_summary["hits"], c_pages)
    report: dict[str, Any] = {
        "baseline": base_summary,
        "compare": comp_summary,
        "change_pct": change_pct(base_summary["hits"], comp_summary["hits"]),
        "by_category": parts["by_category"],
        "by_target": parts["by_target"],
        "by_domain": parts["by_domain"],
        "by_rule": parts["by_rule"],
        "by_query": parts["by_query"],
        "coverage": {
            "baseline": rounded(b_pages),
            "compare": rounded(c_pages),
            "change_pct": rounded(change_pct(b_pages, c_pages)),
            "changed": coverage.coverage_changed(b_pages, c_pages, tolerance),
            "tolerance": tolerance,
            "rate_change_pct": rounded(change_pct(b_rate, c_rate)) if b_rate is not None and c_rate is not None else None,
        },
        "search": search_headline(base, comp, options.top_n),
        "not_comparable": not_comparable,
        "cleaned_up": cleaned_up(base, comp, timeline, items),
        "domains": league_table(base, comp, parts["by_domain"], timeline, options.league_size),
        "rules": {
            "current": options.current_rules_version,
            "baseline": base_summary["rules_versions"],
            "compare": comp_summary["rules_versions"],
            "differ": _versions_differ(base, comp, options.rematch_with.ruleset.version if options.rematch_with else None),
            "rematch": options.rematch_with is not None,
            "rematched_runs": sorted(base.rematched + comp.rematched),
            "not_rematched_runs": sorted(base.not_rematched + comp.not_rematched),
        },
        "confirmed_only": options.confirmed_only,
        "series": {
            "runs": run_series(base, comp, options.top_n),
            "search": search_series(base, comp, options.top_n),
            "removal": removal_series(timeline, min(base.start, comp.start), max(base.end, comp.end)),
        },
    }
    report["units"] = _units(store, base, comp, parts["by_domain"], timeline, options.league_size)
    report["tips"] = _tips(store, baseline, compare)
    report["warnings"] = _warnings(base, comp, baseline, compare, report)
    return report


def _units(store: Store, base: WindowData, comp: WindowData, by_domain: dict[str, Any], timeline: Any,
           size: int) -> dict[str, Any]:
    """Domains grouped into operating units by the filings their pages show (crawler.report.units)."""
    from crawler.report.units import unit_league
    from pipelines.errors import StoreError

    try:
        filings = store.filings()
    except StoreError:
        filings = []
    urls = {row.canonical_url for row in base.rows + comp.rows}
    removed = {url for url in urls if timeline.status_at(url, comp.end) == "removed"}
    return unit_league(base.rows + comp.rows, by_domain, removed, filings, size)


def _tips(store: Store, baseline: Window, compare: Window) -> dict[str, Any] | None:
    """Tips received per window (by reported_at), their outcomes and time to first check; None if none kept."""
    from crawler.report.tips import tips_section
    from pipelines.errors import StoreError

    try:
        tips = store.tips()
    except StoreError:
        return None
    return tips_section(tips, baseline.bounds(), compare.bounds())


def _not_comparable_row(row: dict[str, Any]) -> dict[str, Any]:
    """A by_target row of a target out of the comparison: what the window with clean runs saw, no change."""
    b, c = row["baseline"], row["compare"]
    return {
        "baseline": b["hits"], "compare": c["hits"], "change_pct": None,
        "pages": {"baseline": None, "compare": None, "change_pct": None},
        "rate_per_1000": {"baseline": None, "compare": None, "change_pct": None},
        "coverage_changed": True,
        "runs": {"baseline": b["clean_runs"], "compare": c["clean_runs"]},
        "excluded_runs": {"baseline": b["excluded_runs"], "compare": c["excluded_runs"]},
        "comparable": False,
        "reason": row["reason"],
    }


def _versions_differ(base: WindowData, comp: WindowData, current: str | None) -> bool:
    """Do the windows' clean runs use different rule-set versions (a re-matched run counts as `current`)?"""
    rematched = set(base.rematched + comp.rematched)
    b = {current if r.id in rematched else r.rules_version for r in base.runs}
    c = {current if r.id in rematched else r.rules_version for r in comp.runs}
    return bool(b and c and b != c)


def _warnings(base: WindowData, comp: WindowData, baseline: Window, compare: Window, report: dict[str, Any]) -> list[str]:
    warnings = []
    for name, data in (("baseline", base), ("compare", comp)):
        if not data.runs and not data.set_aside:
            warnings.append(f"the {name} window has no clean runs: its hits are 0 by absence, not by measurement")
        if data.excluded:
            warnings.append(f"{len(data.excluded)} run(s) of the {name} window were left out (not clean)")
    for row in report["not_comparable"]["targets"]:
        warnings.append(f"target {row['target']} is not comparable ({row['reason']}): left out of both windows'"
                        " totals and the change — missing coverage, not a decline")
    queries = report["not_comparable"]["queries"]
    if queries:
        shown = ", ".join(f"{q['target']}/{q['query']}" for q in queries[:10]) + (" …" if len(queries) > 10 else "")
        warnings.append(f"{len(queries)} search quer(y/ies) not comparable (no clean result page in one window):"
                        f" left out of both windows: {shown}")
    search = report.get("search") or {}
    for name in ("baseline", "compare"):
        lost = (search.get("lost") or {}).get(name) or {}
        if lost.get("pages"):
            reasons = ", ".join(f"{n} {r}" for r, n in lost["by_reason"].items())
            warnings.append(f"{lost['pages']} lost search result page(s) in the {name} window ({reasons}; "
                            f"{lost['query_runs']} query run(s)) were left out of the search figures")
    if baseline.start <= compare.end and compare.start <= baseline.end:
        warnings.append("the baseline and compare windows overlap")
    cov = report["coverage"]
    if cov["changed"] and base.runs and comp.runs:
        warnings.append(
            f"coverage changed: pages per run went from {cov['baseline']:g} to {cov['compare']:g}"
            f" (beyond ±{cov['tolerance'] * 100:g}%); compare hit rates per 1,000 pages, not raw hits"
        )
    rules = report["rules"]
    if rules["differ"]:
        hint = "" if rules["rematch"] else "; `report --rematch` counts both with the current rules"
        warnings.append(f"the windows were matched with different rule versions; counts may not be comparable{hint}")
    if rules["not_rematched_runs"]:
        warnings.append(f"{len(rules['not_rematched_runs'])} run(s) could not be re-matched (their text is no longer kept)"
                        " and keep their original hits")
    clean = report["cleaned_up"]
    if clean["baseline_items"] and clean["unchecked"] == clean["baseline_items"]:
        warnings.append("no baseline hit was verified by the end of the compare window: run `netpatrol verify`"
                        " to count removals")
    return warnings
