"""The SOCKS5 gate in front of the browser (crawler/render/socks.py), driven by a minimal SOCKS client.

No browser here: the gate is a plain asyncio server, so its policy is tested directly.
Only 127.0.0.1 is ever connected to; refused hosts are refused before any connection.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Any

from crawler.demo.site import DemoSite
from crawler.runtime.netguard import NetworkPolicy
from crawler.render.socks import REPLY_NOT_ALLOWED, REPLY_OK, SocksGate


async def socks_get(gate: SocksGate, host: str, port: int, path: str = "/") -> tuple[int, bytes]:
    """CONNECT through the gate by host name; on success send one HTTP GET and return (reply code, response)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", gate.port)
    try:
        writer.write(b"\x05\x01\x00")
        assert await reader.readexactly(2) == b"\x05\x00"
        name = host.encode()
        writer.write(b"\x05\x01\x00\x03" + bytes([len(name)]) + name + struct.pack("!H", port))
        reply = await reader.readexactly(10)
        code = reply[1]
        if code != REPLY_OK:
            return code, b""
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
        return code, await asyncio.wait_for(reader.read(-1), 10)
    finally:
        writer.close()


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_announced_allowed_host_is_served_through_the_pinned_address(site: DemoSite) -> None:
    port = int(site.base_url.rsplit(":", 1)[1])
    counted: list[str] = []

    async def scenario() -> tuple[int, bytes]:
        gate = SocksGate(NetworkPolicy.from_values(False, ["127.0.0.1/32"]), count=counted.append, announce_wait=0.2)
        await gate.start()
        try:
            gate.announce("127.0.0.1")
            return await socks_get(gate, "127.0.0.1", port, "/gen/3")
        finally:
            await gate.close()

    code, response = run(scenario())
    assert code == REPLY_OK
    assert response.startswith(b"HTTP/1.1 200") and "生成页面 #3".encode() in response
    assert "/gen/3" in site.request_log
    assert counted == ["netpatrol/render/gate/connections"]


def test_hosts_no_page_asked_for_are_refused_without_a_lookup() -> None:
    looked_up: list[str] = []

    class Recording(NetworkPolicy):
        def resolve(self, host: str) -> list[Any]:
            looked_up.append(host)
            return super().resolve(host)

    async def scenario() -> tuple[int, int]:
        gate = SocksGate(Recording(allow_private=True), announce_wait=0.2)
        await gate.start()
        try:
            code, _ = await socks_get(gate, "update.googleapis.com", 443)
            return code, gate.figures.unrequested
        finally:
            await gate.close()

    code, unrequested = run(scenario())
    assert code == REPLY_NOT_ALLOWED
    assert unrequested == 1
    assert looked_up == []  # not even a DNS query leaves the machine for the browser's own traffic


def test_private_address_is_refused_even_when_announced(site: DemoSite) -> None:
    """A page asked for 127.0.0.2 (only 127.0.0.1 is allowed): refused, and nothing is connected."""
    counted: list[str] = []

    async def scenario() -> tuple[int, int, int]:
        gate = SocksGate(NetworkPolicy.from_values(False, ["127.0.0.1/32"]), count=counted.append, announce_wait=0.2)
        await gate.start()
        try:
            gate.announce("127.0.0.2")
            code, _ = await socks_get(gate, "127.0.0.2", 9)
            return code, gate.figures.refused, gate.figures.connections
        finally:
            await gate.close()

    code, refused, connections = run(scenario())
    assert code == REPLY_NOT_ALLOWED
    assert (refused, connections) == (1, 0)
    assert counted == ["netpatrol/render/gate/refused"]


def test_malformed_clients_do_not_stop_the_gate(site: DemoSite) -> None:
    port = int(site.base_url.rsplit(":", 1)[1])

    async def scenario() -> int:
        gate = SocksGate(NetworkPolicy.from_values(True, []), announce_wait=0.2)
        await gate.start()
        try:
            for junk in (b"GET / HTTP/1.1\r\n\r\n", b"\x05", b"\x04\x01\x00\x50\x7f\x00\x00\x01\x00", b"\x05\x01\x00\x05\x02\x00\x09"):
                reader, writer = await asyncio.open_connection("127.0.0.1", gate.port)
                writer.write(junk)
                await writer.drain()
                writer.close()
            gate.announce("127.0.0.1")
            code, _ = await socks_get(gate, "127.0.0.1", port, "/gen/1")
            return code
        finally:
            await gate.close()

    assert run(scenario()) == REPLY_OK
