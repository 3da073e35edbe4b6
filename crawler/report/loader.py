"""Read what a report window needs from the store, and apply `--rematch` and `--confirmed` to it.

`--rematch` re-evaluates the kept text of every examined page and result of runs matched
with another rule-set version, so both windows are counted by today's rules; a run
whose text is no longer kept (retention, `keep_text: false`) keeps its original hits
and is listed. `--confirmed` keeps only hits an analyst confirmed (`netpatrol triage`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from pipelines.engine.matcher import Matcher
from pipelines.stores.base import CLEAN_STATUSES, HitRow, Run, SearchTotal, Store
from pipelines.stores.tracking import Document, Verdict, unpack_text


@dataclass
class Filters:
    """How hits are counted: with today's rules (`rematch_with`) and/or confirmed hits only."""

    rematch_with: Matcher | None = None
    confirmed: dict[str, Verdict] | None = None  # the latest verdicts, when counting confirmed hits only

    def is_confirmed(self, canonical_url: str) -> bool:
        if self.confirmed is None:
            return True
        verdict = self.confirmed.get(canonical_url)
        return verdict is not None and verdict.verdict == "confirmed"


@dataclass
class WindowData:
    """Clean runs of a window with their hits and documents, and the runs left out."""

    start: str
    end: str
    runs: list[Run]
    excluded: list[Run]
    rows: list[HitRow]
    documents: list[Document]
    totals: list[SearchTotal]
    rematched: list[str] = field(default_factory=list)
    not_rematched: list[str] = field(default_factory=list)
    # Set by crawler.report.comparable: clean observations per (search target, query), what was set aside.
    query_runs: dict[tuple[str, str], int] = field(default_factory=dict)
    search_targets: set[str] = field(default_factory=set)
    set_aside: list[Run] = field(default_factory=list)  # clean runs of targets not comparable
    set_aside_rows: list[HitRow] = field(default_factory=list)
    lost: list[SearchTotal] = field(default_factory=list)  # (run, query) figures with lost result pages

    def runs_per_target(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for run in self.runs:
            counts[run.target] = counts.get(run.target, 0) + 1
        return counts

    def runs_for(self, target: str, query: str | None = None) -> int:
        """Clean observations a record of `target` (and, for a search target, `query`) is averaged over."""
        if query is not None and target in self.search_targets:
            return self.query_runs.get((target, query), 0)
        return self.runs_per_target().get(target, 0)


def rematch_documents(documents: list[Document], matcher: Matcher) -> list[Document]:
    """The documents matched again with `matcher` (text required); text is dropped from the copies."""
    out = []
    for doc in documents:
        assert doc.text_z is not None
        title, text = unpack_text(doc.text_z)
        result = matcher.match(title, text)
        out.append(Document(
            run_id=doc.run_id, target=doc.target, kind=doc.kind, url=doc.url, canonical_url=doc.canonical_url,
            domain=doc.domain, fetched_at=doc.fetched_at, matched=result.matched,
            categories=list(result.categories) if result.matched else [],
            rules=list(result.rules) if result.matched else [], query=doc.query, rank=doc.rank,
        ))
    return out


def rows_from_documents(documents: Iterable[Document]) -> list[HitRow]:
    """One hit row per run and matched item (an item matched in several result slots counts once)."""
    rows: dict[tuple[str, str], HitRow] = {}
    for doc in documents:
        if not doc.matched:
            continue
        key = (doc.run_id, doc.canonical_url)
        row = rows.get(key)
        if row is None:
            rows[key] = HitRow(doc.run_id, doc.target, doc.canonical_url, doc.domain, list(doc.categories), list(doc.rules))
        else:
            row.categories = sorted(set(row.categories) | set(doc.categories))
            row.rules = sorted(set(row.rules) | set(doc.rules))
    return list(rows.values())


def load_window(store: Store, start: str, end: str, targets: set[str] | None, filters: Filters) -> WindowData:
    """Runs started in [start, end] (of `targets`, if given), split into clean and left-out, with their data."""
    all_runs = [r for r in store.runs(since=start, until=end)
                if (targets is None or r.target in targets) and not r.target.startswith("@")]  # "@tips": not patrols
    clean = [r for r in all_runs if r.status in CLEAN_STATUSES]
    excluded = [r for r in all_runs if r.status not in CLEAN_STATUSES]
    ids = [r.id for r in clean]
    stored_rows = {(r.run_id, r.canonical_url): r for r in (store.hit_rows(ids) if ids else [])}
    documents = store.documents(ids) if ids else []
    rows = list(stored_rows.values())
    data = WindowData(start, end, clean, excluded, rows, documents, store.search_totals(ids) if ids else [])

    matcher = filters.rematch_with
    if matcher is not None:
        stale = [r for r in clean if r.rules_version != matcher.ruleset.version]
        for run in stale:
            with_text = store.documents([run.id], with_text=True)
            if not with_text or any(d.text_z is None for d in with_text):
                data.not_rematched.append(run.id)
                continue
            fresh = rematch_documents(with_text, matcher)
            data.documents = [d for d in data.documents if d.run_id != run.id] + fresh
            data.rows = [r for r in data.rows if r.run_id != run.id] + rows_from_documents(fresh)
            data.rematched.append(run.id)

    if filters.confirmed is not None:
        data.rows = [r for r in data.rows if filters.is_confirmed(r.canonical_url)]
        for doc in data.documents:
            if doc.matched and not filters.is_confirmed(doc.canonical_url):
                doc.matched = False
    return data
