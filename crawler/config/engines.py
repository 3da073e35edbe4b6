"""Search engine presets (config/engines/presets.yaml) and the page checks a search target carries.

`engine: baidu` on a search target fills in the URL template, paging, selectors, the total's
number format, ad and risk labels, the engine's "no results" wording, its walls, and the form
of its wrapped result links. Keys the target sets itself win; `selectors` merge key by key.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

#: Generic wording of "nothing found" for targets without a preset (configurable per target).
GENERIC_NO_RESULTS = ["未找到(?:与.{0,40})?相关(?:的)?(?:结果|内容|网页)", "没有找到(?:与.{0,40})?相关",
                      "[Nn]o results (?:found|for)", "did not match any documents"]
#: A complete HTML page ends its document; a page cut short does not.
COMPLETE_PAGE = r"</html\s*>"


def check_patterns(values: list[str]) -> list[str]:
    for value in values:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regex {value!r}: {exc}") from None
    return values


class Labels(BaseModel):
    """Labels an engine prints on a result: an ad mark ("广告") or its own risk warning."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    labels: list[str] = Field(default_factory=list, description="label texts")
    match: Literal["exact", "contains"] = Field("exact", description="a text node equal to / containing a label")
    selector: str | None = Field(None, description="CSS inside the result where labels are looked for (default: anywhere)")
    classes: list[str] = Field(default_factory=list, description="classes of the result element itself that mark it")


class RiskLabels(Labels):
    """The engine's own warning on a result ("该网站可能存在安全风险"): a text node containing a label."""

    match: Literal["exact", "contains"] = "contains"


class LinkResolution(BaseModel):
    """How wrapped result links (engine redirects) are resolved to their landing URL."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    max_hops: int = Field(5, ge=1, le=20, description="redirects followed per wrapped link")
    cache_ttl: float = Field(30 * 86400.0, ge=0, description="seconds a resolved link is reused by later runs (0: per run only)")
    timeout: float = Field(15.0, gt=0, le=300, description="seconds per hop")


ENGINE_NAMES = ("baidu", "sogou", "so360", "bing", "shenma")


@lru_cache(maxsize=1)
def presets() -> dict[str, dict[str, Any]]:
    """Every preset as written in the shipped presets file."""
    text = (resources.files("netpatrol_config") / "engines" / "presets.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert isinstance(data, dict) and set(data) == set(ENGINE_NAMES), "presets.yaml must define every engine"
    return data


def preset(name: str) -> dict[str, Any]:
    try:
        return presets()[name]
    except KeyError:
        raise ValueError(f"unknown engine {name!r}; presets: {', '.join(ENGINE_NAMES)}") from None


def apply_preset(data: Any) -> Any:
    """The raw target mapping with its engine preset filled in under the keys it sets itself."""
    if not isinstance(data, dict) or not data.get("engine"):
        return data
    name = data["engine"]
    if name not in ENGINE_NAMES:
        return data  # the Literal field names the allowed values
    merged: dict[str, Any] = dict(preset(name)["target"])
    for key, value in data.items():
        if key == "selectors" and isinstance(value, dict):
            merged["selectors"] = {**merged.get("selectors", {}), **value}
        else:
            merged[key] = value
    return merged

