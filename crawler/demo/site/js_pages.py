"""JavaScript pages of the demo site (mounted by DemoSite under /js/ and /mixed/): what only a browser sees.

Listing text on these pages is fetched by script from /js/api/... and inserted into an
empty mount point, so it is absent from the HTML a plain fetch gets. URL map:

    /js/                     plain index linking to the JavaScript sections and listings
    /js/c/<section>          JavaScript-only category: its listing links are inserted by script
    /js/item/<id>            JavaScript-only listing (the catalog listing, in its current state)
    /js/search?q=Q&page=N    JavaScript-only search results (same markup as /search once rendered)
    /js/scroll               infinite scroll: 4 listings per batch (links to /item/<id>), the next batch on
                             scrolling to the bottom
    /js/more                 "load more": the same, 4 listings per click of button.load-more
    /js/pages?n=N            plain index of /js/gen/<i>;  /js/gen/<i>: /gen/<i> rendered by script
    /mixed/?n=N              plain index of /mixed/<i>: every 20th page (5%) is /js/gen/<i>, the rest /gen/<i>
    /js/hostile/<name>       pages that fight the browser: stall, busy, redirect, dialogs, download,
                             popups, memory, private?to=URL (fetches, frames, images and redirects to URL)
    /js/api/...              the JSON the scripts fetch
"""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from crawler.demo.site.http import HTML_UTF8, Reply
from crawler.demo.site.limits import SEARCH_PAGE_SIZE

if TYPE_CHECKING:
    from crawler.demo.site.app import DemoSite

BATCH = 4
MIXED_JS_EVERY = 20  # 5% of /mixed/ pages need JavaScript
MAX_STALL_SECONDS = 30.0
JSON = "application/json; charset=utf-8"

_FILL = """
<script>
(function () {
  var mount = document.getElementById('app');
  fetch(%(api)s).then(function (r) { return r.json(); }).then(function (data) {
    var h = document.createElement('h1'); h.textContent = data.title; mount.appendChild(h);
    (data.paragraphs || []).forEach(function (t) {
      var p = document.createElement('p'); p.textContent = t; mount.appendChild(p);
    });
    (data.links || []).forEach(function (l) {
      var a = document.createElement('a'); a.href = l.href; a.textContent = l.text; a.className = 'listing';
      var li = document.createElement('li'); li.appendChild(a); mount.appendChild(li);
    });
    if (data.title) { document.title = data.title; }
  });
})();
</script>"""

_SEARCH = """
<script>
(function () {
  var mount = document.getElementById('app');
  fetch(%(api)s).then(function (r) { return r.json(); }).then(function (data) {
    var total = document.createElement('div'); total.id = 'total'; total.textContent = data.total_text;
    mount.appendChild(total);
    var ul = document.createElement('ul'); ul.className = 'results'; mount.appendChild(ul);
    data.results.forEach(function (r) {
      var li = document.createElement('li'); li.className = 'result';
      var a = document.createElement('a'); a.className = 'title'; a.href = r.href; a.textContent = r.title;
      var p = document.createElement('p'); p.className = 'snippet'; p.textContent = r.snippet;
      li.appendChild(a); li.appendChild(p); ul.appendChild(li);
    });
  });
})();
</script>"""

_BATCHES = """
<script>
(function () {
  var list = document.getElementById('app'), offset = 0, loading = false, done = false;
  function more() {
    if (loading || done) { return; }
    loading = true;
    fetch('/js/api/batch?offset=' + offset).then(function (r) { return r.json(); }).then(function (data) {
      data.items.forEach(function (it) {
        var li = document.createElement('li'); li.className = 'listing';
        var a = document.createElement('a'); a.href = it.href; a.textContent = it.title;
        var p = document.createElement('p'); p.textContent = it.text;
        li.appendChild(a); li.appendChild(p); list.appendChild(li);
      });
      offset += data.items.length; done = !data.more; loading = false;
      var button = document.querySelector('button.load-more');
      if (button && done) { button.remove(); }
    });
  }
  window.__more = more;
  more();
  %(trigger)s
})();
</script>"""

_ON_SCROLL = """window.addEventListener('scroll', function () {
    if (window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 50) { more(); }
  });"""
_ON_CLICK = """document.querySelector('button.load-more').addEventListener('click', function () { more(); });"""

# Each hostile page shows a line of text if it ever gets that far; the point is that it does not hang the crawl.
_HOSTILE: dict[str, str] = {
    "busy": "<p>忙碌页面</p><script>setTimeout(function () { for (;;) {} }, 50);</script>",
    "redirect": (
        "<p>跳转页面</p><script>var n = parseInt(new URLSearchParams(location.search).get('n') || '0', 10);"
        "location.href = '/js/hostile/redirect?n=' + (n + 1);</script>"
    ),
    "dialogs": (
        "<div id='app'></div><script>alert('你好'); var ok = confirm('继续吗？'); prompt('你的名字');"
        "document.getElementById('app').textContent = '网络赌博 真人百家乐 在线充值，首充送彩金，加微信 bjl_888 咨询。'"
        " + (ok ? '' : ' (对话框已取消)');</script>"
    ),
    "download": (
        "<p>下载页面</p><a id='dl' href='/js/hostile/file.bin' download>下载</a>"
        "<script>document.getElementById('dl').click(); location.href = '/js/hostile/file.bin';</script>"
    ),
    "popups": (
        "<div id='app'></div><a id='blank' href='/js/' target='_blank'>新窗口</a><script>"
        "for (var i = 0; i < 300; i++) { try { window.open('/js/?popup=' + i, '_blank'); } catch (e) {} }"
        "document.getElementById('blank').click();"
        "document.getElementById('app').textContent = '弹窗页面：本页试图打开三百个窗口。';</script>"
    ),
    "memory": (
        "<p>内存页面</p><script>var hog = []; setTimeout(function () {"
        " for (;;) { hog.push(new Array(1 << 20).fill(Math.random())); } }, 10);</script>"
    ),
}


def _esc(value: str) -> str:
    return html.escape(value, quote=True)


def _json(data: Any) -> Reply:
    return Reply(200, json.dumps(data, ensure_ascii=False).encode(), JSON)


def _shell(site: "DemoSite", title: str, script: str, extra: str = "", mount: str = "div") -> Reply:
    """A page whose content is not in the HTML: an empty mount point that a script fills."""
    body = f'<{mount} id="app"></{mount}>\n{extra}{script}'
    return Reply(200, site.page(title, body), HTML_UTF8)


def route(site: "DemoSite", path: str, query: dict[str, list[str]]) -> Reply | None:
    """Answer a /js/ or /mixed/ path, or None when it is not one of these pages."""
    arg = (lambda name, default="": (query.get(name) or [default])[0])
    if path in ("/js/", "/js"):
        return _index(site)
    if path.startswith("/js/c/"):
        section = path[len("/js/c/"):].strip("/")
        if site.section_label(section) is None:
            return site.not_found()
        api = json.dumps(f"/js/api/c/{section}")
        return _shell(site, site.section_label(section) or section, _FILL % {"api": api})
    if path.startswith("/js/item/"):
        listing_id = path[len("/js/item/"):]
        if site.listing(listing_id) is None:
            return site.not_found()
        return _shell(site, site.name, _FILL % {"api": json.dumps(f"/js/api/item/{listing_id}")})
    if path == "/js/search":
        api = json.dumps(f"/js/api/search?q={quote(arg('q'))}&page={quote(arg('page', '1'))}")
        return _shell(site, f"搜索 - {site.name}", _SEARCH % {"api": api})
    if path == "/js/scroll":
        # Tall rows: a batch fills more than a screen, so only scrolling reveals the next one.
        style = "<style>#app li.listing{min-height:320px}</style>\n"
        return _shell(site, "无限滚动列表", _BATCHES % {"trigger": _ON_SCROLL}, extra=style, mount="ul")
    if path == "/js/more":
        button = '<button class="load-more" type="button">加载更多</button>\n'
        return _shell(site, "加载更多列表", _BATCHES % {"trigger": _ON_CLICK}, extra=button, mount="ul")
    if path == "/js/pages":
        return _pages_index(site, "/js/gen/", arg("n", "100"))
    if path.startswith("/js/gen/"):
        # Bare like /gen/<i> (no site header), so a rendered /js/gen/<i> reads exactly as /gen/<i> does.
        index = path[len("/js/gen/"):]
        page = (
            '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
            f"<title>生成页面 #{_esc(index)}</title>\n</head>\n<body>\n<div id=\"app\"></div>\n"
            + _FILL % {"api": json.dumps(f"/js/api/gen/{index}")}
            + "\n</body>\n</html>\n"
        )
        return Reply(200, page.encode(), HTML_UTF8)
    if path in ("/mixed/", "/mixed"):
        return _pages_index(site, "/mixed/", arg("n", "100"))
    if path.startswith("/mixed/"):
        index = path[len("/mixed/"):]
        if index.isdigit() and int(index) % MIXED_JS_EVERY == 0:
            return route(site, f"/js/gen/{index}", {})
        return site.generated(index)
    if path.startswith("/js/hostile/"):
        return _hostile(site, path[len("/js/hostile/"):], query)
    if path.startswith("/js/api/"):
        return _api(site, path[len("/js/api/"):], query)
    return None


def _index(site: "DemoSite") -> Reply:
    sections = "".join(f'<li><a href="/js/c/{s.id}">{_esc(s.label)}（动态加载）</a></li>' for s in site.sections)
    body = (
        "<h1>动态页面专区</h1>\n<p>本专区的商品列表与详情由浏览器中的脚本加载，普通抓取只能看到空白页面。"
        "This section of the demo market is rendered by JavaScript: a plain fetch sees empty pages.</p>\n"
        f'<ul class="sections">{sections}</ul>\n'
        '<p><a href="/js/scroll">无限滚动列表</a> · <a href="/js/more">加载更多列表</a></p>'
    )
    return Reply(200, site.page(f"动态页面专区 - {site.name}", body), HTML_UTF8)


def _pages_index(site: "DemoSite", prefix: str, raw: str) -> Reply:
    n = min(int(raw), 100_000) if raw.isdigit() else 100
    rows = "".join(f'<li><a href="{prefix}{i}">页面 #{i}</a></li>\n' for i in range(n))
    page = (
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        f"<title>页面列表（{n}）</title>\n</head>\n<body>\n<h1>页面列表</h1>\n<ul>\n{rows}</ul>\n</body>\n</html>\n"
    )
    return Reply(200, page.encode(), HTML_UTF8)


def _listing_json(site: "DemoSite", listing_id: str) -> dict[str, Any] | None:
    listing = site.listing(listing_id)
    assert listing is not None
    state = site.state(listing_id)
    if state not in ("online", "edited"):
        return None
    text = site.current_text(listing, state)
    paragraphs = [line for line in text.splitlines() if line.strip()]
    if state == "online":
        paragraphs += [f"价格：{listing.price}"] if listing.price else []
        paragraphs += [f"联系方式：{listing.contact}"] if listing.contact else []
    return {"title": listing.title, "paragraphs": paragraphs}


def _api(site: "DemoSite", name: str, query: dict[str, list[str]]) -> Reply:
    arg = (lambda key, default="": (query.get(key) or [default])[0])
    if name.startswith("item/"):
        listing_id = name[len("item/"):]
        if site.listing(listing_id) is None:
            return Reply(404, b"{}", JSON)
        data = _listing_json(site, listing_id)
        if data is None:
            return _json({"title": "该商品已删除", "paragraphs": ["This listing has been removed."]})
        return _json(data)
    if name.startswith("c/"):
        section = name[len("c/"):]
        links = [{"href": f"/js/item/{listing.id}", "text": listing.title} for listing, _ in site.visible(section)]
        return _json({"title": site.section_label(section) or "", "links": links})
    if name == "search":
        q, raw_page = arg("q"), arg("page", "1")
        page = int(raw_page) if raw_page.isdigit() and int(raw_page) > 0 else 1
        found = [
            (listing, site.current_text(listing, state))
            for listing, state in site.visible()
            if q and (q in listing.title or q in site.current_text(listing, state))
        ]
        shown = found[(page - 1) * SEARCH_PAGE_SIZE: page * SEARCH_PAGE_SIZE]
        return _json({
            "total_text": f"约 {len(found):,} 条结果",
            "results": [{"href": f"/js/item/{listing.id}", "title": listing.title, "snippet": " ".join(text.split())[:60]}
                        for listing, text in shown],
        })
    if name == "batch":
        offset = int(arg("offset", "0")) if arg("offset", "0").isdigit() else 0
        visible = site.visible()
        items = [
            {"href": f"/item/{listing.id}", "title": listing.title, "text": " ".join(site.current_text(listing, state).split())}
            for listing, state in visible[offset: offset + BATCH]
        ]
        return _json({"items": items, "more": offset + BATCH < len(visible)})
    if name.startswith("gen/"):
        reply = site.generated(name[len("gen/"):])
        if reply.status != 200 or not isinstance(reply.body, bytes):
            return Reply(404, b"{}", JSON)
        from parsel import Selector

        generated = Selector(text=reply.body.decode())
        return _json({
            "title": generated.css("h1::text").get(""),
            "paragraphs": [t for t in generated.css("div.content p::text").getall() if t.strip()],
        })
    return Reply(404, b"{}", JSON)


def _hostile(site: "DemoSite", name: str, query: dict[str, list[str]]) -> Reply:
    if name == "stall":
        # Its script never finishes loading, so the page's load event never fires.
        return Reply(200, site.page("加载中", '<p>正在加载……</p><script src="/js/hostile/stall.js"></script>'))
    if name == "stall.js":
        try:
            seconds = min(float((query.get("s") or ["20"])[0]), MAX_STALL_SECONDS)
        except ValueError:
            seconds = 20.0
        site.wait_unless_stopping(seconds)
        return Reply(200, b"/* too late */", "application/javascript")
    if name == "file.bin":
        return Reply(200, b"\x00" * 4096, "application/octet-stream",
                      [("Content-Disposition", 'attachment; filename="tool.bin"')])
    if name == "private":
        to = (query.get("to") or [""])[0].rstrip("/")
        if not to.startswith("http"):
            return Reply(400, b"missing ?to=http://HOST:PORT", "text/plain")
        script = (
            "<div id='app'></div>"
            f"<img src='{_esc(to)}/img.png'><iframe src='{_esc(to)}/frame'></iframe>"
            f"<link rel='stylesheet' href='{_esc(to)}/style.css'>"
            f"<script src='{_esc(to)}/script.js'></script>"
            "<script>"
            f"fetch({json.dumps(to + '/fetch')}).catch(function () {{}});"
            f"var x = new XMLHttpRequest(); x.open('GET', {json.dumps(to + '/xhr')}); x.send();"
            f"try {{ new WebSocket({json.dumps(to.replace('http', 'ws', 1) + '/ws')}); }} catch (e) {{}}"
            "navigator.sendBeacon && navigator.sendBeacon(" + json.dumps(to + "/beacon") + ");"
            "document.getElementById('app').textContent = '网络赌博 真人百家乐 在线充值，首充送彩金，加微信 bjl_888 咨询。';"
            "setTimeout(function () { location.href = '/js/hostile/redirect-private?to=' + "
            f"encodeURIComponent({json.dumps(to)}); }}, 200);"
            "</script>"
        )
        return Reply(200, site.page("内网探测页面", script))
    if name == "redirect-private":
        to = (query.get("to") or [""])[0].rstrip("/")
        return site.redirect(f"{to}/redirected")
    body = _HOSTILE.get(name)
    if body is None:
        return site.not_found()
    return Reply(200, site.page(f"恶意页面 {name}", body), HTML_UTF8)
