"""A SOCKS5 gate in front of the browser: every connection Chromium opens is checked by the network policy.

Playwright request routing sees requests a page makes, but not redirect hops (by design:
interception sits above the network stack, which follows redirects itself), nor traffic
the routing cannot attribute to a page. Chromium is therefore launched with this gate as
its proxy, loopback included (`<-loopback>`): each TCP connection names its host, the
gate resolves it, refuses non-allowed addresses (SOCKS reply 2, "not allowed by ruleset")
and otherwise connects to the address it checked, so a DNS answer cannot change between
the check and the connection.

Only hosts a page asked for are served: the handler announces the host of every request
its pages make (redirect hops included, from Playwright's `request` events). Connections
the browser opens on its own (update checks, account sign-in probes) name hosts nobody
announced; after a short wait they are refused without even a DNS lookup.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Callable

from crawler.runtime.netguard import IPAddress, NetworkPolicy, describe

logger = logging.getLogger(__name__)

SOCKS_VERSION = 5
NO_AUTH = 0
CMD_CONNECT = 1
ATYP_IPV4, ATYP_DOMAIN, ATYP_IPV6 = 1, 3, 4
REPLY_OK, REPLY_FAILURE, REPLY_NOT_ALLOWED, REPLY_HOST_UNREACHABLE, REPLY_REFUSED = 0, 1, 2, 4, 5
REPLY_CMD_UNSUPPORTED, REPLY_ATYP_UNSUPPORTED = 7, 8
CHUNK = 64 * 1024


@dataclass
class GateFigures:
    """What the gate did, for the run's stats."""

    connections: int = 0
    refused: int = 0
    unrequested: int = 0
    failed: int = 0
    refused_hosts: list[str] = field(default_factory=list)


class SocksGate:
    """A minimal SOCKS5 server (CONNECT only, no authentication) on 127.0.0.1 that enforces a NetworkPolicy."""

    def __init__(
        self,
        policy: NetworkPolicy,
        connect_timeout: float = 10.0,
        count: Callable[[str], None] | None = None,
        announce_wait: float = 2.0,
        announce_ttl: float = 120.0,
    ) -> None:
        self.policy = policy
        self.connect_timeout = connect_timeout
        self.count = count or (lambda key: None)
        self.announce_wait = announce_wait
        self.announce_ttl = announce_ttl
        self._announced: dict[str, float] = {}
        self._announcement = asyncio.Event()
        self.figures = GateFigures()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(128)
        self._sock.setblocking(False)
        self.port: int = self._sock.getsockname()[1]
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"socks5://127.0.0.1:{self.port}"

    def announce(self, host: str) -> None:
        """A page is about to request `host`: connections to it may be served (still subject to the policy)."""
        host = host.strip("[]").lower()
        now = time.monotonic()
        known = self._announced.get(host)
        self._announced[host] = now + self.announce_ttl
        if known is None or known < now:
            self._announcement.set()
            self._announcement = asyncio.Event()
        if len(self._announced) > 10_000:
            self._announced = {h: t for h, t in self._announced.items() if t > now}

    async def _wait_announced(self, host: str) -> bool:
        host = host.strip("[]").lower()
        deadline = time.monotonic() + self.announce_wait
        while True:
            now = time.monotonic()
            if self._announced.get(host, 0.0) > now:
                return True
            if now >= deadline:
                return False
            try:
                await asyncio.wait_for(self._announcement.wait(), deadline - now)
            except asyncio.TimeoutError:
                pass

    async def start(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._serve, sock=self._sock)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        try:
            self._sock.close()
        except OSError:
            pass

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        upstream: asyncio.StreamWriter | None = None
        try:
            target = await asyncio.wait_for(self._handshake(reader, writer), self.connect_timeout)
            if target is None:
                return
            host, port = target
            if not await self._wait_announced(host):
                self.figures.unrequested += 1
                self.count("netpatrol/render/gate/unrequested")
                logger.debug("SOCKS gate: %s was not requested by a page; refused", host)
                await self._reply(writer, REPLY_NOT_ALLOWED)
                return
            addresses = await self._check(host)
            if not addresses:
                await self._reply(writer, REPLY_NOT_ALLOWED)
                return
            opened = await self._connect(addresses, port)
            if opened is None:
                self.figures.failed += 1
                await self._reply(writer, REPLY_HOST_UNREACHABLE)
                return
            up_reader, upstream = opened
            self.figures.connections += 1
            self.count("netpatrol/render/gate/connections")
            await self._reply(writer, REPLY_OK)
            await asyncio.gather(_pipe(reader, upstream), _pipe(up_reader, writer))
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError, ValueError):
            pass
        except asyncio.CancelledError:
            pass  # the gate is closing; end quietly (a cancelled client task is logged by asyncio otherwise)
        except Exception:  # a malformed client must never take the gate down
            logger.exception("SOCKS gate: unexpected error")
        finally:
            for stream in (writer, upstream):
                if stream is not None:
                    stream.close()
            if task is not None:
                self._tasks.discard(task)

    async def _handshake(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> tuple[str, int] | None:
        version, count = await reader.readexactly(2)
        methods = await reader.readexactly(count)
        if version != SOCKS_VERSION or NO_AUTH not in methods:
            writer.write(bytes([SOCKS_VERSION, 0xFF]))
            return None
        writer.write(bytes([SOCKS_VERSION, NO_AUTH]))
        version, command, _reserved, atyp = await reader.readexactly(4)
        if atyp == ATYP_IPV4:
            host = socket.inet_ntop(socket.AF_INET, await reader.readexactly(4))
        elif atyp == ATYP_IPV6:
            host = socket.inet_ntop(socket.AF_INET6, await reader.readexactly(16))
        elif atyp == ATYP_DOMAIN:
            length = (await reader.readexactly(1))[0]
            host = (await reader.readexactly(length)).decode("ascii", errors="replace")  # Chromium sends punycode
        else:
            await self._reply(writer, REPLY_ATYP_UNSUPPORTED)
            return None
        (port,) = struct.unpack("!H", await reader.readexactly(2))
        if command != CMD_CONNECT:
            await self._reply(writer, REPLY_CMD_UNSUPPORTED)
            return None
        return host, port

    async def _connect(
        self, addresses: list[IPAddress], port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """Connect to the first checked address that answers (never re-resolving the name)."""
        for address in addresses:
            try:
                return await asyncio.wait_for(asyncio.open_connection(str(address), port), self.connect_timeout)
            except (OSError, asyncio.TimeoutError) as exc:
                logger.debug("SOCKS gate: cannot connect to %s:%s: %r", address, port, exc)
        return None

    async def _check(self, host: str) -> list[IPAddress]:
        """The addresses of `host` when every one of them is allowed; empty when refused or unresolvable."""
        try:
            addresses = await asyncio.get_running_loop().run_in_executor(None, self.policy.resolve, host)
        except (OSError, UnicodeError) as exc:
            logger.debug("SOCKS gate: cannot resolve %s: %s", host, exc)
            self.figures.failed += 1
            return []
        for address in addresses:
            if not self.policy.address_allowed(address):
                self.figures.refused += 1
                if len(self.figures.refused_hosts) < 20:
                    self.figures.refused_hosts.append(host)
                why = f"{host} resolves to {address}, {describe(address)}"
                logger.info("browser connection refused: %s", why)
                self.count("netpatrol/render/gate/refused")
                return []
        return addresses

    @staticmethod
    async def _reply(writer: asyncio.StreamWriter, code: int) -> None:
        writer.write(bytes([SOCKS_VERSION, code, 0, ATYP_IPV4, 0, 0, 0, 0, 0, 0]))
        await writer.drain()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy bytes one way until EOF, then half-close the other side."""
    try:
        while True:
            data = await reader.read(CHUNK)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (OSError, ConnectionError):
        pass
    finally:
        try:
            if writer.can_write_eof():
                writer.write_eof()
        except (OSError, RuntimeError):
            pass
