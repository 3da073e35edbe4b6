"""The demo marketplace: catalog state, lifecycle, and the route table that answers each path."""

from __future__ import annotations

import random
import threading
from pathlib import Path
from types import TracebackType
from typing import Any, Callable
from urllib.parse import parse_qs, quote, urlsplit

from markupsafe import Markup

from crawler.demo.site import hostile, js_pages
from crawler.demo.site.catalog import DEFAULT_CATALOG, Listing, load_catalog
from crawler.demo.site.content import GEN_BENIGN, GEN_ILLEGAL, ROBOTS, SECRET_TEXT, generated_page_is_illegal
from crawler.demo.site.http import TEXT_UTF8, DemoServer, Reply, loopback_host
from crawler.demo.site.limits import (CATEGORY_PAGE_SIZE, MAX_GENERATED_ID, SEARCH_PAGE_SIZE, SNIPPET_CHARS,
                                     SOFT404_ENGLISH, SOFT404_TITLE, STATES, VISIBLE_STATES)
from crawler.demo.site.pages import render


Query = dict[str, list[str]]
Handler = Callable[[str, Query, str], Reply]  # (path, query, raw query string) -> reply


class DemoSite:
    """The demo marketplace. `start()` serves it on loopback; state changes apply immediately."""

    def __init__(self, catalog_path: Path | None = None) -> None:
        self.catalog_path = Path(catalog_path) if catalog_path is not None else DEFAULT_CATALOG
        self.catalog = load_catalog(self.catalog_path)
        self.name = self.catalog.name
        self.sections = self.catalog.sections
        self._section_labels = {s.id: s.label for s in self.sections}
        self._by_id = {listing.id: listing for listing in self.catalog.listings}
        self._lock = threading.Lock()
        self._states: dict[str, str] = {listing_id: "online" for listing_id in self._by_id}
        self.request_log: list[str] = []
        self._log_lock = threading.Lock()
        self._server: DemoServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._base_url = ""
        self._exact: dict[str, Handler] = {
            "/": lambda p, q, raw: self._home(),
            "/robots.txt": lambda p, q, raw: Reply(200, ROBOTS.encode(), TEXT_UTF8),
            "/search": lambda p, q, raw: self._search(q),
            "/private/secret": lambda p, q, raw: self._secret(),
            "/list/latest": lambda p, q, raw: self._latest(),
        }
        self._prefixes: list[tuple[str, Handler]] = [
            ("/c/", self._category_route),
            ("/item/", lambda p, q, raw: self._item_route(p[len("/item/"):])),
            ("/gen/", lambda p, q, raw: self.generated(p[len("/gen/"):])),
            ("/bad/", self._bad_route),
            ("/js", self._js_route),
            ("/mixed", self._js_route),
        ]
        self._bad = hostile.routes(self)

    # ----------------------------------------------------------------- lifecycle

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (a loopback address; port 0 picks a free port); return the base URL.

        Calling it again while serving returns the same URL when host and port agree
        (port 0 agrees with any), and otherwise moves the site to the new address.
        """
        host = loopback_host(host)
        if self._server is not None:
            current_host, current_port = self._server.server_address[:2]
            if host == current_host and port in (0, current_port):
                return self._base_url
            self.stop()
        self._stopping.clear()
        server = DemoServer((host, port), self)
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name=f"demo-site-{host}", daemon=True
        )
        thread.start()
        self._server, self._thread = server, thread
        self._base_url = f"http://{host}:{server.server_address[1]}"
        return self._base_url

    def stop(self) -> None:
        """Stop serving: close the listening socket and every open connection. Idempotent."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server = self._thread = None
        self._stopping.set()  # wakes /bad/slow sleepers
        server.shutdown()
        server.server_close()
        server.close_connections()
        if thread is not None:
            thread.join(timeout=5)

    def wait_unless_stopping(self, seconds: float) -> None:
        """Sleep for a slow page, waking at once when the site stops."""
        self._stopping.wait(seconds)

    @property
    def base_url(self) -> str:
        """http://HOST:PORT of the running site (no trailing slash)."""
        if not self._base_url:
            raise RuntimeError("DemoSite is not started: call start() first")
        return self._base_url

    @property
    def running(self) -> bool:
        return self._server is not None

    def __enter__(self) -> "DemoSite":
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ----------------------------------------------------------------- state

    def set_state(self, listing_id: str, state: str) -> None:
        if state not in STATES:
            raise ValueError(f"unknown state {state!r}; expected one of {', '.join(STATES)}")
        with self._lock:
            if listing_id not in self._states:
                raise KeyError(f"no listing {listing_id!r}")
            self._states[listing_id] = state

    def state(self, listing_id: str) -> str:
        with self._lock:
            return self._states[listing_id]

    def reset(self) -> None:
        """Every listing back online."""
        with self._lock:
            for listing_id in self._states:
                self._states[listing_id] = "online"

    def listings(self, category: str | None = None, illegal: bool | None = None) -> list[dict[str, Any]]:
        """Catalog listings (every state), in catalog order, as dicts:
        id, category, illegal, title, text, price, contact, state, path ("/item/<id>")."""
        with self._lock:
            states = dict(self._states)
        return [
            listing.as_dict(states[listing.id])
            for listing in self.catalog.listings
            if (category is None or listing.category == category) and (illegal is None or listing.illegal == illegal)
        ]

    def listing(self, listing_id: str) -> Listing | None:
        return self._by_id.get(listing_id)

    def section_label(self, section_id: str) -> str | None:
        return self._section_labels.get(section_id)

    def item_url(self, listing_id: str) -> str:
        return f"{self.base_url}/item/{listing_id}"

    def clear_log(self) -> None:
        with self._log_lock:
            self.request_log.clear()

    def record(self, path: str) -> None:
        with self._log_lock:
            self.request_log.append(path)

    def visible(self, category: str | None = None) -> list[tuple[Listing, str]]:
        """(listing, state) of the listings category pages and search show, in catalog order."""
        with self._lock:
            states = dict(self._states)
        return [
            (listing, states[listing.id])
            for listing in self.catalog.listings
            if states[listing.id] in VISIBLE_STATES and (category is None or listing.category == category)
        ]

    def current_text(self, listing: Listing, state: str) -> str:
        if state == "edited":
            return listing.edited_text or self.catalog.edited_text
        return listing.text

    # ----------------------------------------------------------------- routing

    def route(self, raw_path: str) -> Reply:
        """The reply to one request path (exact routes first, then the longest matching prefix)."""
        parts = urlsplit(raw_path)
        path = parts.path or "/"
        query = parse_qs(parts.query, keep_blank_values=True)
        handler = self._exact.get(path)
        if handler is not None:
            return handler(path, query, parts.query)
        for prefix, handler in self._prefixes:
            if path.startswith(prefix):
                return handler(path, query, parts.query)
        return self.not_found()

    def _category_route(self, path: str, query: Query, raw_query: str) -> Reply:
        rest = path[len("/c/"):]
        if rest and "/" not in rest and rest in self._section_labels:
            return self.redirect(f"/c/{rest}/" + (f"?{raw_query}" if raw_query else ""), 301)
        if rest.endswith("/") and rest[:-1] in self._section_labels:
            return self._category(rest[:-1], query)
        return self.not_found()

    def _item_route(self, listing_id: str) -> Reply:
        listing = self._by_id.get(listing_id)
        return self._item(listing) if listing is not None else self.not_found()

    def _bad_route(self, path: str, query: Query, raw_query: str) -> Reply:
        handler = self._bad.get(path[len("/bad/"):])
        return handler(query) if handler is not None else self.not_found()

    def _js_route(self, path: str, query: Query, raw_query: str) -> Reply:
        if not (path.startswith(("/js/", "/mixed/")) or path in ("/js", "/mixed")):
            return self.not_found()
        return js_pages.route(self, path, query) or self.not_found()

    @staticmethod
    def redirect(location: str, status: int = 302) -> Reply:
        body = render("redirect.html", location=location)
        return Reply(status, body, headers=[("Location", location)])

    def not_found(self) -> Reply:
        body = '<h1>404 页面不存在</h1>\n<p>您访问的页面不存在。Page not found.</p>\n<p><a href="/">返回首页</a></p>'
        return Reply(404, self.page("页面不存在", body))

    def server_error(self) -> Reply:
        return Reply(500, self.page("服务器错误", "<h1>500 服务器内部错误</h1>"))

    # ----------------------------------------------------------------- pages

    def page(self, title: str, body: str | Markup, query: str = "") -> bytes:
        """The site's shell around `body`, an HTML fragment the site itself wrote (never request data)."""
        return render("base.html", title=title, body=Markup(body), query=query, **self._shell())

    def _shell(self) -> dict[str, Any]:
        return {"site_name": self.name, "sections": self.sections}

    def _home(self) -> Reply:
        counts = {s.id: 0 for s in self.sections}
        for listing, _state in self.visible():
            counts[listing.category] += 1
        return Reply(200, render("home.html", title=f"{self.name} - 首页", query="", counts=counts, **self._shell()))

    def _latest(self) -> Reply:
        """A list page: every visible listing as one link whose text is its title and the start of its text."""
        rows = list(reversed(self.visible()))
        return Reply(200, render("latest.html", title=f"最新发布 - {self.name}", query="", rows=rows, **self._shell()))

    def _secret(self) -> Reply:
        body = render("secret.html", text=SECRET_TEXT).decode()
        return Reply(200, self.page("内部资料", Markup(body)))

    def _category(self, section_id: str, query: Query) -> Reply:
        page = self._page_number(query)
        visible = self.visible(section_id)
        pages = max(1, -(-len(visible) // CATEGORY_PAGE_SIZE))
        if page is None or page > pages:
            return self.not_found()
        label = self._section_labels[section_id]
        previous = None
        if page > 1:
            previous = f"/c/{section_id}/" if page == 2 else f"/c/{section_id}/?page={page - 1}"
        following = f"/c/{section_id}/?page={page + 1}" if page < pages else None
        title = f"{label} - {self.name}" + (f" - 第{page}页" if page > 1 else "")
        return Reply(200, render(
            "category.html", title=title, query="", label=label, page=page, pages=pages, previous=previous,
            next=following, rows=visible[(page - 1) * CATEGORY_PAGE_SIZE: page * CATEGORY_PAGE_SIZE], **self._shell(),
        ))

    @staticmethod
    def _page_number(query: Query) -> int | None:
        raw = (query.get("page") or ["1"])[0].strip() or "1"
        if not raw.isdigit():
            return None
        page = int(raw)
        return page if page >= 1 else None

    def _item(self, listing: Listing) -> Reply:
        state = self.state(listing.id)
        label = self._section_labels[listing.category]
        if state == "removed":
            return self.not_found()
        if state == "gone":
            body = "<h1>410 该页面已永久移除</h1>\n<p>The requested listing is gone.</p>\n<p><a href=\"/\">返回首页</a></p>"
            return Reply(410, self.page("页面已移除", body))
        if state == "soft404":
            return Reply(200, render("soft404.html", title=SOFT404_TITLE, query="", listing=listing, label=label,
                                     soft_title=SOFT404_TITLE, soft_english=SOFT404_ENGLISH, **self._shell()))
        text = self.current_text(listing, state)
        paragraphs = [line for line in text.splitlines() if line.strip()]
        return Reply(200, render("item.html", title=listing.title, query="", listing=listing, label=label, state=state,
                                 paragraphs=paragraphs, **self._shell()))

    def search_results(self, q: str) -> list[tuple[Listing, str]]:
        """(listing, current text) of every visible listing whose title or text contains `q`."""
        if not q:
            return []
        found = []
        for listing, state in self.visible():
            text = self.current_text(listing, state)
            if q in listing.title or q in text:
                found.append((listing, text))
        return found

    def _search(self, query: Query) -> Reply:
        q = (query.get("q") or [""])[0]
        page = self._page_number(query)
        if page is None:
            return Reply(400, self.page("参数错误", "<h1>400 参数错误</h1>", q))
        results = self.search_results(q)
        shown = results[(page - 1) * SEARCH_PAGE_SIZE: page * SEARCH_PAGE_SIZE]
        rows = [(listing, " ".join(text.split())[:SNIPPET_CHARS]) for listing, text in shown]
        following = f"/search?q={quote(q)}&page={page + 1}" if page * SEARCH_PAGE_SIZE < len(results) else None
        title = f"{q} - 搜索结果 - {self.name}" if q else f"搜索 - {self.name}"
        return Reply(200, render("search.html", title=title, query=q, total=len(results), rows=rows, next=following,
                                 **self._shell()))

    def generated(self, raw: str) -> Reply:
        """/gen/<i>: about 2 KB of benchmark text; every 10th page illegal."""
        if not raw.isdigit() or int(raw) >= MAX_GENERATED_ID or (len(raw) > 1 and raw.startswith("0")):
            return self.not_found()
        index = int(raw)
        rng = random.Random(index)
        paragraphs: list[str] = []
        if generated_page_is_illegal(index):
            paragraphs.append(GEN_ILLEGAL[(index // 10) % len(GEN_ILLEGAL)])
        size = 0
        while size < 1700:  # about 2 KB of page once wrapped in the markup
            sentence = rng.choice(GEN_BENIGN)
            paragraphs.insert(rng.randrange(len(paragraphs) + 1), sentence)
            size += len(sentence.encode())
        return Reply(200, render("generated.html", title=f"生成页面 #{index}", paragraphs=paragraphs))
