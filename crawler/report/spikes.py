"""Decide whether a finished run deserves an alert: a spike in hits, or a streak of failed runs.

Pure arithmetic on runs and hit rows, so it is tested without a crawl and gives the
same answer whatever store the runs came from.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from pipelines.stores.base import CLEAN_STATUSES, HitRow, Run

#: Statuses that count towards a failure streak. `interrupted` (someone stopped the crawl) and
#: `running` neither count nor break it; a clean run breaks it.
FAILED_STATUSES = ("failed", "partial", "timeout")


@dataclass(frozen=True)
class Alert:
    kind: str  # "spike" | "failures"
    scope: str  # "target" | "category"
    key: str  # the target name or the category
    message: str
    hits: int | None = None
    trailing_mean: float | None = None
    threshold: float | None = None
    runs: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None and v != []}


def _counts(rows: list[HitRow]) -> tuple[int, Counter[str]]:
    items = {row.canonical_url for row in rows}
    categories: Counter[str] = Counter()
    for row in rows:
        categories.update(set(row.categories))
    return len(items), categories


def spike_alerts(
    run: Run,
    rows: list[HitRow],
    previous: list[list[HitRow]],
    factor: float,
    trailing_runs: int,
    min_hits: int = 1,
) -> list[Alert]:
    """Alerts for a clean run whose hits (all, or of a category) exceed `factor` × the mean of the previous runs.

    `previous` holds the hit rows of the target's clean runs before this one, oldest first; no alert
    is raised until there are `trailing_runs` of them (a mean over too few runs is noise).
    """
    if run.status not in CLEAN_STATUSES or len(previous) < trailing_runs:
        return []
    window = previous[-trailing_runs:]
    total, categories = _counts(rows)
    past = [_counts(r) for r in window]
    alerts: list[Alert] = []

    def check(scope: str, key: str, hits: int, history: list[int]) -> None:
        mean = sum(history) / len(history)
        threshold = factor * mean
        if hits >= min_hits and hits > threshold:
            alerts.append(Alert(
                "spike", scope, key,
                f"{key}: {hits} hits in run {run.id}, above {factor:g} x the mean of the last "
                f"{len(history)} runs ({mean:g})",
                hits=hits, trailing_mean=mean, threshold=threshold,
            ))

    check("target", run.target, total, [t for t, _ in past])
    for category in sorted(categories):
        check("category", category, categories[category], [c.get(category, 0) for _, c in past])
    return alerts


def failure_alert(runs: list[Run], streak: int) -> Alert | None:
    """An alert when the latest runs of a target (oldest first) end with exactly `streak` failed runs in a row.

    Exactly: the alert is sent once when the streak reaches the limit, not again for every further failure.
    """
    failed: list[Run] = []
    for run in reversed(runs):
        if run.status in FAILED_STATUSES:
            failed.append(run)
        elif run.status in CLEAN_STATUSES:
            break
    if len(failed) != streak or not runs or runs[-1].status not in FAILED_STATUSES:
        return None
    failed.reverse()
    target = runs[-1].target
    statuses = ", ".join(r.status for r in failed)
    return Alert(
        "failures", "target", target,
        f"{target}: {streak} runs in a row did not complete ({statuses}); its figures are missing from reports",
        runs=[r.id for r in failed],
    )
