"""What can go wrong on a rendered page, as the error kinds a run counts (`netpatrol/fetch/errors/render_<kind>`).

    IgnoreRequest
    └── NeedsJavaScript     the page is a JavaScript shell and no browser is available
    RenderError             a rendered page failed; `kind` names how
    ├── RenderTimeout       the page exceeded its time budget (never finished loading, busy script)
    └── RenderAborted       the page was stopped: endless navigations, a refused download
"""

from __future__ import annotations

import re

from scrapy.exceptions import IgnoreRequest


class NeedsJavaScript(IgnoreRequest):
    """A plainly fetched page needs JavaScript to show its content, and no browser is available."""


class RenderError(Exception):
    """A page could not be rendered; `kind` is the counted error kind."""

    kind = "failed"

    def __init__(self, message: str, kind: str | None = None) -> None:
        super().__init__(message)
        if kind:
            self.kind = kind


class RenderTimeout(RenderError):
    kind = "timeout"


class RenderAborted(RenderError):
    kind = "aborted"


_PLAYWRIGHT_KINDS = (
    (re.compile(r"Timeout \d+(?:\.\d+)?ms exceeded|TimeoutError", re.I), "timeout"),
    (re.compile(r"Target crashed|Page crashed|crash", re.I), "crashed"),
    (re.compile(r"Target page, context or browser has been closed|Browser has been closed|browser.*disconnected", re.I),
     "browser_closed"),
    (re.compile(r"Download is starting|download", re.I), "download"),
    (re.compile(r"ERR_TOO_MANY_REDIRECTS", re.I), "redirect_loop"),
    (re.compile(r"ERR_SOCKS_CONNECTION_FAILED|ERR_BLOCKED_BY_CLIENT|ERR_FAILED|ERR_ABORTED", re.I), "refused"),
    (re.compile(r"net::ERR_NAME_NOT_RESOLVED", re.I), "dns"),
    (re.compile(r"net::ERR_CONNECTION_REFUSED", re.I), "connect"),
    (re.compile(r"net::ERR_", re.I), "network"),
)


def render_error_kind(error: BaseException) -> str:
    """The counted kind of an error raised on the browser path (Playwright's, scrapy-playwright's or ours)."""
    if isinstance(error, RenderError):
        return error.kind
    message = f"{type(error).__name__}: {error}"
    for pattern, kind in _PLAYWRIGHT_KINDS:
        if pattern.search(message):
            return kind
    return "failed"
