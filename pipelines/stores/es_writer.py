"""Apply spooled writes to Elasticsearch with the client's bulk helper: exactly once, retried, rejections kept.

A group of spool records becomes one bulk request (observations created with ids derived
from (run, canonical URL), so a replay answers 409 and adds nothing; runs and search
totals indexed whole) and then one read-merge-write of the items those observations
touch (optimistic concurrency on `_seq_no`, so concurrent writers never lose a count).
Retryable failures (429, 5xx, timeouts, an unreachable cluster) raise `Unavailable`:
the records stay unacknowledged in the spool and are applied again later. Documents the
cluster refuses for good (mapping errors) are written with their error to the spool's
`rejected.jsonl` and reported — never silently dropped.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch, helpers

from pipelines.stores.base import iso, utcnow
from pipelines.stores.es_layout import Layout
from pipelines.stores.es_spool import Record, append_rejected

logger = logging.getLogger(__name__)

RETRYABLE_STATUSES = (408, 429, 500, 502, 503, 504)
CONFLICT_ROUNDS = 8


class Unavailable(Exception):
    """The cluster cannot take the writes now (unreachable, overloaded, failing); try again later."""


@dataclass
class Applied:
    records: int = 0
    observations_new: int = 0
    observations_seen: int = 0  # already indexed before (a replay)
    rejected: int = 0
    rejected_path: Path | None = None
    items_written: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: "Applied") -> None:
        self.records += other.records
        self.observations_new += other.observations_new
        self.observations_seen += other.observations_seen
        self.rejected += other.rejected
        self.items_written += other.items_written
        self.rejected_path = other.rejected_path or self.rejected_path


def merge_item(current: dict[str, Any] | None, observations: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The item after these observations; None when every one was already counted (a replay).

    times_seen is the number of distinct runs that matched the item (its `seen_runs`),
    so applying the same observation twice never counts it twice. The descriptive
    fields follow the most recent observation, whatever order they arrive in.
    """
    item = dict(current) if current else {}
    seen = list(item.get("seen_runs") or [])
    seen_set = set(seen)
    changed = False
    for obs in sorted(observations, key=lambda o: o["@timestamp"]):
        if obs["run_id"] in seen_set:
            continue
        changed = True
        seen.append(obs["run_id"])
        seen_set.add(obs["run_id"])
        at = obs["@timestamp"]
        item["first_seen"] = min(item.get("first_seen") or at, at)
        targets = item.setdefault("targets", [])
        if obs["target"] not in targets:
            targets.append(obs["target"])
        if at >= (item.get("last_seen") or at):
            item.update(
                canonical_url=obs["canonical_url"], url=obs["url"], domain=obs["domain"], last_target=obs["target"],
                categories=list(obs["categories"]), rules=list(obs["rules"]), title=obs.get("title", ""),
                snippet=obs.get("snippet", ""), status="online", last_run_id=obs["run_id"], last_seen=at,
            )
    if not changed:
        return None
    item["seen_runs"] = seen
    item["times_seen"] = len(seen)
    return item


class BulkApplier:
    """Turns groups of spool records into bulk requests against one cluster and prefix."""

    def __init__(self, client: Elasticsearch, layout: Layout, spool_dir: Path, chunk_size: int = 1000,
                 max_retries: int = 3, initial_backoff: float = 0.5, max_backoff: float = 8.0) -> None:
        self.client = client
        self.layout = layout
        self.spool_dir = spool_dir
        self.chunk_size = chunk_size
        self.max_retries = max_retries
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff

    def apply(self, records: list[Record]) -> Applied:
        """Apply records in order (their effects commute except runs, where the last record wins)."""
        result = Applied(records=len(records))
        actions: list[dict[str, Any]] = []
        observations: dict[tuple[str, str], dict[str, Any]] = {}
        runs: dict[str, dict[str, Any]] = {}
        for record in records:
            data = record.data
            op = data.get("op")
            if op == "observations":
                for entry in data["docs"]:
                    key = (data["index"], entry["_id"])
                    if key not in observations:
                        observations[key] = entry["doc"]
                        actions.append({"_op_type": "create", "_index": data["index"], "_id": entry["_id"],
                                        "_source": entry["doc"]})
            elif op == "run":
                runs[data["id"]] = data["doc"]  # later states of a run replace earlier ones
            elif op == "docs":  # plain documents: create (first write wins), index (last wins) or partial update
                for entry in data["docs"]:
                    action = {"_op_type": data["action"], "_index": data["index"], "_id": entry["_id"]}
                    if data["action"] == "update":
                        action["doc"] = entry["doc"]
                    else:
                        action["_source"] = entry["doc"]
                    actions.append(action)
            else:
                self._reject(result, [{"record": data, "error": f"unknown spool record {op!r}"}])
        for run_id, doc in runs.items():
            actions.append({"_op_type": "index", "_index": self.layout.runs, "_id": run_id, "_source": doc})
        outcomes = self._bulk(actions)
        accepted: list[dict[str, Any]] = []
        rejected: list[dict[str, Any]] = []
        for action in actions:
            status, info = outcomes[(action["_index"], action["_id"])]
            created = 200 <= status < 300
            already = action["_op_type"] == "create" and status == 409
            gone = action["_op_type"] == "update" and status == 404  # nothing to update, as in SQL
            if created or already or gone:
                if (action["_index"], action["_id"]) in observations:
                    accepted.append(action["_source"])
                    if created:
                        result.observations_new += 1
                    else:
                        result.observations_seen += 1
            elif status in RETRYABLE_STATUSES:
                raise Unavailable(f"{action['_index']}: {status} {_reason(info)}")
            else:
                rejected.append({"index": action["_index"], "id": action["_id"], "status": status,
                                 "error": info.get("error"), "document": action.get("_source", action.get("doc"))})
        self._reject(result, rejected)
        if accepted:
            result.items_written = self._merge_items(accepted, result)
        return result

    # --- bulk ---
    def _bulk(self, actions: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[int, dict[str, Any]]]:
        """(index, id) -> (status, info) for every action; a success of any duplicate wins."""
        outcomes: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
        if not actions:
            return outcomes
        try:
            for ok, item in helpers.streaming_bulk(
                self.client, actions, chunk_size=self.chunk_size, max_chunk_bytes=50 * 1024 * 1024,
                raise_on_error=False, raise_on_exception=False, max_retries=self.max_retries,
                initial_backoff=self.initial_backoff, max_backoff=self.max_backoff,
                retry_on_status=RETRYABLE_STATUSES, yield_ok=True,
            ):
                _op, info = next(iter(item.items()))
                status = info.get("status")
                status = int(status) if isinstance(status, int) else 503  # "N/A": no answer for it
                key = (info.get("_index") or "", info.get("_id") or "")
                previous = outcomes.get(key)
                if previous is None or not (200 <= previous[0] < 300 or previous[0] == 409):
                    outcomes[key] = (status, info)
        except TransportError as exc:
            raise Unavailable(f"cannot reach Elasticsearch: {exc}") from None
        # Requests that failed as a whole report the index name as written; fill in anything unanswered.
        for action in actions:
            outcomes.setdefault((action["_index"], action["_id"]), (503, {"error": "no answer for this document"}))
        return outcomes

    # --- items ---
    def _merge_items(self, observations: list[dict[str, Any]], result: Applied) -> int:
        by_item: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for obs in observations:
            by_item[obs["item_id"]].append(obs)
        pending = set(by_item)
        written = 0
        for _round in range(CONFLICT_ROUNDS):
            if not pending:
                return written
            current = self._get_items(sorted(pending))
            actions = []
            for item_id in sorted(pending):
                found = current.get(item_id)
                merged = merge_item(found[0] if found else None, by_item[item_id])
                if merged is None:
                    pending.discard(item_id)
                    continue
                action: dict[str, Any] = {"_index": self.layout.items, "_id": item_id, "_source": merged}
                if found:
                    action.update(_op_type="index", if_seq_no=found[1], if_primary_term=found[2])
                else:
                    action["_op_type"] = "create"
                actions.append(action)
            outcomes = self._bulk(actions)
            rejected = []
            for action in actions:
                status, info = outcomes[(action["_index"], action["_id"])]
                if 200 <= status < 300:
                    pending.discard(action["_id"])
                    written += 1
                elif status == 409:
                    continue  # someone else wrote it meanwhile: read again and merge again
                elif status in RETRYABLE_STATUSES:
                    raise Unavailable(f"{self.layout.items}: {status} {_reason(info)}")
                else:
                    pending.discard(action["_id"])
                    rejected.append({"index": action["_index"], "id": action["_id"], "status": status,
                                     "error": info.get("error"), "document": action["_source"]})
            self._reject(result, rejected)
        if pending:
            raise Unavailable(f"{len(pending)} item(s) kept changing under concurrent writers; will retry")
        return written

    def _get_items(self, ids: list[str]) -> dict[str, tuple[dict[str, Any], int, int]]:
        try:
            docs = self.client.mget(index=self.layout.items, ids=ids).body["docs"]
        except ApiError as exc:
            if exc.status_code == 404:
                return {}
            if exc.status_code in RETRYABLE_STATUSES:
                raise Unavailable(f"{self.layout.items}: {exc}") from None
            raise
        except TransportError as exc:
            raise Unavailable(f"cannot reach Elasticsearch: {exc}") from None
        out = {}
        for doc in docs:
            if doc.get("error"):
                if (doc["error"] or {}).get("type") == "index_not_found_exception":
                    continue
                raise Unavailable(f"{self.layout.items}: {doc['error']}")
            if doc.get("found"):
                out[doc["_id"]] = (doc["_source"], doc["_seq_no"], doc["_primary_term"])
        return out

    def _reject(self, result: Applied, entries: Iterable[dict[str, Any]]) -> None:
        entries = list(entries)
        if not entries:
            return
        now = iso(utcnow())
        path = append_rejected(self.spool_dir, [{"at": now, **e} for e in entries])
        result.rejected += len(entries)
        result.rejected_path = path
        for entry in entries:
            logger.error("Elasticsearch refused %s/%s (%s): %s; the document is kept in %s",
                         entry.get("index"), entry.get("id"), entry.get("status"), _reason(entry), path)


def _reason(info: dict[str, Any]) -> str:
    error = info.get("error")
    if isinstance(error, dict):
        return f"{error.get('type')}: {error.get('reason')}"
    return str(error)
