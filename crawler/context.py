"""Shared, cached objects a crawl's components need: the loaded config and the compiled matcher.

Scrapy deep-copies settings per crawler, so settings carry plain values (paths, names)
and components fetch the heavy objects here, built once per process.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from scrapy.settings import BaseSettings

from crawler.config import LoadedConfig, SearchTarget, SiteTarget, load_config
from pipelines.matcher import Matcher
from pipelines.rules import load_rules
from pipelines.stores import open_store

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from pipelines.stores.base import Store


@lru_cache(maxsize=8)
def config_at(path: str) -> LoadedConfig:
    return load_config(Path(path))


def config_from(settings: BaseSettings) -> LoadedConfig:
    path = settings.get("NETPATROL_CONFIG_PATH")
    if not path:
        raise RuntimeError("NETPATROL_CONFIG_PATH is not set: crawls are started by crawler.runner")
    return config_at(str(path))


def target_from(settings: BaseSettings) -> SiteTarget | SearchTarget:
    return config_from(settings).config.target(settings.get("NETPATROL_TARGET"))


@lru_cache(maxsize=8)
def matcher_for(rules_path: str | None, threshold: float, snippet_chars: int) -> Matcher:
    """Compile a rule pack once per process, however many targets share it."""
    return Matcher(load_rules(rules_path), threshold=threshold, snippet_chars=snippet_chars)


def matcher_from_config(loaded: LoadedConfig) -> Matcher:
    rules = loaded.rules_path
    matching = loaded.config.matching
    return matcher_for(str(rules) if rules else None, matching.threshold, matching.snippet_chars)


def store_for(crawler: "Crawler") -> "Store":
    """One store connection per crawler, shared by the run recorder and the storage pipeline."""
    store = getattr(crawler, "_netpatrol_store", None)
    if store is None:
        store = open_store(config_from(crawler.settings))
        crawler._netpatrol_store = store  # type: ignore[attr-defined]
    return store
