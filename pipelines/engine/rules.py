"""Rule packs: YAML files of keyword rules, contexts and signals, validated at load and hashed into a version.

A rule fires when one of its triggers occurs — an `any` term, a `regex` match or a `near`
pair — every `all` term occurs, and no `none` term occurs. A trigger term standing within
a context's window of a context word (警方, 打击, arrested …) does not count. Signals
(prices, contact handles, 包邮; or reporting language, with a negative weight) add to the
score of every category with a fired rule. Terms are normalized exactly like page text.
"""

from __future__ import annotations

import hashlib
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipelines.errors import ConfigError
from pipelines.validation import config_error
from pipelines.engine.normalize import normalize

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
FIELDS: tuple[str, ...] = ("title", "text", "snippet", "url")
DEFAULT_FIELDS: tuple[str, ...] = ("title", "text", "snippet")
Field_ = Literal["title", "text", "snippet", "url"]
_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"


def term_core(value: str) -> str:
    """A term without its `*` wildcards (a leading or trailing `*` lifts the word-boundary check)."""
    return value.strip().strip("*")


def _terms(values: list[str]) -> list[str]:
    for value in values:
        if not normalize(term_core(value)).strip():
            raise ValueError(f"empty term {value!r} would match everything")
    return values


def _regexes(values: list[str]) -> list[str]:
    for value in values:
        try:
            pattern = re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regex {value!r}: {exc}") from None
        if pattern.search(""):
            raise ValueError(f"regex {value!r} matches the empty string, so it would match everything")
        if all(pattern.search(probe) for probe in _ANY_TEXT):
            raise ValueError(f"regex {value!r} matches any single character, so it would match every page")
    return values


_ANY_TEXT = ("x", "Q", "字", "7", " ", "-")


def _known_categories(values: list[str] | None) -> list[str] | None:
    for value in values or ():
        if value not in CATEGORIES:
            raise ValueError(f"unknown category {value!r}; allowed: {', '.join(CATEGORIES)}")
    return values


class Near(BaseModel):
    """Terms that count only when they stand within `window` units of each other
    (a unit is a Chinese character or a Latin word or number)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    terms: list[str] = Field(min_length=1)
    with_: list[str] = Field(alias="with", min_length=1)
    window: int = Field(10, ge=0, le=500)

    _check_terms = field_validator("terms", "with_")(_terms)


class Context(BaseModel):
    """Words of reporting, warning or enforcement: a trigger term within `window` units of one does not count."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, pattern=_ID_PATTERN)
    description: str = ""
    terms: list[str] = Field(min_length=1)
    window: int = Field(8, ge=0, le=500)
    categories: list[str] | None = None

    _check_terms = field_validator("terms")(_terms)
    _check_categories = field_validator("categories")(_known_categories)


class Signal(BaseModel):
    """Page-level evidence that adds `weight` (negative: subtracts) to each category with a fired rule."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, pattern=_ID_PATTERN)
    description: str = ""
    terms: list[str] = []
    regex: list[str] = []
    weight: float = Field(0.5, ge=-100, le=100)
    categories: list[str] | None = None
    fields: list[Field_] | None = None

    _check_terms = field_validator("terms")(_terms)
    _check_regex = field_validator("regex")(_regexes)
    _check_categories = field_validator("categories")(_known_categories)

    @model_validator(mode="after")
    def _has_evidence(self) -> "Signal":
        if not self.terms and not self.regex:
            raise ValueError(f"signal {self.id!r} needs `terms` or `regex`")
        if self.weight == 0:
            raise ValueError(f"signal {self.id!r} has weight 0, so it would change nothing")
        return self


class Rule(BaseModel):
    """One keyword rule, as written in a rule pack."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, pattern=_ID_PATTERN)
    category: str
    description: str = ""
    any: list[str] = []
    all: list[str] = []
    none: list[str] = []
    regex: list[str] = []
    near: list[Near] = []
    weight: float = Field(1.0, gt=0, le=100)
    fields: list[Field_] | None = None  # default: title, text, snippet
    min_score: float | None = Field(None, gt=0, le=1000)  # default: the matching threshold
    contexts: list[str] | None = None  # context ids that apply; default: every context of its category

    _check_terms = field_validator("any", "all", "none")(_terms)
    _check_regex = field_validator("regex")(_regexes)

    @field_validator("near", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value

    @field_validator("category")
    @classmethod
    def _known_category(cls, value: str) -> str:
        if value not in CATEGORIES:
            raise ValueError(f"unknown category {value!r}; allowed: {', '.join(CATEGORIES)}")
        return value

    @model_validator(mode="after")
    def _has_trigger(self) -> "Rule":
        if not self.any and not self.regex and not self.near:
            raise ValueError(f"rule {self.id!r} needs at least one `any` term, `regex` or `near`")
        return self

    @property
    def field_set(self) -> tuple[str, ...]:
        return tuple(self.fields) if self.fields else DEFAULT_FIELDS


class RulePackFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str | None = None
    description: str = ""
    rules: list[dict[str, Any]] | None = Field(None, min_length=1)
    contexts: list[dict[str, Any]] = []
    signals: list[dict[str, Any]] = []

    @model_validator(mode="after")
    def _has_content(self) -> "RulePackFile":
        if not self.rules and not self.contexts and not self.signals:
            raise ValueError("a rule file needs `rules`, `contexts` or `signals`")
        return self


class RuleSet:
    """All rules, contexts and signals of the packs in use, with a version that changes when any meaning does."""

    def __init__(self, rules: list[Rule], sources: list[str], contexts: list[Context] | None = None,
                 signals: list[Signal] | None = None) -> None:
        self.rules = rules
        self.sources = sources
        self.contexts = list(contexts or [])
        self.signals = list(signals or [])
        self.version = rules_version(rules, self.contexts, self.signals)

    def by_category(self) -> dict[str, int]:
        counts = {category: 0 for category in CATEGORIES}
        for rule in self.rules:
            counts[rule.category] += 1
        return counts

    def __len__(self) -> int:
        return len(self.rules)


def _norm_terms(values: Iterable[str]) -> list[str]:
    return sorted({("*" if v.strip().startswith("*") else "") + normalize(term_core(v))
                   + ("*" if v.strip().endswith("*") else "") for v in values})


def rules_version(rules: Iterable[Rule], contexts: Iterable[Context] = (), signals: Iterable[Signal] = ()) -> str:
    """Hash of the normalized rules, contexts and signals, independent of file layout, order and comments."""
    canonical: list[dict[str, Any]] = []
    for r in rules:
        entry: dict[str, Any] = {
            "id": r.id,
            "category": r.category,
            "any": _norm_terms(r.any),
            "all": _norm_terms(r.all),
            "none": _norm_terms(r.none),
            "regex": sorted(r.regex),
            "weight": r.weight,
        }
        # New keys enter the hash only when used, so packs written before them keep their version.
        if r.near:
            entry["near"] = sorted(json.dumps([_norm_terms(n.terms), _norm_terms(n.with_), n.window]) for n in r.near)
        if r.fields:
            entry["fields"] = sorted(r.fields)
        if r.min_score is not None:
            entry["min_score"] = r.min_score
        if r.contexts is not None:
            entry["contexts"] = sorted(r.contexts)
        canonical.append(entry)
    for c in contexts:
        canonical.append({"id": "context:" + c.id, "terms": _norm_terms(c.terms), "window": c.window,
                          "categories": sorted(c.categories or [])})
    for s in signals:
        canonical.append({"id": "signal:" + s.id, "terms": _norm_terms(s.terms), "regex": sorted(s.regex),
                          "weight": s.weight, "categories": sorted(s.categories or []), "fields": sorted(s.fields or [])})
    canonical.sort(key=lambda d: str(d["id"]))
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


def read_pack_yaml(path: Path) -> Any:
    """Read a rule file with libyaml when available (10,000 rules load in well under a second)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}: {where}invalid YAML: {problem}") from None


def _validate(model: type[BaseModel], file: Path, raw: Any, section: str, index: int, default_category: str | None) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{file}: {section}[{index}]: expected a mapping")
    entry = dict(raw)
    if default_category:
        key = "category" if model is Rule else "categories"
        if key not in entry:
            entry[key] = default_category if model is Rule else [default_category]
    try:
        return model.model_validate(entry)
    except ValidationError as exc:
        err = config_error(file, exc, prefix=(section, index))
        raise ConfigError(f"{err} [{section[:-1]} {entry.get('id', f'#{index}')}]") from None


def load_rules(path: Path | str | None = None) -> RuleSet:
    """Load every rule file under `path` (a file or a directory; default: the shipped pack)."""
    root = Path(path) if path is not None else default_rules_path()
    rules: list[Rule] = []
    contexts: list[Context] = []
    signals: list[Signal] = []
    where: dict[str, str] = {}
    files = _pack_files(root)
    for file in files:
        data = read_pack_yaml(file)
        if not isinstance(data, dict):
            raise ConfigError(f"{file}: (top level): expected a mapping with a `rules` list")
        try:
            pack = RulePackFile.model_validate(data)
        except ValidationError as exc:
            raise config_error(file, exc) from None
        for section, model, into in (("rules", Rule, rules), ("contexts", Context, contexts), ("signals", Signal, signals)):
            for index, raw in enumerate(getattr(pack, section) or ()):
                item = _validate(model, file, raw, section, index, pack.category)
                key = f"{section}:{item.id}"
                if key in where:
                    kind = section[:-1]
                    raise ConfigError(f"{file}: {section}[{index}].id: duplicate {kind} id {item.id!r} (also in {where[key]})")
                where[key] = file.name
                into.append(item)
    known_contexts = {c.id for c in contexts}
    for rule in rules:
        for context_id in rule.contexts or ():
            if context_id not in known_contexts:
                raise ConfigError(f"{root}: rule {rule.id!r}: unknown context {context_id!r}"
                                  f" (defined: {', '.join(sorted(known_contexts)) or 'none'})")
    return RuleSet(rules, [str(f) for f in files], contexts, signals)
