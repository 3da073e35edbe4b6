"""Indexing throughput of netpatrol's Elasticsearch write path against the client's raw `helpers.bulk`, side by side.

Both sides write the same documents into a real node on loopback (fresh index prefixes,
templates installed beforehand and not timed):

* pipeline: what crawls do — per run one `ElasticsearchStore` (each crawler opens its own),
  `add_observations` in batches of the storage pipeline's size (NETPATROL_STORE_BATCH),
  through the durable spool and the background bulk writer (observations created with
  derived ids, items read-merged-written with optimistic concurrency, the run recorded),
  timed until each store's `close()` has applied everything and refreshed;
* raw: `elasticsearch.helpers.bulk` of the same document writes — every observation and
  every item version the pipeline writes, in requests of the same size, then one refresh.
  The pipeline writes an item once per bulk group that touches it; its groups never span
  two runs (one store per run) and a run sees an item once, so that is one version per
  item per run (an item seen by four runs is written four times) however the writer cuts
  its groups. The bench checks it: the items the pipeline wrote must equal the item writes
  of the raw side, or the figures are not printed. (The pipeline also writes each run's
  document, which the raw side does not: a handful of documents, and one more index to
  create, counted against the pipeline.)
* raw-final (for reference): the same observations but only the final version of each item,
  a lower bound that no store counting sightings per run can reach.

Throughput is observations per second of wall-clock time (the spool writes and the writer
thread are part of the pipeline's cost): the median and the best of the rounds, which
alternate the sides. On a shared machine wall-clock figures swing with other load, so the
CPU seconds spent by this process and by the node's process (read from /proc: the node
runs on loopback) are reported too, as observations per CPU-second. The headline ratio is
pipeline/raw of the medians (target: at least 0.8).

    .venv/bin/python bench/es_index.py --es-url URL [--observations 20000] [--runs 4] [--rounds 3]
    (URL defaults to $NETPATROL_TEST_ES_URL; `bash scripts/elasticsearch start` prints one)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from elasticsearch import Elasticsearch, helpers  # noqa: E402

from crawler import settings as defaults  # noqa: E402
from pipelines.stores.base import Observation, Run  # noqa: E402
from pipelines.stores.elasticsearch.store import ElasticsearchStore  # noqa: E402
from pipelines.stores.elasticsearch.layout import Layout, observation_doc, observation_id  # noqa: E402
from pipelines.stores.elasticsearch.templates import install  # noqa: E402
from pipelines.stores.elasticsearch.client import fast_serializer  # noqa: E402
from pipelines.stores.elasticsearch.writer import merge_item  # noqa: E402

TITLES = ["网络赌博平台 注册送彩金", "代开各类发票 点数优惠", "出售仿真枪 配件齐全", "Private tools, escrow accepted"]


@dataclass
class Measurement:
    wall: float  # seconds
    cpu: float  # CPU seconds of this process (client, spool, writer thread) and of the node's process


class NodeCPU:
    """CPU seconds used so far by the Elasticsearch process (it runs on this machine, on loopback)."""

    def __init__(self, url: str) -> None:
        client = Elasticsearch(url)
        nodes = client.nodes.info(metric="process").body["nodes"]
        client.close()
        self.pid = int(next(iter(nodes.values()))["process"]["id"])

    def seconds(self) -> float:
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0  # not a local process: CPU columns then count the client only
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(node: NodeCPU, work: Callable[[], None]) -> Measurement:
    wall, cpu, node_cpu = time.perf_counter(), time.process_time(), node.seconds()
    work()
    return Measurement(time.perf_counter() - wall, time.process_time() - cpu + node.seconds() - node_cpu)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def workload(observations: int, runs: int) -> list[tuple[Run, list[Observation]]]:
    """`runs` runs that each see observations/runs items, most of them seen by the previous run too."""
    per_run = observations // runs
    out = []
    for r in range(runs):
        started = f"2026-11-{r + 1:02d}T08:00:00.000000Z"
        run = Run(id=f"bench-{r}", target="market", kind="site", started_at=started, rules_version="v", host="bench", pid=1)
        batch = []
        for i in range(per_run):
            n = r * (per_run // 5) + i  # 80% overlap with the previous run
            url = f"https://shop{n % 50}.example.com.cn/item/{n}"
            title = TITLES[n % len(TITLES)]
            batch.append(Observation(
                run_id=run.id, target="market", url=url, canonical_url=url, domain=f"shop{n % 50}.example.com.cn",
                seen_at=f"2026-11-{r + 1:02d}T08:00:00.{i:06d}Z", kind="page",
                categories=["gambling"] if n % 3 else ["fraud", "gambling"], rules=[f"gambling.rule-{n % 7}"],
                score=1.0 + n % 3, title=f"{title} #{n}", snippet=f"…{title}，联系QQ {100000 + n}…",
                explanation={"terms": {f"gambling.rule-{n % 7}": ["赌博", "彩金"]}},
            ))
        out.append((run, batch))
    return out


def raw_actions(layout: Layout, work: list[tuple[Run, list[Observation]]], chunk: int,
                final_items_only: bool = False) -> list[dict[str, Any]]:
    """The documents the pipeline writes: each observation, and each item version it writes.

    The pipeline merges the items of a bulk group into one write per item; a group holds the
    writes of one store, that is of one run, and a run sees an item at most once, so it writes
    one version per item per run (an item seen by four runs is written four times). In the
    order the pipeline sends them: per `chunk` observations of a run, those observations,
    then the versions of their items. With `final_items_only`, only the last version of each
    item is written (a lower bound no upsert store can reach).
    """
    actions: list[dict[str, Any]] = []
    items: dict[str, dict[str, Any]] = {}
    for run, batch in work:
        index = layout.observations_index(run.started_at)
        for offset in range(0, len(batch), chunk):
            group = [observation_doc(obs, run.started_at) for obs in batch[offset : offset + chunk]]
            for doc in group:
                actions.append({"_op_type": "create", "_index": index,
                                "_id": observation_id(doc["run_id"], doc["canonical_url"]), "_source": doc})
            for doc in group:
                merged = merge_item(items.get(doc["item_id"]), [doc])
                if merged is not None:
                    items[doc["item_id"]] = merged
                    if not final_items_only:
                        actions.append({"_op_type": "index", "_index": layout.items, "_id": doc["item_id"],
                                        "_source": merged})
    if final_items_only:
        actions += [{"_op_type": "index", "_index": layout.items, "_id": key, "_source": item}
                    for key, item in items.items()]
    return actions


def run_raw(url: str, node: NodeCPU, layout: Layout, work: list[tuple[Run, list[Observation]]], chunk: int,
            final_items_only: bool = False) -> Measurement:
    client = Elasticsearch(url, request_timeout=120, **fast_serializer())  # the client options netpatrol uses
    actions = raw_actions(layout, work, chunk, final_items_only)

    def write() -> None:
        helpers.bulk(client, actions, chunk_size=chunk, max_chunk_bytes=50 * 1024 * 1024)
        client.indices.refresh(index=layout.all_pattern, allow_no_indices=True, ignore_unavailable=True)

    measured = timed(node, write)
    client.close()
    return measured


def run_pipeline(url: str, node: NodeCPU, layout: Layout, work: list[tuple[Run, list[Observation]]], batch: int,
                 chunk: int) -> tuple[Measurement, int]:
    """As crawls write: one store per run (each crawler opens its own), runs one after the other.
    Returns the measurement and the number of item writes the stores made."""
    caught_up = True
    items_written = 0
    with tempfile.TemporaryDirectory() as spool:

        def write() -> None:
            nonlocal caught_up, items_written
            for run, observations in work:
                store = ElasticsearchStore(Elasticsearch(url, request_timeout=120, **fast_serializer()), layout,
                                           Path(spool), url=url, bulk_docs=chunk, close_timeout=600)
                store.start_run(run)
                for offset in range(0, len(observations), batch):
                    store.add_observations(observations[offset : offset + batch])
                store.finish_run(run.id, "completed", len(observations), 0, {})
                store.close()
                caught_up = caught_up and store._drainer is not None and store._drainer.caught_up
                if store._drainer is not None:
                    items_written += store._drainer.state.applied.items_written

        measured = timed(node, write)
    if not caught_up:
        raise SystemExit("the pipeline did not apply every write: the figure would be wrong")
    return measured, items_written


def verify(url: str, layout: Layout, expected_observations: int, expected_items: int) -> None:
    client = Elasticsearch(url)
    client.indices.refresh(index=layout.all_pattern, allow_no_indices=True, ignore_unavailable=True)
    observations = client.count(index=layout.observations_pattern).body["count"]
    items = client.count(index=layout.items).body["count"]
    client.close()
    if (observations, items) != (expected_observations, expected_items):
        raise SystemExit(f"{layout.prefix}: {observations} observations and {items} items indexed,"
                         f" expected {expected_observations} and {expected_items}")


def drop(url: str, prefix: str) -> None:
    client = Elasticsearch(url)
    for index in client.indices.get(index=f"{prefix}-*", allow_no_indices=True).body:
        client.indices.delete(index=index)
    for tpl in client.indices.get_index_template(name=f"{prefix}-*").body.get("index_templates", []):
        client.indices.delete_index_template(name=tpl["name"])
    for tpl in client.cluster.get_component_template(name=f"{prefix}-*").body.get("component_templates", []):
        client.cluster.delete_component_template(name=tpl["name"])
    client.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--es-url", default=os.environ.get("NETPATROL_TEST_ES_URL"))
    parser.add_argument("--observations", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=defaults.NETPATROL_STORE_BATCH, help="observations per store call")
    parser.add_argument("--chunk", type=int, default=defaults.NETPATROL_ES_BULK_DOCS, help="documents per bulk request")
    args = parser.parse_args()
    if not args.es_url:
        parser.error("--es-url or NETPATROL_TEST_ES_URL is needed (bash scripts/elasticsearch start prints one)")
    url = args.es_url.rstrip("/")
    work = workload(args.observations, args.runs)
    total = sum(len(batch) for _, batch in work)
    distinct = len({o.canonical_url for _, batch in work for o in batch})
    log(f"{total} observations of {distinct} items in {len(work)} runs; batch {args.batch}, bulk chunk {args.chunk}")
    node = NodeCPU(url)
    raw_item_writes = sum(1 for a in raw_actions(Layout("check"), work, args.chunk) if a["_index"] == "check-items")
    sides = ("raw", "pipeline", "raw-final")
    measured: dict[str, list[Measurement]] = {side: [] for side in sides}
    for round_no in range(args.rounds):
        for side in sides:
            prefix = f"bench-{uuid.uuid4().hex[:8]}"
            layout = Layout(prefix)
            client = Elasticsearch(url)
            install(client, layout)
            client.close()
            try:
                if side.startswith("raw"):
                    m = run_raw(url, node, layout, work, args.chunk, final_items_only=side == "raw-final")
                else:
                    m, item_writes = run_pipeline(url, node, layout, work, args.batch, args.chunk)
                    if item_writes != raw_item_writes:
                        raise SystemExit(f"the pipeline wrote {item_writes} item versions, the raw side"
                                         f" {raw_item_writes}: the sides would not write the same documents")
                verify(url, layout, total, distinct)
            finally:
                drop(url, prefix)
            measured[side].append(m)
            log(f"round {round_no + 1}: {side:<9} {total / m.wall:>9,.0f} observations/s ({m.wall:.2f} s wall,"
                f" {m.cpu:.2f} CPU s)")
    labels = {"raw": "raw helpers.bulk, the same document writes",
              "pipeline": "pipeline (spool, writer thread, item merge)",
              "raw-final": "raw helpers.bulk, final item versions only"}
    median = {side: total / statistics.median(m.wall for m in measured[side]) for side in sides}
    best = {side: total / min(m.wall for m in measured[side]) for side in sides}
    per_cpu = {side: total / statistics.median(m.cpu for m in measured[side]) for side in sides}
    print(f"{'':<45}{'obs/s median':>13}{'obs/s best':>12}{'obs/CPU-s':>11}")
    for side in sides:
        print(f"{labels[side]:<45}{median[side]:>13,.0f}{best[side]:>12,.0f}{per_cpu[side]:>11,.0f}")
    print(f"ratio pipeline/raw: {median['pipeline'] / median['raw']:.2f} median, {best['pipeline'] / best['raw']:.2f} best,"
          f" {per_cpu['pipeline'] / per_cpu['raw']:.2f} per CPU-second (target >= 0.8; {args.rounds} rounds;"
          f" CPU counts this process and the node's)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
