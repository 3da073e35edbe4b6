"""The workbench in real Chromium (Playwright) against `netpatrol serve` on a free loopback port.

One server per module: the demo site is patrolled twice, users are added through the CLI,
and every test drives the browser as an analyst would.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from conftest import ROOT, run_cli, write_config

from crawler.config.schema import load_config
from crawler.config.stores import open_store

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("NETPATROL_SHOTS")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(site_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("web")
    config = write_config(folder, f"""
        store: {{path: data/np.db}}
        allowed_networks: ["127.0.0.0/8"]
        tips: {{allowed_networks: ["127.0.0.1/32"], render: never, rate_limit: 5}}
        web: {{kibana_url: "http://127.0.0.1:5601"}}
        targets:
          - name: market
            type: site
            start_urls: ["{site_server.base_url}/"]
            follow: ["^/c/", "^/item/"]
            match_urls: ["^/item/"]
            max_pages: 300
            render: never
            politeness: {{concurrency: 8, autothrottle: false}}
        """)
    for _ in range(2):
        result = run_cli("run", "--config", str(config), "--progress", "off")
        assert result.code == 0, result.stderr
    for name, role in (("rita", "reviewer"), ("vic", "viewer")):
        proc = subprocess.run([sys.executable, "-m", "crawler.cli.main", "users", "add", name, "--role", role,
                               "--config", str(config), "--password-stdin"], input=f"pw-{name}-123\n", text=True,
                              capture_output=True, cwd=ROOT)
        assert proc.returncode == 0, proc.stderr
    port = free_port()
    child = subprocess.Popen([sys.executable, "-m", "crawler.cli.main", "serve", "--config", str(config),
                              "--port", str(port)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    for _ in range(200):  # until it listens (bounded)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=os.environ.get("NETPATROL_CHROMIUM", "/usr/lib/chromium/chromium"),
                                     headless=True)
        try:
            yield {"base": f"http://127.0.0.1:{port}", "config": config, "browser": browser, "site": site_server}
        finally:
            browser.close()
            child.terminate()
            child.wait(timeout=10)


def login(server: dict[str, Any], name: str) -> Any:
    page = server["browser"].new_page(viewport={"width": 1400, "height": 900})
    page.goto(server["base"] + "/")
    assert page.url.startswith(server["base"] + "/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", f"pw-{name}-123")
    page.click("button[type=submit]")
    page.wait_for_url(server["base"] + "/")
    return page


def precision(config: Path) -> list[dict[str, Any]]:
    result = run_cli("rules", "precision", "--config", str(config), "--format", "json")
    assert result.code == 0, result.stderr
    return list(json.loads(result.stdout))


def test_keyboard_triage_changes_the_queue_and_rule_precision(server: dict[str, Any]) -> None:
    before = precision(server["config"])
    assert sum(r["confirmed"] + r["dismissed"] for r in before) == 0
    page = login(server, "rita")
    count = page.locator("#queue-count")
    total = int(count.get_attribute("data-count"))
    urls = page.locator("tr.hit").evaluate_all("rows => rows.slice(0, 4).map(r => r.dataset.url)")
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/queue.png", full_page=False)
    page.keyboard.press("c")  # confirm the first
    page.wait_for_selector(f"#queue-count[data-count='{total - 1}']")
    page.keyboard.press("j")  # skip the (new) first, land on the second
    page.keyboard.press("k")  # back up
    page.keyboard.press("j")
    page.keyboard.press("d")  # dismiss urls[2]
    page.wait_for_selector(f"#queue-count[data-count='{total - 2}']")
    page.keyboard.press("k")
    page.keyboard.press("c")  # confirm urls[1]
    page.wait_for_selector(f"#queue-count[data-count='{total - 3}']")
    page.reload()
    assert page.locator("#queue-count").get_attribute("data-count") == str(total - 3)
    remaining = set(page.locator("tr.hit").evaluate_all("rows => rows.map(r => r.dataset.url)"))
    assert not remaining & set(urls[:3]) and urls[3] in remaining
    with open_store(load_config(server["config"])) as store:
        verdicts = {v.url: v.verdict for v in store.verdicts().values()}
        audit = [e for e in store.audit(50) if e.action == "triage"]
    assert verdicts == {urls[0]: "confirmed", urls[2]: "dismissed", urls[1]: "confirmed"}
    assert [e.user for e in audit] == ["rita"] * 3
    after = precision(server["config"])
    assert sum(r["confirmed"] for r in after) > 0 and sum(r["dismissed"] for r in after) > 0
    assert any(r["precision"] is not None for r in after)
    page.close()


def test_a_hit_shows_its_evidence_and_it_opens_by_id(server: dict[str, Any]) -> None:
    page = login(server, "vic")
    page.locator("tr.hit a").first.click()
    page.wait_for_selector("#page-text")
    assert page.locator("#page-text mark").count() >= 1  # matched spans highlighted
    assert page.locator("td.check").first.inner_text() == "ok"
    assert "127.0.0.1:5601/app/discover" in page.locator("a", has_text="Discover").get_attribute("href")
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/hit.png", full_page=True)
    title = page.locator("h1.hit-title").inner_text()
    with page.expect_popup() as popup:
        page.locator("a.evidence-link").first.click()
    evidence = popup.value
    evidence.wait_for_load_state()
    assert "/evidence/" in evidence.url and title.strip()[:6] in evidence.content()
    page.close()


def test_a_tip_is_fetched_matched_and_confirmed(server: dict[str, Any]) -> None:
    page = login(server, "rita")
    page.goto(server["base"] + "/tip")
    tipped = f"{server['site'].base_url}/gen/40"
    page.fill("input[name=url]", tipped)
    page.fill("textarea[name=note]", "赌博网站")
    page.click("button[type=submit]")
    assert "received as" in page.locator("#tip-done").inner_text()
    page.goto(server["base"] + "/tips")
    row = page.locator(f"tr[data-url='{tipped}'] td.outcome")
    for _ in range(120):  # the check runs in a child process; wait for its outcome (bounded)
        if row.inner_text() != "queued":
            break
        time.sleep(0.5)
        page.reload()
    assert row.inner_text() == "confirmed"
    page.close()


def test_a_tip_for_an_internal_address_is_refused_before_any_connection(server: dict[str, Any]) -> None:
    internal = socket.socket()
    internal.bind(("127.0.0.2", 0))
    internal.listen(4)
    internal.setblocking(False)
    page = server["browser"].new_page()  # the public form needs no login
    for url in (f"http://127.0.0.2:{internal.getsockname()[1]}/", "http://10.20.30.40/", "ftp://127.0.0.1/x"):
        page.goto(server["base"] + "/tip")
        page.fill("input[name=url]", url)
        page.evaluate("document.querySelector('input[name=url]').type = 'text'")
        page.click("button[type=submit]")
        assert page.locator("#tip-error").count() == 1, url
    with pytest.raises(BlockingIOError):
        internal.accept()
    internal.close()
    with open_store(load_config(server["config"])) as store:
        assert not [t for t in store.tips() if "127.0.0.2" in t.url or "10.20.30.40" in t.url]
    page.close()


def test_the_report_page_charts_carry_the_report_figures(server: dict[str, Any]) -> None:
    page = login(server, "vic")
    page.goto(server["base"] + "/report")
    baseline = page.locator("input[name=baseline]").input_value()
    compare = page.locator("input[name=compare]").input_value()
    frame = page.frame_locator("#report-frame")
    bar = frame.locator("rect.bar[data-window='compare']").first
    key, value = bar.get_attribute("data-key"), float(bar.get_attribute("data-value"))
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/report.png", full_page=True)
    result = run_cli("report", "--config", str(server["config"]), "--baseline", baseline, "--compare", compare,
                     "--format", "json")
    report = json.loads(result.stdout)
    assert report["by_category"][key]["compare"] == value
    unit = page.locator("#unit-league tr[data-unit='京ICP备20240001号'] td")
    assert unit.nth(6).inner_text() == str(report["units"]["league"][0]["items"])  # the unit's items, a number
    assert page.locator("#tips-section").count() == 1
    page.close()


def test_a_viewer_cannot_triage(server: dict[str, Any]) -> None:
    page = login(server, "vic")
    assert page.locator("tr.hit form").count() == 0  # no buttons for viewers
    count = page.locator("#queue-count").get_attribute("data-count")
    page.keyboard.press("c")
    page.wait_for_selector("#flash:has-text('refused')")
    token = page.locator("meta[name=csrf-token]").get_attribute("content")
    url = page.locator("tr.hit").first.get_attribute("data-url")
    answer = page.request.post(server["base"] + "/triage", form={"url": url, "verdict": "confirmed", "csrf": token})
    assert answer.status == 403
    page.reload()
    assert page.locator("#queue-count").get_attribute("data-count") == count
    page.close()


def test_a_forged_csrf_token_is_refused(server: dict[str, Any]) -> None:
    page = login(server, "rita")
    url = page.locator("tr.hit").first.get_attribute("data-url")
    for form in ({"url": url, "verdict": "confirmed", "csrf": "forged"}, {"url": url, "verdict": "confirmed"}):
        answer = page.request.post(server["base"] + "/triage", form=form)
        assert answer.status == 403 and "CSRF" in answer.text()
    with open_store(load_config(server["config"])) as store:
        assert url not in {v.url for v in store.verdicts().values()}
    page.close()


def test_evidence_is_served_by_id_only(server: dict[str, Any]) -> None:
    page = login(server, "vic")
    for path in ("/evidence/..%2F..%2Fdata%2Fnp.db", "/evidence/..%2f..%2f..%2fetc%2fpasswd", "/evidence/%2Fetc%2Fpasswd",
                 "/evidence/" + "0" * 64, "/evidence/evidence/x.png"):
        answer = page.request.get(server["base"] + path)
        assert answer.status == 404, path
        assert b"root:" not in answer.body() and b"SQLite" not in answer.body()
    page.close()
