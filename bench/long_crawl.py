"""A long crawl in flat memory: pages/s and process RSS at 10k, 50k and 100k pages.

Serves a generated site of 111,111 pages (a tree: ids of 6 digits are leaves) from nginx (Debian's /usr/sbin/nginx, started here
on a free loopback port with a generated config in a temp dir, stopped after): /p/<id> is a
~2 KB page linking to /p/<id>0 .. /p/<id>9, back to / and to /p/1 (duplicates for the seen
set); ids ending in 7 carry illegal text (10% hits). Each variant crawls up to --pages pages
with `netpatrol run`'s code in a fresh process into a fresh SQLite store, and reports at
10k / 50k / 100k pages: elapsed time, pages/s and RSS. Variants, side by side:
  * memory: the site spider's seen set in memory (NETPATROL_SEEN_URLS=memory; the baseline),
  * disk:   the seen set in a SQLite scratch file (NETPATROL_SEEN_URLS=disk).
Then the seen set's own cost per URL (memory and time) is measured on its own.

    .venv/bin/python bench/long_crawl.py [--pages 100000] [--variants memory,disk]

Prints a table and writes bench/out/long_crawl.json. Takes several minutes per variant.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MILESTONES = (10_000, 50_000, 100_000)
NGINX = os.environ.get("NETPATROL_NGINX", "/usr/sbin/nginx")
FILLER = ("本店出售二手家具、旧书和闲置数码产品，欢迎同城自提，周末也营业。"
          "All items are checked before sale and come with a seven-day return window. ") * 12

NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    default_type text/html;
    charset utf-8;
    map $uri $illegal {{
        ~7$ "<p>网络赌博 真人百家乐 在线充值，首充送彩金，加 V信 bjl_888。</p>";
        default "";
    }}
    server {{
        listen 127.0.0.1:{port};
        location = / {{ return 200 '<!DOCTYPE html><html><head><title>Home</title></head><body><h1>Home</h1><a href="/p/1">start</a></body></html>'; }}
        location = /robots.txt {{ return 404; }}
        location ~ "^/p/(?<id>[0-9]{{6,}})$" {{
            return 200 '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>Page $id</title></head><body><h1>Page $id</h1>$illegal<p>{filler}</p><a href="/">home</a> <a href="/p/1">first</a></body></html>';
        }}
        location ~ "^/p/(?<id>[0-9]{{1,5}})$" {{
            return 200 '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>Page $id</title></head><body><h1>Page $id</h1>$illegal<p>{filler}</p><ul><li><a href="/p/${{id}}0">0</a></li><li><a href="/p/${{id}}1">1</a></li><li><a href="/p/${{id}}2">2</a></li><li><a href="/p/${{id}}3">3</a></li><li><a href="/p/${{id}}4">4</a></li><li><a href="/p/${{id}}5">5</a></li><li><a href="/p/${{id}}6">6</a></li><li><a href="/p/${{id}}7">7</a></li><li><a href="/p/${{id}}8">8</a></li><li><a href="/p/${{id}}9">9</a></li></ul><a href="/">home</a> <a href="/p/1">first</a></body></html>';
        }}
    }}
}}
"""

CONFIG = """\
store: {{path: np.db}}
allowed_networks: ["127.0.0.0/8"]
targets:
  - name: long
    type: site
    start_urls: ["http://127.0.0.1:{port}/"]
    follow: ["^/p/"]
    max_pages: {pages}
    max_depth: 8
    robots: ignore
    render: never
    politeness: {{concurrency: 16, autothrottle: false, retries: 0}}
"""


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Nginx:
    """nginx on a free loopback port, with its config and temp files in a temp dir."""

    def __init__(self) -> None:
        if not Path(NGINX).exists():
            raise SystemExit(f"nginx not found at {NGINX} (apt-get install nginx, or set NETPATROL_NGINX)")
        self.tmp = Path(tempfile.mkdtemp(prefix="netpatrol-nginx-"))
        self.port = free_port()
        conf = self.tmp / "nginx.conf"
        conf.write_text(NGINX_CONF.format(tmp=self.tmp, port=self.port, filler=FILLER), encoding="utf-8")
        self.proc = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(self.tmp), "-e", str(self.tmp / "error.log")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                if self.proc.poll() is not None:
                    raise SystemExit(f"nginx did not start: {self.proc.stderr.read().decode() if self.proc.stderr else ''}")
                time.sleep(0.05)
        raise SystemExit("nginx did not start listening within 10 s")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        shutil.rmtree(self.tmp, ignore_errors=True)


class Milestones:
    """Scrapy extension of the child crawl: elapsed, pages/s and RSS at each milestone, written as JSON lines."""

    def __init__(self, crawler: Any, out: str) -> None:
        self.crawler = crawler
        self.out = out
        self.started = time.monotonic()
        self.todo = list(MILESTONES)
        self.peak = 0.0

    @classmethod
    def from_crawler(cls, crawler: Any) -> "Milestones":
        from scrapy import signals

        ext = cls(crawler, crawler.settings.get("BENCH_OUT"))
        crawler.signals.connect(ext.response, signal=signals.response_received)
        crawler.signals.connect(ext.closed, signal=signals.spider_closed)
        return ext

    def _write(self, row: dict[str, Any]) -> None:
        with open(self.out, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")

    def response(self, **_: Any) -> None:
        pages = int(self.crawler.stats.get_value("netpatrol/pages", 0))
        if pages % 1000 == 0:
            self.peak = max(self.peak, rss_mib())
        if self.todo and pages >= self.todo[0]:
            mark = self.todo.pop(0)
            elapsed = time.monotonic() - self.started
            seen = getattr(self.crawler.spider, "claims", ())
            self._write({"milestone": mark, "pages": pages, "elapsed": elapsed, "pages_per_s": pages / elapsed,
                         "rss_mib": rss_mib(), "seen_urls": len(seen)})
            log(f"  {pages:,} pages in {elapsed:.0f} s ({pages / elapsed:.0f}/s), RSS {rss_mib():.0f} MiB")

    def closed(self, spider: Any, reason: str) -> None:
        stats = self.crawler.stats.get_stats()
        elapsed = time.monotonic() - self.started
        self._write({"final": True, "pages": int(stats.get("netpatrol/pages", 0)), "elapsed": elapsed,
                     "hits": int(stats.get("netpatrol/match/hits/page", 0)), "rss_mib": rss_mib(),
                     "peak_rss_mib": max(self.peak, rss_mib()), "seen_kind": stats.get("netpatrol/seen_urls"),
                     "scrapy_dupefilter_fingerprints": len(getattr(getattr(self.crawler.engine, "_slot", None),
                                                                   "scheduler", None).df.fingerprints)
                     if getattr(self.crawler.engine, "_slot", None) else None})


def child(args: argparse.Namespace) -> int:
    """One crawl, in this fresh process."""
    from crawler import settings as defaults
    from crawler.config.schema import load_config
    from crawler.runtime.runner import run_round

    loaded = load_config(Path(args.config))
    extensions = dict(defaults.EXTENSIONS)
    extensions["__main__.Milestones"] = 900
    result = run_round(loaded, progress_mode="off", extra_settings={
        "EXTENSIONS": extensions, "BENCH_OUT": args.out, "NETPATROL_SEEN_URLS": args.seen, "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "ERROR")})
    return 0 if result.runs else 1


def seen_set_cost(urls: int = 100_000) -> dict[str, dict[str, float]]:
    """Memory (tracemalloc) and time per URL of each seen set, on its own."""
    from crawler.spiders.seen_urls import DiskSeen, MemorySeen

    out: dict[str, dict[str, float]] = {}
    names = [f"http://127.0.0.1:8080/p/{i}" for i in range(urls)]
    for cls in (MemorySeen, DiskSeen):
        tracemalloc.start()
        seen = cls()
        base = tracemalloc.get_traced_memory()[0]
        start = time.perf_counter()
        for name in names:
            seen.add(name)
        for name in names[::10]:  # duplicates, as links back to known pages are
            seen.add(name)
        took = time.perf_counter() - start
        grown = tracemalloc.get_traced_memory()[0] - base
        tracemalloc.stop()
        seen.close()
        out[cls.kind] = {"bytes_per_url": grown / urls, "us_per_add": took / (urls * 1.1) * 1e6}
    plain: set[str] = set()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    plain.update(n.encode().decode() for n in names)  # fresh strings, as the spider's canonical URLs are
    out["strings (before)"] = {"bytes_per_url": (tracemalloc.get_traced_memory()[0] - base) / urls, "us_per_add": 0.0}
    tracemalloc.stop()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=100_000)
    parser.add_argument("--variants", default="memory,disk")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--seen", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    nginx = Nginx()
    log(f"nginx serving the generated site on 127.0.0.1:{nginx.port}")
    results: dict[str, Any] = {}
    try:
        # The variants crawl at the same time, so that both see the same machine load (their ratio is fair).
        with tempfile.TemporaryDirectory(prefix="netpatrol-long-") as tmp:
            running = {}
            for variant in args.variants.split(","):
                folder = Path(tmp) / variant
                folder.mkdir()
                config = folder / "netpatrol.yml"
                config.write_text(CONFIG.format(port=nginx.port, pages=args.pages), encoding="utf-8")
                out = folder / "milestones.jsonl"
                log(f"{variant}: crawling up to {args.pages:,} pages")
                running[variant] = (out, subprocess.Popen([sys.executable, __file__, "--child", "--config", str(config),
                                                           "--out", str(out), "--seen", variant], cwd=ROOT))
            for variant, (out, proc) in running.items():
                code = proc.wait()
                rows = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
                results[variant] = {"exit": code, "rows": rows}
    finally:
        nginx.stop()
    results["seen_set_cost"] = seen_set_cost()
    report(results)
    out_dir = ROOT / "bench" / "out"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "long_crawl.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


def report(results: dict[str, Any]) -> None:
    variants = [v for v in results if v != "seen_set_cost"]
    print(f"{'pages':>8} " + " ".join(f"{v + ' pages/s':>16} {v + ' RSS MiB':>14}" for v in variants))
    marks = {v: {r["milestone"]: r for r in results[v]["rows"] if "milestone" in r} for v in variants}
    for mark in MILESTONES:
        cells = []
        for v in variants:
            row = marks[v].get(mark)
            cells.append(f"{row['pages_per_s']:>16.0f} {row['rss_mib']:>14.1f}" if row else f"{'-':>16} {'-':>14}")
        print(f"{mark:>8,} " + " ".join(cells))
    for v in variants:
        m = marks[v]
        final = next((r for r in results[v]["rows"] if r.get("final")), {})
        growth = (m[MILESTONES[-1]]["rss_mib"] / m[MILESTONES[0]]["rss_mib"] - 1) if MILESTONES[-1] in m and MILESTONES[0] in m else None
        print(f"{v}: {final.get('pages', 0):,} pages, {final.get('hits', 0):,} hits, peak RSS {final.get('peak_rss_mib', 0):.0f} MiB,"
              f" RSS growth 10k->100k {'%+.1f%%' % (100 * growth) if growth is not None else 'n/a'},"
              f" Scrapy dupefilter fingerprints {final.get('scrapy_dupefilter_fingerprints')}")
    if "memory" in marks and "disk" in marks and 100_000 in marks["memory"] and 100_000 in marks["disk"]:
        ratio = marks["disk"][100_000]["pages_per_s"] / marks["memory"][100_000]["pages_per_s"]
        print(f"disk / memory pages/s at 100k: {ratio:.2f}")
    for kind, cost in results["seen_set_cost"].items():
        print(f"seen set {kind}: {cost['bytes_per_url']:.0f} bytes/URL, {cost['us_per_add']:.1f} µs/add")


if __name__ == "__main__":
    sys.exit(main())
