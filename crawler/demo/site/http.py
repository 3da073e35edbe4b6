"""HTTP plumbing of the demo site: a threading server bound to loopback only, and the reply it sends."""

from __future__ import annotations

import ipaddress
import socket
import socketserver
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Callable, Iterable

if TYPE_CHECKING:
    from crawler.demo.site.app import DemoSite

HTML_UTF8 = "text/html; charset=utf-8"
TEXT_UTF8 = "text/plain; charset=utf-8"


@dataclass
class Reply:
    status: int
    body: bytes | Callable[[], Iterable[bytes]] = b""
    content_type: str | None = HTML_UTF8
    headers: list[tuple[str, str]] = field(default_factory=list)
    length: int = 0  # for streamed (callable) bodies

    def __post_init__(self) -> None:
        if not (isinstance(self.body, bytes) or callable(self.body)):
            raise TypeError(f"a reply body is bytes or a callable, not {type(self.body).__name__}")


def loopback_host(host: str) -> str:
    if host == "localhost":
        host = "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"DemoSite binds a loopback IPv4 address (127.0.0.0/8) only, not {host!r}") from None
    if address.version != 4 or not address.is_loopback:
        raise ValueError(f"DemoSite binds a loopback IPv4 address (127.0.0.0/8) only, not {host!r}")
    return str(address)


class DemoServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], site: "DemoSite") -> None:
        self.site = site
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, DemoHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse DNS lookup; skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hanging up mid-response are normal here; stay quiet

    def track(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
            self._connections.clear()
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class DemoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "DemoMarket/1.0"
    sys_version = ""
    timeout = 30  # idle keep-alive connections are closed after this many seconds
    server: DemoServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # the site keeps `request_log` instead of writing to stderr

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def _serve(self, head: bool) -> None:
        site = self.server.site
        site.record(self.path)
        try:
            reply = site.route(self.path)
        except Exception:  # a bug in a page must not kill the connection handler
            reply = site.server_error()
        try:
            self._send(reply, head)
        except OSError:  # client went away (timeouts, size limits, redirects) or the site stopped
            self.close_connection = True

    def _send(self, reply: Reply, head: bool) -> None:
        chunks: Iterable[bytes]
        if callable(reply.body):
            length = reply.length
            chunks = () if head else reply.body()
        else:
            length = len(reply.body)
            chunks = (reply.body,)
        self.send_response(reply.status)
        if reply.content_type:
            self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(length))
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        if head:
            return
        for chunk in chunks:
            self.wfile.write(chunk)
        self.wfile.flush()
