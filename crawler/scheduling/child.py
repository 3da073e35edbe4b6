"""One scheduled run: a `netpatrol run --target NAME` child process, supervised until it ends, outcome recorded.

A child process because Scrapy's reactor cannot be restarted in one process, and a crash or a
leak in one run must not take the daemon down. The child gets its own session (a Ctrl-C on the
daemon's terminal does not reach it; the daemon decides), the target's lock descriptor (so the
target stays locked while the child lives), and a run id chosen here (so its run can be found
and marked `timeout`). Stopping is graceful first — SIGTERM: Scrapy finishes what it is writing
and records the run `interrupted` — and forced after `stop_timeout`.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import IO, Any, Callable

from crawler.config.schema import LoadedConfig
from crawler.scheduling.locks import FileLock, read_holder, target_lock_path
from crawler.config.stores import open_store
from pipelines.stores.base import Run, iso, utcnow

logger = logging.getLogger(__name__)

TIMEOUT = "timeout"
SHUTDOWN = "shutdown"


class TargetBusy(Exception):
    """The target's previous run is still going (in this daemon, another one or a `jobs run`)."""

    def __init__(self, target: str, holder: dict[str, Any] | None) -> None:
        self.target = target
        self.holder = holder or {}
        who = f"pid {self.holder.get('child_pid') or self.holder.get('pid')}" if self.holder else "another process"
        run = f", run {self.holder['run_id']}" if self.holder.get("run_id") else ""
        super().__init__(f"target {target} is still running ({who}{run})")


@dataclass
class StopSignal:
    """What supervisors watch: `requested` stops children gracefully, `forced` kills them now."""

    requested: threading.Event = field(default_factory=threading.Event)
    forced: threading.Event = field(default_factory=threading.Event)


@dataclass
class Outcome:
    """How a supervised run ended."""

    target: str
    run_id: str
    run: Run | None
    exit_code: int | None
    seconds: float
    stopped: str | None = None  # "timeout" | "shutdown" | None
    tail: list[str] = field(default_factory=list)  # the child's last output lines

    @property
    def status(self) -> str | None:
        return self.run.status if self.run else None


def child_command(loaded: LoadedConfig, target: str, run_id: str) -> list[str]:
    return [sys.executable, "-m", "crawler.cli.main", "run", "--config", str(loaded.path), "--target", target,
            "--run-id", run_id, "--progress", "log"]


def _is_summary_table(line: str) -> bool:
    """The runs table `netpatrol run` prints at the end: the daemon logs the outcome in one line instead."""
    return line == "Runs" or "\u2500" <= line[0] <= "\u257f"


def _relay(stream: IO[str], on_line: Callable[[str], None], tail: deque[str]) -> None:
    for raw in stream:
        line = raw.rstrip()
        if line and not _is_summary_table(line):
            tail.append(line)
            on_line(line)


def run_target(
    loaded: LoadedConfig,
    target: str,
    stop: StopSignal,
    timeout: float,
    stop_timeout: float,
    on_line: Callable[[str], None] = lambda line: None,
    on_start: Callable[[str, int], None] = lambda run_id, pid: None,
) -> Outcome:
    """Run `target` once in a child process; raise TargetBusy if its previous run still holds the target."""
    lock = FileLock(target_lock_path(loaded.data_dir, target))
    if not lock.acquire():
        raise TargetBusy(target, read_holder(lock.path))
    try:
        from crawler.runtime.runner import new_run_id  # here: the daemon itself never needs Scrapy loaded

        run_id = new_run_id(target)
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env.pop("NETPATROL_PROGRESS", None)
        assert lock.fd is not None
        proc = subprocess.Popen(
            child_command(loaded, target, run_id), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, errors="replace", start_new_session=True,
            pass_fds=(lock.fd,), env=env,
        )
        lock.note(run_id=run_id, child_pid=proc.pid)
        on_start(run_id, proc.pid)
        tail: deque[str] = deque(maxlen=5)
        assert proc.stdout is not None
        relay = threading.Thread(target=_relay, args=(proc.stdout, on_line, tail), daemon=True,
                                 name=f"relay-{target}")
        relay.start()
        started = time.monotonic()
        code, stopped = _supervise(proc, stop, started + timeout, stop_timeout)
        relay.join(5)
        _kill_group(proc.pid)  # leftovers of the child (a browser) must not outlive it
        outcome = Outcome(target, run_id, None, code, time.monotonic() - started, stopped, list(tail))
        outcome.run = record_outcome(loaded, target, run_id, outcome, timeout)
        return outcome
    finally:
        lock.release()


def _supervise(proc: subprocess.Popen[str], stop: StopSignal, deadline: float,
               stop_timeout: float) -> tuple[int | None, str | None]:
    """Wait for the child; on shutdown or timeout ask it to stop (SIGTERM), after stop_timeout kill its group."""
    stopped: str | None = None
    asked_at = 0.0
    killed = False
    while True:
        try:
            return proc.wait(timeout=0.2), stopped
        except subprocess.TimeoutExpired:
            pass
        except KeyboardInterrupt:  # `jobs run` in a terminal: the first Ctrl-C stops gracefully, the second kills
            (stop.forced if stop.requested.is_set() else stop.requested).set()
        now = time.monotonic()
        if stopped is None and (stop.requested.is_set() or now >= deadline):
            stopped = SHUTDOWN if stop.requested.is_set() else TIMEOUT
            asked_at = now
            _signal(proc.pid, signal.SIGTERM)
        elif stopped is not None and not killed and (stop.forced.is_set() or now - asked_at >= stop_timeout):
            why = "asked to stop at once" if stop.forced.is_set() else f"still going {stop_timeout:g}s after SIGTERM"
            logger.warning("killing the run of pid %d: %s", proc.pid, why)
            _kill_group(proc.pid)
            killed = True


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def record_outcome(loaded: LoadedConfig, target: str, run_id: str, outcome: Outcome, timeout: float) -> Run | None:
    """Make the store tell the truth about the run: `timeout` when the daemon stopped it for time, `interrupted`
    when its child died mid-run, `failed` when it never got to start its run (the reason goes into its stats)."""
    note: dict[str, Any] = {"netpatrol/scheduler/exit_code": outcome.exit_code}
    if outcome.stopped == TIMEOUT:
        note["netpatrol/scheduler/timeout_seconds"] = timeout
    with open_store(loaded) as store:
        run = store.get_run(run_id)
        if run is None:
            status = {TIMEOUT: "timeout", SHUTDOWN: "interrupted"}.get(outcome.stopped or "", "failed")
            note["netpatrol/scheduler/error"] = outcome.tail[-1] if outcome.tail else f"exit code {outcome.exit_code}"
            return record_unstarted(store, loaded, target, run_id, status, note)
        if outcome.stopped == TIMEOUT:
            return store.set_run_status(run_id, "timeout", note)
        if run.status == "running":  # the child died without closing its run (killed, crashed)
            return store.set_run_status(run_id, "interrupted", note)
        return run


def record_unstarted(store: Any, loaded: LoadedConfig, target: str, run_id: str, status: str,
                     stats: dict[str, Any]) -> Run:
    """A run that never began (refused start URL, config broken since the daemon loaded it, crash at start):
    recorded anyway, so a target that cannot run shows up as failing instead of as silence."""
    try:
        kind = loaded.config.target(target).type
    except KeyError:
        kind = "site"
    now = iso(utcnow()) or ""
    store.start_run(Run(id=run_id, target=target, kind=kind, started_at=now, rules_version=_rules_version(loaded)))
    return store.finish_run(run_id, status, 0, 0, stats)  # type: ignore[no-any-return]


def _rules_version(loaded: LoadedConfig) -> str:
    try:
        from crawler.runtime.context import matcher_from_config

        return matcher_from_config(loaded).ruleset.version
    except Exception:  # the rules may be the very reason the run could not start
        return ""
