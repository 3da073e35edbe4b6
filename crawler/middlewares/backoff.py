"""Back a host off when it walls us, instead of hammering it into blocking the target for good.

A wall is a 429, a 503 with `Retry-After`, or a page a person would read as a CAPTCHA,
rate-limit, login or "enable JavaScript" wall (crawler.render.walls). On a wall:
  * the host is backed off: its requests wait until `Retry-After` (or 2^n x the base delay)
    has passed; the waiting happens before the request is sent, so nothing hits the host;
  * the walled URL is retried later in the run, at a lower priority, up to
    NETPATROL_WALL_RETRIES times; then it is given up and counted as a page lost to walls
    (`netpatrol/walls/lost` in the run summary), and the spider counts it `blocked`;
  * with AutoThrottle on, a wall is a slow-down signal: the host's download delay doubles
    (AutoThrottle itself would read a 200 wall as a fast, healthy answer and speed up).
A `Retry-After` beyond NETPATROL_BACKOFF_MAX_SECONDS is not waited for: the URL is given up at once.
"""

from __future__ import annotations

import logging
import time
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import reactor
from twisted.internet.task import deferLater

from crawler.spiders.base import JUNK_META, WALL_META, is_html, junk_of, wall_of

RETRIES_META = "netpatrol_wall_retries"
logger = logging.getLogger(__name__)


def retry_after_seconds(value: bytes | None, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class HostBackoff:
    """Downloader middleware: back off walled hosts, retry walled URLs later, count what walls cost."""

    def __init__(self, crawler: Crawler, retries: int, base: float, maximum: float, autothrottle: bool,
                 max_delay: float) -> None:
        self.crawler = crawler
        self.retries = retries
        self.base = base
        self.maximum = maximum
        self.autothrottle = autothrottle
        self.max_delay = max_delay
        self.until: dict[str, float] = {}  # host -> monotonic time before which nothing is sent to it
        self.strikes: dict[str, int] = {}  # host -> walls in a row

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "HostBackoff":
        settings = crawler.settings
        if not settings.getbool("NETPATROL_BACKOFF_ENABLED"):
            raise NotConfigured("NETPATROL_BACKOFF_ENABLED is off")
        return cls(crawler, settings.getint("NETPATROL_WALL_RETRIES"), settings.getfloat("NETPATROL_BACKOFF_BASE_SECONDS"),
                   settings.getfloat("NETPATROL_BACKOFF_MAX_SECONDS"), settings.getbool("AUTOTHROTTLE_ENABLED"),
                   settings.getfloat("AUTOTHROTTLE_MAX_DELAY"))

    def _inc(self, key: str, count: int = 1) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(key, count)

    @staticmethod
    def _host(url: str) -> str:
        return urlsplit(url).netloc.lower()

    async def process_request(self, request: Request) -> None:
        wait = self.until.get(self._host(request.url), 0.0) - time.monotonic()
        if wait > 0:
            self._inc("netpatrol/backoff/waits")
            await maybe_deferred_to_future(deferLater(reactor, wait, lambda: None))

    def process_response(self, request: Request, response: Response) -> Request | Response:
        why = self._wall(request, response)
        host = self._host(request.url)
        tries = int(request.meta.get(RETRIES_META, 0))
        if why is None:
            self.strikes.pop(host, None)
            if tries:
                self._inc("netpatrol/walls/recovered")
            return response
        self._inc("netpatrol/walls/seen")
        strikes = self.strikes[host] = self.strikes.get(host, 0) + 1
        asked = retry_after_seconds(response.headers.get(b"Retry-After"))
        delay = asked if asked is not None else min(self.maximum, self.base * 2 ** (strikes - 1))
        if asked is None or asked <= self.maximum:
            self.until[host] = max(self.until.get(host, 0.0), time.monotonic() + delay)
        self._slow_down(request)
        if tries >= self.retries or (asked is not None and asked > self.maximum):
            self._inc("netpatrol/walls/lost")
            request.meta["dont_retry"] = True  # given up: Scrapy's own retry must not hammer it again
            return response
        self._inc("netpatrol/backoff/retried")
        logger.info("walled (%s); %s backed off %.1f s, retry %d of %d later: %s",
                    why, host, delay, tries + 1, self.retries, request.url)
        meta = {k: v for k, v in request.meta.items() if k not in (WALL_META, JUNK_META)}
        meta[RETRIES_META] = tries + 1
        return request.replace(meta=meta, dont_filter=True, priority=request.priority - 10)

    def _wall(self, request: Request, response: Response) -> str | None:
        status = response.status
        if status == 429:
            return "429"
        if status == 503 and response.headers.get(b"Retry-After"):
            return "503 with Retry-After"
        if status in (200, 403) and is_html(response) and junk_of(response, request.meta) is None:  # type: ignore[arg-type]
            verdict = wall_of(response, request.meta)
            if verdict is not None:
                return f"{verdict.kind} wall"
        return None

    def _slow_down(self, request: Request) -> None:
        """With AutoThrottle on, a wall doubles the host's download delay (within AUTOTHROTTLE_MAX_DELAY)."""
        if not self.autothrottle or self.crawler.engine is None:
            return
        key = request.meta.get("download_slot")
        slots: dict[Any, Any] = self.crawler.engine.downloader.slots
        slot = slots.get(key) if key is not None else None
        if slot is None:
            return
        slot.delay = min(self.max_delay, max(2 * slot.delay, self.base))
        self._inc("netpatrol/backoff/throttled")
