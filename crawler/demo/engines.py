"""Fixture search engines on loopback, one per preset, answering in that engine's markup.

    /<engine>/<path>?<query param>=Q&<page param>=N   a result page (crawler.demo.serp_markup)
    /<engine>/link?url=TOKEN                           the engine's wrapped link: 302 to the landing URL,
                                                       or (two hops) to /<engine>/jump?to=TOKEN first
    /landing/<id>                                      a landing page (served by the landing host)

Behaviour a patrol must survive: each wrapped link is a fresh token (baidu, sogou, shenma: one landing
page gets a new wrapped URL every time; so360 keeps one per landing page; bing links carry the landing
URL), a wall after `wall_after` result pages, the engine's own "no results" page, a blank page and a
truncated page (queries `__blank__` and `__truncated__`). `requests` logs every request path.
"""

from __future__ import annotations

import hashlib
import socket
import socketserver
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from crawler.demo.serp_markup import PAGES, PARAMS, WALLS, Entry, bing_link

PAGE_SIZE = 10


@dataclass
class EngineState:
    corpus: dict[str, list[Entry]] = field(default_factory=dict)
    wall_after: int | None = None  # result pages answered before the wall goes up
    served: int = 0
    walled: list[str] = field(default_factory=list)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], owner: "FixtureEngines") -> None:
        self.owner = owner
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # no reverse DNS lookup
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def _serve(self, head: bool) -> None:
        owner = self.server.owner
        with owner.lock:
            owner.requests.append(f"{self.command} {self.headers.get('Host', '')}{self.path}")
        status, headers, body, truncated = owner.route(self.path)
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if truncated:  # no length, connection closed mid-page: the client sees a page cut short
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)


class FixtureEngines:
    """Every preset engine under one loopback server, and a landing site on a second loopback address."""

    def __init__(self, landing_host: str = "127.0.0.2") -> None:
        self.engines = {name: EngineState() for name in PAGES}
        self.lock = threading.Lock()
        self.requests: list[str] = []
        self.tokens: dict[str, tuple[str, int]] = {}  # token -> (landing URL, hops)
        self.landing_host = landing_host
        self._servers: list[tuple[_Server, threading.Thread]] = []
        self.base_url = self.landing_url = ""

    def start(self) -> "FixtureEngines":
        for host in ("127.0.0.1", self.landing_host):
            server = _Server((host, 0), self)
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
            thread.start()
            self._servers.append((server, thread))
        self.base_url = f"http://127.0.0.1:{self._servers[0][0].server_port}"
        self.landing_url = f"http://{self.landing_host}:{self._servers[1][0].server_port}"
        return self

    def stop(self) -> None:
        for server, thread in self._servers:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
        self._servers = []

    def __enter__(self) -> "FixtureEngines":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        with self.lock:
            for state in self.engines.values():
                state.served, state.walled, state.wall_after = 0, [], None
            self.requests.clear()

    def url_template(self, engine: str) -> str:
        """The target `url:` that points a preset at its fixture engine."""
        path, q, p = PARAMS[engine]
        return f"{self.base_url}/{engine}/{path}?{q}={{query}}&{p}={{page}}"

    def wrapped_pattern(self, engine: str) -> str:
        return f"^{self.base_url}/{engine}/(?:link|ck/a)\\?"

    def landing(self, listing: str) -> str:
        return f"{self.landing_url}/landing/{listing}"

    def link_for(self, engine: str, entry: Entry) -> str:
        base = f"{self.base_url}/{engine}"
        if engine == "bing":
            return bing_link(base, entry.landing)
        with self.lock:
            if engine == "so360":  # one stable wrapped link per landing page
                token = hashlib.sha1(entry.landing.encode()).hexdigest()[:16]
            else:  # a fresh wrapped link every time the result is shown
                token = f"{len(self.tokens) + 1:06d}"
            self.tokens[token] = (entry.landing, entry.hops)
        return f"{base}/link?{'m' if engine == 'so360' else 'url'}={token}"

    def route(self, raw: str) -> tuple[int, list[tuple[str, str]], bytes, bool]:
        parts = urlsplit(raw)
        query = parse_qs(parts.query)
        html = [("Content-Type", "text/html; charset=utf-8")]
        segments = parts.path.strip("/").split("/")
        if segments[0] == "landing":
            return 200, html, f"<html><body><h1>listing {segments[-1]}</h1></body></html>".encode(), False
        engine = segments[0]
        if engine not in self.engines or len(segments) < 2:
            return 404, html, b"<html><body>not found</body></html>", False
        if segments[1] in ("link", "jump"):
            token = (query.get("url") or query.get("m") or query.get("to") or [""])[0]
            landing, hops = self.tokens.get(token, ("", 0))
            if not landing:
                return 404, html, b"<html><body>no such link</body></html>", False
            if segments[1] == "link" and hops > 1:
                return 302, [("Location", f"/{engine}/jump?to={quote(token)}")], b"", False
            return 302, [("Location", landing)], b"", False
        path, q_name, p_name = PARAMS[engine]
        if segments[1] != path:
            return 404, html, b"<html><body>not found</body></html>", False
        q = (query.get(q_name) or [""])[0]
        state = self.engines[engine]
        with self.lock:
            state.served += 1
            walled = state.wall_after is not None and state.served > state.wall_after
            if walled:
                state.walled.append(q)
        if walled:
            return 200, html, WALLS[engine].encode(), False
        page_markup, none_markup = PAGES[engine]
        if q == "__blank__":
            return 200, html, b"<!DOCTYPE html>\n<html><head><title></title></head><body></body></html>\n", False
        entries = state.corpus.get(q, [])
        if q == "__truncated__":
            full = page_markup(q, state.corpus.get(q, []), lambda e: self.link_for(engine, e)).encode()
            return 200, html, full[: len(full) * 2 // 3], True
        if not entries:
            return 200, html, none_markup(q).encode(), False
        return 200, html, page_markup(q, entries[:PAGE_SIZE], lambda e: self.link_for(engine, e)).encode(), False


def sample_page(engine: str, query: str, entries: list[Entry], link_base: str) -> str:
    """A result page in the engine's markup with links in the engine's real wrapped form (for `engines check`)."""
    page_markup, _none = PAGES[engine]
    counter = iter(range(1, 10_000))

    def link(entry: Entry) -> str:
        if engine == "bing":
            return bing_link(link_base, entry.landing)
        key = "m" if engine == "so360" else "url"
        return f"{link_base}/link?{key}=sample{next(counter):04d}"

    return page_markup(query, entries, link)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
