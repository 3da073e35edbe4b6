"""Read one search result page: is it a real result page, and what results (organic, promoted) does it list?

Shared by the search spider and `netpatrol engines check`, so what a user checks on a saved
page is exactly what a run extracts. A page is counted in the search figures only when it is
a real result page: results were extracted, the engine said "no results" in its own words, or
it is a later page past the end of the results. A wall, an empty page or a page cut short is
`lost`: coverage lost, never "0 results".
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

from parsel import Selector

from crawler.config.schema import SearchTarget
from pipelines.engine.html_text import visible_text

#: Page states that count in the search figures; every other state is a lost query page.
REAL_STATES = ("results", "no_results", "end")
LOST_STATES = ("blocked", "empty", "truncated", "error")

_MULTIPLIERS = {"万": 10_000, "萬": 10_000, "亿": 100_000_000, "億": 100_000_000, "k": 1_000, "m": 1_000_000}
_NUMBER = re.compile(r"(\d[\d,，.\s]*)\s*(万|萬|亿|億|[kKmM](?![a-zA-Z]))?")
_CAPTCHA = re.compile(
    r"captcha|verify (?:that )?you are (?:a )?human|unusual traffic|are you a robot|请输入验证码|安全验证|人机验证|访问过于频繁",
    re.IGNORECASE,
)


def parse_total(text: str | None) -> int | None:
    """Parse an engine's result count: '约 1,230 条结果' -> 1230, '约1.2万个' -> 12000, 'About 4,560,000 results' -> 4560000."""
    if not text:
        return None
    for number, unit in _NUMBER.findall(text):
        digits = re.sub(r"[,，\s]", "", number).rstrip(".")
        if not digits:
            continue
        try:
            value = float(digits)
        except ValueError:
            continue
        multiplier = _MULTIPLIERS.get(unit.lower() if unit else "", 1)
        return int(round(value * multiplier))
    return None


def node_text(node: Any, css: str | None) -> str:
    if not css:
        return ""
    return " ".join(t.strip() for t in node.css(css).getall() if t.strip())


@dataclass
class SerpResult:
    """One result as listed: its link (absolute; the engine's wrapper when wrapped), text and labels."""

    href: str
    title: str
    snippet: str
    ad: bool = False
    risk: str | None = None
    wrapped: bool = False
    decoded: str | None = None  # the landing URL read from the wrapped link itself (Bing's u=)


@dataclass
class SerpPage:
    state: str  # one of REAL_STATES or LOST_STATES
    total: int | None = None
    results: list[SerpResult] = field(default_factory=list)
    skipped: int = 0  # result blocks without a link

    @property
    def lost(self) -> bool:
        return self.state not in REAL_STATES

    @property
    def organic(self) -> list[SerpResult]:
        return [r for r in self.results if not r.ad]

    @property
    def promoted(self) -> list[SerpResult]:
        return [r for r in self.results if r.ad]


def _has_label(node: Any, labels: Any) -> str | None:
    """The label (ad mark or risk warning) this result carries, if any."""
    if labels.classes:
        own = set((node.attrib.get("class") or "").split())
        for cls in labels.classes:
            if cls in own:
                return cls
    if not labels.labels:
        return None
    scope = node.css(labels.selector) if labels.selector else [node]
    for part in scope:
        for text in part.xpath(".//text()").getall():
            text = " ".join(text.split())
            if not text:
                continue
            for label in labels.labels:
                if (labels.match == "exact" and text == label) or (labels.match == "contains" and label in text):
                    return label
    return None


def decode_bing(url: str) -> str | None:
    """Bing's ck/a links carry the landing URL as u=a1<base64url>."""
    values = parse_qs(urlsplit(url).query).get("u")
    if not values or len(values[0]) <= 2:
        return None
    encoded = values[0][2:]
    try:
        landing = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    return landing if re.match(r"^https?://", landing) else None


def is_wrapped(target: SearchTarget, url: str) -> bool:
    return any(re.search(pattern, url) for pattern in target.wrapped)


def extract_total(target: SearchTarget, page: Selector) -> int | None:
    """The engine's own count, read in its number format (`total_pattern`'s first group)."""
    text = node_text(page, target.selectors.total) if target.selectors.total else ""
    if not text or not target.total_pattern:
        return parse_total(text)
    found = re.search(target.total_pattern, text)
    if found is None:
        return None
    return parse_total(found.group(1) if found.groups() else found.group(0))


def analyse(target: SearchTarget, url: str, html: str, page_number: int) -> SerpPage:
    """Classify a fetched result page and extract its results (ads and risk labels marked)."""
    if any(re.search(pattern, url) for pattern in target.blocked_urls):
        return SerpPage("blocked")
    selectors = target.selectors
    page = Selector(text=html)
    results: list[SerpResult] = []
    skipped = 0
    for node in page.css(selectors.result):
        href = (node.css(selectors.url).get() or "").strip()
        if not href:
            skipped += 1
            continue
        absolute = urljoin(url, href)
        wrapped = is_wrapped(target, absolute)
        results.append(SerpResult(
            href=absolute,
            title=node_text(node, selectors.title),
            snippet=node_text(node, selectors.snippet),
            ad=_has_label(node, target.ads) is not None,
            risk=_has_label(node, target.risk),
            wrapped=wrapped,
            decoded=decode_bing(absolute) if wrapped and target.decode == "bing_u" else None,
        ))
    total = extract_total(target, page)
    text = None
    if not results:
        title, body = visible_text(html)
        text = f"{title}\n{body}"
        if any(re.search(pattern, text) for pattern in target.blocked) or (len(html) < 20000 and _CAPTCHA.search(text)):
            return SerpPage("blocked", total)
    if target.complete and not re.search(target.complete, html, re.IGNORECASE):
        return SerpPage("truncated", total, results, skipped)
    if results:
        return SerpPage("results", total, results, skipped)
    assert text is not None
    if total == 0 or any(re.search(pattern, text) for pattern in target.no_results):
        return SerpPage("no_results", total, [], skipped)
    if page_number > 1 and total is not None and (target.page_size is None or total <= (page_number - 1) * target.page_size):
        return SerpPage("end", total, [], skipped)
    return SerpPage("empty", total, [], skipped)
