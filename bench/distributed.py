"""Crawl throughput with the shared Redis frontier: 1 worker, then 2, against one process without Redis.

A static site of N pages (default 5,000; the demo site's /gen/ pages, each linking to ten
more) is written to a temp folder and served by Debian's nginx on a free loopback port; a
private redis-server runs beside it. Three rounds crawl the same site with the same total
concurrency, side by side in one invocation:

    single   `netpatrol run` without Redis (the baseline)
    1 worker `netpatrol run` seeding Redis + one `netpatrol worker --concurrency C`
    2 workers the same with two workers at --concurrency C/2 each

pages/s = the run's pages / (finished_at - started_at) as recorded in the store. Then Redis
memory per queued request, per dupefilter fingerprint and per scheduled URL is measured by
adding 20,000 of each to an empty Redis (INFO memory used_memory before and after).

    .venv/bin/python bench/distributed.py [--pages 5000] [--concurrency 8]

Writes bench/out/distributed.json. Note that this machine's cores are shared with whatever
else runs: two workers cannot beat one by more than the free cores allow.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.demo.site import DemoSite  # noqa: E402

BRANCH = 10


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_site(folder: Path, pages: int) -> None:
    """/gen/<i> as static files; page i links to pages 10i+1 .. 10i+10."""
    demo = DemoSite()
    (folder / "gen").mkdir(parents=True)
    for i in range(pages):
        body = demo.generated(str(i)).body
        assert isinstance(body, bytes)
        children = [c for c in range(BRANCH * i + 1, BRANCH * i + BRANCH + 1) if c < pages]
        links = "".join(f'<a href="/gen/{c}">#{c}</a>\n' for c in children)
        (folder / "gen" / str(i)).write_bytes(body.replace(b"</body>", links.encode() + b"</body>"))
    (folder / "index.html").write_text('<html><body><a href="/gen/0">start</a></body></html>', encoding="utf-8")
    (folder / "robots.txt").write_text("User-agent: *\nDisallow:\n", encoding="utf-8")
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def start_nginx(site: Path, work: Path) -> tuple[subprocess.Popen[bytes], str]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    port = free_port()
    conf = work / "nginx.conf"
    conf.write_text(f"""
daemon off; worker_processes 1; pid {work}/nginx.pid; error_log {work}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off; default_type "text/html; charset=utf-8";
  client_body_temp_path {work}/body; proxy_temp_path {work}/proxy; fastcgi_temp_path {work}/fastcgi;
  uwsgi_temp_path {work}/uwsgi; scgi_temp_path {work}/scgi;
  server {{ listen 127.0.0.1:{port}; root {site}; location / {{ try_files $uri $uri/index.html =404; }} }}
}}
""", encoding="utf-8")
    proc = subprocess.Popen([nginx, "-c", str(conf), "-p", str(work)], stderr=subprocess.DEVNULL)
    wait_port(port)
    return proc, f"http://127.0.0.1:{port}"


def start_redis(work: Path) -> tuple[subprocess.Popen[bytes], str]:
    binary = subprocess.run(["bash", str(ROOT / "scripts" / "redis"), "ensure"], capture_output=True, text=True,
                            check=True).stdout.strip()
    port = free_port()
    (work / "redis").mkdir()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(work / "redis")], stdout=subprocess.DEVNULL)
    wait_port(port)
    return proc, f"redis://127.0.0.1:{port}/0"


def wait_port(port: int) -> None:
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def config(folder: Path, name: str, base: str, pages: int, concurrency: int, redis_url: str | None) -> Path:
    frontier = f'frontier: {{backend: redis, url: "{redis_url}", lease: 30}}\n' if redis_url else ""
    path = folder / f"{name}.yml"
    path.write_text(f"""store: {{path: {name}.db}}
allowed_networks: ["127.0.0.0/8"]
analytics: {{keep_text: false}}
{frontier}targets:
  - name: static
    type: site
    start_urls: ["{base}/"]
    follow: ["^/gen/"]
    match_urls: ["^/gen/"]
    max_pages: {pages + 1}
    max_depth: 10
    render: never
    politeness: {{concurrency: {concurrency}, autothrottle: false}}
""", encoding="utf-8")
    return path


def netpatrol(*args: str, **kw: Any) -> subprocess.Popen[str]:
    return subprocess.Popen([str(ROOT / ".venv" / "bin" / "python"), "-m", "crawler.cli.main", *args], cwd=ROOT,
                            text=True, **kw)


def run_figures(db: Path) -> dict[str, Any]:
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT started_at, finished_at, pages, status, hits FROM runs").fetchone()
    started, finished = (datetime.fromisoformat(v.replace("Z", "+00:00")) for v in row[:2])
    seconds = (finished - started).total_seconds()
    return {"pages": row[2], "status": row[3], "hits": row[4], "seconds": round(seconds, 2),
            "pages_per_s": round(row[2] / seconds, 1) if seconds else None}


def crawl(folder: Path, name: str, base: str, pages: int, concurrency: int, redis_url: str | None,
          workers: int) -> dict[str, Any]:
    cfg = config(folder, name, base, pages, concurrency, redis_url)
    procs = []
    try:
        if workers:
            import redis

            per_worker = max(1, concurrency // workers)
            for i in range(workers):
                procs.append(netpatrol("worker", "--config", str(cfg), "--name", f"{name}-{i}", "--concurrency",
                                       str(per_worker), stderr=subprocess.DEVNULL))
            client = redis.Redis.from_url(redis_url)  # type: ignore[arg-type]
            for _ in range(600):
                if client.zcard("netpatrol:worker-deadlines") >= workers:
                    break
                time.sleep(0.1)
        log(f"{name}: crawling")
        done = netpatrol("run", "--config", str(cfg), "--progress", "off", stderr=subprocess.PIPE)
        _, err = done.communicate(timeout=3600)
        if done.returncode != 0:
            raise RuntimeError(f"{name}: netpatrol run failed: {err[-2000:]}")
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=60)
        if workers:
            redis.Redis.from_url(redis_url).flushdb()  # type: ignore[arg-type]
    figures = run_figures(folder / f"{name}.db")
    log(f"{name}: {figures}")
    return figures


def redis_memory(redis_url: str, count: int = 20_000) -> dict[str, float]:
    """Bytes per queued request, per dupefilter fingerprint, per scheduled URL (used_memory deltas)."""
    import redis
    from scrapy import Request, Spider
    from scrapy_redis.dupefilter import RFPDupeFilter

    from crawler.frontier.keys import RunKeys
    from crawler.frontier.queue import seed_queue

    class Static(Spider):
        name = "site"

        def parse(self, response: Any) -> None: ...

        def on_error(self, failure: Any) -> None: ...

    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    keys = RunKeys("netpatrol", "bench-run")
    client.hset(keys.meta, "target", "static")
    spider = Static()
    url = "https://www.example-marketplace.cn/c/gambling/item/{}?page=2"
    out: dict[str, float] = {}

    def measure(label: str, add: Any) -> None:
        before = int(client.info("memory")["used_memory"])
        pipe_batch = 1000
        for start in range(0, count, pipe_batch):
            add(range(start, min(count, start + pipe_batch)))
        out[label] = round((int(client.info("memory")["used_memory"]) - before) / count, 1)

    queue = seed_queue(client, spider, keys)
    measure("queued_request", lambda r: [queue.push(Request(url.format(i), callback=spider.parse,
                                                             errback=spider.on_error, meta={"depth": 3}))
                                          for i in r])
    dupefilter = RFPDupeFilter(client, keys.dupefilter)
    measure("dupefilter_fingerprint", lambda r: [dupefilter.request_seen(Request(url.format(i))) for i in r])
    measure("scheduled_url", lambda r: client.sadd(keys.urls, *[url.format(i) for i in r]))
    sample = client.zrange(keys.requests, 0, 0)[0]
    out["queued_request_payload"] = len(sample)
    client.flushdb()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    os.environ.setdefault("NETPATROL_HS_CACHE", str(ROOT / ".cache" / "hyperscan"))
    work = Path(tempfile.mkdtemp(prefix="np-bench-dist-"))
    work.chmod(0o755)  # nginx's worker process (user nobody when started as root) must read the site
    nginx = redis_proc = None
    try:
        log(f"writing {args.pages} static pages")
        write_site(work / "site", args.pages)
        nginx, base = start_nginx(work / "site", work)
        redis_proc, redis_url = start_redis(work)
        results = {
            "single": crawl(work, "single", base, args.pages, args.concurrency, None, 0),
            "workers_1": crawl(work, "workers_1", base, args.pages, args.concurrency, redis_url, 1),
            "workers_2": crawl(work, "workers_2", base, args.pages, args.concurrency, redis_url, 2),
        }
        memory = redis_memory(redis_url)
    finally:
        for proc in (nginx, redis_proc):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    single, one, two = (results[k]["pages_per_s"] for k in ("single", "workers_1", "workers_2"))
    report = {"pages": args.pages, "concurrency": args.concurrency, "cpus": os.cpu_count(),
              "load_average_at_end": os.getloadavg(), "runs": results, "redis_bytes": memory,
              "ratios": {"two_vs_one_worker": round(two / one, 2), "one_worker_vs_single": round(one / single, 2)}}
    print(f"{'round':<12}{'pages':>7}{'seconds':>9}{'pages/s':>9}")
    for name, r in results.items():
        print(f"{name:<12}{r['pages']:>7}{r['seconds']:>9}{r['pages_per_s']:>9}")
    print(f"2 workers / 1 worker: {report['ratios']['two_vs_one_worker']}x (target >= 1.6x)")
    print(f"1 worker / single process: {report['ratios']['one_worker_vs_single']}x (target >= 0.9x)")
    print(f"Redis bytes: {memory}")
    print(f"cores: {os.cpu_count()}, load average at the end: {report['load_average_at_end']}")
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "distributed.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
