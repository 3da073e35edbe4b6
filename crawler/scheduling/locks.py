"""File locks that die with their holder: one daemon per job store, one run per target at a time.

`flock` locks belong to the open file, so the kernel drops them when every process holding
the file is gone — no stale lock after a crash. A target's lock is handed to its `netpatrol run`
child as an inherited descriptor, so the target stays locked while the child lives, even if
the daemon that started it was killed.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from pipelines.errors import StoreError
from pipelines.stores.base import iso, utcnow


class FileLock:
    """An exclusive, non-blocking `flock` on a file that also says who holds it (JSON: pid, host, since)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    def acquire(self, wait: float = 0.0, **details: Any) -> bool:
        """Take the lock (retrying for up to `wait` seconds); False when someone else holds it."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot open the lock file: {exc}") from None
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    return False
                time.sleep(0.05)
        holder = {"pid": os.getpid(), "host": socket.gethostname(), "since": iso(utcnow()), **details}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        self.fd = fd
        return True

    def note(self, **details: Any) -> None:
        """Add details to the holder record (e.g. the pid of the child that now shares the lock)."""
        if self.fd is None:
            return
        holder = {**(read_holder(self.path) or {}), **details}
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, json.dumps(holder).encode(), 0)

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> "FileLock":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def read_holder(path: Path) -> dict[str, Any] | None:
    """Who wrote the lock file last (it may be stale: see `is_held`)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "null")
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_held(path: Path) -> bool:
    """Whether some process holds the lock now. Probes with a shared lock, which never blocks a holder
    for long: a daemon starting at that instant retries (`FileLock.acquire(wait=...)`)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def daemon_lock_path(data_dir: Path) -> Path:
    return data_dir / "scheduler.lock"


def target_lock_path(data_dir: Path, target: str) -> Path:
    return data_dir / "locks" / f"{target}.lock"
