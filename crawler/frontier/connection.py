"""Open the frontier's Redis client: short timeouts and no client-side retry loops.

A Redis outage must not freeze a worker's reactor: calls fail fast and the callers decide
(wait and try again on the next tick, buffer a push, keep a lease).
"""

from __future__ import annotations

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

#: What "Redis is unreachable right now" looks like to the client.
REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError, OSError)


def connect(url: str, timeout: float = 5.0) -> redis.Redis:
    return redis.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=min(timeout, 2.0),
        retry=Retry(NoBackoff(), 0),
        health_check_interval=0,
    )


def describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]
