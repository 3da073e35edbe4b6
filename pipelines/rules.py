"""Rule packs: YAML files of keyword rules, validated at load and hashed into a version.

A rule fires when one of its `any` terms (or `regex` patterns) occurs, every `all`
term occurs, and no `none` term occurs. Terms are normalized exactly like page text.
"""

from __future__ import annotations

import hashlib
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from crawler.config import read_yaml
from crawler.errors import ConfigError
from crawler.validation import config_error
from pipelines.normalize import normalize

CATEGORIES: tuple[str, ...] = (
    "gambling",
    "fraud",
    "pornography",
    "drugs",
    "dangerous_goods",
    "unlock_tools",
    "hacking",
)
RULE_FILE_SUFFIXES = (".yaml", ".yml")


def _terms(values: list[str]) -> list[str]:
    for value in values:
        if not normalize(value).strip():
            raise ValueError(f"empty term {value!r} would match everything")
    return values


class Rule(BaseModel):
    """One keyword rule, as written in a rule pack."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
    category: str
    description: str = ""
    any: list[str] = []
    all: list[str] = []
    none: list[str] = []
    regex: list[str] = []
    weight: float = Field(1.0, gt=0, le=100)

    _check_terms = field_validator("any", "all", "none")(_terms)

    @field_validator("category")
    @classmethod
    def _known_category(cls, value: str) -> str:
        if value not in CATEGORIES:
            raise ValueError(f"unknown category {value!r}; allowed: {', '.join(CATEGORIES)}")
        return value

    @field_validator("regex")
    @classmethod
    def _valid_regex(cls, values: list[str]) -> list[str]:
        for value in values:
            try:
                pattern = re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regex {value!r}: {exc}") from None
            if pattern.search(""):
                raise ValueError(f"regex {value!r} matches the empty string, so it would match everything")
        return values

    @model_validator(mode="after")
    def _has_trigger(self) -> "Rule":
        if not self.any and not self.regex:
            raise ValueError(f"rule {self.id!r} needs at least one `any` term or `regex`")
        return self


class RulePackFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str | None = None
    description: str = ""
    rules: list[dict[str, Any]] = Field(min_length=1)


class RuleSet:
    """All rules of the packs in use, with a version that changes when any rule's meaning does."""

    def __init__(self, rules: list[Rule], sources: list[str]) -> None:
        self.rules = rules
        self.sources = sources
        self.version = rules_version(rules)

    def by_category(self) -> dict[str, int]:
        counts = {category: 0 for category in CATEGORIES}
        for rule in self.rules:
            counts[rule.category] += 1
        return counts

    def __len__(self) -> int:
        return len(self.rules)


def rules_version(rules: Iterable[Rule]) -> str:
    """Hash of the normalized rules, independent of file layout, order and comments."""
    canonical = sorted(
        (
            {
                "id": r.id,
                "category": r.category,
                "any": sorted({normalize(t) for t in r.any}),
                "all": sorted({normalize(t) for t in r.all}),
                "none": sorted({normalize(t) for t in r.none}),
                "regex": sorted(r.regex),
                "weight": r.weight,
            }
            for r in rules
        ),
        key=lambda d: str(d["id"]),
    )
    digest = hashlib.sha256(json.dumps(canonical, ensure_ascii=False, sort_keys=True).encode()).hexdigest()
    return digest[:16]


def default_rules_path() -> Path:
    """The shipped rule pack: found in a source checkout and in an installed wheel alike."""
    return Path(str(resources.files("netpatrol_config") / "rules"))


def _pack_files(path: Path) -> list[Path]:
    if not path.exists():
        raise ConfigError(f"{path}: rule pack not found")
    if path.is_file():
        return [path]
    files = sorted(p for p in path.rglob("*") if p.suffix in RULE_FILE_SUFFIXES and p.is_file())
    if not files:
        raise ConfigError(f"{path}: no rule files (*.yaml, *.yml) in this directory")
    return files


def load_rules(path: Path | str | None = None) -> RuleSet:
    """Load every rule file under `path` (a file or a directory; default: the shipped pack)."""
    root = Path(path) if path is not None else default_rules_path()
    rules: list[Rule] = []
    where: dict[str, str] = {}
    files = _pack_files(root)
    for file in files:
        data = read_yaml(file)
        if not isinstance(data, dict):
            raise ConfigError(f"{file}: (top level): expected a mapping with a `rules` list")
        try:
            pack = RulePackFile.model_validate(data)
        except ValidationError as exc:
            raise config_error(file, exc) from None
        for index, raw in enumerate(pack.rules):
            if not isinstance(raw, dict):
                raise ConfigError(f"{file}: rules[{index}]: expected a mapping")
            entry = dict(raw)
            if pack.category and "category" not in entry:
                entry["category"] = pack.category
            rule_id = entry.get("id", f"#{index}")
            try:
                rule = Rule.model_validate(entry)
            except ValidationError as exc:
                err = config_error(file, exc, prefix=("rules", index))
                raise ConfigError(f"{err} [rule {rule_id}]") from None
            if rule.id in where:
                raise ConfigError(f"{file}: rules[{index}].id: duplicate rule id {rule.id!r} (also in {where[rule.id]})")
            where[rule.id] = f"{file.name}"
            rules.append(rule)
    return RuleSet(rules, [str(f) for f in files])
