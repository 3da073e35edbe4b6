"""Logging filters that turn expected network failures into one readable line instead of a traceback."""

from __future__ import annotations

import logging

ROBOTS_LOGGER = "scrapy.downloadermiddlewares.robotstxt"
TRANSPORT_LOGGER = "elastic_transport.transport"


class RobotsFetchErrors(logging.Filter):
    """A robots.txt that cannot be fetched (dead host, refused connection) is an expected outcome.

    Scrapy logs it with a full traceback; the page requests that follow fail on their own and
    are counted in the run's errors, so one line naming the host and the reason is enough.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.args, dict) and "f_exception" in record.args:
            request = record.args.get("request")
            url = getattr(request, "url", str(request))
            record.msg = "robots.txt for %(url)s could not be fetched (%(reason)s); its pages are tried as allowed"
            record.args = {"url": url, "reason": record.args["f_exception"]}
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


class TransportRetries(logging.Filter):
    """The Elasticsearch client logs each retried request with the whole traceback of a refused connection.

    An unreachable cluster is an expected state (writes wait in the spool and netpatrol says so in
    one line), so the retry notes keep their message and lose the traceback.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info:
            record.exc_info = None
            record.exc_text = None
        return True


def install() -> None:
    """Attach the filters once (idempotent: every round of a long-lived daemon calls this)."""
    for name, kind in ((ROBOTS_LOGGER, RobotsFetchErrors), (TRANSPORT_LOGGER, TransportRetries)):
        logger = logging.getLogger(name)
        if not any(isinstance(f, kind) for f in logger.filters):
            logger.addFilter(kind())
