"""Run one patrol round: one Scrapy crawl (one run) per selected target, all in one reactor."""

from __future__ import annotations

import logging
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from datetime import datetime, timezone
from typing import Any

from scrapy.crawler import AsyncCrawlerProcess, Crawler
from scrapy.settings import Settings

from crawler.runtime import logfilters
from crawler import settings as default_settings
from crawler.config.stores import store_spec
from crawler.config.schema import LoadedConfig, SearchTarget, SiteTarget
from pipelines.errors import UsageError
from crawler.extensions import progress
from crawler.runtime.netguard import AddressRefused, NetworkPolicy
from crawler.render.browser import find_browser, render_settings
from crawler.spiders.search import SearchSpider
from crawler.spiders.site import SiteSpider
from pipelines.stores.base import Run

logger = logging.getLogger(__name__)


@dataclass
class RoundResult:
    runs: list[Run]
    refused: dict[str, str]  # target name -> why it could not start

    @property
    def ok(self) -> bool:
        return not self.refused and all(r.status != "running" for r in self.runs)


def new_run_id(target: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{target}-{secrets.token_hex(3)}"


def base_settings(loaded: LoadedConfig, log_level: str | None = None, progress_mode: str = "auto") -> Settings:
    logfilters.install()
    settings = Settings()
    settings.setmodule(default_settings, priority="project")
    settings.set("NETPATROL_CONFIG_PATH", str(loaded.path), priority="project")
    # What pipelines/ needs, as plain values: it never reads the config file itself.
    settings.set("NETPATROL_STORE", store_spec(loaded).as_dict(), priority="project")
    settings.set("NETPATROL_RULES_PATH", str(loaded.rules_path) if loaded.rules_path else None, priority="project")
    settings.set("NETPATROL_MATCH_THRESHOLD", loaded.config.matching.threshold, priority="project")
    settings.set("NETPATROL_SNIPPET_CHARS", loaded.config.matching.snippet_chars, priority="project")
    settings.set("NETPATROL_KEEP_TEXT", loaded.config.analytics.keep_text, priority="project")
    settings.set("NETPATROL_TEXT_RETENTION_DAYS", loaded.config.analytics.text_retention_days, priority="project")
    evidence = default_settings.NETPATROL_EVIDENCE_DIR
    settings.set("NETPATROL_EVIDENCE_DIR", str(loaded.resolve(Path(evidence)) if evidence else loaded.data_dir / "evidence"),
                 priority="project")
    settings.set("NETPATROL_ALLOW_PRIVATE_NETWORKS", loaded.config.allow_private_networks, priority="project")
    settings.set("NETPATROL_ALLOWED_NETWORKS", list(loaded.config.allowed_networks), priority="project")
    settings.set("NETPATROL_PROGRESS", progress_mode, priority="project")
    if log_level:
        settings.set("LOG_LEVEL", log_level, priority="cmdline")
    return settings


def target_settings(base: Settings, target: SiteTarget | SearchTarget, run_id: str) -> Settings:
    """Per-target copy of the settings: politeness, robots, limits."""
    settings = base.copy()
    polite = target.politeness
    settings.set("NETPATROL_TARGET", target.name, priority="spider")
    settings.set("NETPATROL_RUN_ID", run_id, priority="spider")
    settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", polite.concurrency, priority="spider")
    settings.set("DOWNLOAD_DELAY", polite.download_delay, priority="spider")
    settings.set("AUTOTHROTTLE_ENABLED", polite.autothrottle, priority="spider")
    settings.set("DOWNLOAD_TIMEOUT", polite.timeout, priority="spider")
    settings.set("RETRY_TIMES", polite.retries, priority="spider")
    settings.set("DOWNLOAD_MAXSIZE", polite.max_page_bytes, priority="spider")
    if polite.user_agent:
        settings.set("USER_AGENT", polite.user_agent, priority="spider")
    settings.set("ROBOTSTXT_OBEY", target.robots == "obey", priority="spider")
    if isinstance(target, SiteTarget):
        settings.set("DEPTH_LIMIT", target.max_depth, priority="spider")
    else:
        settings.set("DEPTH_LIMIT", 0, priority="spider")
    return settings


def entry_urls(target: SiteTarget | SearchTarget) -> list[str]:
    if isinstance(target, SiteTarget):
        return list(target.start_urls)
    return [target.url.replace("{query}", "q").replace("{page}", str(target.page_start))]


def preflight(loaded: LoadedConfig, targets: list[SiteTarget | SearchTarget]) -> dict[str, str]:
    """Targets whose entry URLs the network policy refuses do not start (and say why)."""
    policy = NetworkPolicy.from_values(loaded.config.allow_private_networks, loaded.config.allowed_networks)
    refused: dict[str, str] = {}
    for target in targets:
        for url in entry_urls(target):
            try:
                policy.check_url(url)
            except AddressRefused as exc:
                refused[target.name] = str(exc)
                break
    return refused


def select_targets(loaded: LoadedConfig, names: list[str] | None) -> list[SiteTarget | SearchTarget]:
    if not loaded.config.targets:
        raise UsageError(f"{loaded.path}: no targets configured")
    if not names:
        return list(loaded.config.targets)
    known = {t.name for t in loaded.config.targets}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError(f"unknown target(s) {', '.join(unknown)}; configured: {', '.join(sorted(known))}")
    return [loaded.config.target(n) for n in names]


def run_round(
    loaded: LoadedConfig,
    names: list[str] | None = None,
    log_level: str | None = None,
    progress_mode: str = "auto",
    extra_settings: dict[str, Any] | None = None,
    run_ids: dict[str, str] | None = None,
) -> RoundResult:
    """Crawl the selected targets concurrently; return their recorded runs.

    `run_ids` fixes the run id of some targets (the scheduler names the run it supervises)."""
    targets = select_targets(loaded, names)
    refused = preflight(loaded, targets)
    runnable = [t for t in targets if t.name not in refused]
    base = base_settings(loaded, log_level, progress_mode)
    for key, value in (extra_settings or {}).items():
        base.set(key, value, priority="cmdline")
    if loaded.config.frontier.backend == "redis":
        return run_on_frontier(loaded, runnable, refused, base, run_ids, progress_mode)
    process = AsyncCrawlerProcess(base)
    crawlers: list[Crawler] = []
    browser = find_browser(loaded.config.browser, loaded)
    for target in runnable:
        run_id = (run_ids or {}).get(target.name) or new_run_id(target.name)
        spider_cls = SiteSpider if isinstance(target, SiteTarget) else SearchSpider
        settings = target_settings(base, target, run_id)
        for key, value in render_settings(loaded, target, browser).items():
            settings.set(key, value, priority="spider")
        crawler = Crawler(spider_cls, settings)
        crawlers.append(crawler)
        process.crawl(crawler)
    if crawlers:
        use_bar = progress.wants_bar(progress_mode)
        progress.BOARD = progress.ProgressBoard() if use_bar else None
        try:
            if progress.BOARD is not None:
                with progress.BOARD:
                    process.start(install_signal_handlers=True)
            else:
                process.start(install_signal_handlers=True)
        finally:
            progress.BOARD = None
    runs: list[Run] = []
    for crawler in crawlers:
        run = getattr(crawler, "netpatrol_run", None)
        if run is not None:
            runs.append(run)
        store = getattr(crawler, "_netpatrol_store", None)
        if store is not None:
            store.close()
    return RoundResult(runs, refused)


def run_on_frontier(
    loaded: LoadedConfig,
    targets: list[SiteTarget | SearchTarget],
    refused: dict[str, str],
    base: Settings,
    run_ids: dict[str, str] | None,
    progress_mode: str,
) -> RoundResult:
    """Seed each target's run into the shared Redis frontier and wait for `netpatrol worker`s to crawl it."""
    from crawler.config.stores import open_store
    from crawler.frontier.coordinator import Coordinator, seed_settings
    from crawler.runtime.context import matcher_from_config

    rules_version = matcher_from_config(loaded).ruleset.version
    with open_store(loaded) as store:
        coordinator = Coordinator(loaded, store, base, progress=progress_mode != "off")
        for target in targets:
            run_id = (run_ids or {}).get(target.name) or new_run_id(target.name)
            settings = seed_settings(loaded, target_settings(base, target, run_id))
            why = coordinator.start(target, run_id, settings, rules_version)
            if why:
                refused[target.name] = why
        runs = coordinator.wait()
    return RoundResult(runs, refused)


def print_refusals(refused: dict[str, str]) -> None:
    for name, why in refused.items():
        print(f"netpatrol: target {name} not started: {why}", file=sys.stderr)
