"""The matching engine: every term of every rule, context and signal in one Hyperscan automaton.

Scanning costs the same whether a pack has 100 or 10,000 rules: each field is scanned once
for all literal terms (SINGLEMATCH: each term reported once, at its first occurrence), and
only the rules one of the found terms triggers are evaluated. Further occurrences are looked
up with `bytes.find` only when a rule needs them (a Latin word boundary failed, a context
word stands nearby, a `near` clause). Offsets are mapped back to the original text only
when a snippet or an explanation is asked for.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any, Iterable

import hyperscan

from pipelines.errors import ConfigError
from pipelines.engine.hscache import compile_database
from pipelines.engine.matchstate import (CompiledContext, CompiledRule, CompiledSignal, FieldScan, Page, RuleEvaluation, Span,
                                  Term)
from pipelines.engine.normalize import is_latin_boundary, normalize, normalize_text, plain
from pipelines.engine.regexes import RegexEngine, RegexSource
from pipelines.engine.rules import FIELDS, Context, Rule, RuleSet, term_core
from pipelines.engine.sentences import denied, negated

_UNITS = re.compile(r"[a-z0-9]+|[^\W_]")
MAX_OCCURRENCES = 200  # per term and field: enough for any context or near decision


class MatchResult:
    """What matching one page produced. `rules` and `terms` say why; `explanation` says it in full."""

    __slots__ = ("matched", "categories", "rules", "score", "terms", "_snippet", "_page", "_matcher", "_explanation")

    def __init__(self, matched: bool, categories: list[str], rules: list[str], score: float,
                 terms: dict[str, list[str]] | None = None, snippet: str | None = None,
                 page: Page | None = None, matcher: "Matcher | None" = None) -> None:
        self.matched = matched
        self.categories = categories
        self.rules = rules
        self.score = score
        self.terms = terms or {}
        self._snippet = snippet
        self._page = page
        self._matcher = matcher
        self._explanation: dict[str, Any] | None = None

    @property
    def snippet(self) -> str:
        """The original text around the strongest rule's match (computed on first use)."""
        if self._snippet is None:
            from pipelines.engine.explain import snippet_for

            self._snippet = snippet_for(self) if self._page is not None else ""
        return self._snippet

    @property
    def explanation(self) -> dict[str, Any]:
        """Every rule that was considered, the original spans, contexts, signals and the score against the threshold."""
        if self._explanation is None:
            from pipelines.engine.explain import explain

            self._explanation = explain(self)
        return self._explanation

    def as_json(self) -> dict[str, object]:
        return {"matched": self.matched, "categories": self.categories, "rules": self.rules, "score": self.score}

    def __repr__(self) -> str:
        return f"MatchResult(matched={self.matched}, categories={self.categories}, rules={self.rules}, score={self.score})"


class Matcher:
    """Match texts against a RuleSet. Build once per crawl; `match` is the hot path."""

    def __init__(self, ruleset: RuleSet, threshold: float = 1.0, snippet_chars: int = 160,
                 max_chars: int = 10_000_000, regex_timeout: float = 0.05) -> None:
        self.ruleset = ruleset
        self.threshold = threshold
        self.snippet_chars = snippet_chars
        self.max_chars = max_chars
        self.terms: list[Term] = []
        self._term_ids: dict[tuple[str, bool, bool], int] = {}
        self._pattern_term: list[int] = []
        self._pattern_len: list[int] = []
        self._term_owner: dict[int, str] = {}
        self._term_warnings: list[str] = []
        self._folded_seen: set[tuple[str, str]] = set()
        regex_sources: list[RegexSource] = []

        def term_ids(values: Iterable[str], owner: str) -> list[int]:
            return sorted({self._term(v, owner) for v in values})

        def regex_ids(values: Iterable[str], owner: str) -> list[int]:
            out = []
            for value in values:
                out.append(len(regex_sources))
                regex_sources.append(RegexSource(value, owner))
            return out

        self.contexts = []
        for context in ruleset.contexts:
            cc = CompiledContext(context)
            cc.term_ids = term_ids(context.terms, f"context {context.id}")
            self.contexts.append(cc)
        self.compiled: list[CompiledRule] = []
        for order, rule in enumerate(ruleset.rules):
            cr = CompiledRule(rule, order)
            owner = f"rule {rule.id}"
            cr.any_ids = term_ids(rule.any, owner)
            cr.all_ids = term_ids(rule.all, owner)
            cr.none_ids = term_ids(rule.none, owner)
            cr.near = [(term_ids(n.terms, owner), term_ids(n.with_, owner), n.window) for n in rule.near]
            cr.regex_ids = regex_ids(rule.regex, owner)
            cr.contexts = [i for i, cc in enumerate(self.contexts) if self._context_applies(cc.context, rule)]
            self.compiled.append(cr)
        self.signals = []
        for signal in ruleset.signals:
            cs = CompiledSignal(signal)
            cs.term_ids = term_ids(signal.terms, f"signal {signal.id}")
            cs.regex_ids = regex_ids(signal.regex, f"signal {signal.id}")
            self.signals.append(cs)

        self.rules_by_trigger: dict[int, list[CompiledRule]] = defaultdict(list)
        self.rules_by_regex: dict[int, list[CompiledRule]] = defaultdict(list)
        for cr in self.compiled:
            triggers = set(cr.any_ids)
            for a, b, _ in cr.near:
                triggers.update(a)
            for t in triggers:
                self.rules_by_trigger[t].append(cr)
            for r in cr.regex_ids:
                self.rules_by_regex[r].append(cr)
        self.context_terms = {t for cc in self.contexts for t in cc.term_ids}
        self.signal_terms = {t for cs in self.signals for t in cs.term_ids}
        used = {f for cr in self.compiled for f in cr.fields} | {f for cs in self.signals for f in cs.fields}
        self.used_fields = tuple(f for f in FIELDS if f in used)
        self.regexes = RegexEngine(regex_sources, timeout=regex_timeout)
        self.warnings = self._term_warnings + list(self.regexes.warnings)
        self._db = self._compile()
        self._scratch = hyperscan.Scratch(self._db) if self._db is not None else None

    @staticmethod
    def _context_applies(context: Context, rule: Rule) -> bool:
        if rule.contexts is not None:
            return context.id in rule.contexts
        return context.categories is None or rule.category in context.categories

    def _term(self, value: str, owner: str) -> int:
        raw = value.strip()
        key = normalize(term_core(raw)).strip()
        folded = _digits(plain(term_core(raw))) - _digits(key)
        if folded and len(key) <= 8 and _CODE_LIKE.search(plain(term_core(raw))) and (owner, raw) not in self._folded_seen:
            self._folded_seen.add((owner, raw))
            self._term_warnings.append(
                f"{owner}: term {raw!r} is compared as {key!r} ({folded} digit(s) read as look-alike letters,"
                f" so it also matches text written with those letters); use a regex if the digits matter")
        left, right = not raw.startswith("*"), not raw.endswith("*")
        ident = (key, left, right)
        term_id = self._term_ids.get(ident)
        if term_id is None:
            term_id = len(self.terms)
            term = Term(term_id, key, left, right)
            variants = [key]
            if " " in key:  # 'online casino' also as written 'online-casino' / 'onlinecasino'
                variants.append(key.replace(" ", ""))
            for variant in variants:
                data = variant.encode("utf-8")
                term.patterns.append(data)
                self._pattern_term.append(term_id)
                self._pattern_len.append(len(data))
            self.terms.append(term)
            self._term_ids[ident] = term_id
            self._term_owner[term_id] = owner
        return term_id

    def _compile(self) -> hyperscan.Database | None:
        patterns = [p for t in self.terms for p in t.patterns]
        if not patterns:
            return None
        try:
            db = compile_database(patterns, list(range(len(patterns))), [hyperscan.HS_FLAG_SINGLEMATCH] * len(patterns),
                                  literal=True)
        except hyperscan.error as exc:
            match = re.search(r"id:(\d+)", str(exc))
            owner = self._term_owner.get(self._pattern_term[int(match.group(1))], "a rule") if match else "a rule"
            raise ConfigError(f"{owner}: Hyperscan cannot compile the terms: {exc}") from None
        return db

    # --- scanning ------------------------------------------------------------------------------

    def scan(self, key_bytes: bytes) -> dict[int, int]:
        """The scan stage alone: {pattern id: byte end of its first occurrence} in one key-form text."""
        found: dict[int, int] = {}
        if self._db is None or not key_bytes:
            return found

        def on_match(pattern_id: int, start: int, end: int, flags: int, context: object) -> None:
            found[pattern_id] = end

        self._db.scan(key_bytes, match_event_handler=on_match, scratch=self._scratch)
        return found

    def _scan_field(self, name: str, value: str, page: Page) -> FieldScan:
        if len(value) > self.max_chars:
            value = value[: self.max_chars]
            page.truncated.append(name)
        norm = normalize_text(value)
        kb = norm.key_bytes
        found: dict[int, int] = {}
        pattern_term = self._pattern_term
        for pattern_id, end in self.scan(kb).items():
            term_id = pattern_term[pattern_id]
            start = end - self._pattern_len[pattern_id]
            if term_id not in found or start < found[term_id]:
                found[term_id] = start
        field = FieldScan(name, norm, kb, found)
        if self.regexes.sources:
            field.regex_found, problems = self.regexes.scan(norm.plain, field.plain_bytes)
            page.problems.extend(problems)
        return field

    def occurrences(self, field: FieldScan, term_id: int) -> list[Span]:
        """Every occurrence of a term in a field that respects its word boundaries (capped)."""
        cached = field._occ.get(term_id)
        if cached is not None:
            return cached
        term = self.terms[term_id]
        spans: list[Span] = []
        if term_id in field.found:
            kb = field.kb
            for pattern in term.patterns:
                pos = field.found[term_id] if pattern is term.patterns[0] else 0
                size = len(pattern)
                while len(spans) < MAX_OCCURRENCES:
                    pos = kb.find(pattern, pos)
                    if pos < 0:
                        break
                    if self._bounded(field, term, pos, pos + size):
                        spans.append((pos, pos + size))
                    pos += 1
            spans.sort()
        field._occ[term_id] = spans
        return spans

    def _bounded(self, field: FieldScan, term: Term, start: int, end: int) -> bool:
        kb = field.kb
        if term.left and not is_latin_boundary(kb, start - 1, -1) and start not in field.soft_bytes():
            return False
        if term.right and not is_latin_boundary(kb, end, 1) and end not in field.soft_bytes():
            # plural forms: 'casino' also matches 'casinos', 'gun' 'guns', 'glass' 'glasses'
            for suffix in (b"s", b"es"):
                if kb.startswith(suffix, end) and is_latin_boundary(kb, end + len(suffix), 1):
                    return True
            return False
        return True

    # --- evaluating ------------------------------------------------------------------------------

    def match(self, title: str = "", text: str = "", url: str = "", snippet: str = "") -> MatchResult:
        """Match a page's title and text (a search result: title and snippet) and, for rules that ask, its URL."""
        values = {"title": title, "text": text, "snippet": snippet, "url": url}
        page = Page({})
        for name in self.used_fields:
            value = values[name]
            if value:
                page.fields[name] = self._scan_field(name, value, page)
        return self._evaluate(page)

    def _units_between(self, field: FieldScan, a: Span, b: Span) -> int:
        """Distance in units (a Chinese character, a Latin word or number) between two spans."""
        lo, hi = (a[1], b[0]) if a[0] <= b[0] else (b[1], a[0])
        if hi <= lo:
            return 0
        if hi - lo > 4096:
            return 10**6
        return len(_UNITS.findall(field.kb[lo:hi].decode("utf-8", "ignore")))

    def _context_hit(self, field: FieldScan, span: Span, contexts: list[int]) -> tuple[int, int, Span] | None:
        """A context word within its window of the trigger, in the same sentence, and not negated."""
        for ci in contexts:
            cc = self.contexts[ci]
            for t in cc.term_ids:
                if t not in field.found:
                    continue
                for other in self.occurrences(field, t):
                    if (self._units_between(field, span, other) <= cc.window
                            and field.sentence(other[0]) == field.sentence(span[0]) and not negated(field.kb, other[0])):
                        return ci, t, other
        return None

    def _none_hit(self, field: FieldScan, span: Span, none_ids: list[int], form: str = "key") -> tuple[int, Span] | None:
        """A `none` word in the trigger's own sentence (not negated): it vetoes that occurrence only."""
        sentence = field.sentence(span[0], form)
        for t in none_ids:
            if t not in field.found:
                continue
            for other in self.occurrences(field, t):
                if field.sentence(other[0]) == sentence and not negated(field.kb, other[0]):
                    return t, other
        return None

    def _page_has_context(self, field: FieldScan, contexts: list[int]) -> bool:
        found = field.found
        return any(t in found for ci in contexts for t in self.contexts[ci].term_ids)

    def _cancelled(self, cr: CompiledRule, field: FieldScan, span: Span, ev: RuleEvaluation, with_context: bool,
                   with_none: bool) -> bool:
        """Is this trigger occurrence cancelled by a context word near it or a `none` word in its sentence?"""
        hit = self._context_hit(field, span, cr.contexts) if with_context else None
        if hit is not None:
            if len(ev.cancelled) < 20:
                ev.cancelled.append((ev_term(ev), field.name, span, hit[0], hit[1], hit[2]))
            return True
        veto = self._none_hit(field, span, cr.none_ids) if with_none else None
        if veto is not None:
            if ev.blocked is None:
                ev.blocked = (veto[0], field.name, veto[1])
                ev.blocked_occurrence = ("any", ev_term(ev), span)
            return True
        return False

    def _trigger(self, cr: CompiledRule, page: Page, ev: RuleEvaluation) -> bool:
        for name in cr.fields:
            field = page.fields.get(name)
            if field is None:
                continue
            with_context = bool(cr.contexts) and self._page_has_context(field, cr.contexts)
            with_none = bool(cr.none_ids) and any(t in field.found for t in cr.none_ids)
            for t in cr.any_ids:
                if t not in field.found:
                    continue
                if not with_context and not with_none:
                    term = self.terms[t]
                    start = field.found[t]
                    end = start + len(term.patterns[0]) if field.kb.startswith(term.patterns[0], start) else None
                    if end is not None and (not (term.left or term.right) or self._bounded(field, term, start, end)):
                        ev.trigger = ("any", t, name, (start, end), None)
                        return True
                for span in self.occurrences(field, t):
                    ev._term = t
                    if not self._cancelled(cr, field, span, ev, with_context, with_none):
                        ev.trigger = ("any", t, name, span, None)
                        return True
            for terms_a, terms_b, window in cr.near:
                for a in terms_a:
                    if a not in field.found:
                        continue
                    for b in terms_b:
                        if b not in field.found:
                            continue
                        for span_a in self.occurrences(field, a):
                            for span_b in self.occurrences(field, b):
                                if self._units_between(field, span_a, span_b) > window:
                                    continue
                                ev._term = a
                                if not self._cancelled(cr, field, span_a, ev, with_context, with_none):
                                    ev.trigger = ("near", a, name, span_a, span_b)
                                    return True
            for r in cr.regex_ids:
                end = field.regex_found.get(r)
                if end is None:
                    continue
                veto = self._none_hit(field, (max(0, end - 1), end), cr.none_ids, "plain") if with_none else None
                if veto is None:
                    ev.trigger = ("regex", r, name, (end, end), None)
                    return True
                if ev.blocked is None:
                    ev.blocked = (veto[0], name, veto[1])
                    ev.blocked_occurrence = ("regex", r, (end, end))
        return False

    def _present(self, term_id: int, names: tuple[str, ...], page: Page) -> tuple[str, Span] | None:
        for name in names:
            field = page.fields.get(name)
            if field is not None and term_id in field.found:
                spans = self.occurrences(field, term_id)
                if spans:
                    return name, spans[0]
        return None

    def _evaluate(self, page: Page) -> MatchResult:
        candidates: dict[int, CompiledRule] = {}
        for field in page.fields.values():
            for t in field.found:
                for cr in self.rules_by_trigger.get(t, ()):
                    candidates[cr.order] = cr
            for r in field.regex_found:
                for cr in self.rules_by_regex.get(r, ()):
                    candidates[cr.order] = cr
        if not candidates:
            return MatchResult(False, [], [], 0.0, page=page if page.fields else None, matcher=self)

        fired_by_category: dict[str, list[RuleEvaluation]] = defaultdict(list)
        for order in sorted(candidates):
            cr = candidates[order]
            ev = RuleEvaluation(cr)
            page.evaluations.append(ev)
            if not self._trigger(cr, page, ev):
                continue
            for t in cr.all_ids:
                where = self._present(t, cr.fields, page)
                if where is None:
                    ev.missing.append(t)
                else:
                    ev.also.append((t, where[0], where[1]))
            if ev.missing:
                continue
            ev.fired = True
            fired_by_category[cr.rule.category].append(ev)
        if not fired_by_category:
            return MatchResult(False, [], [], 0.0, page=page, matcher=self)

        self._signals(page, fired_by_category)
        hit_categories = []
        for category, evs in fired_by_category.items():
            applies = [(s, name, span) for s, name, _, span in page.signals
                       if s.categories is None or category in s.categories]
            positive = [s for s, _, _ in applies if s.signal.weight > 0]
            # A warning word counts against the listing only in the sentence of one of its triggers:
            # a line appended elsewhere ("谨防诈骗，请举报") changes nothing.
            negative = [s for s, name, span in applies if s.signal.weight < 0 and self._near_trigger(page, evs, s)]
            score = sum(ev.compiled.rule.weight for ev in evs) + sum(s.signal.weight for s in positive + negative)
            score = round(score, 4)
            needed = min(ev.compiled.rule.min_score if ev.compiled.rule.min_score is not None else self.threshold
                         for ev in evs)
            page.scores[category] = score
            page.needed[category] = needed
            # The title is the page's headline: a listing does not headline itself with 警惕, 打击, 远离.
            if self._title_reports(page, evs):
                page.wants_signal.append(category)
                continue
            # Reporting or warning words elsewhere on the page veto nothing; they only ask for what any
            # real listing carries anyway: a listing signal (a contact, a price, an order term).
            if not positive and self._reporting(page, category, evs, applies):
                page.wants_signal.append(category)
                continue
            if score >= needed:
                hit_categories.append(category)
        if not hit_categories:
            return MatchResult(False, [], [], max(page.scores.values()), page=page, matcher=self)
        hit_categories.sort()
        kept = sorted((ev for c in hit_categories for ev in fired_by_category[c]),
                      key=lambda ev: (-ev.compiled.rule.weight, ev.compiled.rule.id))
        terms = {ev.compiled.rule.id: self._evidence_terms(ev) for ev in kept}
        score = max(page.scores[c] for c in hit_categories)
        return MatchResult(True, hit_categories, [ev.compiled.rule.id for ev in kept], score, terms,
                           page=page, matcher=self)

    def _reporting(self, page: Page, category: str, evs: list[RuleEvaluation], applies: list) -> bool:
        """Reporting, warning or compliance words in the title or in the block (line) of a fired trigger?
        Other blocks (a footer, a disclaimer, an appended line) change nothing."""
        blocks: dict[str, set[int]] = defaultdict(set)
        for ev in evs:
            if ev.trigger is not None:
                kind, _, name, span, _ = ev.trigger
                blocks[name].add(page.fields[name].block(span[0], "plain" if kind == "regex" else "key"))
            for name in ev.compiled.fields:  # every block where one of its trigger terms stands
                scan = page.fields.get(name)
                if scan is not None:
                    for t in ev.compiled.any_ids:
                        if t in scan.found:
                            blocks[name].update(scan.block(sp[0]) for sp in self.occurrences(scan, t))

        def inside(name: str, span: Span) -> bool:
            field = page.fields.get(name)
            return field is not None and (name == "title" or field.block(span[0]) in blocks.get(name, ()))

        if any(s.signal.weight < 0 and inside(name, span) for s, name, span in applies):
            return True
        for ev in page.evaluations:
            if ev.compiled.rule.category != category:
                continue
            if any(inside(name, cspan) for _, name, _, _, _, cspan in ev.cancelled):
                return True
            if ev.blocked is not None and inside(ev.blocked[1], ev.blocked[2]):
                return True
        for ev in evs:
            for t in ev.compiled.none_ids:
                for name in ev.compiled.fields:
                    scan = page.fields.get(name)
                    if scan is not None and t in scan.found and any(
                            not negated(scan.kb, span[0]) and inside(name, span) for span in self.occurrences(scan, t)):
                        return True
        return False

    def _title_reports(self, page: Page, evs: list[RuleEvaluation]) -> bool:
        """Does the title carry a reporting or warning (context) word of these rules?"""
        title = page.fields.get("title")
        if title is None:
            return False
        contexts = {ci for ev in evs for ci in ev.compiled.contexts}
        return any(t in title.found and any(not negated(title.kb, sp[0]) for sp in self.occurrences(title, t))
                   for ci in contexts for t in self.contexts[ci].term_ids)

    def _near_trigger(self, page: Page, evs: list[RuleEvaluation], cs: CompiledSignal) -> bool:
        """Does a (term) signal occur in the sentence of one of these rules' triggers?"""
        for ev in evs:
            if ev.trigger is None:
                continue
            kind, _, name, span, _ = ev.trigger
            field = page.fields.get(name)
            if field is None or kind == "regex":
                continue
            sentence = field.sentence(span[0])
            for t in cs.term_ids:
                if t in field.found and any(field.sentence(o[0]) == sentence and not negated(field.kb, o[0])
                                            for o in self.occurrences(field, t)):
                    return True
        return False

    def _evidence_terms(self, ev: RuleEvaluation) -> list[str]:
        out = []
        if ev.trigger is not None:
            kind, ident, *_ = ev.trigger
            out.append(self.regexes.sources[ident].pattern if kind == "regex" else self.terms[ident].key)
        out.extend(self.terms[t].key for t, *_ in ev.also)
        return out

    def _signals(self, page: Page, fired: dict[str, list[RuleEvaluation]]) -> None:
        for cs in self.signals:
            if cs.categories is not None and not (cs.categories & fired.keys()):
                continue
            found = None
            for name in cs.fields:
                field = page.fields.get(name)
                if field is None:
                    continue
                for t in cs.term_ids:
                    if t in field.found:
                        spans = self.occurrences(field, t)
                        if cs.signal.weight > 0:  # "金币无法充值" is no offer
                            spans = [sp for sp in spans if not denied(field.kb, sp[0])]
                        if spans:
                            found = (cs, name, f"term:{t}", spans[0])
                            break
                if found is None:
                    for r in cs.regex_ids:
                        if r in field.regex_found:
                            end = field.regex_found[r]
                            found = (cs, name, f"regex:{r}", (end, end))
                            break
                if found is not None:
                    break
            if found is not None:
                page.signals.append(found)


def ev_term(ev: RuleEvaluation) -> int:
    return ev._term


# A short term whose digit is joined to letters by a separator reads as a code (3-MMC, 4-FA, 2C-B):
# folding its digit into a letter is rarely what the author meant ('3-mmc' would match 'eMMC').
_CODE_LIKE = re.compile(r"(?<![a-z0-9])\d+[-_./]+[a-z]|[a-z][-_./]+\d+(?![a-z0-9])")


def _digits(text: str) -> int:
    return sum(c.isdigit() for c in text)
