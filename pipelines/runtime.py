"""The heavy objects a crawl's pipelines share, built from plain Scrapy settings alone.

Scrapy deep-copies settings per crawler, so settings carry plain values (paths, numbers,
the store spec as a dict) and the compiled matcher and the store connection are built
here, once per process or per crawler. The app (crawler/runtime/runner.py) fills these
settings from the config file; nothing here knows that file exists.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from scrapy.exceptions import NotConfigured
from scrapy.settings import BaseSettings

from pipelines.engine.matcher import Matcher
from pipelines.engine.rules import load_rules
from pipelines.stores import open_store
from pipelines.stores.spec import StoreSpec

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from pipelines.stores.base import Store


@lru_cache(maxsize=8)
def matcher_for(rules_path: str | None, threshold: float, snippet_chars: int) -> Matcher:
    """Compile a rule pack once per process, however many targets share it."""
    return Matcher(load_rules(rules_path), threshold=threshold, snippet_chars=snippet_chars)


def matcher_from_settings(settings: BaseSettings) -> Matcher:
    """NETPATROL_RULES_PATH (None: the shipped pack), NETPATROL_MATCH_THRESHOLD, NETPATROL_SNIPPET_CHARS."""
    return matcher_for(settings.get("NETPATROL_RULES_PATH") or None,
                       settings.getfloat("NETPATROL_MATCH_THRESHOLD"),
                       settings.getint("NETPATROL_SNIPPET_CHARS"))


def store_spec_from_settings(settings: BaseSettings) -> StoreSpec:
    """NETPATROL_STORE (a StoreSpec as a dict), with every NETPATROL_ES_* tunable applied on top."""
    raw = settings.getdict("NETPATROL_STORE")
    if not raw:
        raise NotConfigured("NETPATROL_STORE is not set: this is not a netpatrol run")
    return StoreSpec.from_dict(raw).with_tunables(
        request_timeout=settings.getfloat("NETPATROL_ES_REQUEST_TIMEOUT"),
        client_retries=settings.getint("NETPATROL_ES_CLIENT_RETRIES"),
        bulk_docs=settings.getint("NETPATROL_ES_BULK_DOCS"),
        close_timeout=settings.getfloat("NETPATROL_ES_CLOSE_TIMEOUT"),
    )


def store_for(crawler: "Crawler") -> "Store":
    """One store connection per crawler, shared by the run recorder and the pipelines."""
    store = getattr(crawler, "_netpatrol_store", None)
    if store is None:
        store = open_store(store_spec_from_settings(crawler.settings))
        crawler._netpatrol_store = store  # type: ignore[attr-defined]
    return store


def data_dir_from_settings(settings: BaseSettings) -> Path:
    """The folder beside the store where evidence and spools live."""
    return store_spec_from_settings(settings).data_dir
