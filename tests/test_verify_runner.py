"""`netpatrol verify` on real fetches: dead hosts, unreachable twice, the private-network guard, an interrupted verify.

Items are written to the store as an earlier patrol would have left them (through the store
API), because a host that has since died cannot be crawled first. The dead host is a name
the local resolver rejects itself ('-dead-.invalid': a label may not start with a hyphen), so
the test never sends a DNS query off this machine; to netpatrol it looks like any name that
no longer resolves.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from conftest import LOOPBACK_ONLY, ROOT, unused_port

from crawler.config.schema import load_config
from crawler.demo.site import DemoSite
from crawler.config.stores import open_store
from pipelines.stores.base import Observation, Run, iso, utcnow
from pipelines.urls import canonical_url, domain_of

DEAD_HOST = "http://-dead-.invalid/item/x"


def seed(config: Path, items: list[tuple[str, str]], target: str = "old-market") -> None:
    """Record one finished run that saw these (url, title) items as hits."""
    now = iso(utcnow()) or ""
    with open_store(load_config(config)) as store:
        store.start_run(Run(id=f"seed-{target}", target=target, kind="site", started_at=now, rules_version="v"))
        store.add_observations([
            Observation(run_id=f"seed-{target}", target=target, url=url, canonical_url=canonical_url(url),
                        domain=domain_of(url), seen_at=now, kind="page", categories=["gambling"],
                        rules=["gambling.online"], score=1.0, title=title)
            for url, title in items
        ])
        store.finish_run(f"seed-{target}", "completed", len(items), 0, {})


def config_for(make_config: Any, site: DemoSite, private: bool = True, name: str = "netpatrol.yml",
               timeout: float = 5, concurrency: int = 4) -> Path:
    return make_config(f"""
        store: {{path: data/np.db}}
        {LOOPBACK_ONLY if private else 'allow_private_networks: false  # the guard itself, switched on'}
        targets:
          - name: old-market
            type: site
            start_urls: ["{site.base_url}/"]
            robots: ignore
            politeness: {{retries: 0, timeout: {timeout}, autothrottle: false, concurrency: {concurrency}}}
        """, name=name)


def statuses(config: Path) -> dict[str, str]:
    with open_store(load_config(config)) as store:
        return {item.url: item.status for item in store.items()}


def history(config: Path, url: str) -> list[tuple[str, str]]:
    with open_store(load_config(config)) as store:
        return [(c.status, c.reason) for c in store.item_checks([canonical_url(url)])]


def test_dead_hosts_and_unreachable_twice(cli, make_config, site: DemoSite) -> None:
    config = config_for(make_config, site)
    refused = f"http://127.0.0.1:{unused_port()}/item/y"
    live = f"{site.base_url}/item/gam01"
    seed(config, [(DEAD_HOST, "老玩家专区"), (refused, "各类票据 正规渠道"), (live, "新平台上线 首充福利 老玩家回归专享")])

    first = cli("verify", "--config", str(config), "--format", "json", "--progress", "off")
    assert first.code == 0, first.stderr
    got = {c["url"]: (c["status"], c["reason"]) for c in first.json()["items"]}
    assert got == {DEAD_HOST: ("removed", "dns"), refused: ("unreachable", "connect"), live: ("online", "matches")}

    second = cli("verify", "--config", str(config), "--format", "json", "--progress", "off")
    got = {c["url"]: (c["previous"], c["status"], c["reason"]) for c in second.json()["items"]}
    # The removed item is not fetched again; the unreachable one is removed after its second failed check.
    assert got == {refused: ("unreachable", "removed", "unreachable_twice"), live: ("online", "online", "matches")}
    assert history(config, refused) == [("unreachable", "connect"), ("removed", "unreachable_twice")]
    assert history(config, DEAD_HOST) == [("removed", "dns")]
    assert statuses(config) == {DEAD_HOST: "removed", refused: "removed", live: "online"}

    third = cli("verify", "--config", str(config), "--format", "json", "--progress", "off", "--since", "2999-01-01")
    assert third.code == 0 and third.json()["candidates"] == 0 and "no item to verify" in third.stderr
    unknown = cli("verify", "--config", str(config), "--target", "nope")
    assert unknown.code == 2 and "unknown target(s) nope" in unknown.stderr


def test_the_private_network_guard_applies(cli, make_config, site: DemoSite) -> None:
    config = config_for(make_config, site, private=False)
    live = f"{site.base_url}/item/gam01"
    seed(config, [(live, "新平台上线 首充福利 老玩家回归专享")])
    result = cli("verify", "--config", str(config), "--format", "json", "--progress", "off")
    assert result.code == 0, result.stderr
    assert result.json()["checked"] == 0 and result.json()["skipped"] == {canonical_url(live): "private_network"}
    assert "not checked (private_network)" in result.stderr
    assert site.request_log == []
    assert statuses(config) == {live: "online"} and history(config, live) == []


def test_an_interrupted_verify_keeps_what_it_checked(make_config, site: DemoSite) -> None:
    # One request at a time, three slow pages among the items: Ctrl-C lands while the first slow one is fetched.
    config = config_for(make_config, site, timeout=60, concurrency=1)
    fast = [f"{site.base_url}/item/{listing['id']}" for listing in site.listings()[:8]]
    slow = [f"{site.base_url}/bad/slow?s=4&n={n}" for n in range(3)]
    titles = {listing["id"]: listing["title"] for listing in site.listings()}
    seed(config, [(url, titles[url.rsplit("/", 1)[-1]]) for url in fast] + [(url, "慢速页面") for url in slow])
    proc = subprocess.Popen([sys.executable, "-m", "crawler.cli.main", "verify", "--config", str(config), "--progress", "off"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not any(p.startswith("/bad/slow") for p in site.request_log):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "verify never reached a slow page"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    # Scrapy lets the request in flight finish (a real answer, recorded); nothing else is fetched after Ctrl-C.
    requested = set(site.request_log)
    seeded = fast + slow
    fetched = [url for url in seeded if url.removeprefix(site.base_url) in requested]
    assert 0 < len(fetched) < len(seeded), requested
    assert f"verify interrupted: {len(fetched)} of {len(seeded)} item(s) checked and recorded" in err
    after = statuses(config)
    for url in seeded:
        if url in fetched:
            assert len(history(config, url)) == 1, url
        else:
            assert after[url] == "online" and history(config, url) == [], url  # never checked: as it was
