"""What a round's summary says about rendering: pages that needed a browser nobody had, and how to get one."""

from __future__ import annotations

from typing import Iterable

from crawler.render.browser import INSTALL_HINT
from pipelines.stores.base import Run


def browser_notes(runs: Iterable[Run]) -> list[str]:
    """One line per run whose pages needed JavaScript without a browser, then how to install Chromium."""
    notes = []
    for run in runs:
        needs = int(run.stats.get("netpatrol/render/needs_js", 0))
        unrendered = int(run.stats.get("netpatrol/render/unrendered", 0))
        problem = run.stats.get("netpatrol/render/browser_problem")
        if needs:
            notes.append(f"run {run.id}: {needs} page(s) need JavaScript and no browser was available"
                         + (f" ({problem})" if problem else "")
                         + "; they are counted as `needs_js` errors, not as empty pages")
        elif unrendered:
            notes.append(f"run {run.id}: {unrendered} page(s) configured for rendering were fetched without a browser")
    if notes:
        notes.append(f"to render JavaScript pages, {INSTALL_HINT}")
    return notes
