"""URL identity: the canonical form that makes an item the same across re-crawls, and its domain."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

import tldextract
from w3lib.url import canonicalize_url

# Offline: the bundled public-suffix list, never a download attempt (a hung fetch would stall a crawl).
_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def canonical_url(url: str) -> str:
    """Canonical form (sorted query, no fragment, normalized escapes) used as the item's identity."""
    try:
        return canonicalize_url(url, keep_fragments=False)
    except ValueError:
        return url


@lru_cache(maxsize=65536)
def domain_of(url: str) -> str:
    """The registered domain ("networking unit"): example.com.cn for a.b.example.com.cn; the host for IPs."""
    host = (urlsplit(url).hostname or "").lower()
    if not host:
        return ""
    extracted = _EXTRACT(host)
    return extracted.top_domain_under_public_suffix or host
