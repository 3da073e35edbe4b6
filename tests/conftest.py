"""Shared fixtures: the demo site on a free loopback port, configs in temp folders, the CLI in a subprocess,
free ports, the `store:` of either backend, a real Elasticsearch (fresh prefix, client, proxy)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
from elasticsearch import Elasticsearch
from es_support import Proxy, drop_prefix, es_store_yaml, es_url, fresh_prefix, test_client

from crawler.demo.site import DemoSite

ROOT = Path(__file__).resolve().parents[1]

#: The network line of every test config: the guard stays on, loopback (the demo sites) is exempt, so a
#: wrong `follow` pattern can never send traffic to the 10.0.0.1 the demo site links to.
LOOPBACK_ONLY = 'allowed_networks: ["127.0.0.0/8"]'


def unused_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (a dead host, or one a test server takes next)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def free_port() -> int:
    return unused_port()


def market_target(base_url: str, **overrides: Any) -> str:
    """The demo market as one target (flow-style YAML on one line, so it fits any indentation).

    Home, category and listing pages are followed, listings are matched; `overrides` replace or add keys
    (`max_pages=300`, `render="never"`, `politeness={...}`)."""
    target: dict[str, Any] = {
        "name": "market", "type": "site", "start_urls": [f"{base_url}/"], "follow": ["^/c/", "^/item/"],
        "match_urls": ["^/item/"], "politeness": {"concurrency": 8, "autothrottle": False},
    }
    target.update(overrides)
    return json.dumps(target, ensure_ascii=False)


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


# --- stores -------------------------------------------------------------------------------------

@pytest.fixture(params=["sqlite", pytest.param("elasticsearch", marks=pytest.mark.elasticsearch)])
def store_yaml(request: pytest.FixtureRequest) -> Iterator[str]:
    """The `store:` value of a config: SQLite in the config's folder, or Elasticsearch with a fresh prefix."""
    if request.param == "sqlite":
        yield "{path: data/np.db}"
        return
    url, prefix = es_url(), fresh_prefix()
    yield es_store_yaml(url, prefix)
    drop_prefix(url, prefix)


@pytest.fixture
def es() -> Iterator[tuple[str, str]]:
    """The test cluster's URL and a fresh index prefix, dropped afterwards."""
    url, prefix = es_url(), fresh_prefix()
    yield url, prefix
    drop_prefix(url, prefix)


@pytest.fixture
def es_client(es: tuple[str, str]) -> Iterator[Elasticsearch]:
    """A client of the test cluster (for a test's own reads and setup; the store builds its own)."""
    client = test_client(es[0])
    yield client
    client.close()


@pytest.fixture
def proxy(es: tuple[str, str]) -> Iterator[Proxy]:
    """A loopback proxy in front of the cluster that can drop, hold or fail requests on purpose."""
    p = Proxy(es[0]).start()
    yield p
    p.hold.clear()
    p.stop()


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
