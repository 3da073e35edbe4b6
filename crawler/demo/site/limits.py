"""The demo site's fixed sizes and listing states, shared by its pages, its JavaScript pages and the tests."""

from __future__ import annotations

#: Listing states. online: the listing page; removed: 404; gone: 410; soft404: HTTP 200 page
#: saying the listing was deleted (no title, no text); edited: HTTP 200, same title, harmless text.
STATES: tuple[str, ...] = ("online", "removed", "gone", "soft404", "edited")
#: States whose listings still appear on category pages and in search results.
VISIBLE_STATES = frozenset({"online", "edited"})

CATEGORY_PAGE_SIZE = 3
SEARCH_PAGE_SIZE = 5
SNIPPET_CHARS = 60
MAX_GENERATED_ID = 10**9

SOFT404_TITLE = "该商品已删除"
SOFT404_ENGLISH = "This listing has been removed"
