"""What spiders yield: fetched pages, search results and per-page search figures."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class PageItem:
    """A fetched HTML page; the pipelines extract its text, match, dedupe and store it."""

    url: str
    target: str
    fetched_at: str
    html: str
    status: int = 200
    title: str = ""
    text: str = ""
    kind: str = "page"
    query: str | None = None
    rank: int | None = None
    match: Any = None  # pipelines.engine.matcher.MatchResult, set by MatchingPipeline
    duplicate: bool = False
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class ResultItem:
    """One search result: its title and snippet are matched; its URL is the item."""

    url: str
    target: str
    fetched_at: str
    query: str
    rank: int
    title: str = ""
    text: str = ""  # the snippet
    kind: str = "result"
    ad: bool = False  # a promoted result (the engine's ad label)
    risk: str | None = None  # the engine's own risk warning on the result
    wrapped_url: str | None = None  # the engine's redirect link; `url` is its landing URL when it was resolved
    match: Any = None
    duplicate: bool = False
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class SearchPageItem:
    """Figures of one search result page: the engine's parsed total and the results found on it."""

    target: str
    query: str
    page: int
    total: int | None
    results: int  # organic results on the page
    state: str = "results"  # results | no_results | end (real pages); blocked | empty | truncated | error (lost)
    ads: int = 0  # promoted results on the page

    @property
    def lost(self) -> bool:
        return self.state not in ("results", "no_results", "end")
