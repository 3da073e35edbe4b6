"""Shared fixtures: the demo site on a free loopback port, configs in temp folders, the CLI in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

from crawler.demo.site import DemoSite

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def site_server() -> Iterator[DemoSite]:
    with DemoSite() as site:
        site.start()
        yield site


@pytest.fixture
def site(site_server: DemoSite) -> Iterator[DemoSite]:
    """The demo site with every listing online and an empty request log."""
    site_server.reset()
    site_server.clear_log()
    yield site_server
    site_server.reset()


@dataclass
class CLIResult:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def run_cli(*args: str, timeout: float = 180, env: dict[str, str] | None = None) -> CLIResult:
    """Run `netpatrol ARGS` as users do: a separate process (Scrapy's reactor cannot restart in-process)."""
    full_env = dict(os.environ)
    full_env.pop("NETPATROL_PROGRESS", None)
    if env:
        full_env.update(env)
    proc = subprocess.run(
        [sys.executable, "-m", "crawler.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=full_env,
    )
    return CLIResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli() -> Any:
    return run_cli


def write_config(folder: Path, body: str, name: str = "netpatrol.yml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


@pytest.fixture
def make_config(tmp_path: Path) -> Any:
    def make(body: str, name: str = "netpatrol.yml") -> Path:
        return write_config(tmp_path, body, name)

    return make


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The shared test Redis (scripts/test starts it), or a private one when redis-server is installed."""
    from redis_support import ENV, RedisServer

    url = os.environ.get(ENV)
    if url:
        yield url
        return
    with RedisServer() as server:
        yield server.url
