"""The workbench records on both stores, after a real crawl of the demo site: filings and units, the hits
search, evidence by SHA-256, users, the audit trail and tips (tips' network policy refuses internal hosts)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any, Iterator

import pytest
from es_support import drop_prefix, es_store_yaml, es_url, fresh_prefix

from crawler.config.schema import load_config
from crawler.config.stores import open_store
from crawler.report.units import unit_of_domains
from crawler.review.tips import make_tip, queue_tips, read_tips_csv
from crawler.web.auth import add_user, authenticate
from crawler.web.evidence import resolve_inside
from pipelines.engine.filings import extract_filings, unit_key
from pipelines.filings import page_filings
from pipelines.stores.workbench import AuditEntry, FilingSighting


def test_filings_are_read_in_every_written_form() -> None:
    text = ("备案号：京ICP备12345678号-1 | 京公网安备 11010502000001号 | 粤ICP证110507号 | 沪 ICP 备 2021000123 号－3"
            " | 浙ICP備 5555555号 | ICP备12345号 (no province) | 京公网安备 123号 (too short)")
    found = extract_filings(text)
    assert [(f.kind, f.key, f.text) for f in found] == [
        ("icp", "京ICP备12345678号", "京ICP备12345678号-1"),
        ("icp_license", "粤ICP证110507号", "粤ICP证110507号"),
        ("icp", "沪ICP备2021000123号", "沪ICP备2021000123号-3"),
        ("icp", "浙ICP备5555555号", "浙ICP备5555555号"),
        ("psb", "京公网安备11010502000001号", "京公网安备11010502000001号"),
    ]
    assert unit_key(found, "a.example") == "京ICP备12345678号"
    assert unit_key([], "a.example") == "a.example"


def test_page_filings_read_the_markup_around_each_marker() -> None:
    """Only windows around "ICP"/"公网安备" are stripped and read: tags inside a filing, markers far apart on a
    long page and entities must give what stripping the whole page gave."""
    filler = "<p>" + "正文内容，" * 2000 + "</p>"
    html = (f"<html><head><style>.icp{{color:red}}</style></head><body><div>备案：<a href='https://beian.miit.gov.cn'>"
            f"京<b>ICP</b>备12345678号-2</a></div>{filler}<footer><span>京公网安备&nbsp;11010502000001号</span>"
            f"<span>粤ICP证110507号</span></footer></body></html>")
    assert [f.text for f in page_filings(html)] == ["京ICP备12345678号-2", "粤ICP证110507号", "京公网安备11010502000001号"]
    assert page_filings(filler) == [] and page_filings("<p>icp</p>") == []


def test_domains_sharing_any_filing_form_one_unit() -> None:
    seen = [FilingSighting("a.cn", "icp", "京ICP备1号", "京ICP备1号-1", "t", "t"),
            FilingSighting("a.cn", "psb", "京公网安备11010502000001号", "京公网安备11010502000001号", "t", "t"),
            FilingSighting("b.cn", "icp", "京ICP备1号", "京ICP备1号-2", "t", "t"),
            FilingSighting("c.cn", "psb", "京公网安备11010502000001号", "京公网安备11010502000001号", "t", "t"),
            FilingSighting("d.cn", "icp", "粤ICP备9号", "粤ICP备9号-1", "t", "t")]
    unit_of, texts = unit_of_domains(seen)
    assert unit_of == {"a.cn": "京ICP备1号", "b.cn": "京ICP备1号", "c.cn": "京ICP备1号", "d.cn": "粤ICP备9号"}
    assert texts["京ICP备1号"] == ["京ICP备1号-1", "京ICP备1号-2", "京公网安备11010502000001号"]


def test_evidence_paths_outside_the_evidence_folder_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "evidence"
    (root / "run").mkdir(parents=True)
    (root / "run" / "a.png").write_bytes(b"x")
    (tmp_path / "netpatrol.db").write_bytes(b"secret")
    (root / "run" / "link.png").symlink_to(tmp_path / "netpatrol.db")
    assert resolve_inside(root, "evidence/run/a.png", tmp_path) == (root / "run" / "a.png").resolve()
    assert resolve_inside(root, "evidence/../netpatrol.db", tmp_path) is None
    assert resolve_inside(root, str(tmp_path / "netpatrol.db"), tmp_path) is None
    assert resolve_inside(root, "evidence/run/link.png", tmp_path) is None  # a symlink out counts as out
    assert resolve_inside(root, "/etc/passwd", tmp_path) is None


@pytest.fixture(params=["sqlite", pytest.param("elasticsearch", marks=pytest.mark.elasticsearch)])
def crawled(request: pytest.FixtureRequest, make_config: Any, site: Any, cli: Any) -> Iterator[Path]:
    if request.param == "sqlite":
        store, cleanup = "{path: data/np.db}", None
    else:
        url, prefix = es_url(), fresh_prefix()
        store, cleanup = es_store_yaml(url, prefix), (url, prefix)
    config = make_config(f"""
        store: {store}
        allowed_networks: ["127.0.0.0/8"]
        tips: {{allowed_networks: ["127.0.0.1/32"], render: never}}
        targets:
          - name: market
            type: site
            start_urls: ["{site.base_url}/"]
            follow: ["^/c/", "^/item/"]
            match_urls: ["^/item/"]
            max_pages: 300
            render: never
            politeness: {{concurrency: 8, autothrottle: false}}
        """)
    result = cli("run", "--config", str(config), "--progress", "off")
    assert result.code == 0, result.stderr
    yield config
    if cleanup:
        drop_prefix(*cleanup)


def test_workbench_records_on_both_stores(crawled: Path, site: Any, cli: Any) -> None:
    loaded = load_config(crawled)
    with open_store(loaded) as store:
        filings = store.filings()
        assert {(f.domain, f.text) for f in filings} == {("127.0.0.1", "京ICP备20240001号-1"),
                                                         ("127.0.0.1", "京公网安备11010502000001号")}
        total, rows = store.search_hits("赌 博")  # spaced as the obfuscated page writes it: each character a token
        total_plain, _ = store.search_hits("赌博")
        assert total >= 1 and total_plain >= 1 and all(r["url"].startswith(site.base_url) for r in rows)
        assert store.search_hits("zzqqxxnothing")[0] == 0
        evidence = store.evidence(rows[0]["canonical_url"])
        assert evidence and store.evidence_by_sha256(evidence[0]["sha256"])["path"] == evidence[0]["path"]
        assert store.evidence_by_sha256("0" * 64) is None
        add_user(store, "rita", "reviewer", "long-password-1", actor="test")
        assert authenticate(store, "rita", "long-password-1").role == "reviewer"
        assert authenticate(store, "rita", "wrong-password") is None
        assert authenticate(store, "nobody", "long-password-1") is None
        assert store.get_user("rita").password_hash.startswith("$argon2id$")
        store.add_audit([AuditEntry("2026-01-01T00:00:00.000000Z", "rita", "triage", "http://x/", {"verdict": "confirmed"})])
        assert [(e.user, e.action) for e in store.audit(10)][:2] == [("test", "user.add"), ("rita", "triage")]  # newest first
        known = rows[0]["url"]
    tips_csv = crawled.parent / "tips.csv"
    internal = socket.socket()
    internal.bind(("127.0.0.2", 0))
    internal.listen(8)
    internal.setblocking(False)
    port = internal.getsockname()[1]
    tips_csv.write_text("url,reported_at,channel,note\n"
                        f"{site.base_url}/gen/30,2026-11-02T08:00:00+08:00,web-110,赌博\n"
                        f"{site.base_url}/gen/31,2026-11-02,web-110,\n"
                        f"{site.base_url}/no-such-page,2026-11-03,email,\n"
                        f"http://127.0.0.2:{port}/,2026-11-03,email,internal\n"
                        f"http://10.0.0.1/,2026-11-03,email,internal\n"
                        f"{known},2026-11-04,email,known\n", encoding="utf-8")
    result = cli("tips", "import", str(tips_csv), "--config", str(crawled), "--check")
    assert result.code == 0, result.stderr
    assert "6 tip(s) checked: 1 confirmed, 1 duplicate, 1 no_violation, 3 unreachable" in result.stdout
    with pytest.raises(BlockingIOError):
        internal.accept()  # the tip for 127.0.0.2 never reached it
    internal.close()
    with open_store(loaded) as store:
        tips = {t.url: t for t in store.tips()}
        assert tips[f"{site.base_url}/gen/30"].outcome == "confirmed"
        assert tips[f"{site.base_url}/gen/30"].reported_at == "2026-11-02T00:00:00.000000Z"
        assert tips[f"http://127.0.0.2:{port}/"].reason.startswith("private_network")
        assert tips["http://10.0.0.1/"].outcome == "unreachable"
        assert tips[known].outcome == "duplicate"
        assert {i.url for i in store.items()} >= {f"{site.base_url}/gen/30"}  # a confirmed tip is a hit
        assert len([e for e in store.audit(100) if e.action == "tip.outcome"]) == 6


def test_tips_csv_problems_are_named(tmp_path: Path) -> None:
    bad = tmp_path / "tips.csv"
    bad.write_text("url,reported_at\nftp://x.example/,2026-01-01\nhttp://ok.example/,yesterday\n", encoding="utf-8")
    with pytest.raises(Exception) as info:
        read_tips_csv(bad)
    assert "line 2: only http(s) URLs are taken" in str(info.value) and "line 3:" in str(info.value)
    assert make_tip("http://a.example/x#frag", "web-form").canonical_url == "http://a.example/x"
    assert queue_tips  # the intake used by the app and the CSV import
