"""The workbench records in Elasticsearch: users, audit, tips, filings, and the hits search.

Writes go through the store's spool like every other write; reads wait until this
store's own writes are applied, so a decision is visible on the next page load. The
search is a `multi_match` over the items' title, snippet and URL, on the standard and
the CJK-bigram sub-fields.
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable, Iterator

from elasticsearch import Elasticsearch, NotFoundError

from pipelines.stores.elasticsearch.layout import Layout
from pipelines.stores.workbench import AuditEntry, FilingSighting, Tip, User


def _digest(*parts: object) -> str:
    return hashlib.sha1("\n".join(str(p) for p in parts).encode("utf-8")).hexdigest()


class ElasticsearchWorkbenchMixin:
    client: Elasticsearch
    layout: Layout
    _write: Callable[[dict[str, Any]], None]
    _before_read: Callable[[], None]
    _scan: Callable[..., Iterator[dict[str, Any]]]
    _call: Callable[..., Any]

    def _index(self, index: str, docs: list[tuple[str, dict[str, Any]]], action: str = "index") -> None:
        if docs:
            self._write({"op": "docs", "action": action, "index": index,
                         "docs": [{"_id": doc_id, "doc": doc} for doc_id, doc in docs]})

    def _search(self, index: str, **body: Any) -> dict[str, Any]:
        self._before_read()
        try:
            resp = self._call(self.client.search, index=index, ignore_unavailable=True, allow_no_indices=True, **body)
        except NotFoundError:
            return {"hits": {"total": {"value": 0}, "hits": []}}
        return dict(resp.body)

    # --- users and audit ---
    def put_user(self, user: User) -> None:
        self._index(self.layout.users, [(user.name, vars(user).copy())])

    def get_user(self, name: str) -> User | None:
        self._before_read()
        try:
            doc = self._call(self.client.get, index=self.layout.users, id=name)
        except NotFoundError:
            return None
        return User(**doc.body["_source"])

    def users(self) -> list[User]:
        self._before_read()
        return sorted((User(**hit["_source"]) for hit in self._scan(self.layout.users, {"match_all": {}})),
                      key=lambda u: u.name)

    def add_audit(self, entries: list[AuditEntry]) -> None:
        self._index(self.layout.audit, [(_digest(e.at, e.user, e.action, e.subject), vars(e).copy()) for e in entries])

    def audit(self, limit: int = 200, subject: str | None = None) -> list[AuditEntry]:
        query: dict[str, Any] = {"term": {"subject": subject}} if subject else {"match_all": {}}
        body = self._search(self.layout.audit, query=query, size=limit, sort=[{"at": "desc"}])
        return [AuditEntry(**hit["_source"]) for hit in body["hits"]["hits"]]

    # --- tips ---
    def put_tips(self, tips: list[Tip]) -> None:
        self._index(self.layout.tips, [(t.id, vars(t).copy()) for t in tips])

    def tips(self, status: str | None = None, ids: list[str] | None = None) -> list[Tip]:
        self._before_read()
        filters: list[dict[str, Any]] = []
        if status:
            filters.append({"term": {"status": status}})
        if ids is not None:
            filters.append({"ids": {"values": ids}})
        found = [Tip(**hit["_source"]) for hit in self._scan(self.layout.tips, {"bool": {"filter": filters}})]
        return sorted(found, key=lambda t: (t.received_at, t.id))

    # --- filings ---
    def add_filings(self, sightings: list[FilingSighting]) -> None:
        docs = [(_digest(s.domain, s.text), vars(s).copy()) for s in sightings]
        self._index(self.layout.filings, docs, "create")  # the first sighting keeps its first_seen
        self._index(self.layout.filings, [(doc_id, {"last_seen": doc["last_seen"], "url": doc["url"]})
                                          for doc_id, doc in docs], "update")

    def filings(self) -> list[FilingSighting]:
        self._before_read()
        found = [FilingSighting(**hit["_source"]) for hit in self._scan(self.layout.filings, {"match_all": {}})]
        return sorted(found, key=lambda s: (s.domain, s.text))

    # --- search and evidence ---
    def search_hits(self, query: str, offset: int = 0, limit: int = 50) -> tuple[int, list[dict[str, Any]]]:
        if not query.strip():
            return 0, []
        match = {"multi_match": {"query": query, "type": "best_fields", "operator": "and",
                                 "fields": ["title", "title.cjk", "snippet", "snippet.cjk"]}}
        q = {"bool": {"should": [match, {"wildcard": {"url": {"value": f"*{query.strip()}*"}}}],
                      "minimum_should_match": 1}}
        body = self._search(self.layout.items, query=q, from_=offset, size=limit, track_total_hits=True,
                            sort=["_score", {"last_seen": "desc"}], source_excludes=["seen_runs"])
        keys = ("canonical_url", "url", "domain", "categories", "rules", "title", "snippet", "status", "first_seen",
                "last_seen")
        rows = [{k: hit["_source"].get(k) for k in keys} for hit in body["hits"]["hits"]]
        return int(body["hits"]["total"]["value"]), rows

    def evidence_by_sha256(self, sha256: str) -> dict[str, Any] | None:
        body = self._search(self.layout.observations_pattern, query={"term": {"evidence.sha256": sha256}}, size=1)
        for hit in body["hits"]["hits"]:
            doc = hit["_source"]
            for kept in doc.get("evidence") or []:
                if kept.get("sha256") == sha256:
                    return {"run_id": doc["run_id"], "canonical_url": doc["canonical_url"], **kept}
        return None
