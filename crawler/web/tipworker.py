"""Check queued tips in the background: one `netpatrol tips check` child process at a time.

Scrapy's reactor cannot run twice in one process, and a crawl must not stall the web
server, so each check is a child process; a tip arriving during a check is picked up
by the next one.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from pathlib import Path

logger = logging.getLogger(__name__)


class TipWorker:
    def __init__(self, config_path: Path, timeout: float = 900.0) -> None:
        self.config_path = config_path
        self.timeout = timeout
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.checks = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="netpatrol-tips", daemon=True)
        self._thread.start()
        self._wake.set()  # tips queued while the server was down

    def kick(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            self._wake.clear()
            if self._stop.is_set():
                return
            command = [sys.executable, "-m", "crawler.cli.main", "tips", "check", "--config", str(self.config_path)]
            try:
                done = subprocess.run(command, capture_output=True, text=True, timeout=self.timeout)
                self.checks += 1
                if done.returncode != 0:
                    logger.warning("tips check exited %s: %s", done.returncode, done.stderr.strip()[-500:])
            except (OSError, subprocess.TimeoutExpired) as exc:
                logger.warning("tips check failed: %s", exc)
