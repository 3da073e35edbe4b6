"""The `netpatrol` command: a thin layer that loads config and calls the crawler, store and report code."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Callable, Sequence

from crawler.cli.output import console as _console, print_json as _print_json
from crawler.runtime import logfilters
from pipelines.errors import NetpatrolError, UsageError

Handler = Callable[[argparse.Namespace], int]


# --- commands ---------------------------------------------------------------------------------

def _settings_overrides(pairs: list[str]) -> dict[str, object]:
    """`-s NAME=VALUE` pairs as settings; VALUE is JSON when it parses (numbers, booleans, lists), else a string."""
    out: dict[str, object] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not re.fullmatch(r"[A-Z][A-Z0-9_]*", name):
            raise UsageError(f"-s {pair!r}: expected NAME=VALUE with an upper-case setting name")
        try:
            out[name] = json.loads(raw)
        except ValueError:
            out[name] = raw
    return out


def cmd_run(args: argparse.Namespace) -> int:
    from crawler.config.schema import load_config
    from crawler.runtime.runner import print_refusals, run_round
    from crawler.report.output.text import print_runs

    run_ids = None
    if args.run_id:  # set by the scheduler (crawler.scheduling.child), which supervises this run
        if not args.target or len(args.target) != 1:
            raise UsageError("--run-id needs exactly one --target")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,159}", args.run_id):
            raise UsageError(f"--run-id {args.run_id!r}: letters, digits, _ . - only")
        run_ids = {args.target[0]: args.run_id}
    loaded = load_config(args.config)
    result = run_round(loaded, args.target or None, log_level="INFO" if args.verbose else None,
                       progress_mode=args.progress, run_ids=run_ids, extra_settings=_settings_overrides(args.set))
    print_refusals(result.refused)
    if result.runs:
        print_runs(result.runs, _console(stderr=True))
    for run in result.runs:
        if run.status in ("partial", "failed"):
            errors = {k.rsplit("/", 1)[-1]: v for k, v in run.stats.items() if k.startswith("netpatrol/fetch/errors/")}
            print(f"netpatrol: run {run.id} is {run.status}: {run.errors} failed fetches against {run.pages} pages"
                  f" {errors}; it is left out of report figures", file=sys.stderr)
        lost = int(run.stats.get("netpatrol/search/queries_lost", 0))
        if lost and run.status == "completed":
            tried = int(run.stats.get("netpatrol/search/queries", 0))
            states = {k.rsplit("/", 1)[-1]: v for k, v in run.stats.items() if k.startswith("netpatrol/search/pages/")
                      and k.rsplit("/", 1)[-1] in ("blocked", "empty", "truncated", "error")}
            print(f"netpatrol: run {run.id}: {lost} of {tried} queries lost {states}; their result pages are left out"
                  " of the search figures, the other queries count", file=sys.stderr)
    from crawler.render.summary import browser_notes

    for note in browser_notes(result.runs):
        print(f"netpatrol: {note}", file=sys.stderr)
    return 0 if result.ok else 1


def cmd_runs(args: argparse.Namespace) -> int:
    from crawler.config.schema import load_config
    from crawler.report.output.text import print_runs
    from crawler.config.stores import open_store

    with open_store(load_config(args.config)) as store:
        runs = store.runs(target=args.target)
    if args.format == "json":
        _print_json([r.public() for r in runs])
    else:
        print_runs(runs, _console())
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from crawler.cli.analytics import report_command

    return report_command(args, _console(), _print_json)  # --rematch, --confirmed, --html, --csv live there


def cmd_hits(args: argparse.Namespace) -> int:
    from crawler.config.schema import load_config
    from crawler.report.output.text import print_hits
    from crawler.config.stores import open_store

    with open_store(load_config(args.config)) as store:
        if args.run:
            run = store.get_run(args.run)
            if run is None:
                raise UsageError(f"no run with id {args.run!r} (see `netpatrol runs`)")
            run_ids = [run.id]
        else:
            run_ids = [r.id for r in store.latest_runs() if not args.target or r.target == args.target]
        hits = store.hits(run_ids)
    if args.target:
        hits = [h for h in hits if h["target"] == args.target]
    keys = ("url", "target", "categories", "rules", "score", "title", "snippet", "first_seen", "last_seen")
    if args.format == "json":
        _print_json([{k: h[k] for k in keys} | {"run_id": h["run_id"]} for h in hits])
    else:
        print_hits(hits, _console())
    return 0


def cmd_match(args: argparse.Namespace) -> int:
    from crawler.cli.match import match_jsonl

    return match_jsonl(args.input, args.rules, sys.stdout, threshold=args.threshold, explain=args.explain)


def cmd_rules_test(args: argparse.Namespace) -> int:
    from crawler.cli.rules import rules_test

    return rules_test(args.rule_id, args.text, sys.stdout, title=args.title, rules=args.rules,
                      threshold=args.threshold, fmt=args.format)


def cmd_rules_eval(args: argparse.Namespace) -> int:
    from crawler.cli.rules import rules_eval

    return rules_eval(args.labeled, sys.stdout, rules=args.rules, threshold=args.threshold, fmt=args.format,
                      transforms=args.transforms)


def cmd_rules_check(args: argparse.Namespace) -> int:
    from pipelines.engine.matcher import Matcher
    from pipelines.engine.rules import load_rules

    ruleset = load_rules(args.path)
    matcher = Matcher(ruleset)  # the automatons must compile too
    console = _console()
    console.print(f"{len(ruleset)} rules, {len(ruleset.contexts)} contexts, {len(ruleset.signals)} signals"
                  f" in {len(ruleset.sources)} file(s), version {ruleset.version}")
    for category, count in ruleset.by_category().items():
        console.print(f"  {category:<16} {count:>5}")
    for warning in matcher.warnings:
        print(f"netpatrol: warning: {warning}", file=sys.stderr)
    return 0


def cmd_config_check(args: argparse.Namespace) -> int:
    from crawler.config.schema import load_config
    from crawler.runtime.context import matcher_from_config

    loaded = load_config(args.file)
    matcher = matcher_from_config(loaded)
    config = loaded.config
    print(f"{args.file}: OK — {len(config.targets)} target(s): "
          + ", ".join(f"{t.name} ({t.type})" for t in config.targets)
          + f"; store {config.store.backend}; {len(matcher.ruleset)} rules, version {matcher.ruleset.version}")
    if config.frontier.backend == "redis":
        if config.store.backend == "sqlite":
            print(f"{args.file}: note: frontier redis with the SQLite store: every `netpatrol worker` must run on"
                  " this host (SQLite is a local file); use store: {backend: elasticsearch} for workers on several hosts")
        else:
            print(f"{args.file}: frontier redis: `netpatrol worker --config {args.file}` on any host that reaches"
                  " Redis and Elasticsearch")
    return 0


def cmd_evidence(args: argparse.Namespace) -> int:
    from crawler.config.schema import load_config
    from crawler.cli.evidence import list_evidence, print_evidence

    rows = list_evidence(load_config(args.config), args.url, args.run)
    if args.format == "json":
        _print_json(rows)
    else:
        print_evidence(args.url, rows, _console())
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from crawler.demo.run import run_demo, serve_demo

    if args.serve:
        return serve_demo(Path(args.data_dir), port=args.port)
    return run_demo(Path(args.data_dir), progress_mode=args.progress)


# --- parser -----------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="netpatrol", description="Patrol the web for illegal listings and measure their decline.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        return p

    p = add("run", cmd_run, "run one patrol round: each selected target is one run")
    p.add_argument("--config", required=True, type=Path)
    p.add_argument("--target", action="append", metavar="NAME", help="only this target (repeatable; default: all)")
    p.add_argument("--progress", choices=["auto", "bar", "log", "off"], default="auto")
    p.add_argument("-v", "--verbose", action="store_true", help="show Scrapy's INFO log")
    p.add_argument("--run-id", help=argparse.SUPPRESS)  # the scheduler names the run it supervises
    p.add_argument("-s", "--set", action="append", default=[], metavar="NAME=VALUE",
                   help="override a Scrapy/NETPATROL_* setting for this round (value read as JSON when it parses)")

    p = add("runs", cmd_runs, "list recorded runs")
    p.add_argument("--config", required=True, type=Path)
    p.add_argument("--target")
    p.add_argument("--format", choices=["text", "json"], default="text")

    p = add("report", cmd_report, "compare hits of a window against a baseline window")
    p.add_argument("--config", required=True, type=Path)
    p.add_argument("--baseline", required=True, metavar="FROM..TO")
    p.add_argument("--compare", required=True, metavar="FROM..TO")
    p.add_argument("--target", action="append", metavar="NAME")
    p.add_argument("--format", choices=["text", "json"], default="text")
    from crawler.cli.analytics import add_report_arguments, register as register_analytics, register_rules

    add_report_arguments(p)

    p = add("hits", cmd_hits, "list matched items (default: each target's latest run)")
    p.add_argument("--config", required=True, type=Path)
    p.add_argument("--run")
    p.add_argument("--target")
    p.add_argument("--format", choices=["text", "json"], default="text")

    p = add("match", cmd_match, "match JSON Lines {id, url, title, text|html} against the rules")
    p.add_argument("--input", required=True, type=Path, help="JSON Lines file, or - for standard input")
    p.add_argument("--rules", type=Path, help="rule file or directory (default: the shipped pack)")
    p.add_argument("--threshold", type=float, default=1.0)
    p.add_argument("--explain", action="store_true",
                   help="add the snippet and the full explanation (rules, original spans, contexts, signals, score)")

    rules = sub.add_parser("rules", help="rule pack commands").add_subparsers(dest="rules_command", required=True, metavar="SUBCOMMAND")
    p = rules.add_parser("check", help="validate rule packs and summarize them")
    p.add_argument("path", nargs="?", type=Path)
    p.set_defaults(handler=cmd_rules_check)
    p = rules.add_parser("test", help="explain how one rule (and the page as a whole) fares on a text; exit 1 if it does not fire")
    p.add_argument("rule_id", metavar="RULE_ID")
    p.add_argument("text", metavar="TEXT")
    p.add_argument("--title", default="")
    p.add_argument("--rules", type=Path, help="rule file or directory (default: the shipped pack)")
    p.add_argument("--threshold", type=float, default=1.0)
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(handler=cmd_rules_test)
    p = rules.add_parser("eval", help="precision, recall and F1 of the rules on labeled JSON Lines, with FP/FN listed")
    p.add_argument("--labeled", required=True, type=Path, metavar="FILE.jsonl")
    p.add_argument("--rules", type=Path, help="rule file or directory (default: the shipped pack)")
    p.add_argument("--threshold", type=float, default=1.0)
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("--transforms", action="store_true",
                   help="recall and precision under every evasion transform (footers, claims, templates, ...)")
    p.set_defaults(handler=cmd_rules_eval)
    register_rules(rules)  # `rules precision`

    config = sub.add_parser("config", help="config commands").add_subparsers(dest="config_command", required=True, metavar="SUBCOMMAND")
    p = config.add_parser("check", help="validate a config file without running anything")
    p.add_argument("file", type=Path)
    p.set_defaults(handler=cmd_config_check)

    p = add("evidence", cmd_evidence, "list the evidence kept for an item (HTML, screenshots) and check its hashes")
    p.add_argument("url", help="the item's URL (any form of it: it is canonicalized)")
    p.add_argument("--config", required=True, type=Path)
    p.add_argument("--run", help="only this run")
    p.add_argument("--format", choices=["text", "json"], default="text")

    p = add("demo", cmd_demo, "serve the bundled demo site, patrol it twice around a simulated takedown, print the report")
    p.add_argument("--data-dir", default="data/demo")
    p.add_argument("--progress", choices=["auto", "bar", "log", "off"], default="auto")
    p.add_argument("--serve", action="store_true",
                   help="only serve the demo site (until Ctrl-C) and write a scheduled config for it")
    p.add_argument("--port", type=int, default=8000, help="port of --serve (0: any free port)")

    from crawler.cli.es import register as register_es_commands

    register_es_commands(sub)  # `es setup|flush|prune`, `kibana import`
    register_analytics(sub)  # `verify`, `triage`
    from crawler.cli.schedule import register as register_scheduling

    register_scheduling(sub)  # `schedule`, `jobs list|run`, `status`
    from crawler.cli.tips import register as register_tips
    from crawler.cli.web import register as register_web

    register_tips(sub)  # `tips import|check|list`
    register_web(sub)  # `serve`, `users add|list`
    from crawler.cli.workers import register as register_workers

    register_workers(sub)  # `worker`, `workers`
    from crawler.cli.engines import register as register_engines

    register_engines(sub)  # `engines`, `engines check NAME --html FILE`
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logfilters.install()
    try:
        return int(args.handler(args))
    except NetpatrolError as exc:
        print(f"netpatrol: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("netpatrol: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
