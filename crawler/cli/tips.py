"""`netpatrol tips import FILE.csv` and `netpatrol tips check|list`: public tip-offs from the command line."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.table import Table

from crawler.cli import output


def cmd_tips_import(args: argparse.Namespace) -> int:
    from crawler.config.schema import load_config
    from crawler.config.stores import open_store
    from crawler.review.tips import queue_tips, read_tips_csv

    loaded = load_config(args.config)
    tips = read_tips_csv(args.file, loaded.config.tips.max_url_chars)
    with open_store(loaded) as store:
        queue_tips(store, tips, args.user)
    print(f"netpatrol: {len(tips)} tip(s) queued; `netpatrol tips check --config {args.config}` fetches them")
    if args.check:
        return cmd_tips_check(args)
    return 0


def cmd_tips_check(args: argparse.Namespace) -> int:
    from crawler.config.schema import load_config
    from crawler.review.tipcheck import check_tips

    result = check_tips(load_config(args.config), "INFO" if getattr(args, "verbose", False) else None)
    counts: dict[str, int] = {}
    for tip in result.checked:
        counts[tip.outcome or "queued"] = counts.get(tip.outcome or "queued", 0) + 1
    shown = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no queued tips"
    print(f"netpatrol: {len(result.checked)} tip(s) checked: {shown}")
    return 0


def cmd_tips_list(args: argparse.Namespace) -> int:
    from crawler.config.schema import load_config
    from crawler.config.stores import open_store

    with open_store(load_config(args.config)) as store:
        tips = store.tips(status=args.status)
    keys = ("id", "url", "reported_at", "received_at", "channel", "status", "outcome", "reason", "checked_at")
    if args.format == "json":
        output.print_json([{k: getattr(t, k) for k in keys} for t in tips])
        return 0
    table = Table(title="Tips", title_justify="left")
    for column in ("Id", "URL", "Reported", "Channel", "Outcome", "Why"):
        table.add_column(column, overflow="fold")
    for t in tips:
        table.add_row(t.id, t.url, t.reported_at[:19], t.channel, t.outcome or t.status, t.reason[:60])
    output.console().print(table)
    return 0


def register(sub: Any) -> None:
    tips = sub.add_parser("tips", help="public tip-offs: import, check, list").add_subparsers(
        dest="tips_command", required=True, metavar="SUBCOMMAND")
    p = tips.add_parser("import", help="queue tips from a CSV with columns url, reported_at, channel, note")
    p.add_argument("file", type=Path, metavar="FILE.csv")
    p.add_argument("--config", required=True, type=Path)
    p.add_argument("--user", default="import", help="who the audit trail names (default: import)")
    p.add_argument("--check", action="store_true", help="fetch and decide them right away")
    p.set_defaults(handler=cmd_tips_import)
    p = tips.add_parser("check", help="fetch queued tips through the crawl path and record their outcomes")
    p.add_argument("--config", required=True, type=Path)
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(handler=cmd_tips_check)
    p = tips.add_parser("list", help="list tips and their outcomes")
    p.add_argument("--config", required=True, type=Path)
    p.add_argument("--status", choices=["queued", "checked"])
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(handler=cmd_tips_list)
