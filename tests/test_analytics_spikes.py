"""Spike and failure-streak arithmetic of the alerts, on hand-made runs."""

from __future__ import annotations

from crawler.report.spikes import failure_alert, spike_alerts
from pipelines.stores.base import HitRow, Run


def run(run_id: str, status: str = "completed") -> Run:
    return Run(id=run_id, target="t", kind="site", started_at=run_id, rules_version="v", status=status)


def rows(run_id: str, **per_category: int) -> list[HitRow]:
    out = []
    for category, count in per_category.items():
        out += [HitRow(run_id, "t", f"http://x/{category}/{i}", "x", [category]) for i in range(count)]
    return out


def test_no_spike_without_enough_history() -> None:
    assert spike_alerts(run("r3"), rows("r3", fraud=9), [rows("r1", fraud=1)], 2.0, trailing_runs=2) == []


def test_spike_on_the_target_and_a_category() -> None:
    history = [rows("r1", fraud=1, drugs=1), rows("r2", fraud=1, drugs=1)]
    alerts = spike_alerts(run("r3"), rows("r3", fraud=5, drugs=1), history, 2.0, trailing_runs=2)
    assert [(a.scope, a.key, a.hits, a.trailing_mean, a.threshold) for a in alerts] == [
        ("target", "t", 6, 2.0, 4.0), ("category", "fraud", 5, 1.0, 2.0)]


def test_min_hits_and_unclean_runs() -> None:
    history = [rows("r1"), rows("r2")]
    assert spike_alerts(run("r3"), rows("r3", fraud=1), history, 2.0, 2, min_hits=2) == []
    assert spike_alerts(run("r3", "partial"), rows("r3", fraud=9), history, 2.0, 2) == []


def test_failure_streak_is_reported_once_and_interrupted_runs_do_not_break_it() -> None:
    runs = [run("r1"), run("r2", "failed"), run("r3", "interrupted"), run("r4", "partial")]
    alert = failure_alert(runs, 2)
    assert alert is not None and alert.runs == ["r2", "r4"]
    assert failure_alert(runs + [run("r5", "failed")], 2) is None
    assert failure_alert(runs + [run("r5")], 2) is None
    assert failure_alert(runs[:2], 2) is None
