"""The analytics commands of `netpatrol`: report outputs, `verify`, `triage`, `rules precision`.

Thin: each loads the config, calls crawler.report / crawler.verify and prints.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable

from rich.console import Console
from rich.table import Table

from crawler.cli.output import console as _console, print_json as _print_json
from crawler.report.output.numbers import share
from pipelines.errors import UsageError


# --- report ---------------------------------------------------------------------------------

def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rematch", action="store_true",
                        help="count runs matched with other rule versions again, from their kept text, with today's rules")
    parser.add_argument("--confirmed", action="store_true", help="count only hits an analyst confirmed (netpatrol triage)")
    parser.add_argument("--html", type=Path, metavar="FILE", help="also write a self-contained HTML report with charts")
    parser.add_argument("--csv", type=Path, metavar="DIR", help="also write the report's tables as CSV files into DIR")


def report_command(args: argparse.Namespace, console: Console, print_json: Callable[[Any], None]) -> int:
    from crawler.config.schema import load_config
    from crawler.runtime.context import matcher_from_config
    from crawler.report.build import ReportOptions, build_report, parse_window
    from crawler.report.output.text import print_report
    from crawler.config.stores import open_store

    baseline = parse_window(args.baseline, "baseline")
    compare = parse_window(args.compare, "compare")
    loaded = load_config(args.config)
    analytics = loaded.config.analytics
    matcher = matcher_from_config(loaded)
    options = ReportOptions(
        rematch_with=matcher if getattr(args, "rematch", False) else None,
        current_rules_version=matcher.ruleset.version,
        confirmed_only=getattr(args, "confirmed", False),
        top_n=analytics.top_n,
        coverage_tolerance=analytics.coverage_tolerance,
        league_size=analytics.league_size,
    )
    if args.target:
        known = {t.name for t in loaded.config.targets}
        unknown = [t for t in args.target if t not in known]
        if unknown:
            raise UsageError(f"unknown target(s) {', '.join(unknown)}; configured: {', '.join(sorted(known)) or 'none'}")
    with open_store(loaded) as store:
        report = build_report(store, baseline, compare, args.target or None, options)
    if getattr(args, "html", None):
        from crawler.report.output.html import write_html

        write_html(report, args.html)
        print(f"netpatrol: HTML report written to {args.html}", file=sys.stderr)
    if getattr(args, "csv", None):
        from crawler.report.output.csv import write_csv

        files = write_csv(report, args.csv)
        print(f"netpatrol: {len(files)} CSV files written to {args.csv}", file=sys.stderr)
    if args.format == "json":
        print_json(report)
    else:
        print_report(report, console)
    return 0


# --- verify ---------------------------------------------------------------------------------

def cmd_verify(args: argparse.Namespace) -> int:
    from crawler.config.schema import load_config
    from crawler.report.build import _parse_bound
    from crawler.verify.runner import verify_round
    from pipelines.stores.base import iso

    loaded = load_config(args.config)
    since = iso(_parse_bound(args.since, False)) if args.since else None
    result = verify_round(loaded, args.target or None, since, args.progress)
    if args.format == "json":
        _print_json(result.as_json())
    else:
        console = _console()
        if result.checked:
            table = Table(title=f"Verification {result.verify_id}", title_justify="left")
            for column in ("URL", "Target", "Was", "Now", "Why", "HTTP"):
                table.add_column(column, overflow="fold")
            for check in result.checked:
                table.add_row(check["url"], check["target"], check["previous"], check["status"], check["reason"],
                              str(check["http_status"] or ""))
            console.print(table)
        counts = ", ".join(f"{n} {s}" for s, n in result.by_status().items()) or "nothing"
        console.print(f"{len(result.checked)} of {result.candidates} item(s) checked: {counts}")
    if result.unconfigured:
        print(f"netpatrol: {len(result.unconfigured)} item(s) belong to targets no longer in the config and were not"
              " checked", file=sys.stderr)
    for url, why in sorted(result.skipped.items()):
        print(f"netpatrol: not checked ({why}): {url}", file=sys.stderr)
    if result.candidates == 0:
        print("netpatrol: no item to verify (none tracked, or all already removed)", file=sys.stderr)
    if result.interrupted:
        print(f"netpatrol: verify interrupted: {len(result.checked)} of {result.candidates} item(s) checked and"
              " recorded; the others keep their previous status", file=sys.stderr)
        return 130
    return 0


# --- triage ---------------------------------------------------------------------------------

def cmd_triage(args: argparse.Namespace) -> int:
    from crawler.review.triage import Decision, read_csv, record
    from crawler.config.schema import load_config
    from crawler.config.stores import open_store

    if args.csv and (args.url or args.confirm or args.dismiss or args.note):
        raise UsageError("give either URL with --confirm/--dismiss, or --csv FILE, not both")
    if args.csv:
        decisions, source = read_csv(args.csv), str(args.csv)
    else:
        if not args.url:
            raise UsageError("give the URL of a hit (or --csv FILE)")
        if args.confirm == args.dismiss:
            raise UsageError("give exactly one of --confirm and --dismiss")
        decisions = [Decision(0, args.url, "confirmed" if args.confirm else "dismissed", args.note or "")]
        source = "triage"
    with open_store(load_config(args.config)) as store:
        verdicts = record(store, decisions, source)
    counts = {v: sum(1 for x in verdicts if x.verdict == v) for v in ("confirmed", "dismissed")}
    print(f"netpatrol: recorded {counts['confirmed']} confirmed, {counts['dismissed']} dismissed")
    return 0


def cmd_rules_precision(args: argparse.Namespace) -> int:
    from crawler.review.triage import precision
    from crawler.config.schema import load_config
    from crawler.config.stores import open_store

    with open_store(load_config(args.config)) as store:
        rows = precision(store.items(), store.verdicts())
    if args.format == "json":
        _print_json(rows)
        return 0
    if not rows:
        print("netpatrol: no hits recorded yet, so no rule has a precision")
        return 0
    table = Table(title="Rule precision from analysts' verdicts", title_justify="left")
    for column in ("Rule", "Hits", "Confirmed", "Dismissed", "Untriaged", "Precision"):
        table.add_column(column, justify="left" if column == "Rule" else "right")
    for row in rows:
        value = share(row["precision"])
        table.add_row(row["rule"], str(row["hits"]), str(row["confirmed"]), str(row["dismissed"]),
                      str(row["untriaged"]), value)
    _console().print(table)
    return 0


# --- registration -------------------------------------------------------------------------------

def register(sub: Any) -> None:
    """Add `verify` and `triage` to the `netpatrol` parser."""
    p = sub.add_parser("verify", help="re-fetch items still considered online and record whether they were removed",
                       description="re-fetch items still considered online and record whether they were removed")
    p.set_defaults(handler=cmd_verify)
    p.add_argument("--config", required=True, type=Path)
    p.add_argument("--target", action="append", metavar="NAME", help="only items this target saw last (repeatable)")
    p.add_argument("--since", metavar="DATE", help="only items seen since DATE (ISO-8601 date or datetime)")
    p.add_argument("--progress", choices=["auto", "bar", "log", "off"], default="auto")
    p.add_argument("--format", choices=["text", "json"], default="text")

    p = sub.add_parser("triage", help="confirm or dismiss hits (one URL, or a CSV of url,verdict,note)",
                       description="confirm or dismiss hits (one URL, or a CSV of url,verdict,note)")
    p.set_defaults(handler=cmd_triage)
    p.add_argument("url", nargs="?", help="the hit's URL (any form of it: it is canonicalized)")
    p.add_argument("--config", required=True, type=Path)
    p.add_argument("--confirm", action="store_true")
    p.add_argument("--dismiss", action="store_true")
    p.add_argument("--note", help="why (kept with the verdict)")
    p.add_argument("--csv", type=Path, metavar="FILE", help="bulk: a CSV with columns url, verdict (confirm|dismiss), note")


def register_rules(rules: Any) -> None:
    """Add `rules precision` to the `netpatrol rules` parser."""
    p = rules.add_parser("precision", help="per rule: hits analysts confirmed and dismissed (netpatrol triage)")
    p.set_defaults(handler=cmd_rules_precision)
    p.add_argument("--config", required=True, type=Path)
    p.add_argument("--format", choices=["text", "json"], default="text")
