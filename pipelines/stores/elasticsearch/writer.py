"""Apply spooled writes to Elasticsearch in bulk requests: exactly once, retried, rejections kept.

A group of spool records becomes bulk requests of observations (created with ids derived
from (run, canonical URL), so a replay answers 409 and adds nothing), runs and search
totals (indexed whole), and a read-merge-write of the items those observations touch
(optimistic concurrency on `_seq_no`, so concurrent writers never lose a count), sent side
by side. The NDJSON bodies are built here: an observation goes out as the very bytes its
spool line holds (serialized once, by the store).
Retryable failures (429, 5xx, timeouts, an unreachable cluster) raise `Unavailable`:
the records stay unacknowledged in the spool and are applied again later. Documents the
cluster refuses for good (mapping errors) are written with their error to the spool's
`rejected.jsonl` and reported — never silently dropped.
"""

from __future__ import annotations

import logging
import re
import time
from collections import defaultdict
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from functools import partial
from itertools import zip_longest
from typing import Any, Callable, Iterable

import orjson
from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch

from pipelines.stores.base import iso, utcnow
from pipelines.stores.elasticsearch.client import RETRYABLE_STATUSES
from pipelines.stores.elasticsearch.layout import Layout
from pipelines.stores.elasticsearch.spool import Record, append_rejected

logger = logging.getLogger(__name__)

CONFLICT_ROUNDS = 8
# Read errors of a shard that is not started yet (an index just created): waited for, up to ~5 s.
SHARD_STARTING = ("no_shard_available_action_exception", "illegal_index_shard_state_exception",
                  "unavailable_shards_exception", "shard_not_found_exception")
SHARD_WAIT_ROUNDS = 8
# Only what is needed of a bulk answer: per document its status and error, in the order of the request
# (the answer lists the documents in request order, so ids and index names need not come back).
BULK_RESPONSE_FIELDS = "items.*.status,items.*.error"
MAX_CHUNK_BYTES = 50 * 1024 * 1024
Outcome = tuple[int, dict[str, Any]]


class Unavailable(Exception):
    """The cluster cannot take the writes now (unreachable, overloaded, failing); try again later."""


def transport_reason(exc: BaseException) -> str:
    """The root cause of a transport failure in a few words ('Connection refused', 'timed out')."""
    text = str(exc)
    errno = re.search(r"\[Errno -?\d+\] ([^)\]'\"]+)", text)
    if errno:
        return errno.group(1).strip()
    if "timed out" in text.lower() or "timeout" in type(exc).__name__.lower():
        return "timed out"
    return text if len(text) <= 200 else text[:197] + "..."


def unreachable(exc: BaseException) -> Unavailable:
    return Unavailable(f"cannot reach Elasticsearch: {transport_reason(exc)}")


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
# What merging needs of an observation, kept as a flat tuple from the store call to the bulk request (a
# tuple of strings is soon untracked by the garbage collector, a dict of lists never is: with thousands of
# observations in flight, full collections would otherwise cost the writer as much as the requests).
MERGE_KEYS = ("item_id", "run_id", "@timestamp", "target", "canonical_url", "url", "domain", "categories", "rules",
              "title", "snippet")


def merge_summary(doc: dict[str, Any]) -> tuple[Any, ...]:
    """The fields of an observation document that `merge_item` reads, in MERGE_KEYS order."""
    return (doc["item_id"], doc["run_id"], doc["@timestamp"], doc["target"], doc["canonical_url"], doc["url"],
            doc["domain"], tuple(doc.get("categories") or ()), tuple(doc.get("rules") or ()), doc.get("title", ""),
            doc.get("snippet", ""))


def _newest_wins(stored: dict[str, Any], observations: list[dict[str, Any]]) -> bool:
    """Whether one of the observations not yet counted is at least as recent as the item's last sighting."""
    seen = set(stored.get("seen_runs") or [])
    fresh = [o["@timestamp"] for o in observations if o["run_id"] not in seen]
    return not fresh or max(fresh) >= (stored.get("last_seen") or "")


def spool_parts(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The writes of one spool record: a batch record (a page's document with its hits) holds several."""
    if data.get("op") == "batch":
        return list(data.get("parts") or ())
    return [data]


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
            parts = spool_parts(record.data)
            this = ("direct" if any(p.get("op") == "docs" and p.get("index") == self.layout.items for p in parts) else
                    "merge" if any(p.get("op") == "observations" for p in parts) else None)
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
        observations: dict[tuple[str, str], tuple[Any, ...]] = {}  # (index, id) -> merge summary
        runs: dict[str, dict[str, Any]] = {}
        for data in (part for record in records for part in spool_parts(record.data)):
            op = data.get("op")
            if op == "observations":
                for entry in data["docs"]:
                    if isinstance(entry, tuple):  # handed over in memory: the spooled bytes, sent as they are
                        doc_id, raw, summary = entry
                    else:  # read back from the spool file
                        doc_id, raw, summary = entry["_id"], _dumps(entry["doc"]), merge_summary(entry["doc"])
                    key = (data["index"], doc_id)
                    if key not in observations:
                        observations[key] = summary
                        # Only strings and bytes: the garbage collector never has to look at these.
                        actions.append({"_op_type": "create", "_index": data["index"], "_id": doc_id, "_raw": raw,
                                        "_observation": True})
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
        # The group goes out as tasks of one bulk request each, run by `threads` workers (this thread and
        # helpers): requests of observations, runs and documents, and for each slice of the items they touch
        # a read of those items, the merge and their write (optimistic concurrency on `_seq_no`). Each item is
        # in exactly one slice, so the slices are independent; the cluster indexes both shards at once, and
        # the reads and merges overlap the indexing. Merging is idempotent, so whatever part fails, applying
        # the group again later counts nothing twice (and items of observations refused for good are taken
        # back below). No task of the group is in flight any more when this returns or raises.
        outcomes: list[Outcome] = [(503, {"error": "not sent"})] * len(actions)
        doc_tasks = [partial(self._bulk_at, actions, chunk, outcomes) for chunk in self._chunks(list(range(len(actions))))]
        item_tasks = [partial(self._write_items, slice_) for slice_ in self._item_slices(list(observations.values()))]
        tasks = [task for pair in zip_longest(item_tasks, doc_tasks) for task in pair if task is not None]
        item_actions: list[dict[str, Any]] = []
        item_outcomes: list[Outcome] = []
        for done in self._run_tasks(tasks):
            if done is not None:
                item_actions += done[0]
                item_outcomes += done[1]
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
                document = _document(action)
                rejected.append({"index": action["_index"], "id": action["_id"], "status": status,
                                 "error": info.get("error"), "document": document})
                if is_observation:
                    refused.append(document)
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
                                 "error": info.get("error"), "document": _document(action)})
        self._reject(result, rejected)
        if conflicts:
            refused_keys = {(doc["run_id"], doc["canonical_url"]) for doc in refused}
            again = [summary for summary in observations.values()
                     if summary[0] in conflicts and (summary[1], summary[4]) not in refused_keys]
            result.items_written += self._merge_items(again, result)
        if refused:
            self._unmerge(refused, result)
        return result

    # --- bulk ---
    def _bulk(self, actions: list[dict[str, Any]]) -> list[Outcome]:
        """(status, info) for every action, in order (bulk requests of up to `chunk_size` documents)."""
        outcomes: list[Outcome] = [(503, {"error": "not sent"})] * len(actions)
        for chunk in self._chunks(list(range(len(actions)))):
            self._bulk_at(actions, chunk, outcomes)
        return outcomes

    def _bulk_at(self, actions: list[dict[str, Any]], todo: list[int], outcomes: list[Outcome]) -> None:
        """Send the actions at positions `todo` and record each answer in `outcomes`.

        Each action is serialized here once into the NDJSON body (an observation's document as the spool
        serialized it). The client retries a failed request at once by its own settings (`max_retries`,
        `retry_on_status`, `retry_on_timeout` in client.py); what it cannot do is wait between tries or retry
        single documents of an answered bulk request (a 429 for one document of a busy shard). Documents
        left with a retryable status are sent again here, alone, with exponential backoff, as
        `elasticsearch.helpers.streaming_bulk` would, before the group counts as unavailable.
        """
        for attempt in range(self.max_retries + 1):
            if not todo:
                return
            if attempt:
                time.sleep(min(self.max_backoff, self.initial_backoff * 2 ** (attempt - 1)))
            for chunk in self._chunks(todo):
                body = [_lines(actions[i]) for i in chunk]
                start, size = 0, 0
                for n, lines in enumerate(body):  # and at most MAX_CHUNK_BYTES a request
                    if n > start and size + len(lines) > MAX_CHUNK_BYTES:
                        self._request(chunk[start:n], body[start:n], outcomes)
                        start, size = n, 0
                    size += len(lines)
                self._request(chunk[start:], body[start:], outcomes)
            todo = [i for i in todo if outcomes[i][0] in RETRYABLE_STATUSES]

    def _chunks(self, todo: list[Any]) -> list[list[Any]]:
        """Positions in bulk requests of up to `chunk_size` documents. A remainder of a few documents (a run's
        record after its observations) rides with the last full request rather than costing a round trip."""
        slack = self.chunk_size // 20
        chunks = [todo[start : start + self.chunk_size] for start in range(0, len(todo), self.chunk_size)]
        if len(chunks) > 1 and len(chunks[-1]) <= slack:
            chunks[-2].extend(chunks.pop())
        return chunks

    def _run_tasks(self, tasks: list[Callable[[], Any]]) -> list[Any]:
        """Run the tasks on up to `threads` workers; their results in order.

        After a failure no new task starts; the first failure (in task order) is raised once every
        running task is over, so nothing of the group is still in flight when the caller rewinds."""
        if self.threads <= 1 or len(tasks) <= 1:
            return [task() for task in tasks]
        with ThreadPoolExecutor(max_workers=min(self.threads, len(tasks)), thread_name_prefix="netpatrol-es-bulk") as pool:
            futures = [pool.submit(task) for task in tasks]
            wait(futures, return_when=FIRST_EXCEPTION)
            failed = [f for f in futures if f.done() and not f.cancelled() and f.exception() is not None]
            if failed:
                pool.shutdown(wait=True, cancel_futures=True)
                raise failed[0].exception()  # type: ignore[misc]
            return [f.result() for f in futures]

    def _request(self, chunk: list[int], body: list[bytes], outcomes: list[Outcome]) -> None:
        try:
            payload: Any = b"".join(body)  # the client passes a bytes body through as it is
            items = self.client.bulk(operations=payload, filter_path=BULK_RESPONSE_FIELDS).body.get("items") or []
        except ApiError as exc:
            # The whole request refused, after the client's own immediate retries of a retryable status: every
            # document gets the status (a retryable one is sent again below, after a pause; others are rejected).
            refused = {"error": exc.body if isinstance(exc.body, (dict, str)) else str(exc)}
            for i in chunk:
                outcomes[i] = (int(exc.status_code), refused)
            return
        except TransportError as exc:
            raise unreachable(exc) from None
        if len(items) != len(chunk):  # cannot tell which answer is whose: try them all again
            items = [{}] * len(chunk)
        for i, item in zip(chunk, items):
            info: Any = next(iter(item.values()), None) if item else None
            status = info.get("status") if info else None
            outcomes[i] = ((status, info) if isinstance(status, int)
                           else (503, {"error": "no answer for this document"}))  # "N/A": no answer for it

    # --- items ---
    def _item_slices(self, observations: list[tuple[Any, ...]]) -> list[list[tuple[Any, ...]]]:
        """The observations (merge summaries) in slices of up to `chunk_size` items; all of an item in one slice."""
        by_item: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        for summary in observations:
            by_item[summary[0]].append(summary)
        ids = sorted(by_item)
        return [[obs for item_id in chunk for obs in by_item[item_id]] for chunk in self._chunks(ids)]

    def _write_items(self, observations: list[tuple[Any, ...]]) -> tuple[list[dict[str, Any]], list[Outcome]]:
        """Read, merge and write the items of these observations once; the actions and their answers."""
        actions = self._item_writes(observations)
        return actions, self._bulk(actions)

    def _item_writes(self, summaries: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
        """Bulk actions that merge these observations (merge summaries) into their items (optimistic concurrency
        on `_seq_no`). Each merged item is serialized at once: the actions hold only strings, numbers and bytes."""
        by_item: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for summary in summaries:
            by_item[summary[0]].append(dict(zip(MERGE_KEYS, summary)))
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
            action: dict[str, Any] = {"_index": self.layout.items, "_id": item_id, "_raw": _dumps(merged)}
            if found:
                action.update(_op_type="index", if_seq_no=found[1], if_primary_term=found[2])
            else:
                action["_op_type"] = "create"
            actions.append(action)
        return actions

    def _merge_items(self, observations: list[tuple[Any, ...]], result: Applied) -> int:
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
                                     "error": info.get("error"), "document": _document(action)})
            self._reject(result, rejected)
            pending = [summary for summary in pending if summary[0] in conflicts]
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
        """id -> (source, seq_no, primary_term) of the items that exist (a realtime read).

        A shard not started yet (the items index was just created, by this group's other requests or by
        another writer) is waited for briefly; then the cluster counts as unavailable."""
        for attempt in range(SHARD_WAIT_ROUNDS + 1):
            try:
                docs = self.client.mget(index=self.layout.items, ids=ids, source_includes=fields).body["docs"]
            except ApiError as exc:
                if exc.status_code == 404:
                    return {}
                if exc.status_code in RETRYABLE_STATUSES:
                    raise Unavailable(f"{self.layout.items}: {exc}") from None
                raise
            except TransportError as exc:
                raise unreachable(exc) from None
            out = {}
            starting = None
            for doc in docs:
                error = doc.get("error")
                if error:
                    kind = (error or {}).get("type") if isinstance(error, dict) else None
                    if kind == "index_not_found_exception":
                        continue
                    if kind in SHARD_STARTING:
                        starting = starting or error
                        continue
                    raise Unavailable(f"{self.layout.items}: {error}")
                if doc.get("found"):
                    out[doc["_id"]] = (doc["_source"], doc["_seq_no"], doc["_primary_term"])
            if starting is None:
                return out
            time.sleep(min(1.0, 0.05 * 2 ** attempt))
        raise Unavailable(f"{self.layout.items}: {starting}")

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


def _dumps(doc: dict[str, Any]) -> bytes:
    return orjson.dumps(doc, default=str)


def _document(action: dict[str, Any]) -> Any:
    """The document of an action as a dict (for rejected.jsonl), whichever form the action holds it in."""
    if "_raw" in action:
        return orjson.loads(action["_raw"])
    return action.get("_source", action.get("doc"))


def _reason(info: dict[str, Any]) -> str:
    error = info.get("error")
    if isinstance(error, dict):
        return f"{error.get('type')}: {error.get('reason')}"
    return str(error)
