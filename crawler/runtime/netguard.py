"""Which addresses a crawler may reach: public ones only, unless the config allows private ones.

A crawler fed links by hostile pages must not be steerable into the internal network
(SSRF). The check is on the resolved address of every request, redirect hop and,
for rendered pages, every browser request.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class AddressRefused(Exception):
    """A URL's host resolves to an address the policy refuses."""


def describe(address: IPAddress) -> str:
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private-network address"
    return "a non-public address"


@dataclass
class NetworkPolicy:
    """Allow public (globally routable) addresses, plus `allowed` networks or everything private."""

    allow_private: bool = False
    allowed: list[IPNetwork] = field(default_factory=list)
    cache_seconds: float = 60.0
    _cache: dict[str, tuple[float, list[IPAddress]]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_values(cls, allow_private: bool, allowed: list[str]) -> "NetworkPolicy":
        return cls(allow_private, [ipaddress.ip_network(n, strict=False) for n in allowed])

    def address_allowed(self, address: IPAddress) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if any(address in network for network in self.allowed):
            return True
        if self.allow_private:
            return True
        return address.is_global and not address.is_multicast

    def resolve(self, host: str) -> list[IPAddress]:
        try:
            return [ipaddress.ip_address(host.strip("[]"))]
        except ValueError:
            pass
        now = time.monotonic()
        cached = self._cache.get(host)
        if cached and cached[0] > now:
            return cached[1]
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
        self._cache[host] = (now + self.cache_seconds, addresses)
        return addresses

    def check_url(self, url: str) -> None:
        """Raise AddressRefused when any address the URL's host resolves to is not allowed.

        Resolution failures are left to the downloader (they surface as DNS errors)."""
        host = urlsplit(url).hostname
        if not host:
            return
        try:
            addresses = self.resolve(host)
        except (socket.gaierror, UnicodeError, OSError):
            return
        for address in addresses:
            if not self.address_allowed(address):
                raise AddressRefused(
                    f"{url}: {host} resolves to {address}, {describe(address)}; refused "
                    "(list its network in allowed_networks, e.g. allowed_networks: [\"10.1.0.0/16\"], to crawl an internal host)"
                )
