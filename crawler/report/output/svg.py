"""Small inline-SVG charts (time lines, grouped bars): no script, no network, no chart library.

Python computes the geometry here; the markup is in `templates/*.svg.j2` (autoescaped).
Every mark carries its figure in data attributes (`data-chart`, `data-series`, `data-key`,
`data-value`), so a test — or an analyst's script — reads the chart's numbers back and
checks them against the JSON report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Sequence

from markupsafe import Markup

from crawler.report.output.numbers import coordinate
from crawler.report.output.templating import render

PALETTE = ("#d1495b", "#2e86ab", "#edae49", "#66a182", "#8d6a9f", "#00798c", "#e07a5f", "#3d405b", "#a44a3f", "#6c757d")
BASELINE_COLOR = "#9aa5b1"
COMPARE_COLOR = "#2e86ab"


def color_for(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def nice_max(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2, 2.5, 5 × 10^k)."""
    if value <= 0:
        return 1.0
    exponent = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exponent:
            return step * exponent
    return 10 * exponent


def _epoch(iso_time: str) -> float:
    return datetime.fromisoformat(iso_time.replace("Z", "+00:00")).timestamp()


@dataclass
class Point:
    at: str  # ISO time
    value: float
    key: str  # what the point is (a run id, a check time)
    label: str = ""


@dataclass
class Series:
    name: str
    points: list[Point]
    color: str = ""
    dashed: bool = False


@dataclass
class Marker:
    """A mark on the time axis (a run left out of the figures)."""

    at: str
    key: str
    label: str


@dataclass
class Band:
    """A shaded time span (a report window)."""

    start: str
    end: str
    label: str
    color: str = "#eef2f7"


@dataclass
class Layout:
    width: int = 880
    height: int = 300
    left: int = 56
    right: int = 24
    top: int = 20
    bottom: int = 52
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def plot_w(self) -> int:
        return self.width - self.left - self.right

    @property
    def plot_h(self) -> int:
        return self.height - self.top - self.bottom


def _is_nice(step: float) -> bool:
    exponent = 10 ** math.floor(math.log10(step))
    return any(math.isclose(step, m * exponent) for m in (1, 2, 2.5, 5, 10))


def _y_ticks(layout: Layout, y_max: float) -> list[dict[str, float]]:
    """Gridlines from 0 to `y_max`: 0..5 in ones, 0..2 in halves."""
    ticks = 5 if _is_nice(y_max / 5) else 4
    return [{"value": y_max * i / ticks, "y": layout.top + layout.plot_h - layout.plot_h * i / ticks}
            for i in range(ticks + 1)]


def _text_width(text: str) -> float:
    """Rough rendered width at 11px: CJK characters are about twice as wide as Latin ones."""
    return sum(11.0 if ord(ch) > 0x2E80 else 6.2 for ch in text)


def _legend(layout: Layout, entries: list[tuple[str, str, bool]]) -> list[dict[str, Any]]:
    """One row of swatches and names under the plot, wrapping when it runs out of width."""
    out, lx, ly = [], float(layout.left), layout.height - 4.0
    for name, color, dashed in entries:
        width = 22 + _text_width(name) + 14
        if lx + width > layout.width and lx > layout.left:
            lx, ly = float(layout.left), ly + 14
        out.append({"x": lx, "y": ly, "name": name, "color": color, "dashed": dashed})
        lx += width
    return out


def line_chart(
    chart_id: str,
    series: Sequence[Series],
    title: str,
    y_label: str,
    markers: Sequence[Marker] = (),
    bands: Sequence[Band] = (),
    layout: Layout | None = None,
    step: bool = False,
    span: tuple[str, str] | None = None,
    group: str = "",
) -> Markup:
    """Lines over time, one per series, with a dot (and its figure) at every point.

    `span` fixes the time axis (so several charts line up); `group` tags every mark (`data-group`)."""
    layout = layout or Layout()
    times = [_epoch(p.at) for s in series for p in s.points] + [_epoch(m.at) for m in markers]
    times += [_epoch(b.start) for b in bands] + [_epoch(b.end) for b in bands]
    if span is not None and times:
        times += [_epoch(span[0]), _epoch(span[1])]
    if not times:
        return render("line_chart.svg.j2", empty=True, chart_id=chart_id, layout=layout, title=title)
    t0, t1 = min(times), max(times)
    if t1 == t0:  # a single moment: centre it
        t0, t1 = t0 - 0.5, t1 + 0.5
    y_max = nice_max(max([p.value for s in series for p in s.points] or [1.0]))

    def x(at: str) -> float:
        return layout.left + (_epoch(at) - t0) / (t1 - t0) * layout.plot_w

    def y(value: float) -> float:
        return layout.top + layout.plot_h - value / y_max * layout.plot_h

    drawn_bands = []
    for band in bands:
        bx0, bx1 = x(band.start), x(band.end)
        drawn_bands.append({"x0": bx0, "width": max(bx1 - bx0, 2), "middle": (bx0 + bx1) / 2,
                            "label": band.label, "color": band.color})
    drawn_series = []
    for index, s in enumerate(series):
        points = sorted(s.points, key=lambda p: _epoch(p.at))
        coords: list[tuple[float, float]] = []
        for p in points:
            if step and coords:
                coords.append((x(p.at), coords[-1][1]))
            coords.append((x(p.at), y(p.value)))
        drawn_series.append({
            "name": s.name, "color": s.color or color_for(index), "dashed": s.dashed,
            "path": " ".join(f"{coordinate(px)},{coordinate(py)}" for px, py in coords) if len(coords) > 1 else "",
            "points": [{"x": x(p.at), "y": y(p.value), "value": p.value, "key": p.key, "label": p.label} for p in points],
        })
    # The first and last times only, in UTC: an uncluttered axis; every point's own time is in its tooltip.
    first, last = datetime.fromtimestamp(min(times), timezone.utc), datetime.fromtimestamp(max(times), timezone.utc)
    return render(
        "line_chart.svg.j2", empty=False, chart_id=chart_id, layout=layout, title=title, y_label=y_label, group=group,
        bands=drawn_bands, ticks=_y_ticks(layout, y_max), mid_y=layout.top + layout.plot_h / 2,
        tick_y=layout.top + layout.plot_h + 16, first=f"{first:%Y-%m-%d %H:%M:%S}", last=f"{last:%Y-%m-%d %H:%M:%S}",
        series=drawn_series,
        legend=_legend(layout, [(s.name, s.color or color_for(i), s.dashed) for i, s in enumerate(series)]),
        markers=[{"x": x(m.at), "key": m.key, "label": m.label} for m in markers], base_y=layout.top + layout.plot_h,
    )


def bar_chart(
    chart_id: str,
    groups: Sequence[tuple[str, float, float, float | None]],
    title: str,
    layout: Layout | None = None,
) -> Markup:
    """Baseline and compare bars per group (category), each labelled with its figure, and the change %."""
    layout = layout or Layout(height=320, right=20, bottom=64)
    if not groups:
        return render("bar_chart.svg.j2", groups=[], chart_id=chart_id, layout=layout, title=title)
    y_max = nice_max(max(max(b, c) for _, b, c, _ in groups))
    slot = layout.plot_w / len(groups)
    bar_w = min(42.0, slot * 0.34)
    drawn = []
    for index, (key, baseline, compare, change) in enumerate(groups):
        center = layout.left + slot * (index + 0.5)
        bars = [{"window": window, "value": value, "color": color, "x": center + offset,
                 "height": value / y_max * layout.plot_h}
                for offset, window, value, color in ((-bar_w - 2, "baseline", baseline, BASELINE_COLOR),
                                                     (2, "compare", compare, COMPARE_COLOR))]
        change_class = "up" if change is not None and change > 0 else "down" if change is not None and change < 0 else ""
        drawn.append({"key": key, "center": center, "bars": bars, "change": change, "change_class": change_class})
    legend = [{"label": label, "color": color, "x": layout.left + layout.plot_w - 170 + offset * 90}
              for offset, (label, color) in enumerate((("baseline", BASELINE_COLOR), ("compare", COMPARE_COLOR)))]
    return render("bar_chart.svg.j2", groups=drawn, chart_id=chart_id, layout=layout, title=title,
                  ticks=_y_ticks(layout, y_max), base_y=layout.top + layout.plot_h, bar_w=bar_w,
                  legend=legend, legend_y=layout.top + 4)

