"""JavaScript shell detection (crawler/render/detect.py): pure function, checked on hand-made pages and the demo site."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from crawler.demo.site import STATES, DemoSite
from crawler.render.detect import js_shell

LONG_TEXT = "网络赌博相关的新闻报道，警方近日破获一起案件。" * 20


def page(body: str, head: str = "") -> str:
    return f"<!DOCTYPE html><html><head><title>t</title>{head}</head><body>{body}</body></html>"


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        (page('<div id="root"></div><script src="/static/js/main.js"></script>'), "empty mount point #root"),
        (page('<nav>首页 商品 关于我们</nav><div id="__next"></div><script>boot()</script>'), "empty mount point #__next"),
        (page('<div id="app"><script>x()</script></div>'), "empty mount point #app"),
        (page("<app-root></app-root><script src=main.js></script>"), "empty mount point #app-root"),
        (page("<p>Loading…</p><script src=/bundle.js></script>"), "almost no visible text"),
        (page("<h1>商品详情</h1><div class=detail></div><script>" + "var a=1;" * 100 + "</script>"), "almost no visible text"),
        (page("<noscript>请启用浏览器的 JavaScript 以继续使用本站</noscript><main>" + "内容" * 100 + "</main><script src=a.js></script>"),
         "a <noscript> asks for JavaScript"),
        (page("<noscript>You need to enable JavaScript to run this app.</noscript><p>" + "word " * 60 + "</p><script src=a.js></script>"),
         "a <noscript> asks for JavaScript"),
    ],
)
def test_shells_are_recognised(html: str, reason: str) -> None:
    verdict = js_shell(html)
    assert verdict is not None, html
    assert verdict.reason.startswith(reason), verdict


@pytest.mark.parametrize(
    "html",
    [
        "",
        page("<div id='app'></div>"),  # no script: a browser would show the same (empty) page
        page(f"<div id='app'><h1>标题</h1><p>{LONG_TEXT}</p></div><script src=hydrate.js></script>"),  # server-rendered app
        page(f"<p>{LONG_TEXT}</p><script>dataLayer.push({{}})</script>"),
        page(f"<p>{LONG_TEXT}</p><noscript>Please enable JavaScript for the best experience.</noscript><script src=a.js></script>"
             + f"<p>{LONG_TEXT}</p>"),
        page("<h1>该商品已删除</h1><p>该商品已删除，看看其他商品吧。This listing has been removed.</p>"
             "<p>返回首页 游戏娱乐 商务服务 医药保健 户外用品 锁具五金 网络技术 影音资源 综合市场</p>"
             "<script>window.dataLayer=window.dataLayer||[];dataLayer.push({event:'pageview'});</script>"),
        page("<noscript><img src=pixel.gif></noscript><p>" + LONG_TEXT + "</p><script src=ga.js></script>"),
        "<html><body><p>not closed <div id=app>",
    ],
)
def test_pages_with_their_text_are_not_shells(html: str) -> None:
    assert js_shell(html) is None


def _get(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.read().decode("utf-8", "replace")


def test_no_plain_demo_page_is_taken_for_a_shell(site: DemoSite) -> None:
    """Every server-rendered page of the demo site, in every listing state, reads without a browser."""
    paths = ["/", "/search?q=%E8%B5%8C%E5%8D%9A", "/search?q=zzz", "/search?q=", "/gen/1", "/gen/10", "/bad/pages?n=3",
             "/bad/links", "/bad/broken-html", "/bad/404", "/js/", "/js/pages?n=3", "/mixed/3", "/mixed/?n=5"]
    paths += [f"/c/{section.id}/" for section in site.sections]
    first = site.listings()[:2]
    for state in STATES:
        for listing in first:
            site.set_state(listing["id"], state)
            html = _get(site.base_url + listing["path"])
            assert js_shell(html) is None, (state, listing["path"], js_shell(html))
        site.reset()
    paths += [listing["path"] for listing in site.listings()]
    for path in paths:
        html = _get(site.base_url + path)
        assert js_shell(html) is None, (path, js_shell(html))


def test_demo_javascript_pages_are_shells_without_their_text(site: DemoSite) -> None:
    listing = site.listings(illegal=True)[0]
    for path in ("/js/c/gambling", f"/js/item/{listing['id']}", "/js/search?q=x", "/js/scroll", "/js/more",
                 "/js/gen/10", "/mixed/20"):
        html = _get(site.base_url + path)
        assert js_shell(html) is not None, path
    html = _get(f"{site.base_url}/js/item/{listing['id']}")
    assert listing["title"] not in html and listing["text"][:20] not in html  # only a browser sees the listing
