"""A hostile little site on loopback, for the wall, junk and back-off tests.

    /                an ordinary 1.5 KB index of links, one of them to /captcha and one to /junk
    /item/<n>        five listings with illegal text (n = 1..5), and benign pages /page/<n> (n = 1..20)
    /captcha         a real CAPTCHA wall; it links to /behind-wall, which must never be fetched
    /junk            random bytes served as text/html, with a link to /behind-junk buried in them
    /behind-*        illegal text that only a crawler following a wall's or junk's links would see

`hostile=False` leaves /captcha and /junk out of the index (for the back-off tests).
Rate limiting (`limit` requests per `window` seconds) makes it wall every request over the
budget: `wall="page"` answers 200 with a "访问过于频繁" page, `wall="429"` answers 429 with
`Retry-After`. With `ban=True` a host that tripped the limit walls every request from then on.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ILLEGAL = (
    "网络赌博 真人百家乐 在线充值，首充送彩金，加 V信 bjl_888。",
    "代开发票：增值税专用发票可查验，点数低，量大从优。",
    "出售仿真枪、气枪、子弹，隐秘发货，全国包邮。",
    "冰毒、K粉出售，同城面交，外地隐秘包装。",
    "专业黑客接单：入侵网站、DDoS攻击、盗取账号。",
)
BENIGN = "本店出售二手家具、旧书和闲置数码产品，欢迎同城自提，周末也营业。"

WALL_PAGE = (
    '<!DOCTYPE html><html><head><meta charset="utf-8"><title>提示</title></head><body>'
    '<h1>访问过于频繁，请稍后再试</h1><p><a href="/">返回首页</a></p></body></html>'
)
CAPTCHA_PAGE = (
    '<!DOCTYPE html><html><head><meta charset="utf-8"><title>安全验证</title></head><body>'
    '<h2>请输入验证码</h2><form method="post"><img src="/captcha.png" alt="验证码"><input name="captcha">'
    '<button>提交</button></form><p><a href="/behind-wall">帮助</a></p></body></html>'
)


def _page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{title}</title></head>'
            f"<body><h1>{title}</h1>{body}</body></html>")


def index_page(hostile: bool = True) -> str:
    links = [("/item/%d" % n, "商品 %d" % n) for n in range(1, 6)] + [("/page/1", "关于我们")]
    if hostile:
        links += [("/captcha", "Captcha"), ("/junk", "Downloads")]
    rows = "".join(f'<li><a href="{href}">{text}</a></li>' for href, text in links)
    return _page("Index", f"<ul>{rows}</ul><p>{BENIGN}</p>")


class HostileSite:
    """Serve the hostile site on 127.0.0.1 (a free port); requests are logged by path."""

    def __init__(self, limit: int | None = None, window: float = 60.0, wall: str = "page",
                 retry_after: int = 1, ban: bool = False, benign_pages: int = 20, hostile: bool = True) -> None:
        self.hostile = hostile  # link the CAPTCHA page and the junk from the index
        self.limit = limit
        self.window = window
        self.wall = wall
        self.retry_after = retry_after
        self.ban = ban
        self.benign_pages = benign_pages
        self.log: list[tuple[str, int]] = []  # (path, status-or-wall marker) in arrival order
        self.walled: list[str] = []
        self._times: deque[float] = deque()
        self._banned = False
        self._lock = threading.Lock()
        self._junk = random.Random(15).randbytes(20_000)
        self.server: ThreadingHTTPServer | None = None

    # --- serving ---
    def _limited(self) -> bool:
        with self._lock:
            now = time.monotonic()
            while self._times and self._times[0] <= now - self.window:
                self._times.popleft()
            self._times.append(now)
            over = self.limit is not None and len(self._times) > self.limit
            if over and self.ban:
                self._banned = True
            return over or self._banned

    def route(self, path: str) -> tuple[int, bytes, list[tuple[str, str]]]:
        html = [("Content-Type", "text/html; charset=utf-8")]
        if path == "/robots.txt":
            return 404, b"", html
        if self._limited():
            self.walled.append(path)
            if self.wall == "429":
                return 429, b"<h1>429 Too Many Requests</h1>", html + [("Retry-After", str(self.retry_after))]
            return 200, WALL_PAGE.encode(), html
        if path == "/":
            return 200, index_page(self.hostile).encode(), html
        if path == "/captcha":
            return 200, CAPTCHA_PAGE.encode(), html
        if path == "/junk":
            body = self._junk[:9000] + b'<a href="/behind-junk">x</a>' + self._junk[9000:]
            return 200, body, [("Content-Type", "text/html")]
        if path.startswith("/behind-"):
            return 200, _page("不该看到", f"<p>{ILLEGAL[0]}</p>").encode(), html
        kind, _, number = path.strip("/").partition("/")
        if kind == "item" and number.isdigit() and 1 <= int(number) <= 5:
            return 200, _page(f"商品 {number}", f"<p>{ILLEGAL[int(number) - 1]}</p><p>{BENIGN}</p>").encode(), html
        if kind == "page" and number.isdigit() and 1 <= int(number) <= self.benign_pages:
            nxt = int(number) + 1
            more = f'<a href="/page/{nxt}">下一页</a>' if nxt <= self.benign_pages else ""
            return 200, _page(f"页面 {number}", f"<p>{BENIGN}</p>{more}").encode(), html
        return 404, _page("404", "<p>页面不存在</p>").encode(), html

    def start(self) -> str:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - stdlib name
                status, body, headers = site.route(self.path.split("?")[0])
                site.log.append((self.path, status))
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self.base_url

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def paths(self) -> list[str]:
        return [p for p, _ in self.log]

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def __enter__(self) -> "HostileSite":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
