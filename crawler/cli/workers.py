"""`netpatrol worker` (crawl the open runs of a shared Redis frontier) and `netpatrol workers` (list the live ones)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from crawler.cli import output
from pipelines.errors import UsageError


def cmd_worker(args: argparse.Namespace) -> int:
    from crawler.config.schema import load_config
    from crawler.frontier.worker import Worker

    if args.concurrency is not None and not 1 <= args.concurrency <= 512:
        raise UsageError("--concurrency must be between 1 and 512")
    worker = Worker(load_config(args.config), concurrency=args.concurrency, name=args.name,
                    log_level="INFO" if args.verbose else None)
    return worker.run()


def cmd_workers(args: argparse.Namespace) -> int:
    from rich.table import Table

    from crawler.config.schema import load_config
    from crawler.frontier.connection import REDIS_DOWN, connect, describe
    from crawler.frontier.registry import Registry

    loaded = load_config(args.config)
    frontier = loaded.config.frontier
    if frontier.backend != "redis" or not frontier.url:
        raise UsageError(f"{args.config}: no shared frontier configured (frontier: {{backend: redis, url: ...}})")
    try:
        workers = Registry(connect(frontier.url), frontier.prefix).workers()
    except REDIS_DOWN as exc:
        print(f"netpatrol: the frontier's Redis is unreachable: {describe(exc)}", file=sys.stderr)
        return 1
    if args.format == "json":
        output.print_json(workers)
        return 0
    console = output.console()
    if not workers:
        console.print("no live workers")
        return 0
    table = Table("worker", "host", "pid", "runs", "pages/min", "pages", "last heartbeat")
    for w in workers:
        table.add_row(w["name"], str(w.get("host")), str(w.get("pid")), ", ".join(w.get("runs") or []) or "-",
                      f"{w.get('pages_per_minute', 0):.0f}", str(w.get("pages", 0)),
                      f"{w.get('heartbeat')} ({w['heartbeat_age']:.0f} s ago)")
    console.print(table)
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("worker", help="crawl the open runs of the shared Redis frontier (until stopped)",
                       description="crawl the open runs of the shared Redis frontier (until stopped)")
    p.add_argument("--config", required=True, type=Path)
    p.add_argument("--concurrency", type=int, help="concurrent requests per run in this worker (default: the target's)")
    p.add_argument("--name", help="worker name (default: host-pid)")
    p.add_argument("-v", "--verbose", action="store_true", help="show Scrapy's INFO log")
    p.set_defaults(handler=cmd_worker)
    p = sub.add_parser("workers", help="list the live workers of the shared frontier",
                       description="list the live workers of the shared frontier: host, pid, runs, pages/min, heartbeat")
    p.add_argument("--config", required=True, type=Path)
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(handler=cmd_workers)
