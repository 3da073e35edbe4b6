"""Result pages in each preset engine's markup, as the references in config/engines/presets.yaml describe it.

Used by the fixture engines (crawler.demo.engines) and to write sample pages for
`netpatrol engines check`. `link(entry)` gives each result's link: the engine's wrapped form.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Entry:
    """One result as an engine lists it."""

    title: str
    snippet: str
    landing: str  # the URL the wrapped link leads to
    ad: bool = False
    risk: bool = False
    hops: int = 1  # redirects behind the wrapped link (1 or 2)


Link = Callable[[Entry], str]
RISK = "风险提示：该网站可能存在安全风险，请谨慎访问"


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _doc(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{_e(title)}</title></head>\n'
            f"<body>\n{body}\n</body>\n</html>\n")


def bing_link(base: str, landing: str) -> str:
    encoded = base64.urlsafe_b64encode(landing.encode("utf-8")).decode("ascii").rstrip("=")
    return f"{base}/ck/a?!&&p=0f1e&ptn=3&u=a1{encoded}&ntb=1"


def baidu(query: str, entries: list[Entry], link: Link) -> str:
    rows = []
    for n, e in enumerate(entries, start=1):
        if e.ad:
            rows.append(f'<div class="c-container ec-container" id="{3000 + n}"><h3 class="t"><a href="{_e(link(e))}">'
                        f'{_e(e.title)}</a></h3><div class="c-abstract">{_e(e.snippet)}</div>'
                        '<div class="ec-showurl"><span class="ec-tuiguang">广告</span></div></div>')
        else:
            tip = f'<div class="c-tip">{RISK}</div>' if e.risk else ""
            rows.append(f'<div class="result c-container" tpl="se_com_default" id="{n}"><h3 class="c-title t">'
                        f'<a href="{_e(link(e))}">{_e(e.title)}</a></h3>{tip}'
                        f'<div class="c-abstract"><span class="content-right_8Zs40">{_e(e.snippet)}</span></div></div>')
    body = (f'<div id="tsn_inner"><span class="nums_text">百度为您找到相关结果约1,230,000个</span></div>\n'
            f'<div id="content_left">\n' + "\n".join(rows) + "\n</div>\n<div id=\"rs\"><div class=\"tt\">相关搜索</div></div>")
    return _doc(f"{query}_百度搜索", body)


def baidu_none(query: str) -> str:
    return _doc(f"{query}_百度搜索", f'<div id="content_left"><div class="nors"><p>很抱歉，没有找到与“{_e(query)}”相关的网页。'
                                    "</p></div></div>")


def sogou(query: str, entries: list[Entry], link: Link) -> str:
    rows = []
    for e in entries:
        label = '<span class="ad-label">广告</span>' if e.ad else ""
        tip = f'<p class="risk-tip">{RISK}</p>' if e.risk else ""
        rows.append(f'<div class="vrwrap"><h3 class="vr-title"><a href="{_e(link(e))}">{_e(e.title)}</a></h3>{label}'
                    f'{tip}<div class="fz-mid space-txt">{_e(e.snippet)}</div></div>')
    body = (f'<p class="num-tips">找到约 12 条结果</p>\n<div class="results">\n' + "\n".join(rows) + "\n</div>")
    return _doc(f"{query} - 搜狗搜索", body)


def sogou_none(query: str) -> str:
    return _doc(f"{query} - 搜狗搜索", f'<div class="no-result"><p>抱歉，没有找到与“{_e(query)}”相关的网页。</p></div>')


def so360(query: str, entries: list[Entry], link: Link) -> str:
    rows = []
    for e in entries:
        label = '<span class="e_ad_mark">广告</span>' if e.ad else ""
        tip = f'<p class="risk-tip">{RISK}</p>' if e.risk else ""
        rows.append(f'<li class="res-list"><h3 class="res-title"><a href="{_e(link(e))}" data-mdurl="{_e(e.landing)}">'
                    f'{_e(e.title)}</a></h3>{label}{tip}<p class="res-desc">{_e(e.snippet)}</p></li>')
    body = (f'<span class="nums">找到相关结果约1,230个</span>\n<ul class="result">\n' + "\n".join(rows) + "\n</ul>")
    return _doc(f"{query} - 360搜索", body)


def so360_none(query: str) -> str:
    return _doc(f"{query} - 360搜索", f'<div id="no-result"><p>抱歉，未找到和“{_e(query)}”相关的结果。</p></div>')


def bing(query: str, entries: list[Entry], link: Link) -> str:
    rows = []
    for e in entries:
        if e.ad:
            rows.append(f'<li class="b_ad"><h2><a href="{_e(link(e))}">{_e(e.title)}</a></h2>'
                        f'<div class="b_caption"><span class="b_adSlug">Ad</span><p>{_e(e.snippet)}</p></div></li>')
        else:
            tip = f'<div class="b_warn">{RISK}</div>' if e.risk else ""
            rows.append(f'<li class="b_algo"><h2><a href="{_e(link(e))}">{_e(e.title)}</a></h2>{tip}'
                        f'<div class="b_caption"><p><span class="algoSlug_icon">Web</span>{_e(e.snippet)}</p></div></li>')
    body = (f'<div id="b_tween"><span class="sb_count">About 4,560,000 results</span></div>\n<ol id="b_results">\n'
            + "\n".join(rows) + "\n</ol>")
    return _doc(f"{query} - Search", body)


def bing_none(query: str) -> str:
    return _doc(f"{query} - Search", f'<ol id="b_results"><li class="b_no"><h1>There are no results for'
                                    f" <strong>{_e(query)}</strong></h1></li></ol>")


def shenma(query: str, entries: list[Entry], link: Link) -> str:
    rows = []
    for e in entries:
        label = '<span class="ad-flag">广告</span>' if e.ad else ""
        tip = f'<p class="risk">{RISK}</p>' if e.risk else ""
        rows.append(f'<div class="article"><h2><a href="{_e(link(e))}">{_e(e.title)}</a></h2>{label}{tip}'
                    f'<p class="summary">{_e(e.snippet)}</p></div>')
    body = f'<div class="result-count">约1.2万条结果</div>\n' + "\n".join(rows)
    return _doc(f"{query} - 神马搜索", body)


def shenma_none(query: str) -> str:
    return _doc(f"{query} - 神马搜索", "<div class=\"no-result\"><p>没有找到相关结果</p></div>")


PAGES = {"baidu": (baidu, baidu_none), "sogou": (sogou, sogou_none), "so360": (so360, so360_none),
         "bing": (bing, bing_none), "shenma": (shenma, shenma_none)}
WALLS = {
    "baidu": _doc("百度安全验证", "<div class=\"timeout-title\">百度安全验证</div><p>网络不给力，请稍后重试</p>"),
    "sogou": _doc("搜狗搜索", "<p>用户您好，我们的系统检测到您网络中存在异常访问请求。</p><p>此验证码用于确认这些请求是您的正常行为</p>"),
    "so360": _doc("360搜索", "<p>请输入验证码以便正常访问</p>"),
    "bing": _doc("Bing", "<p>One last step. Please solve the challenge below to continue; verify you are a human.</p>"),
    "shenma": _doc("神马搜索", "<p>访问过于频繁，请进行安全验证</p>"),
}
#: How each engine's URL names the query and the page, as the presets' URL templates do.
PARAMS = {"baidu": ("s", "wd", "pn"), "sogou": ("web", "query", "page"), "so360": ("s", "q", "pn"),
          "bing": ("search", "q", "first"), "shenma": ("s", "q", "page")}
