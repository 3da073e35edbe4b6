"""Documents, item checks and verdicts in Elasticsearch: the decline analytics' records (see `tracking`).

A mixin of `ElasticsearchStore`, with the same semantics as the SQLite one: documents are
kept once per `Document.key()` (created, first write wins), checks once per (item, verify
run) and verdicts once per (item, time). Writes go through the store's spool like every
other write; reads wait until this store's own writes are applied.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any, Callable, Iterable, Iterator

from elasticsearch import Elasticsearch, helpers

from pipelines.stores.base import Run
from pipelines.stores.elasticsearch.layout import Layout
from pipelines.stores.tracking import Document, ItemCheck, TrackedItem, Verdict


def _digest(*parts: object) -> str:
    return hashlib.sha1("\n".join(str(p) for p in parts).encode("utf-8")).hexdigest()


def document_doc(doc: Document) -> dict[str, Any]:
    return {
        "run_id": doc.run_id, "target": doc.target, "kind": doc.kind, "url": doc.url,
        "canonical_url": doc.canonical_url, "domain": doc.domain, "fetched_at": doc.fetched_at,
        "matched": doc.matched, "categories": list(doc.categories), "rules": list(doc.rules),
        "query": doc.query, "rank": doc.rank, "has_text": doc.text_z is not None,
        "text_z": base64.b64encode(doc.text_z).decode("ascii") if doc.text_z is not None else None,
        "ad": doc.ad, "risk": doc.risk, "wrapped_url": doc.wrapped_url,
    }


def document_from_doc(src: dict[str, Any]) -> Document:
    text = src.get("text_z")
    return Document(
        run_id=src["run_id"], target=src["target"], kind=src["kind"], url=src["url"],
        canonical_url=src["canonical_url"], domain=src["domain"], fetched_at=src["fetched_at"],
        matched=bool(src["matched"]), categories=list(src.get("categories") or []), rules=list(src.get("rules") or []),
        query=src.get("query") or None, rank=src.get("rank") or None,
        text_z=base64.b64decode(text) if text else None,
        ad=bool(src.get("ad")), risk=src.get("risk"), wrapped_url=src.get("wrapped_url"),
    )


class AnalyticsMixin:
    """The analytics half of the Store interface for Elasticsearch (uses the store's spool, scans and reads)."""

    client: Elasticsearch
    layout: Layout
    _runs: dict[str, Run]
    _write: Callable[[dict[str, Any]], None]
    _before_read: Callable[[], None]
    _scan: Callable[..., Iterator[dict[str, Any]]]
    _call: Callable[..., Any]
    runs: Callable[..., list[Run]]

    # --- documents ---
    def add_documents(self, documents: list[Document]) -> None:
        by_index: dict[str, list[dict[str, Any]]] = {}
        for doc in documents:
            run = self._runs.get(doc.run_id)
            index = self.layout.documents_index(run.started_at if run is not None else doc.fetched_at)
            by_index.setdefault(index, []).append({"_id": _digest(*doc.key()), "doc": document_doc(doc)})
        for index, docs in by_index.items():
            self._write({"op": "docs", "action": "create", "index": index, "docs": docs})

    def documents(self, run_ids: Iterable[str], with_text: bool = False) -> list[Document]:
        ids = sorted(set(run_ids))
        if not ids:
            return []
        self._before_read()
        source: Any = True if with_text else {"excludes": ["text_z"]}
        out = [document_from_doc(hit["_source"])
               for chunk in _chunks(ids) for hit in self._scan(self.layout.documents_pattern,
                                                               {"terms": {"run_id": chunk}}, source)]
        out.sort(key=lambda d: (d.run_id, d.query or "", d.rank or 0, d.canonical_url))
        return out

    def prune_document_text(self, before: str) -> int:
        """Drop the text of documents of runs started before `before`; the documents stay."""
        self._before_read()
        old_runs = [r.id for r in self.runs(until=before) if r.started_at < before]
        actions = []
        for chunk in _chunks(old_runs):
            query = {"bool": {"filter": [{"terms": {"run_id": chunk}}, {"term": {"has_text": True}}]}}
            for hit in self._scan(self.layout.documents_pattern, query, False):
                actions.append({"_op_type": "update", "_index": hit["_index"], "_id": hit["_id"],
                                "doc": {"text_z": None, "has_text": False}})
        if not actions:
            return 0
        ok, _errors = self._call(helpers.bulk, self.client, actions, raise_on_error=False, refresh=True)
        return int(ok)

    # --- items and their status history ---
    def items(
        self,
        canonical_urls: Iterable[str] | None = None,
        target: str | None = None,
        seen_since: str | None = None,
        statuses: Iterable[str] | None = None,
    ) -> list[TrackedItem]:
        self._before_read()
        filters: list[dict[str, Any]] = []
        if seen_since:
            filters.append({"range": {"last_seen": {"gte": seen_since}}})
        if statuses is not None:
            filters.append({"terms": {"status": list(statuses)}})
        if target:
            filters.append({"term": {"last_target": target}})
        queries = ([{"bool": {"filter": filters}}] if canonical_urls is None else
                   [{"bool": {"filter": filters + [{"terms": {"canonical_url": chunk}}]}}
                    for chunk in _chunks(sorted(set(canonical_urls)))])
        out = []
        for query in queries:
            for hit in self._scan(self.layout.items, query, {"excludes": ["seen_runs"]}):
                src = hit["_source"]
                if seen_since and src["last_seen"] < seen_since:
                    continue
                out.append(TrackedItem(
                    src["canonical_url"], src["url"], src.get("domain", ""), src.get("last_target", ""),
                    list(src.get("categories") or []), list(src.get("rules") or []), src.get("title", ""),
                    src.get("status", "online"), src["first_seen"], src["last_seen"],
                ))
        out.sort(key=lambda i: (i.first_seen, i.canonical_url))
        return out

    def add_checks(self, checks: list[ItemCheck]) -> None:
        if not checks:
            return
        from pipelines.stores.elasticsearch.layout import item_id

        self._write({"op": "docs", "action": "index", "index": self.layout.item_checks, "docs": [
            {"_id": _digest(c.canonical_url, c.verify_id), "doc": vars(c).copy()} for c in checks
        ]})
        latest: dict[str, str] = {}
        for check in checks:  # the last check of an item in the batch sets its status, as in SQL
            latest[check.canonical_url] = check.status
        self._write({"op": "docs", "action": "update", "index": self.layout.items, "docs": [
            {"_id": item_id(url), "doc": {"status": status}} for url, status in latest.items()
        ]})

    def item_checks(self, canonical_urls: Iterable[str] | None = None,
                    until: str | None = None) -> list[ItemCheck]:
        self._before_read()
        filters: list[dict[str, Any]] = []
        if until:
            filters.append({"range": {"checked_at": {"lte": until}}})
        queries = ([{"bool": {"filter": filters}}] if canonical_urls is None else
                   [{"bool": {"filter": filters + [{"terms": {"canonical_url": chunk}}]}}
                    for chunk in _chunks(sorted(set(canonical_urls)))])
        out = []
        for query in queries:
            for hit in self._scan(self.layout.item_checks, query):
                src = hit["_source"]
                if until and src["checked_at"] > until:
                    continue
                out.append(ItemCheck(src["canonical_url"], src["checked_at"], src["status"], src["reason"],
                                     src["verify_id"], src.get("http_status"), src.get("url", "")))
        out.sort(key=lambda c: (c.checked_at, c.canonical_url))
        return out

    # --- analyst verdicts ---
    def add_verdicts(self, verdicts: list[Verdict]) -> None:
        if verdicts:
            self._write({"op": "docs", "action": "index", "index": self.layout.verdicts, "docs": [
                {"_id": _digest(v.canonical_url, v.decided_at), "doc": vars(v).copy()} for v in verdicts
            ]})

    def verdicts(self) -> dict[str, Verdict]:
        self._before_read()
        found = [hit["_source"] for hit in self._scan(self.layout.verdicts, {"match_all": {}})]
        found.sort(key=lambda v: v["decided_at"])
        return {v["canonical_url"]: Verdict(v["canonical_url"], v["verdict"], v["decided_at"], v.get("note", ""),
                                            v.get("url", "")) for v in found}


def _chunks(values: list[str], size: int = 1000) -> Iterable[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
