"""Spike and failure alerts from real runs, delivered to a webhook receiver on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest
from conftest import market_target, unused_port

from crawler.demo.site import DemoSite

RULES = """\
rules:
  - {id: gambling.online, category: gambling, any: [网络赌博], none: [警方, 抓获]}
  - {id: fraud.invoice, category: fraud, any: [代开发票, 刷单返利], none: [反诈, 诈骗]}
  - {id: drugs.meth, category: drugs, any: [冰毒], none: [禁毒]}
  - {id: hacking.hire, category: hacking, any: [黑客接单]}
"""


class Receiver:
    """A webhook endpoint that records every POST and fails the first `fail_first` of them with HTTP 500."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.fail_first = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.posts.append({"path": self.path, "auth": self.headers.get("Authorization"),
                                       "json": json.loads(body)})
                status = 500 if len(receiver.posts) <= receiver.fail_first else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _config(make_config: Any, tmp_path: Path, site: DemoSite, webhook: str, alerts: str = "") -> Path:
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    return make_config(f"""
        store: {{path: data/np.db}}
        rules: rules.yaml
        allowed_networks: ["127.0.0.0/8"]
        alerts: {{webhook: "{webhook}", token_env: NP_TEST_TOKEN, spike_factor: 1.5, trailing_runs: 2, failed_runs: 2,
                  retries: 2{alerts}}}
        targets:
          - {market_target(site.base_url)}
          - name: broken
            type: site
            start_urls: ["http://127.0.0.1:{unused_port()}/"]
            robots: ignore
            politeness: {{retries: 0}}
        """)


def _run(cli: Any, config: Path, target: str) -> Any:
    result = cli("run", "--config", str(config), "--target", target, "--progress", "off", env={"NP_TEST_TOKEN": "s3cret"})
    assert result.code == 0, result.stderr
    return result


def test_a_spike_is_posted_after_a_retry(cli, make_config, tmp_path: Path, site: DemoSite, receiver: Receiver) -> None:
    config = _config(make_config, tmp_path, site, receiver.url)
    for listing in ("gam01", "gam02", "fra01", "fra02"):
        site.set_state(listing, "removed")
    _run(cli, config, "market")  # 2 hits (drg01, hak01), no history yet
    _run(cli, config, "market")  # 2 hits, one previous run: still too little history
    assert receiver.posts == []
    site.reset()
    receiver.fail_first = 1
    _run(cli, config, "market")  # 6 hits against a trailing mean of 2
    assert len(receiver.posts) == 2  # the first attempt got HTTP 500, the retry was delivered
    assert receiver.posts[0]["json"] == receiver.posts[1]["json"]
    post = receiver.posts[1]
    assert post["path"] == "/hook" and post["auth"] == "Bearer s3cret"
    message = post["json"]
    runs = cli("runs", "--config", str(config), "--format", "json").json()
    assert message["source"] == "netpatrol" and message["target"] == "market" and message["run"] == runs[-1]
    assert message["alerts"] == [
        {"kind": "spike", "scope": "target", "key": "market", "hits": 6, "trailing_mean": 2.0, "threshold": 3.0,
         "message": f"market: 6 hits in run {runs[-1]['id']}, above 1.5 x the mean of the last 2 runs (2)"},
        {"kind": "spike", "scope": "category", "key": "fraud", "hits": 2, "trailing_mean": 0.0, "threshold": 0.0,
         "message": f"fraud: 2 hits in run {runs[-1]['id']}, above 1.5 x the mean of the last 2 runs (0)"},
        {"kind": "spike", "scope": "category", "key": "gambling", "hits": 2, "trailing_mean": 0.0, "threshold": 0.0,
         "message": f"gambling: 2 hits in run {runs[-1]['id']}, above 1.5 x the mean of the last 2 runs (0)"},
    ]
    # The window moves on: 6 hits against a mean of (2 + 6) / 2 = 4 is no spike (threshold 6), but fraud and
    # gambling (2 each against a mean of 1, threshold 1.5) still are.
    _run(cli, config, "market")
    assert len(receiver.posts) == 3
    assert [(a["scope"], a["key"], a["hits"], a["trailing_mean"]) for a in receiver.posts[2]["json"]["alerts"]] == [
        ("category", "fraud", 2, 1.0), ("category", "gambling", 2, 1.0)]


def test_failed_runs_in_a_row_are_posted_once(cli, make_config, tmp_path: Path, site: DemoSite,
                                              receiver: Receiver) -> None:
    config = _config(make_config, tmp_path, site, receiver.url)
    _run(cli, config, "broken")
    assert receiver.posts == []
    _run(cli, config, "broken")
    runs = cli("runs", "--config", str(config), "--format", "json").json()
    assert [r["status"] for r in runs] == ["failed", "failed"]
    assert [p["json"]["alerts"] for p in receiver.posts] == [[{
        "kind": "failures", "scope": "target", "key": "broken", "runs": [r["id"] for r in runs],
        "message": "broken: 2 runs in a row did not complete (failed, failed); its figures are missing from reports",
    }]]
    _run(cli, config, "broken")  # a third failure: the streak was already reported
    assert len(receiver.posts) == 1


def test_an_unreachable_webhook_never_fails_the_run(cli, make_config, tmp_path: Path, site: DemoSite) -> None:
    dead = f"http://127.0.0.1:{unused_port()}/hook"
    config = _config(make_config, tmp_path, site, dead, alerts=", failed_runs: 1, retries: 1")
    result = _run(cli, config, "broken")
    assert f"alert webhook {dead} failed after 2 attempt(s)" in result.stderr
    assert "Traceback" not in result.stderr
    assert [r["status"] for r in cli("runs", "--config", str(config), "--format", "json").json()] == ["failed"]


def test_alerts_config_is_validated(cli, make_config) -> None:
    config = make_config("alerts: {webhook: 'ftp://example.com/x', spike_factor: 0.5}\n")
    result = cli("config", "check", str(config))
    assert result.code == 2 and "alerts.webhook" in result.stderr and "Traceback" not in result.stderr
