"""`report --csv DIR`: the report's tables as CSV files a spreadsheet opens (UTF-8 with BOM for Excel)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Iterable

from pipelines.errors import UsageError


def _breakdown_rows(rows: dict[str, dict[str, Any]]) -> Iterable[list[Any]]:
    for key, c in rows.items():
        pages, rate = c.get("pages") or {}, c.get("rate_per_1000") or {}
        yield [key, c["baseline"], c["compare"], c["change_pct"], pages.get("baseline"), pages.get("compare"),
               rate.get("baseline"), rate.get("compare"), c.get("coverage_changed")]


_BREAKDOWN_HEAD = ["key", "baseline", "compare", "change_pct", "pages_baseline", "pages_compare",
                   "rate_per_1000_baseline", "rate_per_1000_compare", "coverage_changed"]


def tables(report: dict[str, Any]) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """File name -> (header, rows)."""
    out: dict[str, tuple[list[str], list[list[Any]]]] = {}
    summary_head = ["window", "from", "to", "runs", "excluded_runs", "pages", "pages_per_run", "hits", "rate_per_1000"]
    out["summary.csv"] = (summary_head, [
        [name, w["from"], w["to"], w["runs"], w["excluded_runs"], w["pages"], w.get("pages_per_run"), w["hits"],
         w.get("rate_per_1000")]
        for name, w in (("baseline", report["baseline"]), ("compare", report["compare"]))
    ])
    for name in ("by_category", "by_rule", "by_target", "by_domain", "by_query"):
        if name in report:
            out[f"{name}.csv"] = (_BREAKDOWN_HEAD, list(_breakdown_rows(report[name])))
    search = report.get("search")
    if search:
        out["search_top_n.csv"] = (
            ["target", "query", "top_n", "matched_baseline", "seen_baseline", "share_baseline", "engine_total_baseline",
             "matched_compare", "seen_compare", "share_compare", "engine_total_compare", "change_pct",
             "promoted_matched_baseline", "promoted_seen_baseline", "promoted_matched_compare",
             "promoted_seen_compare", "promoted_change_pct", "clean_runs_baseline", "clean_runs_compare"],
            [[q["target"], q["query"], search["top_n"], q["baseline"]["matched"], q["baseline"]["seen"],
              q["baseline"]["share"], q["baseline"]["engine_total"], q["compare"]["matched"], q["compare"]["seen"],
              q["compare"]["share"], q["compare"]["engine_total"], q["change_pct"],
              q["promoted"]["baseline"]["matched"], q["promoted"]["baseline"]["seen"],
              q["promoted"]["compare"]["matched"], q["promoted"]["compare"]["seen"], q["promoted"]["change_pct"],
              q["clean_runs"]["baseline"], q["clean_runs"]["compare"]] for q in search["queries"]],
        )
    nc = report.get("not_comparable") or {}
    out["not_comparable.csv"] = (
        ["kind", "target", "query", "reason", "clean_runs_baseline", "clean_runs_compare", "lost_pages_baseline",
         "lost_pages_compare"],
        [["target", r["target"], "", r["reason"], r["baseline"]["clean_runs"], r["compare"]["clean_runs"], "", ""]
         for r in nc.get("targets", [])]
        + [["query", r["target"], r["query"], r["reason"], r["baseline"]["clean_runs"], r["compare"]["clean_runs"],
            r["baseline"]["lost_pages"], r["compare"]["lost_pages"]] for r in nc.get("queries", [])],
    )
    out["domains.csv"] = (["domain", "compare", "baseline", "change_pct", "items", "removed", "removal_rate"],
                          [[d["domain"], d["compare"], d["baseline"], d["change_pct"], d["items"], d["removed"],
                            d["removal_rate"]] for d in report.get("domains", [])])
    clean = report.get("cleaned_up")
    if clean:
        out["cleaned_up.csv"] = (["measure", "key", "value"],
                                 [["removed", "", clean["removed"]]]
                                 + [["removed_by_category", k, v] for k, v in clean["by_category"].items()]
                                 + [["removed_by_domain", k, v] for k, v in clean["by_domain"].items()]
                                 + [[k, "", clean[k]] for k in ("baseline_items", "gone", "gone_share", "changed",
                                                                "changed_share", "unreachable", "still_online", "unchecked")])
    series = report.get("series") or {}
    out["runs.csv"] = (["run_id", "target", "started_at", "status", "window", "pages", "hits", "category", "category_hits"],
                       [[r["run_id"], r["target"], r["started_at"], r["status"], r["window"], r["pages"], r["hits"], c, n]
                        for r in series.get("runs", []) for c, n in (r["by_category"].items() or [("", None)])])
    out["search_series.csv"] = (["run_id", "target", "started_at", "query", "engine_total", "matched_top_n", "seen_top_n"],
                                [[p[k] for k in ("run_id", "target", "started_at", "query", "engine_total",
                                                 "matched_top_n", "seen_top_n")] for p in series.get("search", [])])
    out["removal_series.csv"] = (["at", "removed", "changed", "unreachable", "online"],
                                 [[p[k] for k in ("at", "removed", "changed", "unreachable", "online")]
                                  for p in series.get("removal", [])])
    return out


def write_csv(report: dict[str, Any], folder: Path) -> list[Path]:
    written = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, (head, rows) in tables(report).items():
            path = folder / name
            with path.open("w", newline="", encoding="utf-8-sig") as handle:
                writer = csv.writer(handle)
                writer.writerow(head)
                writer.writerows(["" if v is None else v for v in row] for row in rows)
            written.append(path)
    except OSError as exc:
        raise UsageError(f"{folder}: cannot write CSV files: {exc}") from None
    return written
