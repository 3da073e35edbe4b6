"""CLI commands of scheduled patrols: `schedule`, `jobs list`, `jobs run NAME`, `status`."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from crawler.cli.output import console as _plain_console, print_json as _print_json
from pipelines.errors import NetpatrolError, UsageError


def _console() -> Console:
    """Status tables are wide: keep their rows on one line in logs."""
    return _plain_console(piped_width=200)


def setup_logging() -> None:
    """Plain timestamped lines on stderr (UTC), what a service manager's journal expects."""
    handler = logging.StreamHandler(sys.stderr)
    formatter = logging.Formatter("%(asctime)sZ %(levelname)s %(message)s", datefmt="%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    # APScheduler's own lines repeat ours in vaguer words; keep its errors only.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)


def cmd_schedule(args: argparse.Namespace) -> int:
    from crawler.config.schema import load_config
    from crawler.scheduling.daemon import Daemon

    loaded = load_config(args.config)  # invalid: exit 2 before anything starts
    setup_logging()
    return Daemon(args.config, loaded).serve()


def cmd_jobs_list(args: argparse.Namespace) -> int:
    from crawler.config.schema import load_config
    from crawler.scheduling.status import UNSCHEDULED, collect, print_jobs

    loaded = load_config(args.config)
    targets = [t for t in collect(loaded) if t.job != UNSCHEDULED]
    if args.format == "json":
        _print_json([{k: v for k, v in t.as_json().items()
                      if k in ("name", "schedule", "timeout", "job", "next_run", "last_run", "running_run")}
                     for t in targets])
    else:
        print_jobs(targets, loaded.config.timezone, _console())
    return 0


def cmd_jobs_run(args: argparse.Namespace) -> int:
    """Run one target now through the daemon's path: the target lock, a supervised child, the timeout, the ledger."""
    from crawler.config.schema import load_config
    from crawler.scheduling.child import StopSignal, TargetBusy, run_target
    from sqlalchemy.exc import SQLAlchemyError

    from crawler.scheduling.jobs import job_store_error, jobstore_url, make_engine
    from crawler.scheduling.ledger import SKIPPED, STARTED, Ledger

    loaded = load_config(args.config)
    try:
        target = loaded.config.target(args.name)
    except KeyError:
        known = ", ".join(t.name for t in loaded.config.targets) or "none"
        raise UsageError(f"unknown target {args.name!r}; configured: {known}") from None
    url = jobstore_url(loaded)
    engine = make_engine(url)
    ledger = Ledger(engine)
    try:
        ledger.create()
    except SQLAlchemyError as exc:
        raise job_store_error(url, exc) from None
    timeout = target.timeout or loaded.config.scheduler.default_timeout
    stop = StopSignal()
    try:
        outcome = run_target(
            loaded, target.name, stop, timeout, loaded.config.scheduler.stop_timeout,
            on_line=lambda line: print(f"[{target.name}] {line}", file=sys.stderr, flush=True),
            on_start=lambda run_id, pid: ledger.record(target.name, STARTED, None, run_id=run_id, detail="jobs run"),
        )
    except TargetBusy as busy:
        ledger.record(target.name, SKIPPED, None, detail=f"jobs run: {busy}")
        raise NetpatrolError(f"{busy}; not started") from None
    finally:
        engine.dispose()
    run = outcome.run
    if run is None:
        print(f"netpatrol: run {outcome.run_id} left no record (exit code {outcome.exit_code})", file=sys.stderr)
        return 1
    print(f"{target.name}: run {run.id} {run.status} after {outcome.seconds:.1f}s — {run.pages} pages,"
          f" {run.hits} hits, {run.errors} errors")
    if stop.requested.is_set():
        return 130
    return 0 if run.status not in ("timeout", "interrupted") and outcome.exit_code == 0 else 1


def cmd_status(args: argparse.Namespace) -> int:
    from crawler.config.schema import load_config
    from crawler.scheduling.status import collect, print_scheduler, print_status, scheduler_health

    loaded = load_config(args.config)
    scheduler = scheduler_health(loaded)
    targets = collect(loaded)
    if args.format == "json":
        _print_json({"scheduler": scheduler.as_json(), "targets": [t.as_json() for t in targets]})
    else:
        console = _console()
        print_scheduler(scheduler, console)
        print_status(targets, loaded.config.timezone, console)
    return 0


def register(sub: Any) -> None:
    """Add the commands to `netpatrol`'s subparsers."""
    p = sub.add_parser("schedule", help="run scheduled patrols in the foreground (SIGTERM stops, SIGHUP reloads)",
                       description="Run targets on their `schedule:` until SIGTERM/SIGINT; SIGHUP re-reads the config.")
    p.add_argument("--config", required=True, type=Path)
    p.set_defaults(handler=cmd_schedule)

    jobs = sub.add_parser("jobs", help="scheduled jobs").add_subparsers(dest="jobs_command", required=True,
                                                                       metavar="SUBCOMMAND")
    p = jobs.add_parser("list", help="each scheduled target: next run, last run's status")
    p.add_argument("--config", required=True, type=Path)
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(handler=cmd_jobs_list)
    p = jobs.add_parser("run", help="run one target now, as the scheduler does (lock, timeout, outcome recorded)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--config", required=True, type=Path)
    p.set_defaults(handler=cmd_jobs_run)

    p = sub.add_parser("status", help="per target: last run, status, failure streak, next run; the scheduler's state")
    p.add_argument("--config", required=True, type=Path)
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(handler=cmd_status)
