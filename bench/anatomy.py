"""Page text for matching: our lxml block scoring (pipelines.engine.anatomy) against trafilatura.

The labeled set, each item wrapped in the evasion suite's page templates (header, navigation,
related-listings sidebar with other items' titles, disclaimer footer), is reduced to text by each
extractor and matched with the shipped pack: milliseconds per page, recall and precision, and
whether the extractor also yields the index links the crawl needs (trafilatura does not).
Single pages, no template learning, so both see the same input.

    .venv/bin/python bench/anatomy.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines.engine.anatomy import anatomy  # noqa: E402
from pipelines.engine.evaluate import evaluate, read_labeled  # noqa: E402
from pipelines.engine.matcher import Matcher  # noqa: E402
from pipelines.engine.rules import load_rules  # noqa: E402
from pipelines.engine.transforms import wrap  # noqa: E402


def main() -> int:
    import trafilatura

    records = read_labeled(ROOT / "tests" / "data" / "labeled.jsonl")
    pages = [(r, r_wrapped["html_page"]) for r, r_wrapped in zip(records, wrap(records))]
    matcher = Matcher(load_rules())

    def ours(html: str) -> tuple[str, str]:
        a = anatomy(html, "http://x.test/item/1.html")
        return a.title, a.content()

    def traf(html: str) -> tuple[str, str]:
        text = trafilatura.extract(html, include_comments=False, include_tables=True, favor_recall=True) or ""
        meta = trafilatura.extract_metadata(html)
        return (meta.title if meta and meta.title else ""), text

    print(f"{len(pages)} template-wrapped labeled pages")
    print(f"{'extractor':<22} {'ms/page':>8} {'recall':>7} {'precision':>9} index links")
    for name, extract in (("lxml blocks (ours)", ours), ("trafilatura 2.3.1", traf)):
        start = time.perf_counter()
        texts = [extract(html) for _, html in pages]
        ms = (time.perf_counter() - start) * 1000 / len(pages)
        ev = evaluate(matcher, [{**r, "title": t or r["title"], "text": x} for (r, _), (t, x) in zip(pages, texts)])
        print(f"{name:<22} {ms:>8.2f} {ev.overall.recall:>7.3f} {ev.overall.precision:>9.3f} "
              f"{'yes' if name.startswith('lxml') else 'no'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
