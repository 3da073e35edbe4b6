"""Records the decline analytics keep beside runs and hits: examined documents, item checks, analyst verdicts.

    Document     every page and search result a run examined, matched or not, with its text
                 compressed (so a later rule set can re-count an old window: `report --rematch`)
    TrackedItem  one item (canonical URL) with its current status (online/changed/unreachable/removed)
    ItemCheck    one verification of an item by `netpatrol verify`: the status history, with times
    Verdict      an analyst's confirm/dismiss of an item (`netpatrol triage`)

Both store backends keep these; the arithmetic on them lives in `crawler.report`.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

#: What `netpatrol verify` may conclude about an item.
ITEM_STATUSES = ("online", "changed", "unreachable", "removed")
#: Items `netpatrol verify` checks again: everything not known to be gone.
CHECKABLE_STATUSES = ("online", "changed", "unreachable")
VERDICTS = ("confirmed", "dismissed")

_SEPARATOR = "\x00"


def pack_text(title: str, text: str, level: int = 6) -> bytes:
    """Compress a document's title and text into one zlib blob (the same bytes in every backend)."""
    return zlib.compress(f"{title}{_SEPARATOR}{text}".encode("utf-8"), level)


def unpack_text(blob: bytes) -> tuple[str, str]:
    """(title, text) of a blob written by `pack_text`."""
    title, _, text = zlib.decompress(blob).decode("utf-8").partition(_SEPARATOR)
    return title, text


@dataclass
class Document:
    """A page or search result examined in a run; `text_z` is None when text is not kept or was pruned."""

    run_id: str
    target: str
    kind: str  # "page" | "result"
    url: str
    canonical_url: str
    domain: str
    fetched_at: str
    matched: bool
    categories: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    query: str | None = None
    rank: int | None = None
    text_z: bytes | None = None
    ad: bool = False  # a promoted result; `rank` then counts among the ads
    risk: str | None = None  # the engine's own risk warning on the result
    wrapped_url: str | None = None  # the engine's redirect link (== url when it could not be resolved)

    def key(self) -> tuple[str, ...]:
        """Identity within a store: a result is one (query, rank) slot (ads apart), a page one URL per run."""
        base: tuple[str, ...] = (self.run_id, self.canonical_url, self.query or "", str(self.rank or 0))
        return (*base, "ad") if self.ad else base


@dataclass
class TrackedItem:
    """An item as tracked across runs: where and when it was seen, what it matched, what it is now."""

    canonical_url: str
    url: str
    domain: str
    target: str
    categories: list[str]
    rules: list[str]
    title: str
    status: str
    first_seen: str
    last_seen: str


@dataclass
class ItemCheck:
    """One verification of an item: its status at `checked_at` and why."""

    canonical_url: str
    checked_at: str
    status: str  # one of ITEM_STATUSES
    reason: str  # e.g. "matches", "http_404", "soft404", "lost_text", "dns", "connect", "unreachable_twice"
    verify_id: str
    http_status: int | None = None
    url: str = ""


@dataclass
class Verdict:
    """An analyst's decision on an item; the latest one counts."""

    canonical_url: str
    verdict: str  # "confirmed" | "dismissed"
    decided_at: str
    note: str = ""
    url: str = ""
