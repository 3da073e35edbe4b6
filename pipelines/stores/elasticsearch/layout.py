"""Where netpatrol's data lives in Elasticsearch: index names, document ids and document shapes.

Ids are derived from what makes a record unique — (run, canonical URL) for an observation,
the canonical URL for an item, (run, query) for a search total, the run id for a run — so a
replayed or repeated write lands on the same document and never duplicates.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, fields
from typing import Any

from pipelines.stores.base import CLEAN_STATUSES, Observation, Run, SearchTotal

_OBSERVATION_FIELD_ORDER = [f.name for f in fields(Observation)]
_RUN_FIELDS = {f.name for f in fields(Run)}


def _digest(*parts: str) -> str:
    return hashlib.sha1("\n".join(parts).encode("utf-8")).hexdigest()


def item_id(canonical_url: str) -> str:
    return _digest(canonical_url)


def observation_id(run_id: str, canonical_url: str) -> str:
    return _digest(run_id, canonical_url)


def search_total_id(run_id: str, query: str) -> str:
    return _digest(run_id, query)


@dataclass(frozen=True)
class Layout:
    """Index names for one `index_prefix`. Observations get one index per month of the run's start."""

    prefix: str

    @property
    def items(self) -> str:
        return f"{self.prefix}-items"

    @property
    def runs(self) -> str:
        return f"{self.prefix}-runs"

    @property
    def search_totals(self) -> str:
        return f"{self.prefix}-search-totals"

    @property
    def item_checks(self) -> str:
        return f"{self.prefix}-item-checks"

    @property
    def verdicts(self) -> str:
        return f"{self.prefix}-verdicts"

    @property
    def users(self) -> str:
        return f"{self.prefix}-users"

    @property
    def audit(self) -> str:
        return f"{self.prefix}-audit"

    @property
    def tips(self) -> str:
        return f"{self.prefix}-tips"

    @property
    def filings(self) -> str:
        return f"{self.prefix}-filings"

    @property
    def documents_pattern(self) -> str:
        return f"{self.prefix}-documents-*"

    def documents_index(self, run_started_at: str) -> str:
        return f"{self.prefix}-documents-{run_started_at[0:4]}.{run_started_at[5:7]}"

    @property
    def observations_pattern(self) -> str:
        return f"{self.prefix}-observations-*"

    @property
    def all_pattern(self) -> str:
        return ",".join([self.observations_pattern, self.items, self.runs, self.search_totals,
                         self.documents_pattern, self.item_checks, self.verdicts, self.users, self.audit,
                         self.tips, self.filings])

    def observations_index(self, run_started_at: str) -> str:
        """`{prefix}-observations-YYYY.MM` of the month the run started in (UTC), so a run's observations share one index."""
        return f"{self.prefix}-observations-{run_started_at[0:4]}.{run_started_at[5:7]}"


# --- documents ----------------------------------------------------------------------------------

def _matched_terms(explanation: dict[str, Any]) -> list[str]:
    terms = explanation.get("terms") if isinstance(explanation, dict) else None
    out: list[str] = []
    if isinstance(terms, dict):
        for values in terms.values():
            for term in values or []:
                if isinstance(term, str) and term not in out:
                    out.append(term)
    return out


def highlight(snippet: str, terms: list[str]) -> str:
    """The snippet with each matched term wrapped in 【】, readable as plain text in Kibana."""
    out = snippet
    for term in sorted(terms, key=len, reverse=True):
        if term and term in out and f"【{term}】" not in out:
            out = out.replace(term, f"【{term}】")
    return out


def _shallow_dict(obs: Observation) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for name in _OBSERVATION_FIELD_ORDER:
        value = getattr(obs, name)
        if isinstance(value, list):
            value = [vars(v).copy() if hasattr(v, "__dataclass_fields__") else v for v in value]
        doc[name] = value
    return doc


def observation_doc(obs: Observation, run_started_at: str) -> dict[str, Any]:
    """The indexed form of an observation. Fields added to `Observation` later are kept (in `_source`)."""
    doc = _shallow_dict(obs)  # dataclasses.asdict deep-copies: most of the cost of a document otherwise
    doc["@timestamp"] = doc.pop("seen_at")
    doc["run_started_at"] = run_started_at
    doc["item_id"] = item_id(obs.canonical_url)
    terms = _matched_terms(obs.explanation)
    doc["terms"] = terms
    doc["snippet_highlighted"] = highlight(obs.snippet, terms)
    return doc


def run_doc(run: Run) -> dict[str, Any]:
    doc = run.as_dict()
    doc["run_id"] = doc.pop("id")
    doc["clean"] = run.status in CLEAN_STATUSES
    return doc


def run_from_doc(doc: dict[str, Any]) -> Run:
    values = {k: v for k, v in doc.items() if k in _RUN_FIELDS}
    values["id"] = doc["run_id"]
    return Run(**values)


def search_total_doc(total: SearchTotal) -> dict[str, Any]:
    doc = asdict(total)
    doc["@timestamp"] = doc.pop("recorded_at")
    doc["matched_share"] = (total.matched / total.results) if total.results else None
    return doc


def search_total_from_doc(doc: dict[str, Any]) -> SearchTotal:
    return SearchTotal(
        run_id=doc["run_id"], target=doc["target"], query=doc["query"], total=doc.get("total"),
        results=doc["results"], matched=doc["matched"], pages=doc["pages"], recorded_at=doc["@timestamp"],
        lost=doc.get("lost") or 0, lost_reasons=list(doc.get("lost_reasons") or []), ads=doc.get("ads") or 0,
    )
