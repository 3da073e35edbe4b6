"""Refuse requests (and redirect hops) whose host resolves to a private, loopback or reserved address."""

from __future__ import annotations

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread

from crawler.runtime.netguard import AddressRefused, NetworkPolicy


class PrivateAddressBlocked(IgnoreRequest):
    """The request's host resolves to an address the network policy refuses."""


class PrivateNetworkGuard:
    """Downloader middleware: every request, including each redirect hop, is checked before it is sent."""

    def __init__(self, policy: NetworkPolicy, crawler: Crawler | None = None) -> None:
        self.policy = policy
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "PrivateNetworkGuard":
        policy = NetworkPolicy.from_values(
            crawler.settings.getbool("NETPATROL_ALLOW_PRIVATE_NETWORKS"),
            crawler.settings.getlist("NETPATROL_ALLOWED_NETWORKS"),
        )
        return cls(policy, crawler)

    async def process_request(self, request: Request) -> None:
        # Name resolution blocks, so it runs in a thread; results are cached by the policy.
        try:
            await maybe_deferred_to_future(deferToThread(self.policy.check_url, request.url))
        except AddressRefused as exc:
            if self.crawler is not None and self.crawler.stats is not None:
                self.crawler.stats.inc_value("netpatrol/fetch/refused/private_network")
            raise PrivateAddressBlocked(str(exc)) from None
