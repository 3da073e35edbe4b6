"""Helpers for the tests that need a real Elasticsearch: its URL, fresh index prefixes, a loopback TCP proxy.

`make test` (scripts/test) starts a real single-node Elasticsearch and exports its URL as
NETPATROL_TEST_ES_URL. Under `make test` (which sets NETPATROL_REQUIRE_SERVICES=1) and in CI
(CI=true) a missing URL fails the test; a developer running pytest alone is told to run `make es`.

The proxy sits between netpatrol and the node on 127.0.0.1, so a test can take the
cluster away mid-run (`stop`), hold a bulk response while the writer is killed
(`hold_responses`), or answer a bulk request with a real HTTP 503 (`fail_next_bulk`).
"""

from __future__ import annotations

import os
import re
import select
import socket
import threading
import time
import uuid
from typing import Any, Iterator

import pytest
from elasticsearch import ApiError, Elasticsearch

ENV = "NETPATROL_TEST_ES_URL"
REQUEST_LINE = re.compile(rb"^(?:GET|PUT|POST|HEAD|DELETE) /")


def es_url() -> str:
    url = os.environ.get(ENV)
    if url:
        return url.rstrip("/")
    message = f"{ENV} is not set: run `make test` (it starts Elasticsearch) or `make es` and export its URL"
    if any(os.environ.get(name, "").lower() in ("1", "true", "yes") for name in ("CI", "NETPATROL_REQUIRE_SERVICES")):
        pytest.fail(message)
    pytest.skip(message)
    raise AssertionError("unreachable")


def fresh_prefix() -> str:
    return f"np-{uuid.uuid4().hex[:10]}"


def test_client(url: str, **options: Any) -> Elasticsearch:
    """The one way tests talk to the cluster themselves (no retries: a test sees what the cluster says)."""
    return Elasticsearch(url, **{"max_retries": 0, "request_timeout": 30, **options})


test_client.__test__ = False  # type: ignore[attr-defined]  # not a test, whatever pytest makes of its name


def drop_prefix(url: str, prefix: str) -> None:
    """Delete a test's indices and templates."""
    client = test_client(url)
    try:
        for index in client.indices.get(index=f"{prefix}-*", allow_no_indices=True, expand_wildcards="all").body:
            client.indices.delete(index=index)
        for tpl in client.indices.get_index_template(name=f"{prefix}-*").body.get("index_templates", []):
            client.indices.delete_index_template(name=tpl["name"])
        for tpl in client.cluster.get_component_template(name=f"{prefix}-*").body.get("component_templates", []):
            client.cluster.delete_component_template(name=tpl["name"])
    except Exception:  # noqa: BLE001 - cleanup must not mask the test's own result
        pass
    finally:
        client.close()


def es_store_yaml(url: str, prefix: str, spool: str = "spool") -> str:
    return f'{{backend: elasticsearch, url: "{url}", index_prefix: {prefix}, spool_dir: {spool}}}'


class Proxy:
    """A TCP proxy on 127.0.0.1 to an upstream on 127.0.0.1, with hooks to misbehave on purpose."""

    def __init__(self, upstream_url: str) -> None:
        host_port = upstream_url.split("://", 1)[1].split("/", 1)[0]
        host, port = host_port.rsplit(":", 1)
        self.upstream = (host, int(port))
        self.listener: socket.socket | None = None
        self.port = 0
        self._threads: list[threading.Thread] = []
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self.running = threading.Event()
        self.bulk_seen = threading.Event()
        self.response_held = threading.Event()
        self.hold = threading.Event()  # while set, answers to bulk requests are kept back
        self.fail_bulks = 0
        self.failed_bulks = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Proxy":
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener, self.port = listener, listener.getsockname()[1]
        self.running.set()
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Refuse new connections and cut the open ones: to netpatrol the cluster is gone."""
        self.running.clear()
        if self.listener is not None:
            self.listener.close()
            self.listener = None
        with self._lock:
            for conn in self._conns:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                conn.close()
            self._conns.clear()

    def _accept(self) -> None:
        listener = self.listener
        while self.running.is_set() and listener is not None:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        sockets = [client, upstream]
        in_bulk = False  # the request in flight on this connection is a bulk request
        try:
            while self.running.is_set():
                readable, _, _ = select.select(sockets, [], [], 0.2)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if sock is client:
                        if REQUEST_LINE.match(data):  # a new request on this connection (else: more of the body)
                            in_bulk = b"/_bulk" in data[:200]
                        if b"/_bulk" in data[:200]:
                            self.bulk_seen.set()
                            if self.fail_bulks > 0:
                                self.fail_bulks -= 1
                                self.failed_bulks += 1
                                self._drain_request(client, data)
                                body = b'{"error":"injected by the test proxy","status":503}'
                                client.sendall(b"HTTP/1.1 503 Service Unavailable\r\nX-elastic-product: Elasticsearch\r\n"
                                               b"content-type: application/json\r\ncontent-length: "
                                               + str(len(body)).encode() + b"\r\n\r\n" + body)
                                continue
                        upstream.sendall(data)
                    else:
                        if self.hold.is_set() and in_bulk:
                            self.response_held.set()
                            while self.hold.is_set() and self.running.is_set():
                                self.hold.wait(0.1)
                        client.sendall(data)
        except OSError:
            return
        finally:
            for sock in sockets:
                try:
                    sock.close()
                except OSError:
                    pass

    @staticmethod
    def _drain_request(client: socket.socket, first: bytes) -> None:
        """Read the rest of a request whose answer is faked, so the connection stays in step."""
        head, _, body = first.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        while len(body) < length:
            chunk = client.recv(65536)
            if not chunk:
                break
            body += chunk


def count_docs(url: str, index: str, query: dict[str, Any] | None = None) -> int:
    client = test_client(url)
    try:
        for _attempt in range(100):
            try:
                client.indices.refresh(index=index, allow_no_indices=True, ignore_unavailable=True)
                return int(client.count(index=index, query=query or {"match_all": {}}, allow_no_indices=True,
                                        ignore_unavailable=True).body["count"])
            except ApiError as exc:  # a just-created index answers 503 until its shard is allocated
                if exc.status_code != 503:
                    raise
                time.sleep(0.1)
        raise AssertionError(f"{index} stayed unavailable")
    finally:
        client.close()


def search_all(url: str, index: str, query: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
    from elasticsearch import helpers

    client = test_client(url)
    try:
        client.indices.refresh(index=index, allow_no_indices=True, ignore_unavailable=True)
        yield from helpers.scan(client, index=index, query={"query": query or {"match_all": {}}},
                                allow_no_indices=True, ignore_unavailable=True)
    finally:
        client.close()
