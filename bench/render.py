"""Rendering JavaScript pages: netpatrol against a raw Playwright loop, memory over a long run, auto vs always vs never.

Everything runs against the demo site on 127.0.0.1 (served by this process) and the same
Chromium binary. Three measurements, side by side in one run:

1. Throughput: N JavaScript-only pages (/js/gen/<i>: text fetched by script) rendered by
   `netpatrol run` (render: always, the pages not matched, so no screenshots) and by a raw
   Playwright loop with the same browser, the same launch flags and the same number of
   pages open at once (new page per URL, goto until `load`, wait for the script's text,
   content(), close). Pages per second are measured on the server, from the first page
   request to the last script request, so process and browser start-up count for neither.
   Rounds alternate (raw, netpatrol, raw, ...) and the best round of each is compared.
2. Memory: one `netpatrol run` rendering --memory-pages pages (matched, with evidence as usual);
   resident memory of the crawler process and of the browser (Playwright's driver and every
   Chromium process: RSS and PSS summed) every 100 pages served, from 100 to 1,000.
3. Mixed site: /mixed/?n=M, where every 20th page (5%) is JavaScript-only, crawled with
   `render: auto`, `always` and `never`: wall time of each run and its hits; auto must find
   everything always finds.

    .venv/bin/python bench/render.py [--pages 200] [--rounds 2] [--memory-pages 1100] [--mixed 400]

Prints a table and writes bench/out/render.json. It takes a few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.config.schema import BrowserConfig  # noqa: E402
from crawler.demo.site import DemoSite  # noqa: E402
from crawler.render.browser import find_browser, launch_args  # noqa: E402

MAX_PAGES = 4  # pages open at once, for both netpatrol and the raw loop
MARKS = tuple(range(100, 1001, 100))  # samples every 100 pages; growth is reported from 100 to 1,000


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


class TimedSite(DemoSite):
    """The demo site, with the time of every request (the bench's clock for pages per second)."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[tuple[float, str]] = []

    def _record(self, path: str) -> None:
        super()._record(path)
        self.times.append((time.monotonic(), path))

    def reset_times(self) -> None:
        self.times = []
        self.clear_log()

    def served(self, prefix: str) -> int:
        return sum(1 for _, p in list(self.times) if p.startswith(prefix))

    def span(self, first_prefix: str, last_prefix: str) -> float:
        starts = [t for t, p in self.times if p.startswith(first_prefix)]
        ends = [t for t, p in self.times if p.startswith(last_prefix)]
        return max(ends) - min(starts)


# --------------------------------------------------------------------------- netpatrol runs


BROWSER_EXTRA = ""  # extra `browser:` keys from the command line (--recycle-after)


def write_config(folder: Path, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "netpatrol.yml"
    path.write_text(
        "store: {path: data/np.db}\nallowed_networks: ['127.0.0.1/32']\n"
        f"browser: {{max_pages: {MAX_PAGES}, timeout: 30{BROWSER_EXTRA}}}\ntargets:\n" + body,
        encoding="utf-8",
    )
    return path


def netpatrol_run(config: Path, watch: Callable[[subprocess.Popen[str]], None] | None = None) -> tuple[float, int]:
    """Run `netpatrol run` in a child process; return (wall seconds, exit code)."""
    env = dict(os.environ, NETPATROL_PROGRESS="off")
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "crawler.cli.main", "run", "--config", str(config), "--progress", "off"],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if watch is not None:
        threading.Thread(target=watch, args=(process,), daemon=True).start()
    _, stderr = process.communicate(timeout=3600)
    if process.returncode != 0:
        log(f"netpatrol run failed ({process.returncode}): {stderr[-2000:]}")
    return time.monotonic() - started, process.returncode


def run_row(config: Path, target: str) -> dict[str, Any]:
    with sqlite3.connect(config.parent / "data" / "np.db") as db:
        row = db.execute("SELECT id, status, pages, errors, hits, stats FROM runs WHERE target=? ORDER BY started_at DESC",
                         (target,)).fetchone()
        hits = {u for (u,) in db.execute("SELECT canonical_url FROM observations WHERE run_id=?", (row[0],))}
    return {"status": row[1], "pages": row[2], "errors": row[3], "hits": row[4], "stats": json.loads(row[5]),
            "hit_urls": hits}


# --------------------------------------------------------------------------- raw Playwright


async def raw_loop(executable: str, urls: list[str], concurrency: int) -> None:
    """The hand-written baseline: same browser and flags, `concurrency` pages at once, a new page per URL."""
    from playwright.async_api import async_playwright

    queue: asyncio.Queue[str] = asyncio.Queue()
    for url in urls:
        queue.put_nowait(url)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable, headless=True, args=launch_args(BrowserConfig()), timeout=30_000
        )
        context = await browser.new_context(viewport={"width": 1280, "height": 900})

        async def worker() -> None:
            while not queue.empty():
                url = queue.get_nowait()
                page = await context.new_page()
                try:
                    await page.goto(url, wait_until="load", timeout=30_000)
                    await page.wait_for_selector("#app p", timeout=30_000)
                    await page.content()
                finally:
                    await page.close()

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        await browser.close()


# --------------------------------------------------------------------------- memory sampling


@dataclass
class Sample:
    pages: int
    crawler_rss_mb: float
    browser_rss_mb: float
    browser_pss_mb: float
    browser_processes: int


def sample_memory(pid: int, pages: int) -> Sample:
    crawler = psutil.Process(pid)
    rss = pss = 0.0
    count = 0
    for child in crawler.children(recursive=True):
        try:
            info = child.memory_full_info()
        except psutil.Error:
            continue
        rss += info.rss
        pss += getattr(info, "pss", info.rss)
        count += 1
    mb = 1024 * 1024
    return Sample(pages, crawler.memory_info().rss / mb, rss / mb, pss / mb, count)


# --------------------------------------------------------------------------- the three measurements


def bench_throughput(site: TimedSite, executable: str, work: Path, pages: int, rounds: int) -> dict[str, Any]:
    base = site.base_url
    urls = [f"{base}/js/gen/{i}" for i in range(pages)]
    config = write_config(work / "throughput", f"""
  - name: gen
    type: site
    render: always
    robots: ignore
    start_urls: ["{base}/js/pages?n={pages}"]
    follow: ["^/js/gen/"]
    match_urls: ["^/nothing-is-matched$"]
    max_pages: {pages + 10}
    politeness: {{concurrency: {MAX_PAGES}, autothrottle: false, retries: 0}}
""")
    results: dict[str, list[float]] = {"raw": [], "netpatrol": []}
    for round_no in range(1, rounds + 1):
        site.reset_times()
        asyncio.run(raw_loop(executable, urls, MAX_PAGES))
        assert site.served("/js/api/gen/") == pages, "the raw loop missed pages"
        results["raw"].append(pages / site.span("/js/gen/", "/js/api/gen/"))
        log(f"throughput round {round_no}: raw Playwright {results['raw'][-1]:.1f} pages/s")

        site.reset_times()
        netpatrol_run(config)
        row = run_row(config, "gen")
        assert row["pages"] == pages + 1 and row["errors"] == 0, row
        results["netpatrol"].append(pages / site.span("/js/gen/", "/js/api/gen/"))
        log(f"throughput round {round_no}: netpatrol {results['netpatrol'][-1]:.1f} pages/s")
    best_raw, best_np = max(results["raw"]), max(results["netpatrol"])
    return {"pages": pages, "rounds": rounds, "max_pages": MAX_PAGES, "raw_pages_per_s": results["raw"],
            "netpatrol_pages_per_s": results["netpatrol"], "ratio": best_np / best_raw}


def bench_memory(site: TimedSite, work: Path, pages: int) -> dict[str, Any]:
    base = site.base_url
    config = write_config(work / "memory", f"""
  - name: long
    type: site
    render: always
    robots: ignore
    start_urls: ["{base}/js/pages?n={pages}"]
    follow: ["^/js/gen/"]
    max_pages: {pages + 10}
    politeness: {{concurrency: {MAX_PAGES}, autothrottle: false, retries: 0}}
""")
    site.reset_times()
    samples: list[Sample] = []

    def watch(process: subprocess.Popen[str]) -> None:
        marks = [m for m in MARKS if m <= pages]
        while marks and process.poll() is None:
            served = site.served("/js/api/gen/")
            if served >= marks[0]:
                samples.append(sample_memory(process.pid, served))
                log(f"memory at {served} rendered pages: crawler {samples[-1].crawler_rss_mb:.0f} MB, "
                    f"browser {samples[-1].browser_pss_mb:.0f} MB PSS ({samples[-1].browser_processes} processes)")
                marks.pop(0)
            time.sleep(0.05)

    seconds, _ = netpatrol_run(config, watch)
    row = run_row(config, "long")
    out: dict[str, Any] = {"pages": pages, "seconds": seconds, "run": {k: row[k] for k in ("status", "pages", "errors", "hits")},
                           "pages_open_at_end": row["stats"].get("netpatrol/render/pages_open"),
                           "contexts_recycled": row["stats"].get("netpatrol/render/contexts_recycled", 0),
                           "errors_by_kind": {k.rsplit("/", 1)[-1]: v for k, v in row["stats"].items()
                                              if k.startswith("netpatrol/fetch/errors/")},
                           "samples": [s.__dict__ for s in samples]}
    if len(samples) >= 2 and samples[-1].pages >= 1000:
        first, last = samples[0], samples[-1]
        out["crawler_growth"] = last.crawler_rss_mb / first.crawler_rss_mb - 1
        out["browser_growth"] = last.browser_pss_mb / first.browser_pss_mb - 1
        out["browser_peak_growth"] = max(s.browser_pss_mb for s in samples) / first.browser_pss_mb - 1
    return out


def bench_mixed(site: TimedSite, work: Path, pages: int) -> dict[str, Any]:
    base = site.base_url
    out: dict[str, Any] = {"pages": pages, "js_pages": len(range(0, pages, 20))}
    hits: dict[str, set[str]] = {}
    for mode in ("never", "auto", "always"):
        config = write_config(work / f"mixed-{mode}", f"""
  - name: mixed
    type: site
    render: {mode}
    robots: ignore
    start_urls: ["{base}/mixed/?n={pages}"]
    follow: ["^/mixed/\\\\d+$"]
    match_urls: ["^/mixed/\\\\d+$"]
    max_pages: {pages + 10}
    politeness: {{concurrency: 8, autothrottle: false, retries: 0}}
""")
        site.reset_times()
        seconds, _ = netpatrol_run(config)
        row = run_row(config, "mixed")
        hits[mode] = row["hit_urls"]
        out[mode] = {"seconds": seconds, "crawl_seconds": site.span("/mixed/", "/"), "pages": row["pages"],
                     "errors": row["errors"], "hits": row["hits"],
                     "rendered": row["stats"].get("netpatrol/render/pages", 0)}
        log(f"mixed site, render: {mode}: {seconds:.1f} s, {row['pages']} pages, {row['hits']} hits, "
            f"{out[mode]['rendered']} rendered")
    out["auto_finds_all_always_finds"] = hits["always"] <= hits["auto"]
    out["missed_by_never"] = len(hits["always"] - hits["never"])
    out["auto_saves"] = 1 - out["auto"]["seconds"] / out["always"]["seconds"]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=200, help="pages per throughput round (default 200)")
    parser.add_argument("--rounds", type=int, default=2, help="throughput rounds of each (default 2)")
    parser.add_argument("--memory-pages", type=int, default=1100, help="pages of the memory run (default 1100)")
    parser.add_argument("--mixed", type=int, default=400, help="pages of the mixed site (default 400)")
    parser.add_argument("--skip", action="append", default=[], choices=["throughput", "memory", "mixed"])
    parser.add_argument("--recycle-after", type=int, help="browser.recycle_after for netpatrol's runs (default: the config default)")
    args = parser.parse_args()
    if args.recycle_after:
        global BROWSER_EXTRA
        BROWSER_EXTRA = f", recycle_after: {args.recycle_after}"

    lookup = find_browser(None)
    if not lookup.found:
        log(f"no Chromium: {lookup.problem}; run `bash scripts/chromium ensure`")
        return 1
    executable = str(lookup.path)
    results: dict[str, Any] = {"chromium": executable, "cpus": os.cpu_count(),
                               "load_average_at_start": os.getloadavg()}
    site = TimedSite()
    with tempfile.TemporaryDirectory(prefix="netpatrol-bench-render-") as tmp, site:
        work = Path(tmp)
        if "throughput" not in args.skip:
            results["throughput"] = bench_throughput(site, executable, work, args.pages, args.rounds)
        if "memory" not in args.skip:
            results["memory"] = bench_memory(site, work, args.memory_pages)
        if "mixed" not in args.skip:
            results["mixed"] = bench_mixed(site, work, args.mixed)
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "render.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    print_summary(results)
    return 0


def print_summary(results: dict[str, Any]) -> None:
    print(f"Chromium {results['chromium']}, {results['cpus']} CPUs, load at start {results['load_average_at_start'][0]:.2f}")
    if "throughput" in results:
        t = results["throughput"]
        print(f"\n1. Rendered pages/s over {t['pages']} JavaScript pages, {t['max_pages']} pages open at once (best of {t['rounds']}):")
        print(f"   raw Playwright loop   {max(t['raw_pages_per_s']):6.1f}   rounds {', '.join(f'{v:.1f}' for v in t['raw_pages_per_s'])}")
        print(f"   netpatrol             {max(t['netpatrol_pages_per_s']):6.1f}   rounds {', '.join(f'{v:.1f}' for v in t['netpatrol_pages_per_s'])}")
        print(f"   ratio netpatrol/raw   {t['ratio']:6.2f}   (target >= 0.80)")
    if "memory" in results:
        m = results["memory"]
        print(f"\n2. Memory over one run of {m['pages']} rendered pages ({m['seconds']:.0f} s; run {m['run']};"
              f" pages open at the end: {m['pages_open_at_end']}; contexts recycled: {m['contexts_recycled']};"
              f" errors by kind: {m['errors_by_kind']}):")
        print("   pages   crawler RSS MB   browser RSS MB   browser PSS MB   browser processes")
        for s in m["samples"]:
            print(f"   {s['pages']:5d}   {s['crawler_rss_mb']:14.0f}   {s['browser_rss_mb']:14.0f}   {s['browser_pss_mb']:14.0f}"
                  f"   {s['browser_processes']:17d}")
        if "crawler_growth" in m:
            print(f"   growth 100 -> 1000 pages: crawler {m['crawler_growth']:+.0%}, browser (PSS) {m['browser_growth']:+.0%}"
                  f" (highest sample {m['browser_peak_growth']:+.0%})   (target: within +20%)")
    if "mixed" in results:
        x = results["mixed"]
        print(f"\n3. Mixed site: {x['pages']} pages, {x['js_pages']} of them JavaScript-only (5%):")
        print("   render   wall s   pages   errors   rendered   hits")
        for mode in ("never", "auto", "always"):
            r = x[mode]
            print(f"   {mode:<6}   {r['seconds']:6.1f}   {r['pages']:5d}   {r['errors']:6d}   {r['rendered']:8d}   {r['hits']:4d}")
        print(f"   auto takes {1 - x['auto_saves']:.0%} of always's time (saves {x['auto_saves']:.0%});"
              f" auto finds everything always finds: {x['auto_finds_all_always_finds']};"
              f" never misses {x['missed_by_never']} hits")


if __name__ == "__main__":
    sys.exit(main())
