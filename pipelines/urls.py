"""URL identity: the canonical form that makes an item the same across re-crawls, and its domain."""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

import tldextract
from w3lib.url import canonicalize_url

# Offline: the bundled public-suffix list, never a download attempt (a hung fetch would stall a crawl).
_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


@lru_cache(maxsize=65536)  # a site's menus and sidebars repeat the same links on every page
def canonical_url(url: str) -> str:
    """Canonical form (sorted query, no fragment, normalized escapes) used as the item's identity."""
    try:
        return canonicalize_url(url, keep_fragments=False)
    except ValueError:
        return url


def domain_of(url: str) -> str:
    """The registered domain ("networking unit"): example.com.cn for a.b.example.com.cn; the host for IPs."""
    return _domain_of_host((urlsplit(url).hostname or "").lower())


@lru_cache(maxsize=65536)  # per host, not per URL: every page of a site shares the entry
def _domain_of_host(host: str) -> str:
    if not host:
        return ""
    extracted = _EXTRACT(host)
    return extracted.top_domain_under_public_suffix or host


_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*:")
_WHOLE = re.compile(r"(?:[a-zA-Z][a-zA-Z0-9+.-]*:)?//[^/?#]")  # an absolute or network-path URL with a host


@lru_cache(maxsize=65536)
def _join(base: str, href: str) -> str:
    return urljoin(base, href)


def join_url(base: str, href: str) -> str:
    """`urljoin(base, href)`, remembered: a site's menus and sidebars repeat one set of links on every
    page, and urljoin costs more than the rest of reading a link. The cache key is the part of `base`
    the result depends on (its origin for "/path" and absolute hrefs, its folder for relative paths),
    so the pages of a site share their entries; anything else is joined afresh."""
    parts = urlsplit(base)
    if _WHOLE.match(href) or (href[:1] == "/" and href[1:2] != "/"):
        return _join(f"{parts.scheme}://{parts.netloc}/", href)
    if href and href[0] not in "/?#;" and not _SCHEME.match(href):
        folder = parts.path[: parts.path.rfind("/") + 1] or "/"
        return _join(f"{parts.scheme}://{parts.netloc}{folder}", href)
    return urljoin(base, href)
