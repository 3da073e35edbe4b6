"""The Elasticsearch store: writes go through a durable spool to bulk requests; reads use exact aggregations.

Writing never blocks the crawl: each write is appended to this store's spool segment and
applied by a background thread (see `es_drain`). If the cluster is down, the writes wait
in the spool and are replayed, in order and exactly once, by the next run or by
`netpatrol es flush`. Reading refreshes the indices, then counts with composite
aggregations (exact, paged) — never with approximate ones such as cardinality.
"""

from __future__ import annotations

import logging
import socket
import sys
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable, Iterator

import orjson
from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch, NotFoundError, helpers

from pipelines.errors import StoreError
from pipelines.stores.elasticsearch import layout as layout_docs
from pipelines.stores.spec import StoreSpec
from pipelines.stores.base import HitRow, Observation, Run, SearchTotal, Store, check_final_status, iso, utcnow
from pipelines.stores.elasticsearch.analytics import AnalyticsMixin
from pipelines.stores.elasticsearch.workbench import ElasticsearchWorkbenchMixin
from pipelines.stores.elasticsearch.drain import Drainer
from pipelines.stores.elasticsearch.layout import Layout
from pipelines.stores.elasticsearch.spool import Record, SegmentWriter, pending
from pipelines.stores.elasticsearch.templates import ensure
from pipelines.stores.elasticsearch.writer import (RETRYABLE_STATUSES, BulkApplier, Unavailable, merge_summary, transport_reason,
                                         unreachable)
from pipelines.stores.sqlite.store import _pid_alive

logger = logging.getLogger(__name__)

TERMS_CHUNK = 1000  # run ids per terms filter
PAGE = 1000  # buckets per composite aggregation page


class ElasticsearchStore(AnalyticsMixin, ElasticsearchWorkbenchMixin, Store):
    """Runs, observations, items and search totals in Elasticsearch indices named after `index_prefix`."""

    def __init__(self, client: Elasticsearch, layout: Layout, spool_dir: Path, url: str = "",
                 bulk_docs: int = 1000, close_timeout: float = 60.0, flush_hint: str = "netpatrol es flush") -> None:
        self.client = client
        self.layout = layout
        self.spool_dir = spool_dir
        self.url = url
        self.bulk_docs = bulk_docs
        self.close_timeout = close_timeout
        self.flush_hint = flush_hint
        self._lock = threading.Lock()
        self._segment: SegmentWriter | None = None
        self._drainer: Drainer | None = None
        self._runs: dict[str, Run] = {}
        self._run_urls: dict[str, set[str]] = {}
        self._closed = False

    @classmethod
    def from_spec(cls, spec: StoreSpec) -> "ElasticsearchStore":
        from pipelines.stores.elasticsearch.client import make_client

        return cls(
            make_client(spec), Layout(spec.index_prefix), spec.effective_spool_dir, url=spec.url,
            bulk_docs=spec.bulk_docs, close_timeout=spec.close_timeout, flush_hint=spec.flush_hint,
        )

    def applier(self) -> BulkApplier:
        return BulkApplier(self.client, self.layout, self.spool_dir, chunk_size=self.bulk_docs)

    # --- writing: every write is a spool record -----------------------------------------------
    def _write(self, record: dict[str, Any], memory: dict[str, Any] | None = None) -> None:
        """Append `record` to the spool, then hand it (or `memory`, the same record as the writer wants it) over."""
        with self._lock:
            if self._closed:
                raise StoreError("the Elasticsearch store is closed")
            if self._segment is None:
                self._segment = SegmentWriter(self.spool_dir)
                self._drainer = Drainer(self.applier(), self._segment.path, self.bulk_docs,
                                        prepare=self._prepare)
                self._drainer.start()
            end = self._segment.append(record)
            assert self._drainer is not None
            self._drainer.hand_over(Record(end, record if memory is None else memory))

    def _prepare(self) -> None:
        """Templates before the first write; an unreachable or failing cluster means: keep spooling, retry."""
        try:
            ensure(self.client, self.layout)
        except TransportError as exc:
            raise unreachable(exc) from None
        except ApiError as exc:
            if exc.status_code in RETRYABLE_STATUSES:
                raise Unavailable(f"Elasticsearch answered {exc.status_code} while installing templates") from None
            raise

    def _run_record(self, run: Run) -> dict[str, Any]:
        return {"op": "run", "id": run.id, "doc": layout_docs.run_doc(run)}

    def start_run(self, run: Run) -> None:
        run = replace(run, heartbeat_at=run.heartbeat_at or run.started_at)
        self._runs[run.id] = run
        self._run_urls.setdefault(run.id, set())
        self._write(self._run_record(run))

    def _known_run(self, run_id: str) -> Run:
        run = self._runs.get(run_id)
        if run is None:
            run = self.get_run(run_id)
            if run is None:
                raise StoreError(f"no run with id {run_id!r} in {self.layout.runs}")
            self._runs[run_id] = run
            self._run_urls.setdefault(run_id, set())
        return run

    def heartbeat(self, run_id: str, pages: int, errors: int, hits: int) -> None:
        run = self._runs.get(run_id)
        if run is None or run.status != "running":
            return
        run.pages, run.errors, run.hits, run.heartbeat_at = pages, errors, hits, iso(utcnow())
        self._write(self._run_record(run))

    def add_observations(self, observations: list[Observation]) -> None:
        if not observations:
            return
        # Each document is serialized once: the spool line embeds those bytes and the writer thread sends the
        # same bytes in its bulk request. In memory it gets (id, bytes, what merging the item needs): no dicts
        # kept alive for the garbage collector to walk (see es_writer.MERGE_KEYS).
        by_index: dict[str, list[tuple[str, bytes, tuple[Any, ...]]]] = {}
        for obs in observations:
            run = self._runs.get(obs.run_id)
            started = run.started_at if run is not None else obs.seen_at
            urls = self._run_urls.setdefault(obs.run_id, set())
            urls.add(obs.canonical_url)
            doc = layout_docs.observation_doc(obs, started)
            by_index.setdefault(self.layout.observations_index(started), []).append(
                (layout_docs.observation_id(obs.run_id, obs.canonical_url), orjson.dumps(doc, default=str),
                 merge_summary(doc)))
        for index, docs in by_index.items():
            spooled = [{"_id": doc_id, "doc": orjson.Fragment(raw)} for doc_id, raw, _summary in docs]
            self._write({"op": "observations", "index": index, "docs": spooled},
                        memory={"op": "observations", "index": index, "docs": docs})
        for run_id in {o.run_id for o in observations}:
            run = self._runs.get(run_id)
            if run is not None:
                run.hits = len(self._run_urls[run_id])

    def add_search_totals(self, totals: list[SearchTotal]) -> None:
        if totals:
            self._write({"op": "docs", "action": "index", "index": self.layout.search_totals, "docs": [
                {"_id": layout_docs.search_total_id(t.run_id, t.query), "doc": layout_docs.search_total_doc(t)}
                for t in totals
            ]})

    def finish_run(self, run_id: str, status: str, pages: int, errors: int, stats: dict[str, Any]) -> Run:
        run = self._known_run(run_id)
        now = iso(utcnow())
        run.status, run.finished_at, run.pages, run.errors, run.heartbeat_at = status, now, pages, errors, now
        run.stats = dict(stats)
        if run_id in self._run_urls and (self._run_urls[run_id] or run.hits == 0):
            run.hits = len(self._run_urls[run_id])
        self._write(self._run_record(run))
        return replace(run)

    def set_run_status(self, run_id: str, status: str, stats: dict[str, Any] | None = None) -> Run | None:
        check_final_status(status)
        run = self._runs.get(run_id) or self.get_run(run_id)
        if run is None:
            return None
        run.status = status
        run.finished_at = run.finished_at or iso(utcnow())
        run.stats = {**run.stats, **(stats or {})}
        self._runs[run_id] = run
        self._write(self._run_record(run))
        return replace(run)

    def close(self) -> None:
        """Apply what is spooled (bounded wait); what the cluster could not take stays in the spool, said loudly."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        drainer, segment = self._drainer, self._segment
        if drainer is None or segment is None:
            self.client.close()
            return
        done = drainer.close(self.close_timeout)
        segment.close(remove=done)
        state = drainer.state
        if state.applied.rejected:
            print(f"netpatrol: Elasticsearch refused {state.applied.rejected} document(s) for good; they are kept"
                  f" with the errors in {state.applied.rejected_path}", file=sys.stderr)
        if not done:
            print(f"netpatrol: Elasticsearch at {self.url} could not take every write ({state.unavailable or 'timed out'});"
                  f" {segment.records} write(s) of this run are kept in the spool {self.spool_dir} and replayed at the"
                  f" start of the next run, or now by `{self.flush_hint}`", file=sys.stderr)
        else:
            self._refresh_quietly()
        self.client.close()

    def _refresh_quietly(self) -> None:
        try:
            self.client.indices.refresh(index=self.layout.all_pattern, allow_no_indices=True, ignore_unavailable=True)
        except (ApiError, TransportError):
            pass

    # --- reading ----------------------------------------------------------------------------------
    def _before_read(self) -> None:
        """Make every applied write visible (reads must be exact), and say when writes still wait in the spool."""
        drainer, segment = self._drainer, self._segment
        if drainer is not None and segment is not None and not self._closed:
            if not drainer.wait_applied(segment.records, self.close_timeout):
                raise StoreError(f"Elasticsearch at {self.url} has not taken this store's writes"
                                 f" ({drainer.state.unavailable or 'timed out'}); they wait in the spool {self.spool_dir}")
        try:
            self.client.indices.refresh(index=self.layout.all_pattern, allow_no_indices=True, ignore_unavailable=True)
        except TransportError as exc:
            raise StoreError(f"Elasticsearch at {self.url} is unreachable: {transport_reason(exc)}") from None
        except ApiError as exc:
            raise StoreError(f"Elasticsearch at {self.url}: {exc}") from None
        waiting = pending(self.spool_dir)
        if waiting.segments and self._segment is None:
            logger.warning("%d spool segment(s) in %s are not in Elasticsearch yet; run `%s`",
                           waiting.segments, self.spool_dir, self.flush_hint)

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except NotFoundError:
            raise
        except TransportError as exc:
            raise StoreError(f"Elasticsearch at {self.url} is unreachable: {transport_reason(exc)}") from None
        except ApiError as exc:
            raise StoreError(f"Elasticsearch at {self.url}: {exc}") from None

    def _scan(self, index: str, query: dict[str, Any], source: Any = True) -> Iterator[dict[str, Any]]:
        try:
            yield from helpers.scan(self.client, index=index, query={"query": query, "_source": source},
                                    ignore_unavailable=True, allow_no_indices=True, size=1000)
        except NotFoundError:
            return
        except TransportError as exc:
            raise StoreError(f"Elasticsearch at {self.url} is unreachable: {transport_reason(exc)}") from None
        except ApiError as exc:
            raise StoreError(f"Elasticsearch at {self.url}: {exc}") from None

    def _composite(self, index: str, query: dict[str, Any], sources: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """Every bucket of a composite aggregation, page by page: exact counts over any number of keys."""
        after: dict[str, Any] | None = None
        while True:
            composite: dict[str, Any] = {"size": PAGE, "sources": sources}
            if after is not None:
                composite["after"] = after
            try:
                resp = self._call(self.client.search, index=index, query=query, size=0,
                                  aggs={"keys": {"composite": composite}},
                                  ignore_unavailable=True, allow_no_indices=True)
            except NotFoundError:
                return
            agg = (resp.body.get("aggregations") or {}).get("keys") or {}
            buckets = agg.get("buckets") or []
            yield from buckets
            after = agg.get("after_key")
            if not buckets or after is None:
                return

    def _reap(self) -> None:
        """Mark runs whose crawl process on this host has died as `interrupted` (as the SQLite store does)."""
        me = socket.gethostname()
        query = {"bool": {"filter": [{"term": {"status": "running"}}, {"term": {"host": me}}]}}
        dead = [hit for hit in self._scan(self.layout.runs, query)
                if hit["_source"].get("pid") and not _pid_alive(int(hit["_source"]["pid"]))
                and hit["_id"] not in self._runs]
        for hit in dead:
            doc = hit["_source"]
            self._call(self.client.update, index=self.layout.runs, id=hit["_id"],
                       doc={"status": "interrupted", "clean": False, "finished_at": doc.get("heartbeat_at")})
        if dead:
            self._call(self.client.indices.refresh, index=self.layout.runs)

    def _hits_per_run(self, run_ids: list[str]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for chunk in _chunks(run_ids, TERMS_CHUNK):
            for bucket in self._composite(self.layout.observations_pattern, {"terms": {"run_id": chunk}},
                                          [{"run_id": {"terms": {"field": "run_id"}}}]):
                counts[bucket["key"]["run_id"]] = int(bucket["doc_count"])
        return counts

    def runs(self, target: str | None = None, since: str | None = None, until: str | None = None) -> list[Run]:
        self._before_read()
        self._reap()
        filters: list[dict[str, Any]] = []
        if target:
            filters.append({"term": {"target": target}})
        bounds = {k: v for k, v in (("gte", since), ("lte", until)) if v}
        if bounds:
            filters.append({"range": {"started_at": bounds}})
        runs = [layout_docs.run_from_doc(hit["_source"])
                for hit in self._scan(self.layout.runs, {"bool": {"filter": filters}})]
        # The same inclusive string bounds as the SQLite store, on the stored ISO strings.
        runs = [r for r in runs if (not since or r.started_at >= since) and (not until or r.started_at <= until)]
        runs.sort(key=lambda r: (r.started_at, r.id))
        counts = self._hits_per_run([r.id for r in runs])
        for run in runs:
            run.hits = counts.get(run.id, 0)
        return runs

    def get_run(self, run_id: str) -> Run | None:
        self._before_read()
        try:
            doc = self._call(self.client.get, index=self.layout.runs, id=run_id)
        except NotFoundError:
            return None
        run = layout_docs.run_from_doc(doc.body["_source"])
        run.hits = self._hits_per_run([run.id]).get(run.id, 0)
        return run

    def hit_rows(self, run_ids: Iterable[str]) -> list[HitRow]:
        """Distinct (run, item) pairs with target, domain, categories and rules, by composite aggregation."""
        ids = sorted(set(run_ids))
        if not ids:
            return []
        self._before_read()
        rows: dict[tuple[str, str], HitRow] = {}
        sources: list[dict[str, Any]] = [
            {"run_id": {"terms": {"field": "run_id"}}},
            {"url": {"terms": {"field": "canonical_url"}}},
            {"target": {"terms": {"field": "target"}}},
            {"domain": {"terms": {"field": "domain", "missing_bucket": True}}},
        ]
        for field in ("categories", "rules"):
            for chunk in _chunks(ids, TERMS_CHUNK):
                keyed = sources + [{"value": {"terms": {"field": field, "missing_bucket": True}}}]
                for bucket in self._composite(self.layout.observations_pattern, {"terms": {"run_id": chunk}}, keyed):
                    key = bucket["key"]
                    row = rows.get((key["run_id"], key["url"]))
                    if row is None:
                        row = HitRow(key["run_id"], key["target"], key["url"], key["domain"] or "", [], [])
                        rows[(key["run_id"], key["url"])] = row
                    if key["value"] is not None:
                        getattr(row, field).append(key["value"])
        return list(rows.values())

    def _observation_docs(self, run_ids: list[str]) -> list[dict[str, Any]]:
        docs: list[dict[str, Any]] = []
        for chunk in _chunks(run_ids, TERMS_CHUNK):
            docs.extend(hit["_source"] for hit in self._scan(self.layout.observations_pattern, {"terms": {"run_id": chunk}}))
        return docs

    def hits(self, run_ids: Iterable[str]) -> list[dict[str, Any]]:
        ids = sorted(set(run_ids))
        if not ids:
            return []
        self._before_read()
        docs = self._observation_docs(ids)
        items = self._items_by_url({d["canonical_url"] for d in docs})
        out = []
        for doc in docs:
            item = items.get(doc["canonical_url"], {})
            out.append({
                "url": doc["url"], "target": doc["target"], "categories": doc.get("categories", []),
                "rules": doc.get("rules", []), "score": doc.get("score"), "title": doc.get("title", ""),
                "snippet": doc.get("snippet", ""), "first_seen": item.get("first_seen", doc["@timestamp"]),
                "last_seen": item.get("last_seen", doc["@timestamp"]), "run_id": doc["run_id"],
                "kind": doc.get("kind"), "query": doc.get("query"), "domain": doc.get("domain", ""),
                "explanation": doc.get("explanation") or {}, "_seen_at": doc["@timestamp"],
                "ad": bool(doc.get("ad")), "risk": doc.get("risk"), "wrapped_url": doc.get("wrapped_url"),
            })
        out.sort(key=lambda h: (h["target"], h["_seen_at"], h["url"]))
        for hit in out:
            del hit["_seen_at"]
        return out

    def evidence(self, canonical_url: str, run_id: str | None = None) -> list[dict[str, Any]]:
        """Evidence kept with the item's observations (the `evidence` field of each observation document)."""
        self._before_read()
        filters: list[dict[str, Any]] = [{"term": {"canonical_url": canonical_url}}]
        if run_id:
            filters.append({"term": {"run_id": run_id}})
        rows: list[dict[str, Any]] = []
        for hit in self._scan(self.layout.observations_pattern, {"bool": {"filter": filters}}):
            doc = hit["_source"]
            for kept in doc.get("evidence") or []:
                rows.append({
                    "run_id": doc["run_id"], "target": doc["target"], "url": doc["url"], "seen_at": doc["@timestamp"],
                    **{key: kept.get(key) for key in ("kind", "path", "sha256", "size", "fetched_at", "media_type")},
                })
        rows.sort(key=lambda r: (r["fetched_at"] or "", r["kind"] or ""))
        return rows

    def _items_by_url(self, urls: set[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        ids = sorted(layout_docs.item_id(u) for u in urls)
        for chunk in _chunks(ids, TERMS_CHUNK):
            try:
                resp = self._call(self.client.mget, index=self.layout.items, ids=chunk)
            except NotFoundError:
                return out
            for doc in resp.body["docs"]:
                if doc.get("found"):
                    out[doc["_source"]["canonical_url"]] = doc["_source"]
        return out

    def search_totals(self, run_ids: Iterable[str]) -> list[SearchTotal]:
        ids = sorted(set(run_ids))
        if not ids:
            return []
        self._before_read()
        totals: list[SearchTotal] = []
        for chunk in _chunks(ids, TERMS_CHUNK):
            totals.extend(layout_docs.search_total_from_doc(hit["_source"])
                          for hit in self._scan(self.layout.search_totals, {"terms": {"run_id": chunk}}))
        totals.sort(key=lambda t: (t.recorded_at, t.query))
        return totals


def _chunks(values: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
