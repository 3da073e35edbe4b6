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
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import orjson
from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch

from pipelines.stores.base import iso, utcnow
from pipelines.stores.es_layout import Layout
from pipelines.stores.es_spool import Record, append_rejected

logger = logging.getLogger(__name__)

RETRYABLE_STATUSES = (408, 429, 500, 502, 503, 504)
CONFLICT_ROUNDS = 8
# Only what is needed of a bulk answer: per document its status and error, in the order of the request
# (the answer lists the documents in request order, so ids and index names need not come back).
BULK_RESPONSE_FIELDS = "items.*.status,items.*.error"
MAX_CHUNK_BYTES = 50 * 1024 * 1024
Outcome = tuple[int, dict[str, Any]]


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


MERGE_FIELDS = ["seen_runs", "first_seen", "last_seen", "targets"]


def _newest_wins(stored: dict[str, Any], observations: list[dict[str, Any]]) -> bool:
    """Whether one of the observations not yet counted is at least as recent as the item's last sighting."""
    seen = set(stored.get("seen_runs") or [])
    fresh = [o["@timestamp"] for o in observations if o["run_id"] not in seen]
    return not fresh or max(fresh) >= (stored.get("last_seen") or "")


class BulkApplier:
    """Turns groups of spool records into bulk requests against one cluster and prefix."""

    def __init__(self, client: Elasticsearch, layout: Layout, spool_dir: Path, chunk_size: int = 1000,
                 threads: int = 2, max_retries: int = 3, initial_backoff: float = 0.5, max_backoff: float = 8.0) -> None:
        self.client = client
        self.threads = threads
        self.layout = layout
        self.spool_dir = spool_dir
        self.chunk_size = chunk_size
        self.max_retries = max_retries
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff

    def in_order(self, records: list[Record]) -> list[list[Record]]:
        """Split a group where its effects on items would otherwise reorder.

        Observations change items in a second step of `apply`, so a record that sets items'
        fields directly (a verification's status) must not share a group with observations
        written before or after it.
        """
        groups: list[list[Record]] = []
        kind = None
        for record in records:
            data = record.data
            this = ("direct" if data.get("op") == "docs" and data.get("index") == self.layout.items else
                    "merge" if data.get("op") == "observations" else None)
            if not groups or (this is not None and kind is not None and this != kind):
                groups.append([])
                kind = None
            groups[-1].append(record)
            kind = this or kind
        return groups

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
                        action = {"_op_type": "create", "_index": data["index"], "_id": entry["_id"],
                                  "_source": entry["doc"], "_observation": True}
                        if "raw" in entry:  # the document as serialized for the spool: sent as is
                            action["_raw"] = entry["raw"]
                        actions.append(action)
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
        # The observations, runs and documents go out in one bulk request on a helper thread while this one
        # reads the items they touch, merges them and writes them (optimistic concurrency): the cluster indexes
        # the two shards at once, and the read overlaps the indexing. Merging is idempotent, so whatever part
        # fails, applying the group again later counts nothing twice (and items of observations refused for
        # good are taken back below).
        background = _Background(self._bulk, actions) if self.threads > 1 and actions and observations else None
        try:
            item_actions = self._item_writes(list(observations.values()))
            item_outcomes = self._bulk(item_actions)
        except BaseException:
            if background is not None:
                background.wait()  # nothing of this group may still be in flight when it is retried
            raise
        outcomes = background.result() if background is not None else self._bulk(actions)
        rejected: list[dict[str, Any]] = []
        refused: list[dict[str, Any]] = []
        for action, (status, info) in zip(actions, outcomes):
            created = 200 <= status < 300
            already = action["_op_type"] == "create" and status == 409
            gone = action["_op_type"] == "update" and status == 404  # nothing to update, as in SQL
            is_observation = action.get("_observation", False)
            if created or already or gone:
                if is_observation:
                    if created:
                        result.observations_new += 1
                    else:
                        result.observations_seen += 1
            elif status in RETRYABLE_STATUSES:
                raise Unavailable(f"{action['_index']}: {status} {_reason(info)}")
            else:
                rejected.append({"index": action["_index"], "id": action["_id"], "status": status,
                                 "error": info.get("error"), "document": action.get("_source", action.get("doc"))})
                if is_observation:
                    refused.append(action["_source"])
        conflicts: set[str] = set()
        for action, (status, info) in zip(item_actions, item_outcomes):
            if 200 <= status < 300:
                result.items_written += 1
            elif status == 409:
                conflicts.add(action["_id"])  # another writer changed the item meanwhile: read and merge again
            elif status in RETRYABLE_STATUSES:
                raise Unavailable(f"{self.layout.items}: {status} {_reason(info)}")
            else:
                rejected.append({"index": action["_index"], "id": action["_id"], "status": status,
                                 "error": info.get("error"), "document": action["_source"]})
        self._reject(result, rejected)
        if conflicts:
            refused_ids = {id(doc) for doc in refused}
            again = [doc for doc in observations.values() if doc["item_id"] in conflicts and id(doc) not in refused_ids]
            result.items_written += self._merge_items(again, result)
        if refused:
            self._unmerge(refused, result)
        return result

    # --- bulk ---
    def _bulk(self, actions: list[dict[str, Any]]) -> list[Outcome]:
        """(status, info) for every action, in order.

        The actions go out in bulk requests of up to `chunk_size` documents, serialized here once into the
        NDJSON body (an observation's document as the spool serialized it); documents answered with a
        retryable status are sent again, alone, with exponential backoff.
        """
        outcomes: list[Outcome] = [(503, {"error": "not sent"})] * len(actions)
        todo = list(range(len(actions)))
        for attempt in range(self.max_retries + 1):
            if not todo:
                break
            if attempt:
                time.sleep(min(self.max_backoff, self.initial_backoff * 2 ** (attempt - 1)))
            self._send(actions, todo, outcomes)
            todo = [i for i in todo if outcomes[i][0] in RETRYABLE_STATUSES]
        return outcomes

    def _send(self, actions: list[dict[str, Any]], todo: list[int], outcomes: list[Outcome]) -> None:
        """Send the actions at positions `todo`, chunk by chunk; record each one's answer in `outcomes`."""
        chunk: list[int] = []
        body: list[bytes] = []
        size = 0
        for i in todo:
            lines = actions[i].get("_lines")
            if lines is None:
                lines = actions[i]["_lines"] = _lines(actions[i])
            if chunk and (len(chunk) >= self.chunk_size or size + len(lines) > MAX_CHUNK_BYTES):
                self._request(chunk, body, outcomes)
                chunk, body, size = [], [], 0
            chunk.append(i)
            body.append(lines)
            size += len(lines)
        if chunk:
            self._request(chunk, body, outcomes)

    def _request(self, chunk: list[int], body: list[bytes], outcomes: list[Outcome]) -> None:
        try:
            items = self.client.bulk(operations=b"".join(body), filter_path=BULK_RESPONSE_FIELDS).body.get("items") or []
        except ApiError as exc:  # the whole request refused (413, 429, 5xx...): every document gets its status
            info = {"error": exc.body if isinstance(exc.body, (dict, str)) else str(exc)}
            for i in chunk:
                outcomes[i] = (int(exc.status_code), info)
            return
        except TransportError as exc:
            raise Unavailable(f"cannot reach Elasticsearch: {exc}") from None
        if len(items) != len(chunk):  # cannot tell which answer is whose: try them all again
            items = [{}] * len(chunk)
        for i, item in zip(chunk, items):
            info = next(iter(item.values()), None) if item else None
            status = info.get("status") if info else None
            outcomes[i] = ((status, info) if isinstance(status, int)
                           else (503, {"error": "no answer for this document"}))  # "N/A": no answer for it

    # --- items ---
    def _item_writes(self, observations: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Bulk actions that merge these observations into their items (optimistic concurrency on `_seq_no`)."""
        by_item: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for obs in observations:
            by_item[obs["item_id"]].append(obs)
        if not by_item:
            return []
        # Read only what merging needs; the descriptive fields come from the newest observation, and only an
        # item whose stored sighting is newer than every new one (a late replay) is read whole.
        current = self._get_items(sorted(by_item), fields=MERGE_FIELDS)
        whole = [item_id for item_id, found in current.items() if not _newest_wins(found[0], by_item[item_id])]
        if whole:
            current.update(self._get_items(whole))
        actions = []
        for item_id in sorted(by_item):
            found = current.get(item_id)
            merged = merge_item(found[0] if found else None, by_item[item_id])
            if merged is None:
                continue  # every observation already counted: a replay
            action: dict[str, Any] = {"_index": self.layout.items, "_id": item_id, "_source": merged}
            if found:
                action.update(_op_type="index", if_seq_no=found[1], if_primary_term=found[2])
            else:
                action["_op_type"] = "create"
            actions.append(action)
        return actions

    def _merge_items(self, observations: list[dict[str, Any]], result: Applied) -> int:
        """Merge observations into their items until no concurrent writer interferes; return the items written."""
        pending = list(observations)
        written = 0
        for _round in range(CONFLICT_ROUNDS):
            actions = self._item_writes(pending)
            if not actions:
                return written
            outcomes = self._bulk(actions)
            conflicts, rejected = set(), []
            for action, (status, info) in zip(actions, outcomes):
                if 200 <= status < 300:
                    written += 1
                elif status == 409:
                    conflicts.add(action["_id"])
                elif status in RETRYABLE_STATUSES:
                    raise Unavailable(f"{self.layout.items}: {status} {_reason(info)}")
                else:
                    rejected.append({"index": action["_index"], "id": action["_id"], "status": status,
                                     "error": info.get("error"), "document": action["_source"]})
            self._reject(result, rejected)
            pending = [obs for obs in pending if obs["item_id"] in conflicts]
            if not pending:
                return written
        raise Unavailable(f"{len(pending)} item(s) kept changing under concurrent writers; will retry")

    def _unmerge(self, refused: list[dict[str, Any]], result: Applied) -> None:
        """Take back the sightings of observations the cluster refused, so items count only what is stored."""
        runs_by_item: dict[str, set[str]] = defaultdict(set)
        for obs in refused:
            runs_by_item[obs["item_id"]].add(obs["run_id"])
        pending = set(runs_by_item)
        for _round in range(CONFLICT_ROUNDS):
            current = self._get_items(sorted(pending))
            actions = []
            for item_id in sorted(pending):
                found = current.get(item_id)
                if found is None:
                    continue
                item, seq_no, term = found
                seen = [r for r in item.get("seen_runs") or [] if r not in runs_by_item[item_id]]
                if len(seen) == len(item.get("seen_runs") or []):
                    continue
                action: dict[str, Any] = {"_index": self.layout.items, "_id": item_id, "if_seq_no": seq_no,
                                          "if_primary_term": term}
                if seen:
                    action.update(_op_type="index", _source={**item, "seen_runs": seen, "times_seen": len(seen)})
                else:
                    action["_op_type"] = "delete"
                actions.append(action)
            outcomes = self._bulk(actions)
            pending = {a["_id"] for a, (status, _info) in zip(actions, outcomes) if status == 409}
            if not pending:
                return
        raise Unavailable("items of refused observations kept changing; will retry")

    def _get_items(self, ids: list[str], fields: list[str] | None = None) -> dict[str, tuple[dict[str, Any], int, int]]:
        try:
            docs = self.client.mget(index=self.layout.items, ids=ids, source_includes=fields).body["docs"]
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


def _lines(action: dict[str, Any]) -> bytes:
    """The action's two NDJSON lines (one for a delete)."""
    op = action["_op_type"]
    meta: dict[str, Any] = {"_index": action["_index"], "_id": action["_id"]}
    if "if_seq_no" in action:
        meta["if_seq_no"] = action["if_seq_no"]
        meta["if_primary_term"] = action["if_primary_term"]
    head = orjson.dumps({op: meta}, option=orjson.OPT_APPEND_NEWLINE)
    if op == "delete":
        return head
    if op == "update":
        return head + orjson.dumps({"doc": action["doc"]}, default=str, option=orjson.OPT_APPEND_NEWLINE)
    raw = action.get("_raw")
    if raw is None:
        return head + orjson.dumps(action["_source"], default=str, option=orjson.OPT_APPEND_NEWLINE)
    return head + raw + b"\n"


class _Background(threading.Thread):
    """One call on a helper thread; `result()` waits for it and returns its value or raises its exception."""

    def __init__(self, fn: Any, *args: Any) -> None:
        super().__init__(name="netpatrol-es-bulk", daemon=True)
        self._fn, self._args = fn, args
        self._value: Any = None
        self._error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self._value = self._fn(*self._args)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            self._error = exc

    def wait(self) -> None:
        self.join()

    def result(self) -> Any:
        self.join()
        if self._error is not None:
            raise self._error
        return self._value


def _reason(info: dict[str, Any]) -> str:
    error = info.get("error")
    if isinstance(error, dict):
        return f"{error.get('type')}: {error.get('reason')}"
    return str(error)
