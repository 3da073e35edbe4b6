"""Property-based fuzzing of the page path: decoding, sniffing, wall detection, extraction and matching.

Random mixtures of charsets, declared-vs-real encodings, truncated multi-byte sequences,
deep nesting, giant attributes, NULs, entity floods and binary bodies go through the same
steps a crawled page does (Scrapy's HtmlResponse decoding, `not_text`, `detect_wall`,
`visible_text`, the shipped rule pack). Each must end in a result or a counted skip: never an
exception, never a hang (Hypothesis' per-example deadline), memory bounded (RSS high-water mark).
Bounded to well under 60 s.
"""

from __future__ import annotations

import resource
from collections import Counter
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scrapy.http import HtmlResponse

from crawler.render.walls import detect_wall
from pipelines.engine.html_text import visible_text
from pipelines.engine.sniff import not_text
from pipelines.runtime import matcher_for

CHARSETS = ["utf-8", "gbk", "gb18030", "big5", "shift_jis", "euc-kr", "latin-1", "cp1252", "utf-16", "koi8-r"]
PHRASES = ["网络赌博 真人百家乐", "冰毒出售", "出售仿真枪", "代开发票", "黑客接单", "访问过于频繁", "请输入验证码",
           "Just a moment...", "casino bonus", "普通商品介绍"]
OUTCOMES: Counter[str] = Counter()

texts = st.text(alphabet=st.sampled_from("abc xyz 赌博冰毒验证码的是了<>&;\"'=/\x00\x01\x1f\u00e9\u4e00\uff01\ud7ff\ufffd"),
                max_size=300)


@st.composite
def pages(draw: st.DrawFn) -> tuple[bytes, str]:
    """An HTML-ish body and the Content-Type it is served with."""
    if draw(st.integers(0, 9)) == 0:  # plain junk
        return draw(st.binary(min_size=0, max_size=20_000)), "text/html"
    parts = draw(st.lists(st.one_of(texts, st.sampled_from(PHRASES)), max_size=8))
    depth = draw(st.sampled_from([0, 3, 50, 3000]))
    attr = "x" * draw(st.sampled_from([0, 10, 200_000]))
    flood = "&amp;&#x4e00;&#99999999;&bogus;" * draw(st.sampled_from([0, 1, 5000]))
    body = " ".join(parts)
    declared = draw(st.sampled_from(CHARSETS + [None, "no-such-charset"]))
    meta = f'<meta charset="{declared}">' if declared and draw(st.booleans()) else ""
    html = (f"<html><head>{meta}<title>{parts[0] if parts else ''}</title></head>"
            f'<body><div data-x="{attr}">' + "<div><span>" * depth + body + flood + "</span></div>" * depth
            + "</div></body></html>")
    real = draw(st.sampled_from(CHARSETS))
    data = html.encode(real, errors="replace")
    if draw(st.booleans()):  # cut anywhere: truncated multi-byte sequences
        data = data[: draw(st.integers(0, len(data)))]
    if draw(st.booleans()):
        data += draw(st.binary(max_size=64))
    header = "text/html" + (f"; charset={declared}" if declared and draw(st.booleans()) else "")
    return data, header


def page_path(body: bytes, content_type: str) -> str:
    """What a crawl does with one fetched HTML body; returns the outcome it would count."""
    response = HtmlResponse("http://127.0.0.1/fuzz", body=body, headers={"Content-Type": content_type})
    text = response.text
    if not_text(text) is not None:
        return "skipped/non_text"
    if detect_wall(text) is not None:
        return "blocked/wall"
    title, visible = visible_text(text)
    result = matcher_for(None, 1.0, 160).match(title, visible, url=response.url)
    return "hit" if result.matched else "page"


@pytest.mark.timeout(120)
@settings(max_examples=150, deadline=timedelta(seconds=5), derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(pages())
def test_every_page_gives_a_result_or_a_counted_skip(page: tuple[bytes, str]) -> None:
    body, content_type = page
    outcome = page_path(body, content_type)
    assert outcome in ("skipped/non_text", "blocked/wall", "hit", "page")
    OUTCOMES[outcome] += 1
    # Memory stays bounded: the process's high-water mark after any input (bodies are at most ~1 MB).
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss < 1_500_000  # KiB


def test_the_fuzzing_reached_every_outcome() -> None:
    """Runs after the property (file order): the generator is not stuck in one corner."""
    assert OUTCOMES["skipped/non_text"] and OUTCOMES["page"] and OUTCOMES["hit"], OUTCOMES


def test_the_issue_s_binary_body_is_skipped_not_matched() -> None:
    import random

    body = random.Random(20240601).randbytes(50 * 1024)
    assert page_path(body, "text/html") == "skipped/non_text"
