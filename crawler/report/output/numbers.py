"""How every figure of the report reads, in the terminal, the HTML page and the charts alike.

One module, so the same number never reads `1,234` in one output and `1234.0` in another, and a
missing figure is always a dash (or `n/a` for a change that cannot be computed), never a zero.
"""

from __future__ import annotations

MISSING = "–"


def number(value: float | None) -> str:
    """A count or mean: whole numbers with thousands separators, others to two decimals."""
    if value is None:
        return MISSING
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def pct(value: float | None) -> str:
    """A change in percent, always signed (`+12.5%`, `-40.0%`); `n/a` when there was no baseline."""
    return "n/a" if value is None else f"{value:+.1f}%"


def share(value: float | None) -> str:
    """A share between 0 and 1 as a percentage (`37.5%`)."""
    return MISSING if value is None else f"{value * 100:.1f}%"


def rate(value: float | None) -> str:
    """Hits per 1,000 pages, to one decimal."""
    return MISSING if value is None else f"{value:,.1f}"


def tolerance(value: float) -> str:
    """A relative tolerance as `±20%` (no trailing zeros)."""
    return f"±{value * 100:g}%"


def coordinate(value: float) -> str:
    """An SVG coordinate: one decimal is finer than a pixel and keeps the page small."""
    return f"{value:.1f}"
