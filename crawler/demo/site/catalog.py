"""The demo site's catalog: sections and listings from a YAML file, validated by pydantic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DEFAULT_CATALOG = Path(__file__).resolve().parent.parent / "catalog.yaml"

_DEFAULT_SECTIONS = (
    ("gambling", "休闲娱乐"),
    ("fraud", "商务服务"),
    ("drugs", "医药保健"),
    ("dangerous_goods", "户外用品"),
    ("unlock_tools", "锁具五金"),
    ("hacking", "网络技术"),
    ("pornography", "影音资源"),
    ("general", "综合市场"),
)
_DEFAULT_EDITED_TEXT = "卖家已修改本商品信息：现出售闲置二手书籍若干，九成新，仅限同城自提。"
_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"


def _stripped(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return value
    return str(value).strip()


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Listing(_Strict):
    """One listing; `edited_text` replaces its text when a test marks it edited."""

    id: str = Field(pattern=_ID_PATTERN)
    category: str
    illegal: bool
    title: str = Field(min_length=1)
    text: str = Field(min_length=1)
    price: str = ""
    contact: str = ""
    edited_text: str = ""

    _strip = field_validator("title", "text", "price", "contact", "edited_text", "id", "category",
                             mode="before")(_stripped)

    def as_dict(self, state: str) -> dict[str, Any]:
        return {**self.model_dump(exclude={"edited_text"}), "state": state, "path": f"/item/{self.id}"}


class Section(_Strict):
    id: str = Field(pattern=_ID_PATTERN)
    label: str = ""

    @model_validator(mode="after")
    def _label_defaults_to_id(self) -> "Section":
        if not self.label:
            object.__setattr__(self, "label", self.id)
        return self


class SiteInfo(_Strict):
    name: str = Field("易货集市", min_length=1)
    edited_text: str = Field(_DEFAULT_EDITED_TEXT, min_length=1)


class Catalog(_Strict):
    site: SiteInfo = SiteInfo()
    sections: tuple[Section, ...] = Field(default=tuple(Section(id=i, label=label) for i, label in _DEFAULT_SECTIONS),
                                          min_length=1)
    listings: tuple[Listing, ...]

    @property
    def name(self) -> str:
        return self.site.name

    @property
    def edited_text(self) -> str:
        return self.site.edited_text

    @model_validator(mode="after")
    def _consistent(self) -> "Catalog":
        ids = [s.id for s in self.sections]
        if len(set(ids)) != len(ids):
            raise ValueError("sections: duplicate id")
        seen: set[str] = set()
        for index, listing in enumerate(self.listings):
            if listing.id in seen:
                raise ValueError(f"listings[{index}].id: duplicate id {listing.id!r}")
            seen.add(listing.id)
            if listing.category not in ids:
                raise ValueError(f"listings[{index}].category: {listing.category!r} is not one of {', '.join(ids)}")
        return self


def _where(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def load_catalog(path: Path) -> Catalog:
    """Read and validate a catalog YAML file; a problem is one ValueError naming the file and the key path."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if isinstance(data, list):
        data = {"listings": data}
    if not isinstance(data, dict) or not isinstance(data.get("listings"), list):
        raise ValueError(f"{path}: expected a mapping with a `listings` list")
    try:
        return Catalog.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        where = _where(tuple(first["loc"]))
        raise ValueError(f"{path}: {message}" if first["type"] == "value_error" and not first["loc"]
                         else f"{path}: {where}: {message}") from None
