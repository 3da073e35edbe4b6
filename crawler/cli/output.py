"""Terminal output shared by every command group: one console factory, one JSON printer.

Defined once so that every command prints JSON the same way (UTF-8 as is, indented) and every
table stays readable when piped into a file or a log (rich would fall back to 80 columns).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

#: Columns when the stream is not a terminal: wide enough for the report's tables on one line.
PIPED_WIDTH = 160


def console(stderr: bool = False, piped_width: int = PIPED_WIDTH) -> Console:
    """A rich console on stdout (or stderr) that keeps its width when piped."""
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else piped_width
    return Console(highlight=False, soft_wrap=False, stderr=stderr, width=width)


def print_json(value: Any) -> None:
    """JSON on stdout, non-ASCII kept as is (Chinese titles stay readable), one value per call."""
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")
