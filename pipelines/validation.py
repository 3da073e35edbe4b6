"""Turn pydantic validation errors into one line naming file, key path and problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from pydantic import ValidationError

from pipelines.errors import ConfigError


def format_loc(loc: Sequence[Any]) -> str:
    """Render a pydantic location tuple as `targets[2].selectors.result`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _describe(error: Mapping[str, Any]) -> str:
    kind = error.get("type", "")
    msg = str(error.get("msg", "invalid value"))
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required field is missing"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    value = error.get("input")
    if kind not in ("missing",) and not isinstance(value, (dict, list)) and value is not None:
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        return f"{msg} (got {shown})"
    return msg


def config_error(path: Path | str, exc: ValidationError, prefix: Sequence[Any] = ()) -> ConfigError:
    """Build a ConfigError from the first validation error (one line; the count of others)."""
    errors = exc.errors()
    first = errors[0]
    loc = list(prefix) + [p for p in first.get("loc", ()) if not _is_union_tag(p)]
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    return ConfigError(f"{path}: {format_loc(loc)}: {_describe(first)}{more}")


def _is_union_tag(part: Any) -> bool:
    # pydantic adds the union member's tag ("site", "search") to the location of discriminated unions.
    return isinstance(part, str) and part in {"site", "search"}
