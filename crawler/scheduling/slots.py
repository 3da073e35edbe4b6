"""At most N runs at once; due targets beyond that wait their turn, first come first served."""

from __future__ import annotations

import threading
from collections import deque


class RunSlots:
    """A fair counting semaphore whose size can change (a reload may change `max_concurrent_runs`).

    A waiting target still counts as running for the overlap rule: its next firing is skipped."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._active = 0
        self._queue: deque[object] = deque()
        self._cond = threading.Condition()

    @property
    def active(self) -> int:
        return self._active

    @property
    def waiting(self) -> int:
        return len(self._queue)

    def set_limit(self, limit: int) -> None:
        with self._cond:
            self._limit = limit
            self._cond.notify_all()

    def acquire(self, cancelled: threading.Event) -> bool:
        """Wait for a slot; False (without a slot) once `cancelled` is set."""
        ticket = object()
        with self._cond:
            self._queue.append(ticket)
            try:
                while not (self._queue[0] is ticket and self._active < self._limit):
                    if cancelled.is_set():
                        return False
                    self._cond.wait(0.5)
                self._active += 1
                return True
            finally:
                self._queue.remove(ticket)
                self._cond.notify_all()

    def release(self) -> None:
        with self._cond:
            self._active -= 1
            self._cond.notify_all()

    def wake(self) -> None:
        """Let waiters re-check `cancelled` now (called on shutdown)."""
        with self._cond:
            self._cond.notify_all()
