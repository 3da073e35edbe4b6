"""The matching engine: every rule term in one Hyperscan automaton, rules evaluated from the hits.

Scanning costs the same whether a pack has 100 or 10,000 rules: the text is scanned
once for all literal terms (SINGLEMATCH: each term reported once), and only the rules
that one of the found terms belongs to are evaluated.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

import hyperscan

from pipelines.normalize import normalize
from pipelines.rules import Rule, RuleSet


@dataclass(frozen=True)
class MatchResult:
    """What matching one text produced; `rules` and `terms` explain why it is a hit."""

    matched: bool
    categories: list[str]
    rules: list[str]
    score: float
    terms: dict[str, list[str]] = field(default_factory=dict)
    snippet: str = ""

    def as_json(self) -> dict[str, object]:
        return {"matched": self.matched, "categories": self.categories, "rules": self.rules, "score": self.score}


_NO_MATCH = MatchResult(False, [], [], 0.0)


class _CompiledRule:
    __slots__ = ("rule", "any_ids", "all_ids", "none_ids", "regexes")

    def __init__(self, rule: Rule, any_ids: list[int], all_ids: list[int], none_ids: list[int]) -> None:
        self.rule = rule
        self.any_ids = any_ids
        self.all_ids = all_ids
        self.none_ids = none_ids
        self.regexes = [re.compile(p) for p in rule.regex]


class Matcher:
    """Match texts against a RuleSet. Build once per crawl; `match` is the hot path."""

    def __init__(self, ruleset: RuleSet, threshold: float = 1.0, snippet_chars: int = 160) -> None:
        self.ruleset = ruleset
        self.threshold = threshold
        self.snippet_chars = snippet_chars
        self.terms: list[str] = []
        term_ids: dict[str, int] = {}

        def ids(values: list[str]) -> list[int]:
            out = []
            for value in values:
                term = normalize(value).strip()
                if term not in term_ids:
                    term_ids[term] = len(self.terms)
                    self.terms.append(term)
                out.append(term_ids[term])
            return sorted(set(out))

        self.compiled = [_CompiledRule(r, ids(r.any), ids(r.all), ids(r.none)) for r in ruleset.rules]
        self.rules_by_any_term: dict[int, list[_CompiledRule]] = defaultdict(list)
        for compiled in self.compiled:
            for term_id in compiled.any_ids:
                self.rules_by_any_term[term_id].append(compiled)
        self.regex_rules = [c for c in self.compiled if c.regexes]
        self._db = self._compile(self.terms)
        self._scratch = hyperscan.Scratch(self._db) if self._db else None

    @staticmethod
    def _compile(terms: list[str]) -> hyperscan.Database | None:
        if not terms:
            return None
        db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        db.compile(
            expressions=[t.encode("utf-8") for t in terms],
            ids=list(range(len(terms))),
            elements=len(terms),
            flags=hyperscan.HS_FLAG_SINGLEMATCH,
            literal=True,
        )
        return db

    def scan(self, normalized: str) -> dict[int, int]:
        """Return {term id: byte end offset of its first occurrence} for the normalized text."""
        found: dict[int, int] = {}
        if self._db is None or not normalized:
            return found

        def on_match(term_id: int, start: int, end: int, flags: int, context: object) -> None:
            found[term_id] = end

        self._db.scan(normalized.encode("utf-8"), match_event_handler=on_match, scratch=self._scratch)
        return found

    def match(self, title: str = "", text: str = "") -> MatchResult:
        """Match a page's title and text (or a search result's title and snippet)."""
        normalized = normalize(f"{title}\n{text}" if title else text)
        return self.match_normalized(normalized)

    def match_normalized(self, normalized: str) -> MatchResult:
        found = self.scan(normalized)
        candidates: dict[str, _CompiledRule] = {}
        for term_id in found:
            for compiled in self.rules_by_any_term.get(term_id, ()):
                candidates[compiled.rule.id] = compiled
        regex_spans: dict[str, tuple[int, int]] = {}
        for compiled in self.regex_rules:
            if compiled.rule.id in candidates:
                continue
            for pattern in compiled.regexes:
                hit = pattern.search(normalized)
                if hit:
                    candidates[compiled.rule.id] = compiled
                    regex_spans[compiled.rule.id] = hit.span()
                    break
        if not candidates:
            return _NO_MATCH

        fired: list[_CompiledRule] = []
        for compiled in candidates.values():
            if any(t not in found for t in compiled.all_ids):
                continue
            if any(t in found for t in compiled.none_ids):
                continue
            fired.append(compiled)
        if not fired:
            return _NO_MATCH

        by_category: dict[str, float] = defaultdict(float)
        for compiled in fired:
            by_category[compiled.rule.category] += compiled.rule.weight
        categories = sorted(c for c, s in by_category.items() if s >= self.threshold)
        if not categories:
            return MatchResult(False, [], [], round(max(by_category.values()), 4))
        kept = sorted((c for c in fired if c.rule.category in categories), key=lambda c: (-c.rule.weight, c.rule.id))
        terms = {
            c.rule.id: [self.terms[t] for t in c.any_ids + c.all_ids if t in found] for c in kept
        }
        snippet = self._snippet(normalized, found, kept[0], regex_spans)
        score = round(max(by_category[c] for c in categories), 4)
        return MatchResult(True, categories, [c.rule.id for c in kept], score, terms, snippet)

    def _snippet(self, normalized: str, found: dict[int, int], best: _CompiledRule, regex_spans: dict[str, tuple[int, int]]) -> str:
        if best.rule.id in regex_spans:
            start, end = regex_spans[best.rule.id]
        else:
            term_id = next((t for t in best.any_ids if t in found), None)
            if term_id is None:
                return normalized[: self.snippet_chars]
            byte_end = found[term_id]
            end = len(normalized.encode("utf-8")[:byte_end].decode("utf-8", "ignore"))
            start = max(0, end - len(self.terms[term_id]))
        half = max(0, (self.snippet_chars - (end - start)) // 2)
        lo = max(0, start - half)
        hi = min(len(normalized), end + half)
        snippet = normalized[lo:hi].replace("\n", " ").strip()
        return ("…" if lo > 0 else "") + snippet + ("…" if hi < len(normalized) else "")
