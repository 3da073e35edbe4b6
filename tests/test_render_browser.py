"""Finding Chromium, the per-target render settings and the config keys for rendering (no browser is launched)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from crawler.config.schema import load_config
from pipelines.errors import ConfigError
from crawler.render import browser as browser_mod
from crawler.render.browser import ENV_VAR, HANDLER, find_browser, render_settings
from crawler.render.handler import RenderOptions
from scrapy.settings import Settings

BASE = """
store: {path: data/np.db}
targets:
  - name: market
    type: site
    start_urls: ["http://example.com/"]
"""


def fake_binary(folder: Path, name: str = "chromium") -> Path:
    path = folder / name
    path.write_text("\x7fELF not really\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_configured_path_wins_and_a_missing_one_means_no_browser(make_config, tmp_path: Path) -> None:
    binary = fake_binary(tmp_path)
    loaded = load_config(make_config(BASE + f"browser: {{executable_path: {binary}}}\n"))
    lookup = find_browser(loaded.config.browser, loaded, environ={ENV_VAR: "/elsewhere/chromium"})
    assert (lookup.path, lookup.source) == (binary, "browser.executable_path")

    loaded = load_config(make_config(BASE + "browser: {executable_path: bin/missing-chromium}\n"))
    lookup = find_browser(loaded.config.browser, loaded, environ={ENV_VAR: str(binary)})
    assert lookup.path is None  # never a silent fall back to another binary
    assert lookup.problem == f"browser.executable_path {tmp_path / 'bin/missing-chromium'} does not exist"


def test_environment_variable_comes_second(make_config, tmp_path: Path) -> None:
    binary = fake_binary(tmp_path)
    loaded = load_config(make_config(BASE))
    lookup = find_browser(loaded.config.browser, loaded, environ={ENV_VAR: str(binary)})
    assert (lookup.path, lookup.source) == (binary, ENV_VAR)
    not_executable = tmp_path / "chromium.txt"
    not_executable.write_text("x")
    lookup = find_browser(loaded.config.browser, loaded, environ={ENV_VAR: str(not_executable)})
    assert lookup.path is None and lookup.problem and "is not an executable file" in lookup.problem


def test_debian_default_prefers_the_real_binary_over_the_wrapper(monkeypatch, tmp_path: Path) -> None:
    wrapper = tmp_path / "usr-bin-chromium"
    wrapper.write_text("#!/bin/sh\nexec /usr/lib/chromium/chromium \"$@\"\n")
    wrapper.chmod(0o755)
    real = fake_binary(tmp_path, "real-chromium")
    monkeypatch.setattr(browser_mod, "DEBIAN_WRAPPER", wrapper)
    monkeypatch.setattr(browser_mod, "DEBIAN_BINARY", real)
    assert find_browser(None, environ={}).path == real
    monkeypatch.setattr(browser_mod, "DEBIAN_BINARY", tmp_path / "absent")
    assert find_browser(None, environ={}).path == wrapper
    monkeypatch.setattr(browser_mod, "DEBIAN_WRAPPER", tmp_path / "absent-too")
    lookup = find_browser(None, environ={})
    assert lookup.path is None and "does not exist" in (lookup.problem or "")


def test_handler_is_installed_only_when_a_target_may_render_and_a_browser_exists(make_config, tmp_path: Path) -> None:
    binary = fake_binary(tmp_path)
    body = BASE + """  - name: plain
    type: site
    render: never
    start_urls: ["http://example.com/"]
  - name: app
    type: site
    render: always
    start_urls: ["http://example.com/"]
    actions: {wait_for: "ul.listings li", scroll: 3, timeout: 12}
browser: {max_pages: 2, timeout: 20}
"""
    loaded = load_config(make_config(body))
    found = find_browser(loaded.config.browser, loaded, environ={ENV_VAR: str(binary)})
    auto, never, always = loaded.config.targets
    assert render_settings(loaded, auto, found)["DOWNLOAD_HANDLERS"] == {"http": HANDLER, "https": HANDLER}
    assert "DOWNLOAD_HANDLERS" not in render_settings(loaded, never, found)
    settings = render_settings(loaded, always, found)
    assert settings["PLAYWRIGHT_MAX_PAGES_PER_CONTEXT"] == 2
    assert settings["NETPATROL_RENDER_TIMEOUT"] == 12  # the target's actions.timeout beats browser.timeout
    assert settings["PLAYWRIGHT_LAUNCH_OPTIONS"]["executable_path"] == str(binary)
    assert settings["NETPATROL_RENDER_TIMEOUT"] * 1000 == settings["PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT"]
    missing = find_browser(loaded.config.browser, loaded, environ={ENV_VAR: str(tmp_path / "nope")})
    settings = render_settings(loaded, auto, missing)
    assert "DOWNLOAD_HANDLERS" not in settings and settings["NETPATROL_BROWSER_PROBLEM"]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("    render: sometimes\n", "targets[0].render: Input should be 'never', 'always' or 'auto'"),
        ("    render: never\n    render_urls: ['^/app/']\n",
         "targets[0]: render_urls needs rendering, but render is 'never'"),
        ("    render: never\n    actions: {scroll: 3}\n", "targets[0]: actions run on rendered pages only"),
        ("    render_urls: ['(']\n", "targets[0].render_urls: invalid regex '('"),
        ("    actions: {click: 'button[', click_times: 3}\n", "targets[0].actions.click: invalid CSS selector"),
        ("    actions: {scroll: -1}\n", "targets[0].actions.scroll: Input should be greater than or equal to 0"),
        ("    actions: {srcoll: 3}\n", "targets[0].actions.srcoll: unknown field"),
        ("browser: {max_pages: 0}\n", "browser.max_pages: Input should be greater than or equal to 1"),
        ("browser: {block_resources: [images]}\n", "browser.block_resources[0]: Input should be"),
    ],
)
def test_render_config_errors_are_one_line_with_the_key_path(make_config, extra: str, expected: str) -> None:
    path = make_config(BASE + extra)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    assert expected in message, message


def test_playwright_selectors_are_accepted(make_config) -> None:
    loaded = load_config(make_config(BASE + "    actions: {wait_for: 'text=加载完成', click: 'button:has-text(\"更多\")'}\n"))
    actions = loaded.config.targets[0].actions
    assert actions is not None and actions.click_times == 5 and actions.timeout is None


def test_render_options_refuse_impossible_settings() -> None:
    settings = Settings({"NETPATROL_RENDER_TIMEOUT": 0})
    with pytest.raises(ValueError, match="NETPATROL_RENDER_TIMEOUT must be positive"):
        RenderOptions.from_settings(settings)
    options = RenderOptions.from_settings(Settings({"NETPATROL_RENDER_TIMEOUT": 7, "NETPATROL_RENDER_BLOCK": ["image"]}))
    assert options.deadline == 7 * 2 + 5 and options.block_types == frozenset({"image"})
    assert options.context_kwargs()["accept_downloads"] is False
    assert options.context_kwargs()["service_workers"] == "block"


def test_example_config_documents_the_render_keys() -> None:
    example = Path(__file__).resolve().parents[1] / "config" / "examples" / "netpatrol.yml"
    loaded = load_config(example)
    text = example.read_text(encoding="utf-8")
    for key in ("render:", "render_urls:", "actions:", "browser:", "executable_path:", "max_pages:"):
        assert key in text, key
    assert loaded.config.browser.max_pages == 4  # what the example documents ("default 4")
