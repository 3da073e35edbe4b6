"""Config validation: one line naming the file, the key path and the problem; exit 2; no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.config.schema import load_config
from pipelines.errors import ConfigError

VALID = """
store: {backend: sqlite, path: data/np.db}
targets:
  - name: market
    type: site
    start_urls: ["http://example.com/"]
    follow: ["/c/", "/item/"]
  - name: market-search
    type: search
    url: "http://example.com/search?q={query}&page={page}"
    queries: ["赌博"]
    selectors: {result: "li.result", title: "a::text", url: "a::attr(href)"}
"""


def _error(make_config, body: str) -> str:
    path = make_config(body)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert "\n" not in message
    return message


def test_valid_config_loads_and_resolves_relative_paths(make_config, tmp_path: Path) -> None:
    loaded = load_config(make_config(VALID))
    assert [t.name for t in loaded.config.targets] == ["market", "market-search"]
    assert loaded.store_path == tmp_path / "data" / "np.db"
    assert loaded.config.targets[0].robots == "obey"
    assert loaded.config.targets[0].politeness.autothrottle is True


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (VALID.replace('snippet', 'x').replace('url: "a::attr(href)"}', 'url: "a::attr(href)", result2: x}'),
         "targets[1].selectors.result2: unknown field"),
        (VALID.replace("max_pages", "x").replace('follow: ["/c/", "/item/"]', 'follow: ["/c/"]\n    max_pages: lots'),
         "targets[0].max_pages: Input should be a valid integer"),
        (VALID.replace('follow: ["/c/", "/item/"]', 'follow: ["(unclosed"]'), "targets[0].follow: invalid regex '(unclosed'"),
        (VALID.replace("market-search", "market"), "targets: two targets are named 'market'"),
        (VALID.replace("type: search", "type: searchx"), "targets[1]: Input tag 'searchx'"),
        (VALID.replace('result: "li.result"', 'result: "li[["'), "targets[1].selectors.result: invalid CSS selector"),
        (VALID.replace("?q={query}&page={page}", "?q=x"), "targets[1].url: the URL template must contain {query}"),
        (VALID.replace("backend: sqlite", "backend: mysql"), "store.backend: Input should be 'sqlite' or 'elasticsearch'"),
        ("targets: 5\n", "targets: Input should be a valid list"),
        ("- a\n- b\n", "(top level): expected a mapping"),
    ],
)
def test_invalid_config_names_path_and_problem(make_config, body: str, expected: str) -> None:
    assert expected in _error(make_config, body)


def test_yaml_syntax_error_names_line(make_config) -> None:
    message = _error(make_config, "targets:\n  - name: [unclosed\n")
    assert "invalid YAML" in message and "line " in message


def test_cli_config_check_exit_codes(cli, make_config) -> None:
    good = cli("config", "check", str(make_config(VALID)))
    assert good.code == 0, good.stderr
    assert "2 target(s)" in good.stdout

    bad = make_config(VALID.replace("max_depth", "x").replace("follow:", "folow:"), name="bad.yml")
    result = cli("config", "check", str(bad))
    assert result.code == 2
    assert result.stderr.strip() == f"netpatrol: {bad}: targets[0].folow: unknown field"
    assert "Traceback" not in result.stderr


def test_missing_config_file(cli, tmp_path: Path) -> None:
    result = cli("run", "--config", str(tmp_path / "nope.yml"))
    assert result.code == 2
    assert "nope.yml: file not found" in result.stderr
