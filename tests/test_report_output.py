"""The report's outputs without a crawl: one number format everywhere, and an HTML page no name can break."""

from __future__ import annotations

import json
import re
from typing import Any

from crawler.report.output import numbers
from crawler.report.output.html import render_html
from crawler.report.output.svg import Band, Point, Series, bar_chart, line_chart

HOSTILE = '<script>alert("x")</script>&'


def test_number_formats() -> None:
    assert [numbers.number(v) for v in (None, 0, 3.0, 1234, 1234.5, 0.125)] == ["–", "0", "3", "1,234", "1,234.50", "0.12"]
    assert [numbers.pct(v) for v in (None, 0.0, 12.34, -40.0)] == ["n/a", "+0.0%", "+12.3%", "-40.0%"]
    assert [numbers.share(v) for v in (None, 0.375, 1.0)] == ["–", "37.5%", "100.0%"]
    assert [numbers.rate(v) for v in (None, 1234.56)] == ["–", "1,234.6"]
    assert numbers.tolerance(0.2) == "±20%" and numbers.coordinate(1 / 3) == "0.3"


def _entry(b: float, c: float) -> dict[str, Any]:
    return {"baseline": b, "compare": c, "change_pct": None if b == 0 else (c - b) / b * 100,
            "pages": {"baseline": 10.0, "compare": 10.0}, "rate_per_1000": {"baseline": 1.0, "compare": 2.0},
            "coverage_changed": False}


def _report() -> dict[str, Any]:
    window = {"from": "2026-01-01T00:00:00Z", "to": "2026-01-31T00:00:00Z", "runs": 2, "excluded_runs": 0, "hits": 2.0,
              "pages": 20, "rate_per_1000": 100.0}
    return {
        "baseline": window, "compare": {**window, "from": "2026-02-01T00:00:00Z", "to": "2026-02-28T00:00:00Z", "hits": 1.0},
        "change_pct": -50.0, "warnings": [HOSTILE],
        "coverage": {"baseline": 10.0, "compare": 10.0, "changed": False, "tolerance": 0.2, "rate_change_pct": -50.0},
        "by_category": {HOSTILE: _entry(2.0, 1.0)}, "by_target": {HOSTILE: _entry(2.0, 1.0)},
        "by_domain": {HOSTILE: _entry(2.0, 1.0)}, "by_rule": {}, "by_query": {},
        "search": None, "cleaned_up": None,
        "domains": [{"domain": HOSTILE, "compare": 1.0, "baseline": 2.0, "change_pct": -50.0, "items": 3, "removed": 1,
                     "removal_rate": 0.3333}],
        "series": {"runs": [{"run_id": "r1", "target": HOSTILE, "started_at": "2026-01-05T00:00:00Z", "status": "completed",
                             "window": "baseline", "pages": 10, "hits": 2, "by_category": {HOSTILE: 2}}],
                   "search": [], "removal": []},
    }


def test_html_escapes_every_name_and_embeds_the_json() -> None:
    page = render_html(_report())
    assert "<script>alert" not in page  # names only ever appear escaped
    assert page.count("&lt;script&gt;alert(") >= 8  # warning, card-free tables, league, chart titles, legend...
    embedded = re.search(r'<script type="application/json" id="netpatrol-report">(.*?)</script>', page, re.S)
    assert embedded is not None and json.loads(embedded.group(1)) == _report()
    assert '<tr data-table="domains" data-key="&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;">' in page
    assert '<span data-field="removal_rate" data-value="0.3333">33.3%</span>' in page
    assert 'data-figure="change_pct">-50.0%</span>' in page and "coverage held (±20%)" in page


def test_charts_carry_their_figures() -> None:
    line = str(line_chart("c", [Series("a&b", [Point("2026-01-01T00:00:00Z", 2.0, "r1"), Point("2026-01-02T00:00:00Z", 0.0, "r2")])],
                          "T", "y", bands=[Band("2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "baseline")]))
    assert re.findall(r'data-series="([^"]*)" data-key="(\w+)" data-value="([\d.]+)"', line) == [
        ("a&amp;b", "r1", "2.0"), ("a&amp;b", "r2", "0.0")]
    assert 'points="56.0,20.0 856.0,248.0"' in line  # the first point at the top of a 0..2 axis, the last at 0
    bars = str(bar_chart("b", [("x", 2.0, 1.0, -50.0)], "Bars"))
    assert re.findall(r'data-window="(\w+)" data-value="([\d.]+)"', bars) == [("baseline", "2.0"), ("compare", "1.0")]
    assert 'data-change="-50.0">-50.0%</text>' in bars
    assert "no data" in str(line_chart("e", [], "Empty", "y")) and "no hits" in str(bar_chart("e", [], "Empty"))
