"""Operating units: domains that show the same ICP or public-security filing belong to one operator.

Domains are joined through every filing entity they show (union-find), so a domain with
only a public-security filing still joins the unit whose other domain shows both. A
domain that shows no filing is a unit of its own, named after the domain.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable

from crawler.report.coverage import change_pct, rounded
from pipelines.stores.workbench import FilingSighting

_KIND_ORDER = {"icp": 0, "icp_license": 1, "psb": 2}


def unit_of_domains(filings: Iterable[FilingSighting]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """(domain -> unit name, unit name -> the filings shown by its domains)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    shown: dict[str, set[tuple[int, str, str]]] = defaultdict(set)
    for s in filings:
        a, b = find("d:" + s.domain), find("f:" + s.key)
        if a != b:
            parent[a] = b
        shown["d:" + s.domain].add((_KIND_ORDER.get(s.kind, 9), s.key, s.text))
    members: dict[str, list[str]] = defaultdict(list)
    for node in list(parent):
        members[find(node)].append(node)
    unit_of: dict[str, str] = {}
    texts: dict[str, list[str]] = {}
    for nodes in members.values():
        domains = sorted(n[2:] for n in nodes if n.startswith("d:"))
        entries = sorted({e for d in domains for e in shown["d:" + d]})
        name = entries[0][1] if entries else domains[0]
        texts[name] = sorted({e[2] for e in entries})
        for domain in domains:
            unit_of[domain] = name
    return unit_of, texts


def unit_league(
    rows: Iterable[Any],
    by_domain: dict[str, dict[str, Any]],
    removed_urls: set[str],
    filings: Iterable[FilingSighting],
    size: int,
) -> dict[str, Any]:
    """Units by hits in the compare window, with their change, domains, filings and removal rate."""
    unit_of, texts = unit_of_domains(filings)
    units: dict[str, dict[str, Any]] = {}
    items: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        items[unit_of.get(row.domain, row.domain)].add(row.canonical_url)
    for domain, figures in by_domain.items():
        name = unit_of.get(domain, domain)
        unit = units.setdefault(name, {"unit": name, "filings": texts.get(name, []), "domains": [],
                                       "baseline": 0.0, "compare": 0.0})
        unit["domains"].append(domain)
        unit["baseline"] += figures["baseline"]
        unit["compare"] += figures["compare"]
    league = []
    for name, unit in units.items():
        urls = items.get(name, set())
        removed = len(urls & removed_urls)
        unit.update(baseline=rounded(unit["baseline"]), compare=rounded(unit["compare"]),
                    change_pct=change_pct(unit["baseline"], unit["compare"]), domains=sorted(unit["domains"]),
                    items=len(urls), removed=removed, removal_rate=rounded(removed / len(urls)) if urls else None,
                    filed=bool(unit["filings"]))
        league.append(unit)
    league.sort(key=lambda u: (-u["compare"], -u["baseline"], u["unit"]))
    with_hits_b = sum(1 for u in league if u["baseline"])
    with_hits_c = sum(1 for u in league if u["compare"])
    return {
        "baseline": with_hits_b,
        "compare": with_hits_c,
        "change_pct": change_pct(with_hits_b, with_hits_c),
        "cleared": sum(1 for u in league if u["baseline"] and not u["compare"]),
        "multi_domain": sum(1 for u in league if len(u["domains"]) > 1),
        "league": league[:size],
    }
