"""Helpers for the tests that need a real Redis (Debian's redis-server): its URL, private servers to restart.

`make test` (scripts/test) starts one and exports NETPATROL_TEST_REDIS_URL. Without it, a private
server is started here when redis-server is installed. Under `make test` (NETPATROL_REQUIRE_SERVICES=1)
and in CI a missing redis-server fails the test; a developer running pytest alone is told what to install.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import redis

ENV = "NETPATROL_TEST_REDIS_URL"


def _required() -> bool:
    return any(os.environ.get(n, "").lower() in ("1", "true", "yes") for n in ("CI", "NETPATROL_REQUIRE_SERVICES"))


def redis_server_binary() -> str:
    found = os.environ.get("NETPATROL_REDIS_SERVER") or shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None)
    if found:
        return found
    message = "redis-server is not installed: run `make test` (scripts/redis installs it) or apt-get install redis-server"
    if _required():
        pytest.fail(message)
    pytest.skip(message)
    raise AssertionError("unreachable")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """A private redis-server on a loopback port, without persistence: a restart loses every key."""

    def __init__(self) -> None:
        self.binary = redis_server_binary()
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="np-redis-")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.dir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        for _ in range(100):
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def __enter__(self) -> "RedisServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def fresh_prefix() -> str:
    return f"nptest-{uuid.uuid4().hex[:8]}"
