"""Analysts' CSV files (triage decisions, tip imports): a header line, UTF-8 with or without BOM."""

from __future__ import annotations

import csv
from pathlib import Path

from pipelines.errors import UsageError


def read_rows(path: Path, required: tuple[str, ...]) -> list[dict[str, str]]:
    """Every row as {lower-case column: stripped value}; UsageError when the file or its header is unusable."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            fields = [f.strip().lower() for f in (reader.fieldnames or [])]
            if any(name not in fields for name in required):
                wanted = " and ".join(f"`{name}`" for name in required)
                raise UsageError(f"{path}: the first line must name the columns, with at least {wanted}"
                                 f" (found: {', '.join(fields) or 'nothing'})")
            return [{(k or "").strip().lower(): (v or "").strip() for k, v in row.items()} for row in reader]
    except FileNotFoundError:
        raise UsageError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"{path}: cannot read: {exc}") from None
