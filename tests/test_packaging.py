"""The wheel carries every package and the shipped data: the default rules must be found when installed."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _declared_packages() -> set[str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return set(data["tool"]["setuptools"]["packages"])


def test_every_source_package_is_declared() -> None:
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("crawler", "pipelines")
        for init in (ROOT / top).rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    assert found - _declared_packages() == set(), "add these to [tool.setuptools] packages in pyproject.toml"


def test_wheel_contains_rules_and_data(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("netpatrol-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for rule_file in (ROOT / "config" / "rules").glob("*.yaml"):
        assert f"netpatrol_config/rules/{rule_file.name}" in names
    for data_file in [*(ROOT / "config").rglob("*.json"), *(ROOT / "config").rglob("*.ndjson"),
                      *(ROOT / "config" / "opencc").glob("*.ocd2")]:
        assert "netpatrol_config/" + data_file.relative_to(ROOT / "config").as_posix() in names
    assert "crawler/demo/catalog.yaml" in names
    assert "crawler/cli/main.py" in names
    for package in [*ROOT.glob("crawler/**/__init__.py"), *ROOT.glob("pipelines/**/__init__.py")]:
        assert package.relative_to(ROOT).as_posix() in names, f"{package} is missing from pyproject packages"
