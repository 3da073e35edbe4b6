"""The demo site's hostile input under /bad/: legacy encodings, errors, walls, loops, huge, binary and slow pages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterator

from crawler.demo.site.content import BROKEN_HTML, big5_page, binary_blob, gb2312_page, gbk_page
from crawler.demo.site.http import HTML_UTF8, Reply
from crawler.demo.site.pages import render, trusted

if TYPE_CHECKING:
    from crawler.demo.site.app import DemoSite

Query = dict[str, list[str]]

MAX_SLOW_SECONDS = 30.0
DEFAULT_HUGE_MB = 12.0
MAX_HUGE_MB = 256.0
DEFAULT_GENERATED = 100
MAX_GENERATED = 100_000

LOCAL_LINKS = (
    "/bad/404", "/bad/500", "/bad/403-captcha", "/bad/429", "/bad/slow?s=1", "/bad/redirect-loop",
    "/bad/binary", "/bad/huge?mb=2", "/bad/broken-html", "/bad/gbk", "/bad/gb2312-header", "/bad/big5",
)


def _arg(query: Query, name: str, default: str) -> str:
    return (query.get(name) or [default])[0]


def _bounded(raw: str, default: float, high: float) -> float:
    try:
        value = float(raw)
    except ValueError:
        return default
    return min(max(value, 0.0), high) if value == value else default


def routes(site: "DemoSite") -> dict[str, Callable[[Query], Reply]]:
    """Name under /bad/ -> handler."""
    return {
        "gbk": lambda q: Reply(200, gbk_page(), "text/html"),
        "gb2312-header": lambda q: Reply(200, gb2312_page(), "text/html; charset=gb2312"),
        "big5": lambda q: Reply(200, big5_page(), "text/html"),
        "404": lambda q: site.not_found(),
        "500": lambda q: Reply(500, site.page("服务器错误", "<h1>500 Internal Server Error</h1>")),
        "403-captcha": lambda q: Reply(403, _CAPTCHA.encode()),
        "429": lambda q: Reply(429, _TOO_MANY.encode(), HTML_UTF8, [("Retry-After", "60")]),
        "slow": lambda q: _slow(site, q),
        "redirect-loop": lambda q: site.redirect("/bad/redirect-loop2"),
        "redirect-loop2": lambda q: site.redirect("/bad/redirect-loop"),
        "redirect-to": lambda q: _redirect_to(site, q),
        "binary": lambda q: Reply(200, binary_blob(), "application/octet-stream"),
        "huge": _huge,
        "broken-html": lambda q: Reply(200, BROKEN_HTML, HTML_UTF8),
        "links": lambda q: _links(site, q),
        "pages": _pages,
    }


_CAPTCHA = (
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>安全验证</title></head><body>\n"
    "<h1>请输入验证码</h1>\n<p>Please verify you are human to continue.</p>\n"
    '<form method="post" action="/bad/403-captcha"><img alt="captcha" src="data:,">'
    '<input name="captcha"><button>提交</button></form>\n</body></html>\n'
)
_TOO_MANY = (
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>429</title></head><body>\n"
    "<h1>访问过于频繁，请稍后再试</h1>\n<p>Too Many Requests.</p>\n</body></html>\n"
)


def _slow(site: "DemoSite", query: Query) -> Reply:
    seconds = _bounded(_arg(query, "s", "5"), 5.0, MAX_SLOW_SECONDS)
    site.wait_unless_stopping(seconds)
    body = f"<h1>慢速页面</h1>\n<p>本页面等待了 {seconds:g} 秒才返回。This page answered after {seconds:g} s.</p>"
    return Reply(200, site.page("慢速页面", body))


def _redirect_to(site: "DemoSite", query: Query) -> Reply:
    url = _arg(query, "url", "")
    if not url:
        return Reply(400, site.page("参数错误", "<h1>400 缺少 url 参数</h1>"))
    return site.redirect(url)


def _huge(query: Query) -> Reply:
    mb = _bounded(_arg(query, "mb", str(DEFAULT_HUGE_MB)), DEFAULT_HUGE_MB, MAX_HUGE_MB)
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

    return Reply(200, body, HTML_UTF8, length=total)


def _links(site: "DemoSite", query: Query) -> Reply:
    targets = list(LOCAL_LINKS) + [u for u in query.get("to", []) if u]
    body = render("links.html", heading="测试链接", links=[(u, u) for u in targets]).decode()
    return Reply(200, site.page("测试链接", trusted(body)))


def _pages(query: Query) -> Reply:
    raw = _arg(query, "n", str(DEFAULT_GENERATED)).strip()
    n = min(int(raw), MAX_GENERATED) if raw.isdigit() else DEFAULT_GENERATED
    links = [(f"/gen/{i}", f"生成页面 #{i}") for i in range(n)]
    return Reply(200, render("link_index.html", title=f"生成页面列表（{n}）", heading="生成页面列表", links=links))
