"""Install netpatrol's component and index templates (shipped as JSON in config/elasticsearch/) idempotently.

Each template carries a hash of its rendered body in `_meta`; an unchanged template is
left alone, so a second `netpatrol es setup` changes nothing. Optional cluster features
are detected, not assumed: the CJK bigram filters (module analysis-common) and index
lifecycle management (x-pack) may be missing from a minimal node, and setup says so.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from elasticsearch import ApiError, Elasticsearch, NotFoundError

from pipelines.stores.elasticsearch.layout import Layout

COMPONENTS = ("settings", "observations", "items", "runs", "search-totals", "documents", "item-checks", "verdicts",
              "users", "audit", "tips", "filings")
CJK_PROBE = {"tokenizer": "standard", "filter": ["cjk_width", "lowercase", "cjk_bigram"], "text": "网络赌博"}
# Without analysis-common: overlapping pairs of standard tokens (one per CJK character) from the server's own
# shingle filter. Close to cjk_bigram on Chinese text; it also pairs Latin words, which the main field covers.
FALLBACK_FILTER = {"type": "shingle", "min_shingle_size": 2, "max_shingle_size": 2, "output_unigrams": False,
                   "token_separator": ""}
FALLBACK_ANALYZER = {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "netpatrol_bigram"]}


def load_json(name: str) -> dict[str, Any]:
    """A shipped file from config/elasticsearch/, without its `_comment` keys."""
    text = (resources.files("netpatrol_config") / "elasticsearch" / name).read_text(encoding="utf-8")
    return _strip_comments(json.loads(text))


def _strip_comments(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_comments(v) for k, v in value.items() if k != "_comment"}
    if isinstance(value, list):
        return [_strip_comments(v) for v in value]
    return value


def _render(value: Any, prefix: str) -> Any:
    if isinstance(value, str):
        return value.replace("{prefix}", prefix)
    if isinstance(value, dict):
        return {k: _render(v, prefix) for k, v in value.items()}
    if isinstance(value, list):
        return [_render(v, prefix) for v in value]
    return value


def body_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()[:16]


@dataclass
class Capabilities:
    """Optional features of the cluster that change what setup installs."""

    cjk_bigrams: bool
    lifecycle: bool
    version: str = ""


def detect(client: Elasticsearch) -> Capabilities:
    """Which optional modules every node has (analysis-common, x-pack-ilm); probes when node info is denied."""
    version = str(client.info().body.get("version", {}).get("number", ""))
    try:
        nodes = client.nodes.info(metric="plugins").body.get("nodes", {})
        modules = [{m.get("name") for m in node.get("modules", []) + node.get("plugins", [])} for node in nodes.values()]
        common = set.intersection(*modules) if modules else set()
        return Capabilities("analysis-common" in common, "x-pack-ilm" in common, version)
    except ApiError:
        pass
    try:
        client.indices.analyze(**CJK_PROBE)  # type: ignore[arg-type]
        cjk = True
    except ApiError:
        cjk = False
    try:
        client.ilm.get_lifecycle()
        lifecycle = True
    except ApiError:
        lifecycle = False
    return Capabilities(cjk_bigrams=cjk, lifecycle=lifecycle, version=version)


@dataclass
class Plan:
    """The rendered templates for a prefix and a cluster's capabilities."""

    components: dict[str, dict[str, Any]]
    index_templates: dict[str, dict[str, Any]]
    lifecycle_policy: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)


def plan(layout: Layout, caps: Capabilities) -> Plan:
    prefix = layout.prefix
    notes: list[str] = []
    analysis = load_json("component-analysis.json")["template"]["settings"]["analysis"]
    if not caps.cjk_bigrams:
        analysis = copy.deepcopy(analysis)
        analysis["analyzer"]["netpatrol_cjk"] = FALLBACK_ANALYZER
        analysis["filter"] = {"netpatrol_bigram": FALLBACK_FILTER}
        notes.append("the cluster has no cjk_width/cjk_bigram filters (module analysis-common): "
                     "the .cjk sub-fields index character bigrams made by the shingle filter instead")
    components: dict[str, dict[str, Any]] = {}
    for name in COMPONENTS:
        body = _render(load_json(f"component-{name}.json"), prefix)
        if "netpatrol_cjk" in json.dumps(body):
            body["template"].setdefault("settings", {})["analysis"] = copy.deepcopy(analysis)
        components[f"{prefix}-{name}"] = body
    index_templates = {
        f"{prefix}-{name}": body for name, body in _render(load_json("index-templates.json"), prefix).items()
    }
    policy = None
    if caps.lifecycle:
        policy = load_json("ilm-observations.json")
        observations = index_templates[f"{prefix}-observations"]
        observations["template"] = {"settings": {"index": {"lifecycle": {"name": f"{prefix}-observations"}}}}
    else:
        notes.append("index lifecycle management is not available on this cluster (no x-pack): "
                     "observations are kept in monthly indices; drop old months with `netpatrol es prune`")
    for body in list(components.values()) + list(index_templates.values()):
        body["_meta"] = {"managed_by": "netpatrol", "netpatrol_hash": body_hash(body)}
    if policy is not None:
        policy["policy"]["_meta"] = {"managed_by": "netpatrol", "netpatrol_hash": body_hash(policy)}
    return Plan(components, index_templates, policy, notes)


@dataclass
class Change:
    kind: str  # "component template" | "index template" | "lifecycle policy" | "mapping"
    name: str
    action: str  # "created" | "updated" | "unchanged" | "failed"
    detail: str = ""


def _existing_hashes(getter: Any, key: str, pattern: str) -> dict[str, str]:
    """name -> netpatrol hash of every template matching `pattern`, in one request."""
    try:
        found = getter(name=pattern).body.get(key, [])
    except NotFoundError:
        return {}
    out = {}
    for entry in found:
        body = entry.get("component_template") or entry.get("index_template") or {}
        out[entry["name"]] = str((body.get("_meta") or {}).get("netpatrol_hash"))
    return out


def install(client: Elasticsearch, layout: Layout, caps: Capabilities | None = None,
            update_mappings: bool = True) -> tuple[list[Change], Plan]:
    """Create or update every template (and the lifecycle policy) whose content differs; report each.

    With `update_mappings`, new fields are also added to indices that exist already (always
    after a template changed)."""
    caps = caps or detect(client)
    wanted = plan(layout, caps)
    changes: list[Change] = []
    if wanted.lifecycle_policy is not None:
        name = f"{layout.prefix}-observations"
        try:
            current = client.ilm.get_lifecycle(name=name).body.get(name, {}).get("policy", {})
            old = (current.get("_meta") or {}).get("netpatrol_hash")
        except NotFoundError:
            old = None
        new = wanted.lifecycle_policy["policy"]["_meta"]["netpatrol_hash"]
        if old != new:
            client.ilm.put_lifecycle(name=name, policy=wanted.lifecycle_policy["policy"])
        changes.append(Change("lifecycle policy", name, "unchanged" if old == new else ("updated" if old else "created")))
    have = _existing_hashes(client.cluster.get_component_template, "component_templates", f"{layout.prefix}-*")
    for name, body in wanted.components.items():
        old = have.get(name)
        if old != body["_meta"]["netpatrol_hash"]:
            client.cluster.put_component_template(name=name, template=body["template"], meta=body["_meta"])
        changes.append(Change("component template", name, _action(old, body)))
    have = _existing_hashes(client.indices.get_index_template, "index_templates", f"{layout.prefix}-*")
    for name, body in wanted.index_templates.items():
        old = have.get(name)
        if old != body["_meta"]["netpatrol_hash"]:
            client.indices.put_index_template(
                name=name, index_patterns=body["index_patterns"], composed_of=body["composed_of"],
                priority=body["priority"], template=body.get("template"), meta=body["_meta"],
            )
        changes.append(Change("index template", name, _action(old, body)))
    if update_mappings or any(c.action != "unchanged" for c in changes):
        changes.extend(_update_existing_mappings(client, layout, wanted))
    return changes, wanted


def _action(old: str | None, body: dict[str, Any]) -> str:
    if old is None:
        return "created"
    return "unchanged" if old == body["_meta"]["netpatrol_hash"] else "updated"


def _update_existing_mappings(client: Elasticsearch, layout: Layout, wanted: Plan) -> list[Change]:
    """Add new fields to indices that already exist; settings and changed field types wait for the next index."""
    targets = {
        layout.observations_pattern: "observations",
        layout.items: "items",
        layout.runs: "runs",
        layout.search_totals: "search-totals",
        layout.documents_pattern: "documents",
        layout.item_checks: "item-checks",
        layout.verdicts: "verdicts",
        layout.users: "users",
        layout.audit: "audit",
        layout.tips: "tips",
        layout.filings: "filings",
    }
    changes = []
    for pattern, component in targets.items():
        mappings = wanted.components[f"{layout.prefix}-{component}"]["template"]["mappings"]
        try:
            existing = client.indices.get_mapping(index=pattern, allow_no_indices=True, ignore_unavailable=True).body
        except NotFoundError:
            continue
        for index, current in sorted(existing.items()):
            have = (current.get("mappings") or {}).get("properties", {})
            missing = {k: v for k, v in mappings["properties"].items() if k not in have}
            if not missing:
                continue
            try:
                client.indices.put_mapping(index=index, properties=missing)
                changes.append(Change("mapping", index, "updated", f"added {', '.join(sorted(missing))}"))
            except ApiError as exc:
                changes.append(Change("mapping", index, "failed", str(exc.message)))
    return changes


_ENSURED: set[tuple[str, str]] = set()


def ensure(client: Elasticsearch, layout: Layout) -> None:
    """Install the templates before the first write of a process (a few requests when they are already there)."""
    key = (",".join(str(node.base_url) for node in client.transport.node_pool.all()), layout.prefix)
    if key in _ENSURED:
        return
    install(client, layout, update_mappings=False)
    _ENSURED.add(key)
