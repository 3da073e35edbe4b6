"""`netpatrol schedule`: the scheduler in the foreground, the way systemd, supervisord or a container runs it.

APScheduler keeps the jobs (one per scheduled target) in a persistent SQLAlchemy job store, so
schedules and next run times survive restarts. Each firing becomes one child process
(`crawler.scheduling.child`). The main thread only waits for signals:

    SIGTERM, SIGINT   no new runs; running children get SIGTERM and `stop_timeout` to finish
                      writing (a second signal kills them now); exit 0
    SIGHUP            re-read the config; if it is invalid, keep the current jobs and say why
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any, Callable

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.exc import SQLAlchemyError

from crawler import settings as defaults
from crawler.config.schema import LoadedConfig, load_config
from pipelines.errors import NetpatrolError
from crawler.scheduling.child import Outcome, StopSignal, TargetBusy, run_target
from crawler.scheduling.jobs import (JOB_TABLE, display_url, job_store_error, jobstore_url, make_engine,
                                     misfire_grace_seconds, plan, sync_jobs)
from crawler.scheduling.ledger import MISSED, SKIPPED, STARTED, Ledger
from crawler.scheduling.locks import FileLock, daemon_lock_path, is_held, read_holder, target_lock_path
from crawler.scheduling.schedule import format_duration, zone
from crawler.scheduling.slots import RunSlots

logger = logging.getLogger("netpatrol.scheduler")
run_logger = logging.getLogger("netpatrol.run")

_CURRENT: "Daemon | None" = None  # the daemon of this process, found by `fire`


class DaemonRunning(NetpatrolError):
    """Another `netpatrol schedule` holds this data directory (two would run every job twice)."""


def fire(target: str) -> None:
    """What every stored job calls (by the textual reference `crawler.scheduling.daemon:fire`)."""
    if _CURRENT is None:
        raise RuntimeError("a netpatrol job fired outside `netpatrol schedule`")
    _CURRENT.run_scheduled(target)


class DueTimeExecutor(ThreadPoolExecutor):
    """APScheduler's thread pool, remembering each job's due time so the job knows which firing it serves.

    Once `closing`, firings are handed to `on_refused` instead: APScheduler's shutdown marks the
    scheduler stopped before it waits for the pool, and a firing due in that window would otherwise
    be submitted to a closed pool (an error and a lost firing)."""

    def __init__(self, max_workers: int, on_refused: Callable[[str, datetime], None]) -> None:
        super().__init__(max_workers)
        self.due: dict[str, datetime] = {}
        self.closing = False
        self.on_refused = on_refused

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        if self.closing:
            self.on_refused(job.id, run_times[-1])
            return
        self.due[job.id] = run_times[-1]
        super()._do_submit_job(job, run_times)


def when(value: datetime | None, tz_name: str) -> str:
    return value.astimezone(zone(tz_name)).isoformat(sep=" ", timespec="seconds") if value else "never (paused)"


class Daemon:
    """The scheduler process: jobs from the config, runs in children, health in the store and the ledger."""

    def __init__(self, config_path: Path, loaded: LoadedConfig) -> None:
        self.config_path = config_path
        self.loaded = loaded
        self.url = jobstore_url(loaded)
        self.engine = make_engine(self.url)
        self.ledger = Ledger(self.engine)
        self.stop = StopSignal()
        self.slots = RunSlots(loaded.config.scheduler.max_concurrent_runs)
        self.lock = FileLock(daemon_lock_path(loaded.data_dir))
        self.executor = DueTimeExecutor(max(32, 2 * len(loaded.config.targets)),
                                        lambda target, due: self._skipped(target, due, "the scheduler was stopping"))
        self.inflight = 0  # firings being handled (waiting for a slot or running)
        self.inflight_done = threading.Condition()
        self.scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=self.engine, tablename=JOB_TABLE)},
            executors={"default": self.executor},
            timezone=zone(loaded.config.timezone),
        )
        self.scheduler.add_listener(self._on_event, EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED | EVENT_JOB_ERROR)

    # --- lifecycle ---------------------------------------------------------------------------------
    def serve(self) -> int:
        """Run until SIGTERM/SIGINT; 0 after a clean shutdown."""
        global _CURRENT
        if not self.lock.acquire(wait=2.0, jobstore=display_url(self.url), config=str(self.config_path)):
            holder = read_holder(self.lock.path) or {}
            raise DaemonRunning(f"another `netpatrol schedule` (pid {holder.get('pid', '?')}, since"
                                f" {holder.get('since', '?')}) is running for {self.loaded.data_dir}; stop it first")
        wakeup_r, wakeup_w = socket.socketpair()
        previous = self._install_signals(wakeup_w)
        _CURRENT = self
        try:
            try:
                self.ledger.create()
                self.ledger.prune(defaults.NETPATROL_SCHEDULER_LEDGER_DAYS)
                self.scheduler.start(paused=True)  # sync first: a changed schedule must not fire on its stale time
                self._sync(self.loaded)
            except SQLAlchemyError as exc:
                raise job_store_error(self.url, exc) from None
            scheduler = self.loaded.config.scheduler
            logger.info("scheduler running (pid %d): job store %s, time zone %s, at most %d run(s) at once",
                        os.getpid(), display_url(self.url), self.loaded.config.timezone, scheduler.max_concurrent_runs)
            self.scheduler.resume()
            self._wait_for_signals(wakeup_r)
        finally:
            self._shutdown()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            signal.set_wakeup_fd(-1)
            wakeup_r.close()
            wakeup_w.close()
            _CURRENT = None
            self.lock.release()
        return 0

    def _install_signals(self, wakeup: socket.socket) -> dict[int, Any]:
        """Signals only write their number to `wakeup` (the main loop acts on it); during shutdown,
        a second SIGTERM/SIGINT also forces running children to stop now."""
        wakeup.setblocking(False)
        signal.set_wakeup_fd(wakeup.fileno(), warn_on_full_buffer=False)

        def on_signal(signum: int, frame: FrameType | None) -> None:
            if signum in (signal.SIGTERM, signal.SIGINT) and self.stop.requested.is_set():
                self.stop.forced.set()

        return {signum: signal.signal(signum, on_signal) for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}

    def _wait_for_signals(self, wakeup: socket.socket) -> None:
        while True:
            for signum in wakeup.recv(64):
                if signum == signal.SIGHUP:
                    self.reload()
                elif signum in (signal.SIGTERM, signal.SIGINT):
                    logger.info("%s received: stopping", signal.Signals(signum).name)
                    return

    def _shutdown(self) -> None:
        """No new runs; running children stop (bounded by stop_timeout); then APScheduler shuts down."""
        self.stop.requested.set()
        self.slots.wake()
        if self.scheduler.running:
            self.scheduler.pause()  # no new firings while the running ones finish
            running = self.slots.active
            if running:
                logger.info("no new runs; asking %d running run(s) to finish (killed after %s; signal again to kill now)",
                            running, format_duration(self.loaded.config.scheduler.stop_timeout))
            with self.inflight_done:
                self.inflight_done.wait_for(lambda: self.inflight == 0)
            # APScheduler's shutdown processes due jobs once more; detached from the job store, it finds none,
            # so firings that came due during the shutdown stay due there (a restart treats them as misfires).
            self.scheduler.remove_jobstore("default", shutdown=True)
            self.executor.closing = True
            self.scheduler.shutdown(wait=True)
        self.engine.dispose()
        logger.info("scheduler stopped")

    # --- configuration -----------------------------------------------------------------------------
    def _sync(self, loaded: LoadedConfig) -> None:
        wanted = plan(loaded)
        report = sync_jobs(self.scheduler, wanted, misfire_grace_seconds(loaded))
        logger.info("jobs synced from %s: %s", self.config_path, report.summary())
        if not wanted:
            logger.warning("no target has a `schedule:`; nothing runs until one does and the daemon gets SIGHUP")
        for job in sorted(self.scheduler.get_jobs(), key=lambda j: j.id):
            logger.info("%s: next run %s (%s)", job.id, when(job.next_run_time, loaded.config.timezone),
                        job.name.split(": ", 1)[-1])

    def reload(self) -> None:
        """SIGHUP: re-read the config; an invalid one changes nothing."""
        logger.info("SIGHUP: reloading %s", self.config_path)
        try:
            loaded = load_config(self.config_path)
            plan(loaded)
            url = jobstore_url(loaded)
        except NetpatrolError as exc:
            logger.error("reload failed, keeping the current jobs: %s", exc)
            return
        if url != self.url:
            logger.warning("scheduler.jobstore_url changed; this daemon keeps %s until it is restarted",
                           display_url(self.url))
        self.loaded = loaded
        self.slots.set_limit(loaded.config.scheduler.max_concurrent_runs)
        self._sync(loaded)

    # --- firings -----------------------------------------------------------------------------------
    def run_scheduled(self, target: str) -> None:
        """One firing of a target's job (in an executor thread): wait for a slot, run, record."""
        with self.inflight_done:
            self.inflight += 1
        try:
            self._run_scheduled(target)
        finally:
            with self.inflight_done:
                self.inflight -= 1
                self.inflight_done.notify_all()

    def _run_scheduled(self, target: str) -> None:
        due = self.executor.due.get(target)
        loaded = self.loaded
        try:
            config = loaded.config.target(target)
        except KeyError:
            logger.warning("%s: fired but no longer in the config; skipped", target)
            return
        if is_held(target_lock_path(loaded.data_dir, target)):
            self._skipped(target, due, str(TargetBusy(target, read_holder(target_lock_path(loaded.data_dir, target)))))
            return
        if not self.slots.acquire(self.stop.requested):
            self._skipped(target, due, "the scheduler was stopping")
            return
        try:
            timeout = config.timeout or loaded.config.scheduler.default_timeout

            def started(run_id: str, pid: int) -> None:
                self.ledger.record(target, STARTED, due, run_id=run_id)
                logger.info("%s: run %s started (pid %d, due %s, timeout %s)", target, run_id, pid,
                            when(due, loaded.config.timezone) if due else "now", format_duration(timeout))

            try:
                outcome = run_target(loaded, target, self.stop, timeout, loaded.config.scheduler.stop_timeout,
                                     on_line=lambda line: run_logger.info("[%s] %s", target, line), on_start=started)
            except TargetBusy as busy:
                self._skipped(target, due, str(busy))
                return
            except NetpatrolError as exc:  # e.g. the store could not record the outcome: say it in one line
                logger.error("%s: %s", target, exc)
                return
            log_outcome(outcome)
            job = self.scheduler.get_job(target)
            if job is not None and not self.stop.requested.is_set():
                logger.info("%s: next run %s", target, when(job.next_run_time, loaded.config.timezone))
        finally:
            self.slots.release()

    def _skipped(self, target: str, due: datetime | None, why: str) -> None:
        shown = when(due, self.loaded.config.timezone) if due else "now"
        logger.warning("%s: firing due %s skipped: %s", target, shown, why)
        self.ledger.record(target, SKIPPED, due, detail=why)

    def _on_event(self, event: JobEvent) -> None:
        try:
            if event.code == EVENT_JOB_MAX_INSTANCES:
                self._skipped(event.job_id, event.scheduled_run_times[-1],
                              "its previous run is still going (or waiting for a slot)")
            elif event.code == EVENT_JOB_MISSED:
                logger.warning("%s: firing due %s missed by more than misfire_grace (%s): skipped", event.job_id,
                               when(event.scheduled_run_time, self.loaded.config.timezone),
                               format_duration(self.loaded.config.scheduler.misfire_grace))
                self.ledger.record(event.job_id, MISSED, event.scheduled_run_time,
                                   detail="missed by more than misfire_grace")
            elif event.code == EVENT_JOB_ERROR:
                logger.error("%s: the scheduled run failed in the scheduler: %s\n%s", event.job_id, event.exception,
                             event.traceback)
        except Exception:  # the scheduler thread must survive a ledger that cannot be written
            logger.exception("%s: could not record the firing", event.job_id)


def log_outcome(outcome: Outcome) -> None:
    run = outcome.run
    how = {"timeout": " (stopped: timeout)", "shutdown": " (stopped: shutdown)"}.get(outcome.stopped or "", "")
    if run is None:
        logger.error("%s: run %s left no record (exit code %s)", outcome.target, outcome.run_id, outcome.exit_code)
        return
    figures = f"{run.pages} pages, {run.hits} hits, {run.errors} errors"
    level = logging.INFO if run.status == "completed" else logging.WARNING
    reason = ""
    if run.status == "failed" and run.pages == 0 and outcome.tail:
        reason = f": {outcome.tail[-1]}"
    logger.log(level, "%s: run %s %s after %.1fs%s: %s%s", outcome.target, run.id, run.status, outcome.seconds, how,
               figures, reason)


def serve(config_path: Path) -> int:
    """Load and validate the whole config (exit 2 before anything starts if it is invalid), then run."""
    loaded = load_config(config_path)
    return Daemon(config_path, loaded).serve()
