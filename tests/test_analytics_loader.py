"""The rule-version guard: windows matched with different rule sets are flagged, and `--rematch` recounts
the baseline from its kept text exactly as the new rule predicts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import market_target

from crawler.config.schema import load_config
from crawler.demo.site import DemoSite
from crawler.config.stores import open_store

RULES_V1 = """\
rules:
  - id: gambling.online
    category: gambling
    any: [网络赌博]
    none: [警方, 抓获]
  - id: fraud.invoice
    category: fraud
    any: [代开发票, 刷单返利]
    none: [反诈, 诈骗]
"""
# The new rule of v2: air guns. In the catalog, dng01 (仿真枪、气枪) and dng04 (ＰＣＰ高压气枪) carry the term,
# and the demo search engine answers 气枪 with exactly those two listings.
NEW_RULE = """\
  - id: dangerous_goods.airgun
    category: dangerous_goods
    any: [气枪]
"""
V1_SITE_HITS = 4  # gam01, gam02, fra01, fra02
NEW_HITS = 2  # dng01, dng04


def _config(make_config: Any, site: DemoSite, rules: Path) -> Path:
    return make_config(f"""
        store: {{path: data/np.db}}
        rules: {rules}
        allowed_networks: ["127.0.0.0/8"]
        analytics: {{top_n: 5}}
        targets:
          - {market_target(site.base_url)}
          - name: market-search
            type: search
            url: "{site.base_url}/search?q={{query}}&page={{page}}"
            queries: ["气枪", "发票"]
            politeness: {{concurrency: 8, autothrottle: false}}
            selectors: {{result: "li.result", title: "a.title::text", url: "a.title::attr(href)",
                         snippet: "p.snippet::text", total: "#total::text"}}
        """)


def test_rematch_counts_the_baseline_with_the_current_rules(cli, make_config, site: DemoSite, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES_V1, encoding="utf-8")
    config = _config(make_config, site, rules)
    assert cli("run", "--config", str(config), "--progress", "off").code == 0
    rules.write_text(RULES_V1 + NEW_RULE, encoding="utf-8")
    assert cli("run", "--config", str(config), "--progress", "off").code == 0
    runs = cli("runs", "--config", str(config), "--format", "json").json()
    assert len({r["rules_version"] for r in runs}) == 2
    baseline = f"{runs[0]['started_at']}..{runs[1]['started_at']}"
    compare = f"{runs[2]['started_at']}..{runs[3]['started_at']}"
    args = ["report", "--config", str(config), "--baseline", baseline, "--compare", compare, "--format", "json"]

    plain = cli(*args).json()
    assert plain["rules"]["differ"] is True
    assert any("different rule versions" in w and "--rematch" in w for w in plain["warnings"])
    # search: 气枪 finds dng01, dng04 (new rule); 发票 finds fra01 (matched) and three benign listings.
    assert plain["baseline"]["hits"] == V1_SITE_HITS + 1
    assert plain["compare"]["hits"] == V1_SITE_HITS + NEW_HITS + 1 + NEW_HITS
    assert "dangerous_goods" not in {k for k, v in plain["by_category"].items() if v["baseline"]}

    rematched = cli(*args, "--rematch").json()
    assert rematched["rules"]["rematch"] is True and rematched["rules"]["differ"] is False
    assert rematched["rules"]["rematched_runs"] == sorted(r["id"] for r in runs[:2])
    assert not any("different rule versions" in w for w in rematched["warnings"])
    # Exactly what the new rule predicts: two more site hits and two more search hits in the baseline.
    assert rematched["baseline"]["hits"] == V1_SITE_HITS + NEW_HITS + 1 + NEW_HITS
    assert rematched["compare"] == plain["compare"]
    assert rematched["change_pct"] == 0.0
    assert rematched["by_category"]["dangerous_goods"]["baseline"] == 2 * NEW_HITS
    assert rematched["by_rule"]["dangerous_goods.airgun"]["baseline"] == 2 * NEW_HITS
    assert rematched["by_category"]["gambling"]["baseline"] == plain["by_category"]["gambling"]["baseline"]
    airgun = {q["query"]: q for q in rematched["search"]["queries"]}["气枪"]
    assert airgun["baseline"] == {"matched": 2.0, "seen": 2.0, "share": 1.0, "engine_total": 2.0}
    assert {q["query"]: q for q in plain["search"]["queries"]}["气枪"]["baseline"]["matched"] == 0.0

    # Text older than the retention is gone: those runs cannot be re-matched, and the report says so.
    with open_store(load_config(config)) as store:
        assert store.prune_document_text("9999-01-01T00:00:00.000000Z") > 0
    pruned = cli(*args, "--rematch").json()
    assert pruned["rules"]["rematched_runs"] == []
    assert pruned["rules"]["not_rematched_runs"] == sorted(r["id"] for r in runs[:2])
    assert pruned["baseline"]["hits"] == plain["baseline"]["hits"]
    assert any("could not be re-matched" in w for w in pruned["warnings"])
    assert any("different rule versions" in w for w in pruned["warnings"])
