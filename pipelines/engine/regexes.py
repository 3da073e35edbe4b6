"""Rule and signal regexes, run by Hyperscan where it can (linear time, however the pattern is written).

Hyperscan rejects some Python-regex features (lookarounds, backreferences); those patterns
run in the `regex` module instead, on at most `python_max_chars` characters with a timeout,
so no pattern can hang a crawl. Each fallback is reported with its rule id and Hyperscan's
reason, so an analyst can rewrite it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import hyperscan
import regex as pyregex

from pipelines.errors import ConfigError
from pipelines.engine.hscache import compile_database
from pipelines.engine.normalize import _t2s

_HS_FLAGS = hyperscan.HS_FLAG_UTF8 | hyperscan.HS_FLAG_UCP | hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_SINGLEMATCH


@dataclass(frozen=True)
class RegexSource:
    """One pattern and who wrote it (`rule X` or `signal Y`), for messages."""

    pattern: str
    owner: str


def _prepare(pattern: str) -> str:
    """Patterns run on the plain form, so their Chinese is simplified the same way (case is ignored)."""
    return _t2s().convert(pattern) if not pattern.isascii() else pattern


# Features Hyperscan does not have: lookarounds, word boundaries in UCP mode, backreferences.
_UNSUPPORTED = re.compile(r"\(\?<?[=!]|\\[bB1-9]|\(\?P=")


class RegexEngine:
    """All regexes of a rule set: one Hyperscan database plus time-bounded Python fallbacks.

    Ids are positions in `sources`; identical patterns (a listing signal repeated per category)
    are compiled once and reported under every id that shares them.
    """

    def __init__(self, sources: list[RegexSource], timeout: float = 0.05, python_max_chars: int = 200_000) -> None:
        self.sources = sources
        self.timeout = timeout
        self.python_max_chars = python_max_chars
        self.patterns = [_prepare(s.pattern) for s in sources]
        unique: dict[str, int] = {}
        self._alias: list[int] = [unique.setdefault(p, i) for i, p in enumerate(self.patterns)]
        self._shared: dict[int, list[int]] = {}
        for i, first in enumerate(self._alias):
            self._shared.setdefault(first, []).append(i)
        self.python: dict[int, pyregex.Pattern[str]] = {}
        self.warnings: list[str] = []
        self._compiled: dict[int, pyregex.Pattern[str]] = {}
        hs_ids = []
        for i in unique.values():
            if _UNSUPPORTED.search(self.patterns[i]):
                self._fallback(i, "lookarounds, \\b and backreferences are not supported")
            else:
                hs_ids.append(i)
        self._db = self._compile(hs_ids)
        self._scratch = hyperscan.Scratch(self._db) if self._db is not None else None

    def _fallback(self, i: int, reason: object) -> None:
        source = self.sources[i]
        try:
            self.python[i] = pyregex.compile(self.patterns[i], pyregex.IGNORECASE | pyregex.V0)
        except pyregex.error as err:
            raise ConfigError(f"{source.owner}: regex {source.pattern!r} cannot be compiled:"
                              f" Hyperscan: {reason}; regex: {err}") from None
        owners = ", ".join(dict.fromkeys(self.sources[j].owner for j in self._shared[i]))
        self.warnings.append(f"{owners}: regex {source.pattern!r} runs in Python, at most"
                             f" {self.timeout * 1000:.0f} ms a field (Hyperscan: {reason})")

    def _compile(self, ids: list[int]) -> hyperscan.Database | None:
        if not ids:
            return None
        try:
            return self._build(ids)
        except hyperscan.error:
            pass
        usable = []
        for i in ids:  # find the patterns Hyperscan refuses, one by one, to name them
            try:
                self._build([i], cache=False)  # a probe: not worth a cache entry
                usable.append(i)
            except hyperscan.error as exc:
                self._fallback(i, exc)
        return self._build(usable) if usable else None

    def _build(self, ids: list[int], cache: bool = True) -> hyperscan.Database:
        return compile_database([self.patterns[i].encode("utf-8") for i in ids], ids, [_HS_FLAGS] * len(ids),
                                cache=cache)

    def scan(self, plain: str, plain_bytes: bytes) -> tuple[dict[int, int], list[str]]:
        """Return ({regex id: byte end of its first match}, problems) for one field's plain form."""
        found: dict[int, int] = {}
        problems: list[str] = []
        if self._db is not None and plain_bytes:
            def on_match(pattern_id: int, start: int, end: int, flags: int, context: object) -> None:
                found[pattern_id] = end

            self._db.scan(plain_bytes, match_event_handler=on_match, scratch=self._scratch)
        for i, pattern in self.python.items():
            if i in found:
                continue
            try:
                hit = pattern.search(plain, endpos=self.python_max_chars, timeout=self.timeout)
            except TimeoutError:
                problems.append(f"{self.sources[i].owner}: regex {self.sources[i].pattern!r} timed out")
                continue
            if hit:
                found[i] = len(plain[: hit.end()].encode("utf-8"))
        for first in list(found):
            for other in self._shared[first]:
                found.setdefault(other, found[first])
        return found, problems

    def span(self, regex_id: int, plain: str, end_char: int) -> tuple[int, int]:
        """Character span of the match ending at `end_char` (for explanations; bounded search)."""
        pattern = self._compiled.get(regex_id)
        if pattern is None:
            pattern = self.python.get(regex_id) or pyregex.compile(self.patterns[regex_id], pyregex.IGNORECASE | pyregex.V0)
            self._compiled[regex_id] = pattern
        try:
            for hit in pattern.finditer(plain, pos=max(0, end_char - 2000), endpos=end_char, timeout=self.timeout,
                                        overlapped=True):
                if hit.end() == end_char:  # Hyperscan reports the earliest end; show the whole (greedy) match
                    whole = pattern.match(plain, hit.start(), endpos=min(len(plain), end_char + 2000),
                                          timeout=self.timeout)
                    return (hit.start(), whole.end()) if whole else (hit.start(), hit.end())
        except (TimeoutError, pyregex.error):
            pass
        return max(0, end_char - 1), end_char
