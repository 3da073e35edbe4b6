"""The import direction of ARCHITECTURE.md, enforced: pipelines/ never imports crawler/, and the
engine and stores stay below the Scrapy pipelines that use them."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# package (path prefix) -> module prefixes it must never import
FORBIDDEN = {
    "pipelines": ("crawler",),
    "pipelines/engine": ("crawler", "pipelines.stores", "pipelines.runtime", "pipelines.matching", "pipelines.storage",
                         "pipelines.evidence", "pipelines.archive", "pipelines.dedupe", "pipelines.extract", "scrapy"),
    "pipelines/stores": ("crawler", "pipelines.engine", "pipelines.runtime", "pipelines.matching", "pipelines.storage",
                         "pipelines.evidence", "pipelines.archive", "pipelines.dedupe", "pipelines.extract", "scrapy"),
}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module an `import` or `from … import` names in `path`, with its line (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found.extend((node.lineno, f"{module}.{alias.name}") for alias in node.names)
    return found


def violations() -> list[str]:
    problems = []
    for layer, banned in FORBIDDEN.items():
        for path in sorted((ROOT / layer).rglob("*.py")):
            for line, module in imported_modules(path):
                for prefix in banned:
                    if module == prefix or module.startswith(prefix + "."):
                        problems.append(f"{path.relative_to(ROOT)}:{line} imports {module} ({layer}/ must not import {prefix})")
    return sorted(set(problems))


def test_imports_only_run_downward() -> None:
    assert violations() == []


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    bad = ROOT / "pipelines" / "_probe_upward_import.py"
    bad.write_text("from crawler.config.schema import load_config\n", encoding="utf-8")
    try:
        assert violations() == [
            "pipelines/_probe_upward_import.py:1 imports crawler.config.schema (pipelines/ must not import crawler)",
            "pipelines/_probe_upward_import.py:1 imports crawler.config.schema.load_config "
            "(pipelines/ must not import crawler)",
        ]
    finally:
        bad.unlink()
