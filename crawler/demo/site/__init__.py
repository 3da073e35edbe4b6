"""The bundled demo site: a small Chinese/English marketplace served on loopback.

`netpatrol demo` and the test suite crawl it. Tests change listings' states between
crawl rounds (`set_state`) to simulate takedowns, and read `request_log` to see what
a crawler fetched. A ThreadingHTTPServer in a daemon thread, bound to a loopback address and never
contacting any other address.

URL map (all pages UTF-8 HTML unless stated):

    /                        home: section links /c/<section>/, search form, /private/secret
    /c/<section>/?page=N     3 listings per page, "下一页" link to the next page
    /item/<id>               one listing; its state decides the answer (see STATES)
    /search?q=Q&page=N       5 results per page, <div id="total">约 N 条结果</div>, li.result
    /robots.txt              Disallow: /private/
    /private/secret          illegal text a robots-obeying crawler must not fetch
    /bad/...                 hostile input (encodings, errors, loops, huge/binary/slow pages)
    /gen/<i>                 generated ~2 KB pages for benchmarks (i % 10 == 0: illegal text)
    /js/..., /mixed/...      pages only a browser can read (js_pages.py)

Run `python -m crawler.demo.site --port 8000` to serve it in the foreground.

The package, one job a module:

    catalog.py   the catalog YAML, validated by pydantic
    app.py       DemoSite: listing states, lifecycle, the route table, the pages' data
    pages.py     Jinja2 rendering (templates/, autoescaped)
    hostile.py   /bad/* handlers;  js_pages.py  /js/* and /mixed/* pages
    content.py   fixed content (legacy encodings, broken markup, generated text)
    http.py      the loopback-only server and its reply type;  limits.py  sizes and states
"""

from __future__ import annotations

from crawler.demo.site.app import DemoSite
from crawler.demo.site.catalog import DEFAULT_CATALOG, Catalog, Listing, Section, load_catalog
from crawler.demo.site.content import generated_page_is_illegal
from crawler.demo.site.http import HTML_UTF8, TEXT_UTF8
from crawler.demo.site.limits import (CATEGORY_PAGE_SIZE, SEARCH_PAGE_SIZE, SNIPPET_CHARS, SOFT404_ENGLISH, SOFT404_TITLE,
                                     STATES, VISIBLE_STATES)

__all__ = [
    "CATEGORY_PAGE_SIZE", "DEFAULT_CATALOG", "HTML_UTF8", "SEARCH_PAGE_SIZE", "SNIPPET_CHARS", "SOFT404_ENGLISH",
    "SOFT404_TITLE", "STATES", "TEXT_UTF8", "VISIBLE_STATES", "Catalog", "DemoSite", "Listing", "Section",
    "generated_page_is_illegal", "load_catalog",
]
