"""Disk cost of keeping every fetched page's text (for `report --rematch`), per 10,000 pages.

Crawls N generated pages of the demo site (/gen/<i>: about 2 KB of HTML and 1.7 KB of
visible text each) with `netpatrol run`, once with `analytics.keep_text: true` and once
with `false`, into fresh SQLite stores, and measures with SQLite's dbstat what the
`documents` table (rows plus primary-key index) occupies, and the compressed text alone.

    .venv/bin/python bench/text_storage.py [--pages 10000]

Prints a table and writes bench/out/text_storage.json. Note: /gen/ pages are built from a
dozen sentences, so their text compresses better than typical pages; the table also shows
the raw text and the zlib ratio measured on the demo site's own listing pages (a mix of
Chinese and English product text), which is closer to real listings.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.demo.site import DemoSite  # noqa: E402
from pipelines.engine.html_text import visible_text  # noqa: E402


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


CONFIG = """\
store: {{path: np.db}}
allowed_networks: ["127.0.0.0/8"]
analytics: {{keep_text: {keep}}}
targets:
  - name: gen
    type: site
    start_urls: ["{base}/bad/pages?n={pages}"]
    follow: ["^/gen/"]
    match_urls: ["^/gen/"]
    max_pages: {limit}
    max_depth: 1
    robots: ignore
    render: never
    politeness: {{concurrency: 16, autothrottle: false}}
"""


def table_bytes(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("VACUUM")
        rows = conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()
        text = conn.execute("SELECT count(*), coalesce(sum(length(text_z)), 0) FROM documents").fetchone()
        raw = sum(len(zlib.decompress(blob)) for (blob,) in conn.execute("SELECT text_z FROM documents WHERE text_z IS NOT NULL"))
    sizes = {name: int(size) for name, size in rows}
    documents = sum(size for name, size in sizes.items() if name == "documents" or "autoindex_documents" in name)
    return {"documents_table": documents, "documents": int(text[0]), "text_z": int(text[1]), "text_raw": raw,
            "file": db.stat().st_size}


def crawl(base: str, pages: int, keep: bool) -> dict[str, int]:
    folder = Path(tempfile.mkdtemp(prefix="np-text-"))
    config = folder / "np.yml"
    config.write_text(CONFIG.format(base=base, pages=pages, limit=pages + 1, keep=str(keep).lower()), encoding="utf-8")
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "crawler.cli.main", "run", "--config", str(config), "--progress", "off"],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log(f"keep_text={keep}: {pages} pages crawled in {time.monotonic() - started:.0f} s")
    return table_bytes(folder / "np.db")


def listing_ratio(site: DemoSite) -> dict[str, float]:
    """Raw and zlib sizes of the demo listings' extracted text, a closer stand-in for real listings."""
    import urllib.request

    raw = packed = 0
    for listing in site.listings():
        with urllib.request.urlopen(f"{site.base_url}/item/{listing['id']}") as response:  # noqa: S310 - loopback
            title, text = visible_text(response.read().decode("utf-8"))
        blob = f"{title}\x00{text}".encode()
        raw += len(blob)
        packed += len(zlib.compress(blob, 6))
    count = len(site.listings())
    return {"pages": count, "raw_per_page": raw / count, "zlib_per_page": packed / count, "ratio": raw / packed}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=10_000)
    args = parser.parse_args()
    with DemoSite() as site:
        base = site.start()
        with_text = crawl(base, args.pages, True)
        without = crawl(base, args.pages, False)
        listings = listing_ratio(site)
    per = 10_000 / with_text["documents"]
    result: dict[str, Any] = {
        "pages": with_text["documents"],
        "documents_table_with_text": with_text["documents_table"],
        "documents_table_without_text": without["documents_table"],
        "text_z_bytes": with_text["text_z"],
        "text_raw_bytes": with_text["text_raw"],
        "store_file_with_text": with_text["file"],
        "store_file_without_text": without["file"],
        "listings": listings,
    }
    (ROOT / "bench" / "out").mkdir(parents=True, exist_ok=True)
    (ROOT / "bench" / "out" / "text_storage.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    mb = 1024 * 1024
    print(f"pages examined: {result['pages']:,}   (figures scaled to 10,000 pages)")
    print(f"{'':44}{'keep_text: true':>18}{'keep_text: false':>18}{'ratio':>8}")
    print(f"{'documents table (rows + key index), MiB':44}{with_text['documents_table'] * per / mb:>18.2f}"
          f"{without['documents_table'] * per / mb:>18.2f}{with_text['documents_table'] / without['documents_table']:>8.2f}")
    print(f"{'whole store file (VACUUMed), MiB':44}{with_text['file'] * per / mb:>18.2f}"
          f"{without['file'] * per / mb:>18.2f}{with_text['file'] / without['file']:>8.2f}")
    print(f"{'compressed text alone, MiB':44}{with_text['text_z'] * per / mb:>18.2f}"
          f"   (raw {with_text['text_raw'] * per / mb:.2f} MiB, zlib ratio {with_text['text_raw'] / with_text['text_z']:.2f})")
    print(f"demo listing pages ({listings['pages']}): {listings['raw_per_page']:.0f} B text -> "
          f"{listings['zlib_per_page']:.0f} B zlib per page (ratio {listings['ratio']:.2f}); "
          f"10,000 such pages: {listings['zlib_per_page'] * 10_000 / mb:.2f} MiB of text")
    return 0


if __name__ == "__main__":
    sys.exit(main())
