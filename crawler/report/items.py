"""What became of the items: clean-up figures and the domain league table, from the status history.

An item's status at time t is its latest event up to t: a check by `netpatrol verify`
(online, changed, unreachable, removed) or a sighting in a clean run of either window
(online: a listing that came back is not gone).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from typing import Any, Iterable

from crawler.report.coverage import change_pct, rounded
from crawler.report.loader import WindowData
from pipelines.stores.base import Store
from pipelines.stores.tracking import ItemCheck, TrackedItem


class Timeline:
    """Status events per item, answering "what was it at time t" and "since when"."""

    def __init__(self, checks: list[ItemCheck], sightings: Iterable[tuple[str, str]]) -> None:
        events: dict[str, list[tuple[str, int, str]]] = defaultdict(list)
        for check in checks:
            events[check.canonical_url].append((check.checked_at, 1, check.status))
        for url, at in sightings:
            events[url].append((at, 0, "online"))
        self.events = {url: sorted(evs) for url, evs in events.items()}
        self.checked = {c.canonical_url for c in checks}
        self.sessions: dict[str, str] = {}  # verify id -> time of its last check
        for check in checks:
            self.sessions[check.verify_id] = max(check.checked_at, self.sessions.get(check.verify_id, ""))

    def status_at(self, url: str, at: str) -> str | None:
        """The latest status up to `at`, or None when nothing is known."""
        evs = self.events.get(url, [])
        index = bisect_right(evs, (at, 2, "")) - 1
        return evs[index][2] if index >= 0 else None

    def since(self, url: str, at: str) -> str | None:
        """When the status the item has at `at` began (the first event of its final run of equal statuses)."""
        evs = [e for e in self.events.get(url, []) if e[0] <= at]
        if not evs:
            return None
        status = evs[-1][2]
        start = evs[-1][0]
        for when, _, value in reversed(evs):
            if value != status:
                break
            start = when
        return start


def build_timeline(store: Store, base: WindowData, comp: WindowData, targets: set[str] | None) -> tuple[Timeline, dict[str, TrackedItem]]:
    """Every check up to the compare window's end plus the windows' sightings, and the items they concern."""
    run_start = {r.id: r.started_at for r in base.runs + comp.runs}
    sightings = [(row.canonical_url, run_start[row.run_id]) for row in base.rows + comp.rows]
    checks = store.item_checks(until=comp.end)
    urls = {c.canonical_url for c in checks} | {url for url, _ in sightings}
    items = {item.canonical_url: item for item in store.items(canonical_urls=urls)} if urls else {}
    if targets is not None:  # `report --target`: the other targets' items are not this report's business
        keep = {url for url, item in items.items() if item.target in targets} | {url for url, _ in sightings}
        checks = [c for c in checks if c.canonical_url in keep]
    return Timeline(checks, sightings), items


def _share(part: int, whole: int) -> float | None:
    return rounded(part / whole) if whole else None


def cleaned_up(base: WindowData, comp: WindowData, timeline: Timeline, items: dict[str, TrackedItem]) -> dict[str, Any]:
    """Items removed within the compare window (per category and domain), and what became of the baseline's hits."""
    by_category: dict[str, int] = defaultdict(int)
    by_domain: dict[str, int] = defaultdict(int)
    removed = 0
    for url in sorted(timeline.events):
        if timeline.status_at(url, comp.end) != "removed":
            continue
        since = timeline.since(url, comp.end) or ""
        if not comp.start <= since <= comp.end:
            continue
        removed += 1
        item = items.get(url)
        for category in (item.categories if item else []):
            by_category[category] += 1
        by_domain[item.domain if item else ""] += 1
    baseline_items = sorted({row.canonical_url for row in base.rows})
    fate: dict[str, int] = defaultdict(int)
    for url in baseline_items:
        fate[(timeline.status_at(url, comp.end) or "unchecked") if url in timeline.checked else "unchecked"] += 1
    total = len(baseline_items)
    return {
        "removed": removed,
        "by_category": dict(sorted(by_category.items())),
        "by_domain": dict(sorted(by_domain.items())),
        "baseline_items": total,
        "gone": fate["removed"],
        "gone_share": _share(fate["removed"], total),
        "changed": fate["changed"],
        "changed_share": _share(fate["changed"], total),
        "unreachable": fate["unreachable"],
        "still_online": fate["online"],
        "unchecked": fate["unchecked"],
    }


def league_table(
    base: WindowData,
    comp: WindowData,
    by_domain: dict[str, dict[str, Any]],
    timeline: Timeline,
    size: int,
) -> list[dict[str, Any]]:
    """Domains with the most hits in the compare window, their change and their removal rate."""
    items: dict[str, set[str]] = defaultdict(set)
    for row in base.rows + comp.rows:
        items[row.domain].add(row.canonical_url)
    table = []
    for domain, figures in by_domain.items():
        urls = items.get(domain, set())
        removed = sum(1 for url in urls if timeline.status_at(url, comp.end) == "removed")
        table.append({
            "domain": domain,
            "compare": figures["compare"],
            "baseline": figures["baseline"],
            "change_pct": change_pct(figures["baseline"], figures["compare"]),
            "items": len(urls),
            "removed": removed,
            "removal_rate": _share(removed, len(urls)),
        })
    table.sort(key=lambda row: (-row["compare"], -row["baseline"], row["domain"]))
    return table[:size]
