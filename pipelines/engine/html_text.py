"""A page's title and visible text from its HTML: the engine's input when it reads pages, not records.

Broken markup is normal input: lxml (through parsel) repairs it, and text inside
scripts, styles and templates is never visible, so it is never matched.
"""

from __future__ import annotations

import re

from parsel import Selector

_VISIBLE_TEXT = (
    "//body//text()[not(ancestor::script) and not(ancestor::style) and not(ancestor::noscript)"
    " and not(ancestor::template) and not(ancestor::svg)]"
)
_WS = re.compile(r"[ \t\r\f\v\u00a0\u3000]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


def visible_text(html: str) -> tuple[str, str]:
    """Return (title, visible text) of an HTML document; never raises on malformed input."""
    if not html.strip():
        return "", ""
    try:
        selector = Selector(text=html)
        title = " ".join(selector.xpath("//title//text()").getall()).strip()
        if not title:
            title = " ".join(selector.xpath("//h1//text()").getall()).strip()
        parts = selector.xpath(_VISIBLE_TEXT).getall()
        if not parts:  # fragments without <body>
            parts = selector.xpath("//text()[not(ancestor::script) and not(ancestor::style)]").getall()
    except ValueError:
        return "", ""
    text = "\n".join(p.strip() for p in parts if p.strip())
    return _WS.sub(" ", title)[:1000], _BLANK_LINES.sub("\n", _WS.sub(" ", text))
