"""`netpatrol evidence URL`: the evidence kept for an item, each file checked against its recorded SHA-256."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from crawler.config.schema import LoadedConfig
from pipelines.evidence import read_evidence
from crawler.config.stores import open_store
from pipelines.urls import canonical_url


def verify(path: Path, kind: str, sha256: str) -> str:
    """`ok` when the file's content still hashes to `sha256`; `missing` or `modified` otherwise."""
    try:
        content = read_evidence(path, kind)
    except FileNotFoundError:
        return "missing"
    except (OSError, EOFError, ValueError):
        return "modified"
    return "ok" if hashlib.sha256(content).hexdigest() == sha256 else "modified"


def list_evidence(loaded: LoadedConfig, url: str, run_id: str | None = None) -> list[dict[str, Any]]:
    """Evidence rows of the item at `url` (any run, or `run_id`), oldest first, with absolute paths and checks."""
    with open_store(loaded) as store:
        rows = store.evidence(canonical_url(url), run_id)
    for row in rows:
        path = Path(row["path"])
        absolute = path if path.is_absolute() else loaded.data_dir / path
        row["file"] = str(absolute)
        row["check"] = verify(absolute, row["kind"], row["sha256"])
    return rows


def print_evidence(url: str, rows: list[dict[str, Any]], console: Console) -> None:
    if not rows:
        console.print(f"no evidence kept for {url} (it was never a hit, or it was seen before evidence was kept)")
        return
    table = Table(title=f"Evidence for {rows[0]['url']}", title_justify="left")
    for column in ("Fetched (UTC)", "Run", "Kind", "SHA-256", "Bytes", "Check", "File"):
        table.add_column(column, overflow="fold", justify="right" if column == "Bytes" else "left")
    for row in rows:
        style = "green" if row["check"] == "ok" else "red"
        table.add_row(row["fetched_at"][:19], row["run_id"], row["kind"], row["sha256"], f"{row['size']:,}",
                      f"[{style}]{row['check']}[/]", row["file"])
    console.print(table)
