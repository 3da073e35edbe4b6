"""The Jinja2 environment of the HTML report: autoescaping on, the number formats as filters.

Markup lives in `templates/`; Python computes figures and geometry only. Autoescaping means a
target, query or domain name can never break the page (`<script>` in a listing title renders as text).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from crawler.report.output import numbers


def change_class(value: float | None) -> str:
    """CSS class of a change: a decline is `down` (green), a rise `up` (red), none or n/a plain."""
    return "" if value is None or value == 0 else ("down" if value < 0 else "up")


def counts(by_key: dict[str, int]) -> str:
    """`fraud 1, gambling 2`, or `none`."""
    return ", ".join(f"{key} {count}" for key, count in by_key.items()) or "none"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("crawler.report.output", "templates"),
        autoescape=True,  # every template here is HTML or SVG
        undefined=StrictUndefined,  # a misspelt figure fails loudly instead of printing nothing
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        number=numbers.number,
        pct=numbers.pct,
        share=numbers.share,
        rate=numbers.rate,
        tolerance=numbers.tolerance,
        xy=numbers.coordinate,
        change_class=change_class,
        counts=counts,
    )
    return env


def render(template: str, **context: Any) -> Markup:
    """A template rendered to markup that a parent template embeds without escaping it again."""
    return Markup(environment().get_template(template).render(**context))
