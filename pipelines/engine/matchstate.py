"""What the matcher compiles a rule set into, and what it records while matching one page.

Kept apart from the engine so the explanation code can read a page's record without the
scanning machinery.
"""

from __future__ import annotations

from pipelines.engine.normalize import Normalized
from pipelines.engine.rules import Context, Rule, Signal
from pipelines.engine.sentences import breaks, sentence_of

Span = tuple[int, int]  # byte offsets in a field's key (or plain) form
_LATIN_EDGE = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


class Term:
    """A normalized term with its word-boundary needs (Latin terms match whole words; `*` lifts that)."""

    __slots__ = ("id", "key", "left", "right", "patterns")

    def __init__(self, term_id: int, key: str, left: bool, right: bool) -> None:
        self.id = term_id
        self.key = key
        self.left = left and key[:1] in _LATIN_EDGE
        self.right = right and key[-1:] in _LATIN_EDGE
        self.patterns: list[bytes] = []


class CompiledRule:
    __slots__ = ("rule", "any_ids", "all_ids", "none_ids", "near", "regex_ids", "fields", "contexts", "order")

    def __init__(self, rule: Rule, order: int) -> None:
        self.rule = rule
        self.order = order
        self.any_ids: list[int] = []
        self.all_ids: list[int] = []
        self.none_ids: list[int] = []
        self.near: list[tuple[list[int], list[int], int]] = []
        self.regex_ids: list[int] = []
        self.fields = rule.field_set
        self.contexts: list[int] = []


class CompiledSignal:
    __slots__ = ("signal", "term_ids", "regex_ids", "fields", "categories")

    def __init__(self, signal: Signal) -> None:
        self.signal = signal
        self.term_ids: list[int] = []
        self.regex_ids: list[int] = []
        self.fields = tuple(signal.fields) if signal.fields else ("title", "text", "snippet")
        self.categories = frozenset(signal.categories) if signal.categories else None


class CompiledContext:
    __slots__ = ("context", "term_ids", "window")

    def __init__(self, context: Context) -> None:
        self.context = context
        self.term_ids: list[int] = []
        self.window = context.window


class FieldScan:
    """One field of a page: its normalized forms and the terms and regexes found in it."""

    __slots__ = ("name", "norm", "kb", "found", "regex_found", "_occ", "_plain_bytes", "_soft_bytes", "_breaks", "_lines")

    def __init__(self, name: str, norm: Normalized, kb: bytes, found: dict[int, int]) -> None:
        self.name = name
        self.norm = norm
        self.kb = kb
        self.found = found  # term id -> byte end of the first occurrence of any of its patterns
        self.regex_found: dict[int, int] = {}
        self._occ: dict[int, list[Span]] = {}
        self._plain_bytes: bytes | None = None
        self._soft_bytes: set[int] | None = None
        self._breaks: tuple[list[int], list[int]] | None = None
        self._lines: tuple[list[int], list[int]] | None = None

    def block(self, offset: int, form: str = "key") -> int:
        """The block (line) number of a byte offset: page text has one line per DOM block."""
        if self._lines is None:
            self._lines = breaks(self.norm, self.norm._to_key, lines=True)
        return sentence_of(self._lines[0] if form == "key" else self._lines[1], offset)

    def sentence(self, offset: int, form: str = "key") -> int:
        """The sentence number of a byte offset in the key form (terms) or the plain form (regexes)."""
        if self._breaks is None:
            self._breaks = breaks(self.norm, self.norm._to_key)
        return sentence_of(self._breaks[0] if form == "key" else self._breaks[1], offset)

    @property
    def plain_bytes(self) -> bytes:
        if self._plain_bytes is None:
            self._plain_bytes = self.norm.plain_bytes or self.norm.plain.encode("utf-8")
        return self._plain_bytes

    def soft_bytes(self) -> set[int]:
        """Byte offsets in the key form where a separator inside Latin text was removed."""
        if self._soft_bytes is None:
            chars = sorted(self.norm.soft_boundaries())
            out, pos, acc = set(), 0, 0
            for c in chars:
                acc += len(self.norm.key[pos:c].encode("utf-8"))
                pos = c
                out.add(acc)
            self._soft_bytes = out
        return self._soft_bytes


class Page:
    """Everything matching one page produced; explanations and snippets are computed from it on demand."""

    __slots__ = ("fields", "evaluations", "signals", "scores", "needed", "problems", "truncated", "wants_signal")

    def __init__(self, fields: dict[str, FieldScan]) -> None:
        self.fields = fields
        self.evaluations: list[RuleEvaluation] = []
        self.signals: list[tuple[CompiledSignal, str, str, Span]] = []  # (signal, field, kind, span)
        self.scores: dict[str, float] = {}
        self.needed: dict[str, float] = {}
        self.problems: list[str] = []
        self.truncated: list[str] = []
        self.wants_signal: list[str] = []  # categories held back: reporting words on the page, no listing signal


class RuleEvaluation:
    """Why a candidate rule fired or not: its trigger, cancelled occurrences, the term that blocked it."""

    __slots__ = ("compiled", "fired", "trigger", "also", "cancelled", "blocked", "blocked_occurrence", "missing", "_term")

    def __init__(self, compiled: CompiledRule) -> None:
        self.compiled = compiled
        self.fired = False
        self.trigger: tuple[str, int, str, Span, Span | None] | None = None  # (kind, id, field, span, partner span)
        self.also: list[tuple[int, str, Span]] = []  # matched `all` terms
        self.cancelled: list[tuple[int, str, Span, int, int, Span]] = []  # (term, field, span, context, ctx term, ctx span)
        self.blocked: tuple[int, str, Span] | None = None  # the first `none` term that vetoed an occurrence
        self.blocked_occurrence: tuple[str, int, Span] | None = None  # what it vetoed: ("any"|"regex", id, span)
        self.missing: list[int] = []  # `all` terms not found
        self._term = -1  # the trigger term being tried (for the record of a cancelled occurrence)
