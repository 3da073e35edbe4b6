"""What the workbench pages show, read from the store: the review queue, one hit in full, report windows."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from markupsafe import Markup, escape

from crawler.cli.evidence import verify
from crawler.report.build import Window
from pipelines.stores.base import Run, Store, parse_iso, utcnow
from pipelines.stores.tracking import TrackedItem, unpack_text
from pipelines.urls import canonical_url

FILTERS = ("category", "target", "domain", "rule", "status")


def item_id(url_key: str) -> str:
    """A hit's id in the app's URLs: the SHA-1 of its canonical URL (the Elasticsearch item id too)."""
    return hashlib.sha1(url_key.encode("utf-8")).hexdigest()


@dataclass
class QueueRow:
    item: TrackedItem
    id: str
    score: float
    target: str
    run_id: str
    verdict: str | None
    hit: dict[str, Any] = field(default_factory=dict)


def latest_hits(store: Store) -> dict[str, dict[str, Any]]:
    """The latest observation of every item (score, explanation, run), across all runs."""
    runs = store.runs()
    order = {r.id: i for i, r in enumerate(runs)}
    latest: dict[str, dict[str, Any]] = {}
    for hit in store.hits([r.id for r in runs]):
        key = canonical_url(hit["url"])
        if key not in latest or order.get(hit["run_id"], -1) >= order.get(latest[key]["run_id"], -1):
            latest[key] = hit
    return latest


def queue(store: Store, filters: dict[str, str], show: str = "untriaged") -> tuple[list[QueueRow], dict[str, list[str]]]:
    """Hits ordered by score, then recency; untriaged only unless `show` is `all`. Also the filter choices."""
    verdicts = store.verdicts()
    hits = latest_hits(store)
    rows: list[QueueRow] = []
    choices: dict[str, set[str]] = {k: set() for k in FILTERS}
    for item in store.items():
        hit = hits.get(item.canonical_url, {})
        verdict = verdicts.get(item.canonical_url)
        row = QueueRow(item, item_id(item.canonical_url), float(hit.get("score") or 0.0), hit.get("target", item.target),
                       hit.get("run_id", ""), verdict.verdict if verdict else None, hit)
        choices["category"].update(item.categories)
        choices["rule"].update(item.rules)
        choices["target"].add(row.target)
        choices["domain"].add(item.domain)
        choices["status"].add(item.status)
        if show != "all" and verdict is not None:
            continue
        if filters.get("category") and filters["category"] not in item.categories:
            continue
        if filters.get("rule") and filters["rule"] not in item.rules:
            continue
        if filters.get("target") and filters["target"] != row.target:
            continue
        if filters.get("domain") and filters["domain"] != item.domain:
            continue
        if filters.get("status") and filters["status"] != item.status:
            continue
        rows.append(row)
    rows.sort(key=lambda r: (-r.score, _neg_time(r.item.last_seen), r.item.canonical_url))
    return rows, {k: sorted(v) for k, v in choices.items()}


def _neg_time(value: str) -> float:
    at = parse_iso(value)
    return -at.timestamp() if at else 0.0


def find_item(store: Store, wanted_id: str) -> TrackedItem | None:
    for item in store.items():
        if item_id(item.canonical_url) == wanted_id:
            return item
    return None


def page_text(store: Store, url_key: str, run_id: str) -> tuple[str, str] | None:
    """(title, text) the run kept for the item, if the text is still kept."""
    for doc in store.documents([run_id], with_text=True) if run_id else []:
        if doc.canonical_url == url_key and doc.text_z:
            return unpack_text(doc.text_z)
    return None


def spans(explanation: dict[str, Any], field_name: str) -> list[tuple[int, int, str]]:
    """(start, end, label) of every matched rule term and signal in one field, from the hit's explanation."""
    out = []
    for rule in explanation.get("rules") or []:
        if not rule.get("fired"):
            continue
        for m in rule.get("matches") or []:
            if m.get("field") == field_name:
                out.append((int(m["start"]), int(m["end"]), f"rule {rule['id']}"))
    for signal in explanation.get("signals") or []:
        if signal.get("field") == field_name:
            out.append((int(signal["start"]), int(signal["end"]), f"signal {signal['id']}"))
    return sorted(out)


def highlight(text: str, marks: list[tuple[int, int, str]], limit: int = 60000) -> Markup:
    """The text, escaped, with each span in <mark title=label>; overlapping spans merge."""
    pieces, pos = [], 0
    for start, end, label in marks:
        start, end = max(start, pos), min(end, len(text))
        if start >= end:
            continue
        pieces.append(escape(text[pos:start]))
        pieces.append(Markup('<mark title="{}">{}</mark>').format(label, text[start:end]))
        pos = end
    pieces.append(escape(text[pos:limit] if pos < limit else ""))
    return Markup("").join(pieces)


def evidence_rows(store: Store, url_key: str, data_dir: Path) -> list[dict[str, Any]]:
    rows = store.evidence(url_key)
    for row in rows:
        path = Path(row["path"])
        row["check"] = verify(path if path.is_absolute() else data_dir / path, row["kind"], row["sha256"])
    return rows


def default_windows(runs: list[Run]) -> tuple[Window, Window] | None:
    """Without a choice: the older half of the patrol runs against the newer half (up to now)."""
    patrols = [r for r in runs if not r.target.startswith("@")]
    if len(patrols) < 2:
        return None
    starts = sorted({at for at in (parse_iso(r.started_at) for r in patrols) if at is not None})
    if len(starts) < 2:
        return None
    half = max(1, len(starts) // 2)
    first, last_base, first_comp = starts[0], starts[half - 1], starts[half]
    end = max(utcnow(), starts[-1]) + timedelta(seconds=1)
    return Window(first, last_base, "baseline"), Window(first_comp, end, "compare")


def kibana_links(kibana_url: str | None, dashboard: str, url_key: str | None = None,
                 window: tuple[str, str] | None = None) -> dict[str, str]:
    if not kibana_url:
        return {}
    base = kibana_url.rstrip("/")
    links = {}
    if url_key:
        query = quote(f"canonical_url:\"{url_key}\"", safe="")
        links["discover"] = (f"{base}/app/discover#/?_a=(index:'netpatrol-observations',"
                             f"query:(language:kuery,query:'{query}'))&_g=(time:(from:now-1y,to:now))")
    if window:
        links["dashboard"] = f"{base}/app/dashboards#/view/{dashboard}?_g=(time:(from:'{window[0]}',to:'{window[1]}'))"
    return links
