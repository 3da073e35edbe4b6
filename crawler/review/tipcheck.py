"""`netpatrol tips check`: fetch queued tips through the crawl path and give each an outcome.

The fetch is a real netpatrol run of the pseudo-target `@tips` (so robots, rendering,
matching, evidence and the store all work as for a patrol), with the tips' own network
policy: public addresses plus `tips.allowed_networks`, never `allow_private_networks`.
Tip runs are left out of the decline figures (crawler.report.loader).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scrapy.crawler import AsyncCrawlerProcess, Crawler

from crawler.config.schema import LoadedConfig, SiteTarget
from crawler.config.stores import open_store
from crawler.render.browser import find_browser, render_settings
from crawler.review.tips import TIPS_TARGET, decide, known_duplicates
from crawler.runtime.netguard import AddressRefused, NetworkPolicy
from crawler.runtime.runner import base_settings, new_run_id, target_settings
from pipelines.stores.base import iso, utcnow
from pipelines.stores.workbench import Tip


def tips_target(loaded: LoadedConfig) -> SiteTarget:
    """The SiteTarget tip runs crawl with: the `tips:` section's politeness, robots and rendering."""
    tips = loaded.config.tips
    target = SiteTarget.model_validate({"name": "tips", "type": "site", "start_urls": ["http://tips.invalid/"],
                                        "render": tips.render, "robots": tips.robots,
                                        "politeness": tips.politeness.model_dump(), "max_depth": 0})
    return target.model_copy(update={"name": TIPS_TARGET})


def tips_policy(loaded: LoadedConfig) -> NetworkPolicy:
    return NetworkPolicy.from_values(False, list(loaded.config.tips.allowed_networks))


def refusal(loaded: LoadedConfig, url: str) -> str | None:
    """Why the tips' network policy refuses `url` before any connection, or None."""
    try:
        tips_policy(loaded).check_url(url)
    except AddressRefused as exc:
        return str(exc)
    return None


@dataclass
class TipCheck:
    checked: list[Tip] = field(default_factory=list)
    run_id: str | None = None


def check_tips(loaded: LoadedConfig, log_level: str | None = None, progress_mode: str = "off") -> TipCheck:
    with open_store(loaded) as store:
        queued = store.tips(status="queued")
        duplicates = known_duplicates(store, queued)
        decide(store, duplicates, "system")
        dup_ids = {t.id for t in duplicates}
        to_fetch = [t for t in queued if t.id not in dup_ids]
        refused = []
        for tip in to_fetch:  # refused before any connection, like the guard would on the request
            why = refusal(loaded, tip.url)
            if why:
                tip.status, tip.outcome, tip.reason = "checked", "unreachable", f"private_network: {why}"
                tip.checked_at, tip.decided_by = iso(utcnow()), "system"
                refused.append(tip)
        decide(store, refused, "system")
    fetch = [t for t in to_fetch if t.outcome is None]
    result = TipCheck(duplicates + refused)
    if not fetch:
        return result
    target = tips_target(loaded)
    base = base_settings(loaded, log_level, progress_mode)
    base.set("NETPATROL_ALLOW_PRIVATE_NETWORKS", False, priority="cmdline")
    base.set("NETPATROL_ALLOWED_NETWORKS", list(loaded.config.tips.allowed_networks), priority="cmdline")
    run_id = new_run_id("tips")
    settings = target_settings(base, target, run_id)
    settings.set("NETPATROL_TIPS", [{"id": t.id, "url": t.url} for t in fetch], priority="spider")
    pipelines = dict(settings.getdict("ITEM_PIPELINES"))
    pipelines["crawler.spiders.tips.TipOutcomePipeline"] = 250
    settings.set("ITEM_PIPELINES", pipelines, priority="spider")
    for key, value in render_settings(loaded, target, find_browser(loaded.config.browser, loaded)).items():
        settings.set(key, value, priority="spider")
    from crawler.spiders.tips import TipSpider

    process = AsyncCrawlerProcess(base)
    crawler = Crawler(TipSpider, settings)
    process.crawl(crawler)
    try:
        process.start(install_signal_handlers=True)
    finally:
        crawl_store = getattr(crawler, "_netpatrol_store", None)
        if crawl_store is not None:
            crawl_store.close()
    with open_store(loaded) as store:
        result.checked += store.tips(ids=[t.id for t in fetch])
    result.run_id = run_id
    return result
