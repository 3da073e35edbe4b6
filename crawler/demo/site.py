"""The bundled demo site: a small Chinese/English marketplace served on loopback.

`netpatrol demo` and the test suite crawl it. Tests change listings' states between
crawl rounds (`set_state`) to simulate takedowns, and read `request_log` to see what
a crawler fetched. Standard library only: a ThreadingHTTPServer in a daemon thread,
bound to a loopback address and never contacting any other address.

URL map (all pages UTF-8 HTML unless stated):

    /                        home: section links /c/<section>/, search form, /private/secret
    /c/<section>/?page=N     3 listings per page, "下一页" link to the next page
    /item/<id>               one listing; its state decides the answer (see STATES)
    /search?q=Q&page=N       5 results per page, <div id="total">约 N 条结果</div>, li.result
    /robots.txt              Disallow: /private/
    /private/secret          illegal text a robots-obeying crawler must not fetch
    /bad/...                 hostile input (encodings, errors, loops, huge/binary/slow pages)
    /gen/<i>                 generated ~2 KB pages for benchmarks (i % 10 == 0: illegal text)
    /js/..., /mixed/...      pages only a browser can read (crawler/demo/js_pages.py)

Run `python -m crawler.demo.site --port 8000` to serve it in the foreground.
"""

from __future__ import annotations

import argparse
import html
import ipaddress
import random
import re
import socket
import socketserver
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Callable, Iterable, Iterator
from urllib.parse import parse_qs, quote, urlsplit

import yaml

DEFAULT_CATALOG = Path(__file__).with_name("catalog.yaml")

#: Listing states. online: the listing page; removed: 404; gone: 410; soft404: HTTP 200 page
#: saying the listing was deleted (no title, no text); edited: HTTP 200, same title, harmless text.
STATES: tuple[str, ...] = ("online", "removed", "gone", "soft404", "edited")
#: States whose listings still appear on category pages and in search results.
VISIBLE_STATES = frozenset({"online", "edited"})

CATEGORY_PAGE_SIZE = 3
SEARCH_PAGE_SIZE = 5
SNIPPET_CHARS = 60
MAX_SLOW_SECONDS = 30.0
DEFAULT_HUGE_MB = 12.0
MAX_HUGE_MB = 256.0
BINARY_BYTES = 50 * 1024
DEFAULT_GENERATED = 100
MAX_GENERATED = 100_000
MAX_GENERATED_ID = 10**9

HTML_UTF8 = "text/html; charset=utf-8"
TEXT_UTF8 = "text/plain; charset=utf-8"

SOFT404_TITLE = "该商品已删除"
SOFT404_ENGLISH = "This listing has been removed"

_DEFAULT_SECTIONS = (
    ("gambling", "休闲娱乐"),
    ("fraud", "商务服务"),
    ("drugs", "医药保健"),
    ("dangerous_goods", "户外用品"),
    ("unlock_tools", "锁具五金"),
    ("hacking", "网络技术"),
    ("pornography", "影音资源"),
    ("general", "综合市场"),
)
_DEFAULT_EDITED_TEXT = "卖家已修改本商品信息：现出售闲置二手书籍若干，九成新，仅限同城自提。"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


# --------------------------------------------------------------------------- catalog


@dataclass(frozen=True)
class Listing:
    id: str
    category: str
    illegal: bool
    title: str
    text: str
    price: str = ""
    contact: str = ""
    edited_text: str = ""

    def as_dict(self, state: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "category": self.category,
            "illegal": self.illegal,
            "title": self.title,
            "text": self.text,
            "price": self.price,
            "contact": self.contact,
            "state": state,
            "path": f"/item/{self.id}",
        }


@dataclass(frozen=True)
class Section:
    id: str
    label: str


@dataclass(frozen=True)
class Catalog:
    name: str
    edited_text: str
    sections: tuple[Section, ...]
    listings: tuple[Listing, ...]


def _text(value: Any, where: str, required: bool = True) -> str:
    if value is None:
        if required:
            raise ValueError(f"{where}: missing")
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"{where}: expected text, got {type(value).__name__}")
    text = str(value).strip()
    if required and not text:
        raise ValueError(f"{where}: empty")
    return text


def load_catalog(path: Path) -> Catalog:
    """Read and validate a catalog YAML file (see crawler/demo/catalog.yaml for the format)."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if isinstance(data, list):
        data = {"listings": data}
    if not isinstance(data, dict) or not isinstance(data.get("listings"), list):
        raise ValueError(f"{path}: expected a mapping with a `listings` list")
    site = data.get("site") or {}
    if not isinstance(site, dict):
        raise ValueError(f"{path}: site: expected a mapping")
    name = _text(site.get("name", "易货集市"), f"{path}: site.name")
    edited_text = _text(site.get("edited_text", _DEFAULT_EDITED_TEXT), f"{path}: site.edited_text")

    raw_sections = data.get("sections")
    if raw_sections is None:
        sections = tuple(Section(i, label) for i, label in _DEFAULT_SECTIONS)
    else:
        if not isinstance(raw_sections, list) or not raw_sections:
            raise ValueError(f"{path}: sections: expected a non-empty list")
        built = []
        for index, raw in enumerate(raw_sections):
            if not isinstance(raw, dict):
                raise ValueError(f"{path}: sections[{index}]: expected a mapping")
            section_id = _text(raw.get("id"), f"{path}: sections[{index}].id")
            if not _ID.match(section_id):
                raise ValueError(f"{path}: sections[{index}].id: {section_id!r} is not URL-safe")
            built.append(Section(section_id, _text(raw.get("label", section_id), f"{path}: sections[{index}].label")))
        sections = tuple(built)
    section_ids = [s.id for s in sections]
    if len(set(section_ids)) != len(section_ids):
        raise ValueError(f"{path}: sections: duplicate id")

    listings: list[Listing] = []
    seen: set[str] = set()
    for index, raw in enumerate(data["listings"]):
        where = f"{path}: listings[{index}]"
        if not isinstance(raw, dict):
            raise ValueError(f"{where}: expected a mapping")
        unknown = set(raw) - {"id", "category", "illegal", "title", "text", "price", "contact", "edited_text"}
        if unknown:
            raise ValueError(f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))}")
        listing_id = _text(raw.get("id"), f"{where}.id")
        if not _ID.match(listing_id):
            raise ValueError(f"{where}.id: {listing_id!r} is not URL-safe")
        if listing_id in seen:
            raise ValueError(f"{where}.id: duplicate id {listing_id!r}")
        seen.add(listing_id)
        category = _text(raw.get("category"), f"{where}.category")
        if category not in section_ids:
            raise ValueError(f"{where}.category: {category!r} is not one of {', '.join(section_ids)}")
        illegal = raw.get("illegal")
        if not isinstance(illegal, bool):
            raise ValueError(f"{where}.illegal: expected true or false")
        listings.append(
            Listing(
                id=listing_id,
                category=category,
                illegal=illegal,
                title=_text(raw.get("title"), f"{where}.title"),
                text=_text(raw.get("text"), f"{where}.text"),
                price=_text(raw.get("price"), f"{where}.price", required=False),
                contact=_text(raw.get("contact"), f"{where}.contact", required=False),
                edited_text=_text(raw.get("edited_text"), f"{where}.edited_text", required=False),
            )
        )
    return Catalog(name, edited_text, sections, tuple(listings))


# --------------------------------------------------------------------------- fixed content

_ENCODED_GAMBLING = "网络赌博 真人百家乐 在线充值，首充送彩金，返水日结，加微信 bjl_888 咨询。"
_BIG5_GAMBLING = "網上賭場 真人百家樂 線上投注，首次儲值送彩金，加微信 bjl_888 諮詢。"


def _gbk_page() -> bytes:
    page = (
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="gbk">\n'
        "<title>娱乐平台 充值中心</title>\n</head>\n<body>\n<h1>娱乐平台 充值中心</h1>\n"
        f'<div class="content"><p>{_ENCODED_GAMBLING}</p><p>价格：首充 100 元起</p></div>\n'
        "</body>\n</html>\n"
    )
    return page.encode("gbk")


def _gb2312_page() -> bytes:
    # No <meta charset>: the charset is only in the Content-Type header.
    page = (
        "<!DOCTYPE html>\n<html>\n<head>\n<title>老玩家专区</title>\n</head>\n<body>\n<h1>老玩家专区</h1>\n"
        f'<div class="content"><p>{_ENCODED_GAMBLING}</p></div>\n</body>\n</html>\n'
    )
    return page.encode("gb2312")


def _big5_page() -> bytes:
    page = (
        '<!DOCTYPE html>\n<html lang="zh-TW">\n<head>\n<meta charset="big5">\n'
        "<title>澳門娛樂 線上平台</title>\n</head>\n<body>\n<h1>澳門娛樂 線上平台</h1>\n"
        f'<div class="content"><p>{_BIG5_GAMBLING}</p><p>價格：註冊送 88 元</p></div>\n'
        "</body>\n</html>\n"
    )
    return page.encode("big5")


# Unclosed tags, a stray </div>, invalid UTF-8 bytes; the listing text is still there.
_BROKEN_HTML = (
    b"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>"
    + "网络赌博 充值".encode()
    + b"</title>\n<body><div class=\"content\"><p>"
    + "网络赌博 真人百家乐 在线充值，返水 1.5%，<b>加 V信：bjl_888".encode()
    + b"\n<table><tr><td>\xff\xfe\xc3\x28 \x80\x81<td>"
    + "百家乐 充值 秒到账".encode()
    + b"</span></div></div>\n<p><i>\xe4\xb8 <ul><li>"
    + "首充送彩金".encode()
    + b"<li>\n"
)

_ROBOTS = "User-agent: *\nDisallow: /private/\n"

_SECRET_TEXT = "内部资料：网络赌博代理后台账号、赌博网站充值通道与代-开-发-票渠道清单，仅限内部人员查看，禁止外传。"

_GEN_BENIGN = (
    "二手书籍整理转让，品相良好，可同城面交。",
    "家用电器以旧换新，旧机上门回收，价格透明。",
    "周末亲子手工课，材料全部由机构提供。",
    "出租城东两室一厅，近地铁，拎包入住。",
    "宠物用品清仓，猫砂、猫粮、玩具一律八折。",
    "健身房年卡转让，剩余十个月，可到店办理过户。",
    "新鲜水果产地直发，坏果包赔，满百包邮。",
    "钢琴陪练一对一，线上线下均可预约。",
    "摄影工作室承接证件照、全家福和毕业照拍摄。",
    "Used office chairs for sale, pick-up only, cash or bank transfer.",
    "Weekend farmers market: local honey, bread and seasonal vegetables.",
    "Bicycle repair and tune-up service, same-day turnaround for small jobs.",
)
_GEN_ILLEGAL = (
    "网络赌博 真人百家乐 在线充值，首充送彩金，加 V信 bjl_888。",
    "代开发票：增值税专用发票可查验，点数低，量大从优。",
    "出售仿真枪、气枪、子弹，隐秘发货，全国包邮。",
    "冰毒、K粉出售，同城面交，外地隐秘包装。",
    "专业黑客接单：入侵网站、DDoS攻击、盗取账号。",
)


def generated_page_is_illegal(index: int) -> bool:
    """Whether /gen/<index> contains illegal text (every 10th page, starting at 0)."""
    return index % 10 == 0


_BINARY_CACHE: list[bytes] = []


def _binary_blob() -> bytes:
    if not _BINARY_CACHE:
        _BINARY_CACHE.append(random.Random(20240601).randbytes(BINARY_BYTES))
    return _BINARY_CACHE[0]


_CSS = (
    "body{font-family:-apple-system,'PingFang SC','Microsoft YaHei',sans-serif;margin:0;color:#222}"
    ".site-header{background:#e4393c;color:#fff;padding:8px 16px}.site-header a{color:#fff}"
    ".logo{font-size:22px;font-weight:bold;text-decoration:none;margin-right:24px}"
    ".sections a{margin-right:12px}main{padding:16px;max-width:960px}"
    ".listings li,.results li{margin:8px 0}.price{color:#e4393c}.snippet{color:#555;margin:4px 0}"
    ".site-footer{border-top:1px solid #ddd;color:#888;font-size:12px;padding:12px 16px}"
)
_ANALYTICS = (
    "<script>window.dataLayer=window.dataLayer||[];"
    "window.dataLayer.push({event:'pageview',path:location.pathname});</script>"
)


# --------------------------------------------------------------------------- HTTP plumbing


@dataclass
class _Reply:
    status: int
    body: bytes | Callable[[], Iterable[bytes]] = b""
    content_type: str | None = HTML_UTF8
    headers: list[tuple[str, str]] = field(default_factory=list)
    length: int = 0  # for streamed (callable) bodies


def _esc(value: str) -> str:
    return html.escape(value, quote=True)


def _loopback_host(host: str) -> str:
    if host == "localhost":
        host = "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"DemoSite binds a loopback IPv4 address (127.0.0.0/8) only, not {host!r}") from None
    if address.version != 4 or not address.is_loopback:
        raise ValueError(f"DemoSite binds a loopback IPv4 address (127.0.0.0/8) only, not {host!r}")
    return str(address)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], site: "DemoSite") -> None:
        self.site = site
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse DNS lookup; skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hanging up mid-response are normal here; stay quiet

    def track(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
            self._connections.clear()
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "DemoMarket/1.0"
    sys_version = ""
    timeout = 30  # idle keep-alive connections are closed after this many seconds
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # the site keeps `request_log` instead of writing to stderr

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def _serve(self, head: bool) -> None:
        site = self.server.site
        site._record(self.path)
        try:
            reply = site._route(self.path)
        except Exception:  # a bug in a page must not kill the connection handler
            reply = _Reply(500, site._page("服务器错误", "<h1>500 服务器内部错误</h1>").encode())
        try:
            self._send(reply, head)
        except OSError:  # client went away (timeouts, size limits, redirects) or the site stopped
            self.close_connection = True

    def _send(self, reply: _Reply, head: bool) -> None:
        chunks: Iterable[bytes]
        if callable(reply.body):
            length = reply.length
            chunks = () if head else reply.body()
        else:
            length = len(reply.body)
            chunks = (reply.body,)
        self.send_response(reply.status)
        if reply.content_type:
            self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(length))
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        if head:
            return
        for chunk in chunks:
            self.wfile.write(chunk)
        self.wfile.flush()


# --------------------------------------------------------------------------- the site


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
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._base_url = ""

    # ----------------------------------------------------------------- lifecycle

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (a loopback address; port 0 picks a free port); return the base URL.

        Calling it again while serving returns the same URL when host and port agree
        (port 0 agrees with any), and otherwise moves the site to the new address.
        """
        host = _loopback_host(host)
        if self._server is not None:
            current_host, current_port = self._server.server_address[:2]
            if host == current_host and port in (0, current_port):
                return self._base_url
            self.stop()
        self._stopping.clear()
        server = _Server((host, port), self)
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

    def item_url(self, listing_id: str) -> str:
        return f"{self.base_url}/item/{listing_id}"

    def clear_log(self) -> None:
        with self._log_lock:
            self.request_log.clear()

    def _record(self, path: str) -> None:
        with self._log_lock:
            self.request_log.append(path)

    def _visible(self, category: str | None = None) -> list[tuple[Listing, str]]:
        with self._lock:
            states = dict(self._states)
        return [
            (listing, states[listing.id])
            for listing in self.catalog.listings
            if states[listing.id] in VISIBLE_STATES and (category is None or listing.category == category)
        ]

    def _current_text(self, listing: Listing, state: str) -> str:
        if state == "edited":
            return listing.edited_text or self.catalog.edited_text
        return listing.text

    # ----------------------------------------------------------------- routing

    def _route(self, raw_path: str) -> _Reply:
        parts = urlsplit(raw_path)
        path = parts.path or "/"
        query = parse_qs(parts.query, keep_blank_values=True)
        if path == "/":
            return self._home()
        if path == "/robots.txt":
            return _Reply(200, _ROBOTS.encode(), TEXT_UTF8)
        if path == "/search":
            return self._search(query)
        if path.startswith("/c/"):
            rest = path[3:]
            if rest and "/" not in rest and rest in self._section_labels:
                location = f"/c/{rest}/" + (f"?{parts.query}" if parts.query else "")
                return self._redirect(location, 301)
            if rest.endswith("/") and rest[:-1] in self._section_labels:
                return self._category(rest[:-1], query)
            return self._not_found()
        if path.startswith("/item/"):
            listing = self._by_id.get(path[len("/item/") :])
            return self._item(listing) if listing is not None else self._not_found()
        if path == "/private/secret":
            body = f'<h1>内部资料</h1>\n<div class="content"><p>{_esc(_SECRET_TEXT)}</p></div>'
            return _Reply(200, self._page("内部资料", body).encode())
        if path.startswith("/gen/"):
            return self._generated(path[len("/gen/") :])
        if path.startswith("/bad/"):
            handler = self._bad_routes().get(path[len("/bad/") :])
            if handler is not None:
                return handler(query)
        if path.startswith(("/js/", "/mixed/")) or path in ("/js", "/mixed"):
            from crawler.demo import js_pages  # JavaScript-only pages (crawler/demo/js_pages.py)

            reply = js_pages.route(self, path, query)
            if reply is not None:
                return reply
        return self._not_found()

    @staticmethod
    def _redirect(location: str, status: int = 302) -> _Reply:
        body = f'<html><body>Redirecting to <a href="{_esc(location)}">{_esc(location)}</a></body></html>'
        return _Reply(status, body.encode(), HTML_UTF8, [("Location", location)])

    def _not_found(self) -> _Reply:
        body = '<h1>404 页面不存在</h1>\n<p>您访问的页面不存在。Page not found.</p>\n<p><a href="/">返回首页</a></p>'
        return _Reply(404, self._page("页面不存在", body).encode())

    # ----------------------------------------------------------------- markup

    def _page(self, title: str, body: str, query: str = "") -> str:
        nav = "".join(f'<a href="/c/{s.id}/">{_esc(s.label)}</a>' for s in self.sections)
        return (
            '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{_esc(title)}</title>\n<style>{_CSS}</style>\n{_ANALYTICS}\n</head>\n<body>\n"
            f'<header class="site-header">\n<a class="logo" href="/">{_esc(self.name)}</a>\n'
            '<form class="search-form" action="/search" method="get">'
            f'<input type="search" name="q" value="{_esc(query)}" placeholder="搜索商品和服务">'
            '<button type="submit">搜索</button></form>\n'
            f'<nav class="sections">{nav}</nav>\n</header>\n<main>\n{body}\n</main>\n'
            f'<footer class="site-footer"><p>{_esc(self.name)} · netpatrol 演示站点，所有内容均为虚构。</p>'
            "<p>Demo Market &copy; 2024</p></footer>\n"
            "</body>\n</html>\n"
        )

    def _home(self) -> _Reply:
        counts = {s.id: 0 for s in self.sections}
        for listing, _state in self._visible():
            counts[listing.category] += 1
        items = "\n".join(
            f'<li class="section"><a href="/c/{s.id}/">{_esc(s.label)}</a> <span class="count">({counts[s.id]})</span></li>'
            for s in self.sections
        )
        body = (
            f"<h1>欢迎来到{_esc(self.name)}</h1>\n<p>同城二手、服务与资讯信息发布平台。Welcome to the demo market.</p>\n"
            '<form class="search-box" action="/search" method="get">'
            '<input type="text" name="q" placeholder="输入关键词"><button type="submit">搜索</button></form>\n'
            f'<h2>全部分类</h2>\n<ul class="sections">\n{items}\n</ul>\n'
            '<p class="admin"><a href="/private/secret">管理后台</a></p>'
        )
        return _Reply(200, self._page(f"{self.name} - 首页", body).encode())

    def _category(self, section_id: str, query: dict[str, list[str]]) -> _Reply:
        page = self._page_number(query)
        visible = self._visible(section_id)
        pages = max(1, -(-len(visible) // CATEGORY_PAGE_SIZE))
        if page is None or page > pages:
            return self._not_found()
        label = self._section_labels[section_id]
        shown = visible[(page - 1) * CATEGORY_PAGE_SIZE : page * CATEGORY_PAGE_SIZE]
        rows = "\n".join(
            f'<li class="listing"><a class="title" href="/item/{listing.id}">{_esc(listing.title)}</a>'
            + (f' <span class="price">{_esc(listing.price)}</span>' if listing.price and state == "online" else "")
            + "</li>"
            for listing, state in shown
        )
        pager = [f'<span class="page-info">第 {page} / {pages} 页</span>']
        if page > 1:
            previous = f"/c/{section_id}/" if page == 2 else f"/c/{section_id}/?page={page - 1}"
            pager.append(f'<a class="prev" rel="prev" href="{previous}">上一页</a>')
        if page < pages:
            pager.append(f'<a class="next" rel="next" href="/c/{section_id}/?page={page + 1}">下一页</a>')
        body = (
            f'<div class="breadcrumb"><a href="/">首页</a> &gt; <span>{_esc(label)}</span></div>\n'
            f"<h1>{_esc(label)}</h1>\n"
            + (f'<ul class="listings">\n{rows}\n</ul>\n' if rows else '<p class="empty">暂无商品</p>\n')
            + f'<div class="pager">{" ".join(pager)}</div>'
        )
        title = f"{label} - {self.name}" + (f" - 第{page}页" if page > 1 else "")
        return _Reply(200, self._page(title, body).encode())

    @staticmethod
    def _page_number(query: dict[str, list[str]]) -> int | None:
        raw = (query.get("page") or ["1"])[0].strip() or "1"
        if not raw.isdigit():
            return None
        page = int(raw)
        return page if page >= 1 else None

    def _item(self, listing: Listing) -> _Reply:
        state = self.state(listing.id)
        label = self._section_labels[listing.category]
        crumb = (
            f'<div class="breadcrumb"><a href="/">首页</a> &gt; '
            f'<a href="/c/{listing.category}/">{_esc(label)}</a></div>\n'
        )
        if state == "removed":
            return self._not_found()
        if state == "gone":
            body = (
                "<h1>410 该页面已永久移除</h1>\n<p>The requested listing is gone.</p>\n"
                '<p><a href="/">返回首页</a></p>'
            )
            return _Reply(410, self._page("页面已移除", body).encode())
        if state == "soft404":
            body = (
                crumb + f'<h1>{SOFT404_TITLE}</h1>\n<div class="notice"><p>{SOFT404_TITLE}，看看其他商品吧。</p>'
                f"<p>{SOFT404_ENGLISH}.</p></div>\n"
                f'<p><a href="/c/{listing.category}/">返回{_esc(label)}</a></p>'
            )
            return _Reply(200, self._page(SOFT404_TITLE, body).encode())
        text = self._current_text(listing, state)
        paragraphs = "".join(f"<p>{_esc(line)}</p>" for line in text.splitlines() if line.strip())
        details = ""
        if state == "online":
            if listing.price:
                details += f'<p class="price">价格：{_esc(listing.price)}</p>'
            if listing.contact:
                details += f'<p class="contact">联系方式：{_esc(listing.contact)}</p>'
        else:
            details += '<p class="edited">（本信息已由发布者修改）</p>'
        body = (
            crumb
            + f'<article class="listing" data-id="{listing.id}">\n<h1>{_esc(listing.title)}</h1>\n'
            + f'<div class="content">{paragraphs}{details}</div>\n'
            + '<p class="meta">发布编号：' + _esc(listing.id) + "</p>\n</article>"
        )
        return _Reply(200, self._page(listing.title, body).encode())

    def _search(self, query: dict[str, list[str]]) -> _Reply:
        q = (query.get("q") or [""])[0]
        page = self._page_number(query)
        if page is None:
            return _Reply(400, self._page("参数错误", "<h1>400 参数错误</h1>", q).encode())
        results = []
        if q:
            for listing, state in self._visible():
                text = self._current_text(listing, state)
                if q in listing.title or q in text:
                    results.append((listing, text))
        shown = results[(page - 1) * SEARCH_PAGE_SIZE : page * SEARCH_PAGE_SIZE]
        rows = "".join(
            f'<li class="result"><a class="title" href="/item/{listing.id}">{_esc(listing.title)}</a>'
            f'<p class="snippet">{_esc(" ".join(text.split())[:SNIPPET_CHARS])}</p></li>\n'
            for listing, text in shown
        )
        pager = ""
        if page * SEARCH_PAGE_SIZE < len(results):
            pager = f'<div class="pager"><a class="next" rel="next" href="/search?q={quote(q)}&amp;page={page + 1}">下一页</a></div>'
        body = (
            f'<h1 class="query">搜索：{_esc(q)}</h1>\n'
            f'<div id="total">约 {len(results):,} 条结果</div>\n'
            f'<ul class="results">\n{rows}</ul>\n{pager}'
        )
        title = f"{q} - 搜索结果 - {self.name}" if q else f"搜索 - {self.name}"
        return _Reply(200, self._page(title, body, q).encode())

    def _generated(self, raw: str) -> _Reply:
        if not raw.isdigit() or int(raw) >= MAX_GENERATED_ID or (len(raw) > 1 and raw.startswith("0")):
            return self._not_found()
        index = int(raw)
        rng = random.Random(index)
        paragraphs: list[str] = []
        if generated_page_is_illegal(index):
            paragraphs.append(_GEN_ILLEGAL[(index // 10) % len(_GEN_ILLEGAL)])
        size = 0
        while size < 1700:  # about 2 KB of page once wrapped in the markup below
            sentence = rng.choice(_GEN_BENIGN)
            paragraphs.insert(rng.randrange(len(paragraphs) + 1), sentence)
            size += len(sentence.encode())
        title = f"生成页面 #{index}"
        content = "".join(f"<p>{_esc(p)}</p>\n" for p in paragraphs)
        page = (
            '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{title}</title>\n</head>\n<body>\n<h1>{title}</h1>\n"
            f'<div class="content">\n{content}</div>\n</body>\n</html>\n'
        )
        return _Reply(200, page.encode())

    # ----------------------------------------------------------------- hostile input (/bad/*)

    def _bad_routes(self) -> dict[str, Callable[[dict[str, list[str]]], _Reply]]:
        return {
            "gbk": lambda q: _Reply(200, _gbk_page(), "text/html"),
            "gb2312-header": lambda q: _Reply(200, _gb2312_page(), "text/html; charset=gb2312"),
            "big5": lambda q: _Reply(200, _big5_page(), "text/html"),
            "404": lambda q: self._not_found(),
            "500": lambda q: _Reply(500, self._page("服务器错误", "<h1>500 Internal Server Error</h1>").encode()),
            "403-captcha": self._captcha,
            "429": self._too_many,
            "slow": self._slow,
            "redirect-loop": lambda q: self._redirect("/bad/redirect-loop2"),
            "redirect-loop2": lambda q: self._redirect("/bad/redirect-loop"),
            "redirect-to": self._redirect_to,
            "binary": lambda q: _Reply(200, _binary_blob(), "application/octet-stream"),
            "huge": self._huge,
            "broken-html": lambda q: _Reply(200, _BROKEN_HTML, HTML_UTF8),
            "links": self._links,
            "pages": self._pages,
        }

    def _captcha(self, query: dict[str, list[str]]) -> _Reply:
        body = (
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>安全验证</title></head><body>\n"
            "<h1>请输入验证码</h1>\n<p>Please verify you are human to continue.</p>\n"
            '<form method="post" action="/bad/403-captcha"><img alt="captcha" src="data:,">'
            '<input name="captcha"><button>提交</button></form>\n</body></html>\n'
        )
        return _Reply(403, body.encode())

    def _too_many(self, query: dict[str, list[str]]) -> _Reply:
        body = (
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>429</title></head><body>\n"
            "<h1>访问过于频繁，请稍后再试</h1>\n<p>Too Many Requests.</p>\n</body></html>\n"
        )
        return _Reply(429, body.encode(), HTML_UTF8, [("Retry-After", "60")])

    def _slow(self, query: dict[str, list[str]]) -> _Reply:
        try:
            seconds = float((query.get("s") or ["5"])[0])
        except ValueError:
            seconds = 5.0
        seconds = min(max(seconds, 0.0), MAX_SLOW_SECONDS) if seconds == seconds else 5.0
        self._stopping.wait(seconds)
        body = f"<h1>慢速页面</h1>\n<p>本页面等待了 {seconds:g} 秒才返回。This page answered after {seconds:g} s.</p>"
        return _Reply(200, self._page("慢速页面", body).encode())

    def _redirect_to(self, query: dict[str, list[str]]) -> _Reply:
        url = (query.get("url") or [""])[0]
        if not url:
            return _Reply(400, self._page("参数错误", "<h1>400 缺少 url 参数</h1>").encode())
        return self._redirect(url)

    def _huge(self, query: dict[str, list[str]]) -> _Reply:
        try:
            mb = float((query.get("mb") or [str(DEFAULT_HUGE_MB)])[0])
        except ValueError:
            mb = DEFAULT_HUGE_MB
        mb = min(max(mb, 0.0), MAX_HUGE_MB) if mb == mb else DEFAULT_HUGE_MB
        head = '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>超大页面</title></head><body>\n'.encode()
        tail = b"</body></html>\n"
        filler = "<p>超大页面的填充内容：二手家具、旧书、闲置数码产品信息汇总。Filler text.</p>\n".encode()
        total = max(int(mb * 1024 * 1024), len(head) + len(tail))

        def body() -> Iterator[bytes]:
            yield head
            remaining = total - len(head) - len(tail)
            block = filler * (65536 // len(filler))
            while remaining > 0:
                piece = block[:remaining]
                remaining -= len(piece)
                yield piece
            yield tail

        return _Reply(200, body, HTML_UTF8, length=total)

    def _links(self, query: dict[str, list[str]]) -> _Reply:
        local = [
            "/bad/404", "/bad/500", "/bad/403-captcha", "/bad/429", "/bad/slow?s=1", "/bad/redirect-loop",
            "/bad/binary", "/bad/huge?mb=2", "/bad/broken-html", "/bad/gbk", "/bad/gb2312-header", "/bad/big5",
        ]
        targets = local + [u for u in query.get("to", []) if u]
        rows = "\n".join(f'<li><a href="{_esc(u)}">{_esc(u)}</a></li>' for u in targets)
        return _Reply(200, self._page("测试链接", f"<h1>测试链接</h1>\n<ul>\n{rows}\n</ul>").encode())

    def _pages(self, query: dict[str, list[str]]) -> _Reply:
        raw = (query.get("n") or [str(DEFAULT_GENERATED)])[0].strip()
        n = min(int(raw), MAX_GENERATED) if raw.isdigit() else DEFAULT_GENERATED
        rows = "".join(f'<li><a href="/gen/{i}">生成页面 #{i}</a></li>\n' for i in range(n))
        page = (
            '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
            f"<title>生成页面列表（{n}）</title>\n</head>\n<body>\n<h1>生成页面列表</h1>\n<ul>\n{rows}</ul>\n</body>\n</html>\n"
        )
        return _Reply(200, page.encode())


# --------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m crawler.demo.site", description="Serve netpatrol's demo marketplace on loopback."
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    parser.add_argument("--catalog", type=Path, default=None, help="catalog YAML (default: the bundled one)")
    args = parser.parse_args(argv)
    try:
        site = DemoSite(args.catalog)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        print(f"error: cannot load catalog: {exc}", file=sys.stderr)
        return 2
    try:
        url = site.start(args.host, args.port)
    except ValueError as exc:
        parser.error(str(exc))
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    print(url, flush=True)
    print("demo site running; press Ctrl-C to stop", file=sys.stderr, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        site.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
