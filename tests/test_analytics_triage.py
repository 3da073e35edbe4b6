"""Triage: analysts confirm or dismiss hits (one by one or from a CSV), reports count confirmed hits only,
and `rules precision` turns the verdicts into each rule's real precision."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import market_target

from crawler.demo.site import DemoSite

RULES = """\
rules:
  - {id: gambling.online, category: gambling, any: [网络赌博], none: [警方, 抓获]}
  - {id: fraud.invoice, category: fraud, any: [代开发票, 刷单返利], none: [反诈, 诈骗]}
  - {id: drugs.meth, category: drugs, any: [冰毒], none: [禁毒]}
  - {id: hacking.hire, category: hacking, any: [黑客接单]}
"""


def _precision(cli: Any, config: Path) -> dict[str, tuple[int, int, int, int, float | None]]:
    rows = cli("rules", "precision", "--config", str(config), "--format", "json").json()
    return {r["rule"]: (r["hits"], r["confirmed"], r["dismissed"], r["untriaged"], r["precision"]) for r in rows}


def test_triage_precision_and_confirmed_reports(cli, make_config, tmp_path: Path, site: DemoSite) -> None:
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    config = make_config(f"""
        store: {{path: data/np.db}}
        rules: rules.yaml
        allowed_networks: ["127.0.0.0/8"]
        targets:
          - {market_target(site.base_url)}
        """)
    assert cli("run", "--config", str(config), "--progress", "off").code == 0
    item = f"{site.base_url}/item/"
    assert _precision(cli, config) == {
        "drugs.meth": (1, 0, 0, 1, None), "fraud.invoice": (2, 0, 0, 2, None),
        "gambling.online": (2, 0, 0, 2, None), "hacking.hire": (1, 0, 0, 1, None),
    }

    one = cli("triage", item + "gam01#seller", "--confirm", "--note", "seller confirmed", "--config", str(config))
    assert one.code == 0 and "recorded 1 confirmed, 0 dismissed" in one.stdout
    assert cli("triage", item + "fra02", "--dismiss", "--config", str(config)).code == 0

    sheet = tmp_path / "verdicts.csv"
    sheet.write_text(f"url,verdict,note\n{item}gam02,confirm,\n{item}fra01,dismissed,licensed agent\n"
                     f"{item}drg01,confirm,\n", encoding="utf-8")
    bulk = cli("triage", "--csv", str(sheet), "--config", str(config))
    assert bulk.code == 0 and "recorded 2 confirmed, 1 dismissed" in bulk.stdout
    assert _precision(cli, config) == {
        "drugs.meth": (1, 1, 0, 0, 1.0), "fraud.invoice": (2, 0, 2, 0, 0.0),
        "gambling.online": (2, 2, 0, 0, 1.0), "hacking.hire": (1, 0, 0, 1, None),
    }

    # A bad sheet records nothing and names every problem.
    bad = tmp_path / "bad.csv"
    bad.write_text(f"url,verdict\n{item}hak01,maybe\n{item}hak01,confirm\n", encoding="utf-8")
    result = cli("triage", "--csv", str(bad), "--config", str(config))
    assert result.code == 2 and "line 2: verdict 'maybe' is not confirm or dismiss" in result.stderr
    unknown = tmp_path / "unknown.csv"
    unknown.write_text(f"url,verdict\n{item}hak01,confirm\n{item}nope,confirm\n", encoding="utf-8")
    result = cli("triage", "--csv", str(unknown), "--config", str(config))
    assert result.code == 2 and f"line 3: {item}nope is not a hit netpatrol has recorded" in result.stderr
    assert _precision(cli, config)["hacking.hire"] == (1, 0, 0, 1, None)
    assert cli("triage", item + "gam01", "--confirm", "--dismiss", "--config", str(config)).code == 2
    assert cli("triage", item + "zzz", "--confirm", "--config", str(config)).code == 2
    headless = tmp_path / "headless.csv"
    headless.write_text(f"{item}gam01,confirm\n", encoding="utf-8")
    assert "must name the columns" in cli("triage", "--csv", str(headless), "--config", str(config)).stderr

    # The latest verdict counts; reports can count confirmed hits only.
    assert cli("triage", item + "gam01", "--dismiss", "--config", str(config)).code == 0
    assert _precision(cli, config)["gambling.online"] == (2, 1, 1, 0, 0.5)
    run = cli("runs", "--config", str(config), "--format", "json").json()[0]
    window = f"{run['started_at']}..{run['started_at']}"
    report = cli("report", "--config", str(config), "--baseline", window, "--compare", window, "--confirmed",
                 "--format", "json").json()
    assert report["confirmed_only"] is True
    assert report["baseline"]["hits"] == 2.0  # gam02 and drg01
    assert {k: v["baseline"] for k, v in report["by_category"].items()} == {"gambling": 1.0, "drugs": 1.0}
    everything = cli("report", "--config", str(config), "--baseline", window, "--compare", window, "--format", "json").json()
    assert everything["baseline"]["hits"] == 6.0
