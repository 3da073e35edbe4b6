"""Crawl speed with page anatomy, matching and the store in it: `netpatrol run` against plain Scrapy.

A static site of --pages pages (default 3,200: list pages of 20 links and listing pages with a
header, navigation, a related-listings sidebar and a disclaimer footer; a third of the listings
read as illegal offers) is written to a temp folder and served by Debian's nginx, started here on a
free loopback port with a temp config. Two crawls, alternating over --rounds rounds in the same run,
at the same concurrency:

1. plain Scrapy: a spider that only parses each page and follows its links (no pipelines);
2. `netpatrol run`: a site target following every page, with anatomy, template learning, matching,
   dedupe, evidence and the SQLite store.

Pages per second are read from nginx's access log ($msec of the first and last page request of each
crawl), so process start-up counts for neither. The best round of each is compared.

    .venv/bin/python bench/crawl.py [--pages 3200] [--concurrency 16] [--rounds 2]

Target: netpatrol >= 0.85 x plain Scrapy pages/s.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
LIST_SIZE = 20

ILLEGAL = ["代开各类增值税发票 点数低 先验票后付款 微信 fp{0}88", "真人百家乐 首充送彩金 每日返水 飞机 @bc{0}vip",
           "出售仿真枪 配件齐全 保密发货 qq {0}66123", "冰毒 麻古 同城配送 电报 @ice{0}x"]
BENIGN = ["二手自行车转让 九成新 {0}元 可小刀", "家政保洁 日常保洁 开荒保洁 电话预约 {0}号",
          "考研英语资料 全套笔记 {0}页 自取", "宠物寄养 猫狗都收 每天{0}元 环境干净"]

PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title} - 本地分类信息</title></head><body>
<header><a href="/index.html">本地分类信息</a> <a href="/list/0.html">最新</a> <a href="/list/1.html">热门</a></header>
<nav class="crumbs"><a href="/index.html">首页</a> &gt; 详情</nav>
<main><h1>{title}</h1><p>{text}</p><p>发布时间 2026-11-{day:02d}，浏览 {n} 次。</p></main>
<aside><h3>相关信息</h3><ul>{related}</ul></aside>
<footer><p>免责声明：本站信息均由用户发布，请谨慎交易，谨防诈骗，发现违法信息请举报。</p><p>ICP备{n:08d}号</p></footer>
</body></html>"""


def build_site(folder: Path, pages: int) -> int:
    """Write list pages and listing pages; return how many pages the site has."""
    items = pages - pages // (LIST_SIZE + 1) - 1
    lists = -(-items // LIST_SIZE)
    (folder / "item").mkdir(parents=True)
    (folder / "list").mkdir()
    for i in range(items):
        pool = ILLEGAL if i % 3 == 0 else BENIGN
        text = pool[i % len(pool)].format(i)
        title = text.split(" ")[0] + f" {i}"
        related = "".join(f'<li><a href="/item/{(i + k) % items}.html">{html.escape("相关 " + str((i + k) % items))}</a></li>'
                          for k in (1, 2, 3))
        (folder / "item" / f"{i}.html").write_text(
            PAGE.format(title=html.escape(title), text=html.escape(text), related=related, day=1 + i % 28, n=i),
            encoding="utf-8")
    for j in range(lists):
        links = "".join(f'<li><a href="/item/{i}.html">条目 {i}</a></li>' for i in range(j * LIST_SIZE, min(items, (j + 1) * LIST_SIZE)))
        nxt = f'<a href="/list/{j + 1}.html">下一页</a>' if j + 1 < lists else ""
        (folder / "list" / f"{j}.html").write_text(
            f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>列表 {j}</title></head><body>"
            f"<ul>{links}</ul>{nxt}</body></html>", encoding="utf-8")
    index = "".join(f'<a href="/list/{j}.html">第{j}页</a> ' for j in range(lists))
    (folder / "index.html").write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>首页</title></head>"
                                       f"<body>{index}</body></html>", encoding="utf-8")
    return items + lists + 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_nginx(work: Path, site: Path, port: int) -> subprocess.Popen:
    (work / "logs").mkdir()
    conf = work / "nginx.conf"
    conf.write_text(f"""
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/logs/error.log;
events {{ worker_connections 1024; }}
http {{
  client_body_temp_path {work}/tmp_body; proxy_temp_path {work}/tmp_proxy; fastcgi_temp_path {work}/tmp_fcgi;
  uwsgi_temp_path {work}/tmp_uwsgi; scgi_temp_path {work}/tmp_scgi;
  types {{ text/html html; }}
  default_type text/html;
  charset utf-8;
  log_format stamp '$msec $status $request_uri';
  access_log {work}/logs/access.log stamp;
  server {{ listen 127.0.0.1:{port}; root {site}; location / {{ try_files $uri =404; }} }}
}}
""")
    proc = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(work), "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"nginx did not start: {proc.stderr.read().decode() if proc.stderr else ''}")
            time.sleep(0.05)
    raise SystemExit("nginx did not listen")


PLAIN_SPIDER = """
import sys
from scrapy import Spider, Request
from scrapy.crawler import CrawlerProcess

BASE, CONCURRENCY = sys.argv[1], int(sys.argv[2])

class Plain(Spider):
    name = "plain"
    start_urls = [BASE + "/index.html"]

    def parse(self, response):
        for href in response.css("a::attr(href)").getall():
            url = response.urljoin(href)
            if url.startswith(BASE):
                yield Request(url, callback=self.parse)

process = CrawlerProcess({"CONCURRENT_REQUESTS": CONCURRENCY, "CONCURRENT_REQUESTS_PER_DOMAIN": CONCURRENCY,
                          "ROBOTSTXT_OBEY": True, "LOG_LEVEL": "WARNING", "TELNETCONSOLE_ENABLED": False,
                          "AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0})
process.crawl(Plain)
process.start()
"""


def log_window(log: Path, start_line: int) -> tuple[int, float]:
    """(pages, seconds) of the page requests logged after `start_line`."""
    lines = log.read_text().splitlines()[start_line:]
    stamps = [float(line.split()[0]) for line in lines if line.split()[2].endswith(".html") and line.split()[1] == "200"]
    return len(stamps), (max(stamps) - min(stamps)) if len(stamps) > 1 else 0.0


def run_plain(work: Path, base: str, concurrency: int) -> None:
    script = work / "plain_spider.py"
    script.write_text(PLAIN_SPIDER)
    subprocess.run([sys.executable, str(script), base, str(concurrency)], check=True, cwd=work)


def run_netpatrol(work: Path, base: str, concurrency: int, pages: int, round_no: int) -> None:
    folder = work / f"np{round_no}"
    folder.mkdir()
    config = folder / "netpatrol.yml"
    config.write_text(f"""
store: {{path: np.db}}
allowed_networks: ["127.0.0.0/8"]
targets:
  - name: bench
    type: site
    start_urls: ["{base}/index.html"]
    follow: ["\\\\.html$"]
    max_pages: {pages + 10}
    max_depth: 50
    politeness: {{concurrency: {concurrency}, autothrottle: false}}
""")
    netpatrol = Path(sys.executable).with_name("netpatrol")
    subprocess.run([str(netpatrol), "run", "--config", str(config), "--progress", "log"], check=True, cwd=folder,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=3200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="netpatrol-bench-crawl-"))
    work.chmod(0o755)  # nginx's workers run as an unprivileged user when started by root
    nginx = None
    try:
        site = work / "site"
        total = build_site(site, args.pages)
        port = free_port()
        nginx = start_nginx(work, site, port)
        base = f"http://127.0.0.1:{port}"
        log = work / "logs" / "access.log"
        results: dict[str, list[tuple[int, float]]] = {"plain scrapy": [], "netpatrol run": []}
        print(f"site: {total} pages served by nginx at {base}; concurrency {args.concurrency}; {args.rounds} round(s)")
        for round_no in range(args.rounds):
            for name in results:
                start = len(log.read_text().splitlines()) if log.exists() else 0
                if name == "plain scrapy":
                    run_plain(work, base, args.concurrency)
                else:
                    run_netpatrol(work, base, args.concurrency, total, round_no)
                pages, seconds = log_window(log, start)
                results[name].append((pages, seconds))
                print(f"  round {round_no + 1} {name:<14} {pages:>6} pages in {seconds:6.2f} s = {pages / seconds:7.1f} pages/s",
                      flush=True)
        best = {name: max(p / s for p, s in runs) for name, runs in results.items()}
        ratio = best["netpatrol run"] / best["plain scrapy"]
        print(f"\n{'crawler':<16} {'pages/s (best)':>14}")
        for name, rate in best.items():
            print(f"{name:<16} {rate:>14.1f}")
        print(f"ratio netpatrol / plain scrapy: {ratio:.3f} (target >= 0.85)")
        out = ROOT / "bench" / "out"
        out.mkdir(exist_ok=True)
        (out / "crawl.json").write_text(json.dumps({"pages": total, "concurrency": args.concurrency, "best": best,
                                                    "ratio": ratio, "rounds": results}, indent=2))
        return 0 if ratio >= 0.85 else 1
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
