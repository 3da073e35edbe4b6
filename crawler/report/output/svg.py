"""Small inline-SVG charts (time lines, grouped bars) drawn in Python: no script, no network, no library.

Every mark carries its figure in data attributes (`data-chart`, `data-series`, `data-key`,
`data-value`), so a test — or an analyst's script — reads the chart's numbers back and
checks them against the JSON report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html import escape
from typing import Sequence

PALETTE = ("#d1495b", "#2e86ab", "#edae49", "#66a182", "#8d6a9f", "#00798c", "#e07a5f", "#3d405b", "#a44a3f", "#6c757d")
BASELINE_COLOR = "#9aa5b1"
COMPARE_COLOR = "#2e86ab"


def color_for(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _attr(value: object) -> str:
    return escape(str(value), quote=True)


def fmt(value: float | None) -> str:
    if value is None:
        return "–"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


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


def _y_axis(layout: Layout, y_max: float) -> list[str]:
    ticks = 5 if _is_nice(y_max / 5) else 4  # 0..5 in ones, 0..2 in halves
    out = []
    for i in range(ticks + 1):
        value = y_max * i / ticks
        y = layout.top + layout.plot_h - layout.plot_h * i / ticks
        out.append(f'<line x1="{layout.left}" x2="{layout.left + layout.plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
                   'stroke="#e3e7ec" stroke-width="1"/>')
        out.append(f'<text x="{layout.left - 8}" y="{y + 4:.1f}" text-anchor="end" class="tick">{fmt(value)}</text>')
    return out


def _text_width(text: str) -> float:
    """Rough rendered width at 11px: CJK characters are about twice as wide as Latin ones."""
    return sum(11.0 if ord(ch) > 0x2E80 else 6.2 for ch in text)


def _legend(layout: Layout, entries: list[tuple[str, str, bool]]) -> list[str]:
    """One row of swatches and names under the plot, wrapping when it runs out of width."""
    out, lx, ly = [], float(layout.left), layout.height - 4.0
    for name, color, dashed in entries:
        width = 22 + _text_width(name) + 14
        if lx + width > layout.width and lx > layout.left:
            lx, ly = float(layout.left), ly + 14
        dash = ' stroke-dasharray="4 3"' if dashed else ""
        out.append(f'<line x1="{lx:.1f}" x2="{lx + 16:.1f}" y1="{ly - 4:.1f}" y2="{ly - 4:.1f}" stroke="{color}" '
                   f'stroke-width="3"{dash}/><text x="{lx + 20:.1f}" y="{ly:.1f}" class="legend">{escape(name)}</text>')
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
) -> str:
    """Lines over time, one per series, with a dot (and its figure) at every point.

    `span` fixes the time axis (so several charts line up); `group` tags every mark (`data-group`)."""
    layout = layout or Layout()
    times = [_epoch(p.at) for s in series for p in s.points] + [_epoch(m.at) for m in markers]
    times += [_epoch(b.start) for b in bands] + [_epoch(b.end) for b in bands]
    if span is not None and times:
        times += [_epoch(span[0]), _epoch(span[1])]
    if not times:
        return (f'<svg class="chart" data-chart="{_attr(chart_id)}" viewBox="0 0 {layout.width} 60" role="img">'
                f'<text x="{layout.width / 2}" y="34" text-anchor="middle" class="empty">{escape(title)}: no data</text></svg>')
    t0, t1 = min(times), max(times)
    if t1 == t0:  # a single moment: centre it
        t0, t1 = t0 - 0.5, t1 + 0.5
    y_max = nice_max(max([p.value for s in series for p in s.points] or [1.0]))

    def x(at: str) -> float:
        return layout.left + (_epoch(at) - t0) / (t1 - t0) * layout.plot_w

    def y(value: float) -> float:
        return layout.top + layout.plot_h - value / y_max * layout.plot_h

    parts = [f'<svg class="chart" data-chart="{_attr(chart_id)}" viewBox="0 0 {layout.width} {layout.height}" '
             f'role="img" aria-label="{_attr(title)}" xmlns="http://www.w3.org/2000/svg">', f"<title>{escape(title)}</title>"]
    for band in bands:
        bx0, bx1 = x(band.start), x(band.end)
        parts.append(f'<rect class="band" x="{bx0:.1f}" y="{layout.top}" width="{max(bx1 - bx0, 2):.1f}" '
                     f'height="{layout.plot_h}" fill="{band.color}"><title>{escape(band.label)}</title></rect>')
        parts.append(f'<text x="{(bx0 + bx1) / 2:.1f}" y="{layout.top + 12}" text-anchor="middle" class="band-label">'
                     f"{escape(band.label)}</text>")
    parts += _y_axis(layout, y_max)
    parts.append(f'<text x="14" y="{layout.top + layout.plot_h / 2:.1f}" class="axis-label" '
                 f'transform="rotate(-90 14 {layout.top + layout.plot_h / 2:.1f})" text-anchor="middle">{escape(y_label)}</text>')
    # The first and last times only, in UTC: an uncluttered axis; every point's own time is in its tooltip.
    first, last = datetime.fromtimestamp(min(times), timezone.utc), datetime.fromtimestamp(max(times), timezone.utc)
    tick_y = layout.top + layout.plot_h + 16
    parts.append(f'<text x="{layout.left}" y="{tick_y}" class="tick">{first:%Y-%m-%d %H:%M:%S} UTC</text>')
    parts.append(f'<text x="{layout.left + layout.plot_w}" y="{tick_y}" text-anchor="end" class="tick">'
                 f"{last:%Y-%m-%d %H:%M:%S} UTC</text>")
    for index, s in enumerate(series):
        color = s.color or color_for(index)
        points = sorted(s.points, key=lambda p: _epoch(p.at))
        coords: list[tuple[float, float]] = []
        for p in points:
            if step and coords:
                coords.append((x(p.at), coords[-1][1]))
            coords.append((x(p.at), y(p.value)))
        if len(coords) > 1:
            dash = ' stroke-dasharray="5 4"' if s.dashed else ""
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in coords)
            parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2"{dash} points="{path}"/>')
        for p in points:
            tip = f"{s.name}: {fmt(p.value)}" + (f" — {p.label}" if p.label else "")
            parts.append(
                f'<circle class="point" data-chart="{_attr(chart_id)}" data-group="{_attr(group)}" data-series="{_attr(s.name)}" '
                f'data-key="{_attr(p.key)}" data-value="{p.value}" cx="{x(p.at):.1f}" cy="{y(p.value):.1f}" r="4" '
                f'fill="{color}"><title>{escape(tip)}</title></circle>'
            )
    parts += _legend(layout, [(s.name, s.color or color_for(i), s.dashed) for i, s in enumerate(series)])
    for m in markers:
        mx = x(m.at)
        base = layout.top + layout.plot_h
        parts.append(
            f'<path class="marker" data-chart="{_attr(chart_id)}" data-group="{_attr(group)}" data-key="{_attr(m.key)}" '
            f'd="M{mx - 5:.1f},{base + 4} l10,10 m0,-10 l-10,10" stroke="#c0392b" stroke-width="2">'
            f"<title>{escape(m.label)}</title></path>"
        )
    parts.append("</svg>")
    return "\n".join(parts)


def bar_chart(
    chart_id: str,
    groups: Sequence[tuple[str, float, float, float | None]],
    title: str,
    layout: Layout | None = None,
) -> str:
    """Baseline and compare bars per group (category), each labelled with its figure, and the change %."""
    layout = layout or Layout(height=320, right=20, bottom=64)
    if not groups:
        return (f'<svg class="chart" data-chart="{_attr(chart_id)}" viewBox="0 0 {layout.width} 60" role="img">'
                f'<text x="{layout.width / 2}" y="34" text-anchor="middle" class="empty">{escape(title)}: no hits</text></svg>')
    y_max = nice_max(max(max(b, c) for _, b, c, _ in groups))
    slot = layout.plot_w / len(groups)
    bar_w = min(42.0, slot * 0.34)
    parts = [f'<svg class="chart" data-chart="{_attr(chart_id)}" viewBox="0 0 {layout.width} {layout.height}" '
             f'role="img" aria-label="{_attr(title)}" xmlns="http://www.w3.org/2000/svg">', f"<title>{escape(title)}</title>"]
    parts += _y_axis(layout, y_max)
    base_y = layout.top + layout.plot_h
    for index, (key, baseline, compare, change) in enumerate(groups):
        center = layout.left + slot * (index + 0.5)
        for offset, window, value, color in ((-bar_w - 2, "baseline", baseline, BASELINE_COLOR),
                                             (2, "compare", compare, COMPARE_COLOR)):
            height = value / y_max * layout.plot_h
            bx = center + offset
            parts.append(
                f'<rect class="bar" data-chart="{_attr(chart_id)}" data-key="{_attr(key)}" data-window="{window}" '
                f'data-value="{value}" x="{bx:.1f}" y="{base_y - height:.1f}" width="{bar_w:.1f}" height="{height:.1f}" '
                f'fill="{color}"><title>{escape(key)} {window}: {fmt(value)}</title></rect>'
            )
            parts.append(f'<text x="{bx + bar_w / 2:.1f}" y="{base_y - height - 4:.1f}" text-anchor="middle" '
                         f'class="value">{fmt(value)}</text>')
        change_text = "n/a" if change is None else f"{change:+.1f}%"
        change_class = "up" if change is not None and change > 0 else "down" if change is not None and change < 0 else ""
        parts.append(f'<text x="{center:.1f}" y="{base_y + 18}" text-anchor="middle" class="cat">{escape(key)}</text>')
        parts.append(
            f'<text x="{center:.1f}" y="{base_y + 36}" text-anchor="middle" class="change {change_class}" '
            f'data-chart="{_attr(chart_id)}" data-key="{_attr(key)}" data-change="{"" if change is None else change}">'
            f"{change_text}</text>"
        )
    legend_y = layout.top + 4
    for offset, (label, color) in enumerate((("baseline", BASELINE_COLOR), ("compare", COMPARE_COLOR))):
        lx = layout.left + layout.plot_w - 170 + offset * 90
        parts.append(f'<rect x="{lx}" y="{legend_y}" width="12" height="12" fill="{color}"/>'
                     f'<text x="{lx + 16}" y="{legend_y + 11}" class="legend">{label}</text>')
    parts.append("</svg>")
    return "\n".join(parts)
