"""The loaded config of a crawl, for the app's own components (spiders, extensions).

Scrapy deep-copies settings per crawler, so settings carry the config's path and the
components fetch the validated config here, loaded once per process. The matcher and the
store come from `pipelines.runtime`, so that the app and the pipelines share one of each.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from scrapy.settings import BaseSettings

from crawler.config.schema import LoadedConfig, SearchTarget, SiteTarget, load_config
from pipelines.engine.matcher import Matcher
from pipelines.runtime import matcher_for, store_for

__all__ = ["config_at", "config_from", "target_from", "matcher_from_config", "store_for"]


@lru_cache(maxsize=8)
def config_at(path: str) -> LoadedConfig:
    return load_config(Path(path))


def config_from(settings: BaseSettings) -> LoadedConfig:
    path = settings.get("NETPATROL_CONFIG_PATH")
    if not path:
        raise RuntimeError("NETPATROL_CONFIG_PATH is not set: crawls are started by crawler.runtime.runner")
    return config_at(str(path))


def target_from(settings: BaseSettings) -> SiteTarget | SearchTarget:
    name = settings.get("NETPATROL_TARGET")
    if name == "@tips":  # tip runs (crawler.review.tipcheck) crawl with the `tips:` section
        from crawler.review.tipcheck import tips_target

        return tips_target(config_from(settings))
    return config_from(settings).config.target(name)


def matcher_from_config(loaded: LoadedConfig) -> Matcher:
    rules = loaded.rules_path
    matching = loaded.config.matching
    return matcher_for(str(rules) if rules else None, matching.threshold, matching.snippet_chars)
