"""The demo site's HTML, rendered from Jinja2 templates (templates/) with autoescaping.

Markup that tests and spiders read (result list items, pagers, totals) lives in the
templates, so a change to the site's look is a template change, not a code change.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

CSS = (
    "body{font-family:-apple-system,'PingFang SC','Microsoft YaHei',sans-serif;margin:0;color:#222}"
    ".site-header{background:#e4393c;color:#fff;padding:8px 16px}.site-header a{color:#fff}"
    ".logo{font-size:22px;font-weight:bold;text-decoration:none;margin-right:24px}"
    ".sections a{margin-right:12px}main{padding:16px;max-width:960px}"
    ".listings li,.results li{margin:8px 0}.price{color:#e4393c}.snippet{color:#555;margin:4px 0}"
    ".site-footer{border-top:1px solid #ddd;color:#888;font-size:12px;padding:12px 16px}"
)
ANALYTICS = Markup(
    "<script>window.dataLayer=window.dataLayer||[];"
    "window.dataLayer.push({event:'pageview',path:location.pathname});</script>"
)


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(
        loader=PackageLoader("crawler.demo.site", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(template: str, **values: Any) -> bytes:
    """A page as UTF-8 bytes; values are escaped unless wrapped in `Markup`."""
    return environment().get_template(template).render(css=Markup(CSS), analytics=ANALYTICS, **values).encode()


def trusted(fragment: str) -> Markup:
    """Mark a fragment built by the site itself (never from a request) as safe HTML."""
    return Markup(fragment)
