"""join_url is urljoin with a cache shared by a site's pages: it must answer exactly what urljoin answers."""

from __future__ import annotations

from urllib.parse import urljoin

from hypothesis import given, settings, strategies as st

from pipelines.urls import join_url

BASES = ["http://h.test/a/b.html?q=1#x", "https://h.test", "https://h.test/", "http://h.test:8080/a/b/",
         "http://h.test/a;p/b?x", "http://user@h.test/a/../b/c", "http://127.0.0.1:8000/list/3.html"]
HREFS = ["", "?q=2", "#f", "/x", "//other.test/y", "x.html", "../x", "./y/../z", "http://o.test/p?", "mailto:a@b",
         "javascript:void(0)", "a:b/c", "12:30.html", "x?y#z", "..", ".", "/a/../b", "https:rel", "HTTP://O.TEST/P"]
PIECES = st.sampled_from(["/", ".", "..", "a", "b.html", "?", "#", ":", "x:", "1", "%20", ";", "//", "é", "&", "="])


def test_known_hrefs_join_as_urljoin_joins_them() -> None:
    for base in BASES:
        for href in HREFS:
            assert join_url(base, href) == urljoin(base, href), (base, href)


@settings(max_examples=400, deadline=None)
@given(base=st.sampled_from(BASES), href=st.lists(PIECES, max_size=6).map("".join))
def test_any_href_joins_as_urljoin_joins_it(base: str, href: str) -> None:
    assert join_url(base, href) == urljoin(base, href)


def test_pages_of_one_folder_share_cached_joins() -> None:
    first = join_url("http://site.test/item/1.html", "2.html")
    assert first == "http://site.test/item/2.html"
    assert join_url("http://site.test/item/7.html?x=1", "2.html") == first
    assert join_url("http://site.test/other/7.html", "/item/2.html") == first
