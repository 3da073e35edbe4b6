"""Text normalization applied identically to rule terms and to crawled text.

Sellers evade keyword lists with full-width letters, zero-width characters, traditional
characters, separators ('赌 博', '代-开-发-票', 'c.a.s.i.n.o'), look-alike digits
('c4sino') and contact-word variants ('V信', '薇信'). Each text gets two forms:

* the *plain* form, for regexes: NFKC (letters and digits), case folding, invisible
  characters removed, simplified Chinese (OpenCC t2s), contact words folded ('V信' → '微信').
  It keeps the length of the original except where a character expands or vanishes.
* the *key* form, for terms: the plain form with whitespace collapsed, 1–3 separator
  characters removed next to Chinese characters and inside Latin words, spaced-out
  letters joined, and look-alike digits inside Latin words mapped (4→a, 0→o, 1→i, 3→e,
  5→s, 7→t, $→s, @→a).

Every step is a C-level pass (re, str methods, OpenCC); the map from key-form offsets
back to the original text is built lazily, only for pages whose matches are shown.
"""

from __future__ import annotations

import json
import re
import tempfile
import unicodedata
from array import array
from bisect import bisect_left, bisect_right
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Callable

import opencc

from pipelines.engine.unicode_tables import INVISIBLE_RANGES, SURROGATES, char_class, tables

CJK = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_UNSTABLE, _COMPOSING = tables()


def _bmp_class(ranges: tuple[tuple[int, int], ...]) -> str:
    """Character class of the BMP ranges plus every astral character: sre tests BMP-only
    classes with a fast table, but walks long range lists (8 MB/s) once astral ranges appear."""
    bmp = tuple((low, min(high, 0xFFFF)) for low, high in ranges if low <= 0xFFFF)
    return f"[{char_class(bmp)}\\U00010000-\\U0010ffff]"


_U, _M = _bmp_class(_UNSTABLE), _bmp_class(_COMPOSING)
_FOLD_RUN = re.compile(f"{_U}+")
_HAS_COMPOSING = re.compile(_M)
_ASCII_CONTROLS = re.compile("[\x00-\x08\x0e-\x1b\x7f]")
# Slower, exact: a combining mark composes with the character before it ('e' + U+0301 -> 'é').
_FOLD_RUN_COMPOSING = re.compile(f"(?:.(?={_M}))?{_U}+", re.S)
_DELETE: dict[int, int | None] = {cp: None for low, high in INVISIBLE_RANGES for cp in range(low, high + 1)}
_DELETE.update({cp: 0xFFFD for cp in range(SURROGATES[0], SURROGATES[1] + 1)})

# Contact-word variants sellers write for 微信 (WeChat) and QQ; each keeps the length.
CONTACT_VARIANTS = {"威信": "微信", "薇信": "微信", "徽信": "微信", "危信": "微信", "卫星": "微信", "扣扣": "qq"}
_CONTACT_LATIN = re.compile(r"[vw](?<![a-z0-9].)(?:x|信)(?![a-z0-9])", re.S)

_WHITESPACE_RUNS = re.compile(r"\s+")
# Separator characters: space, ASCII punctuation, symbols, arrows, shapes, emoji. Standard Chinese
# punctuation (，。！？：；（）、“”…) is left out: it separates sentences, not a split keyword,
# and leaving it out keeps these passes fast on Chinese text.
_PUNCT = (
    "\\x21-\\x2f\\x3a-\\x40\\x5b-\\x60\\x7b-\\x7e\\xa1-\\xbf\\xd7\\xf7\\u2010-\\u2017\\u201a\\u201b\\u201e-\\u2025"
    "\\u2027-\\u205e\\u2190-\\u2bff\\u30fb\\uff02-\\uff07\\uff0a\\uff0b\\uff0d-\\uff0f\\uff1c-\\uff1e\\uff20"
    "\\uff3b-\\uff40\\uff5b-\\uff65\\U0001f000-\\U0001faff"
)
_SEP, _WORD, _C, _P = f"[ {_PUNCT}]", r"[^\W_]", f"[{CJK}]", f"[{_PUNCT}]"
# 1-3 separators with a Chinese character on one side and a letter, digit or Chinese character on the other.
_CJK_SEPARATORS = re.compile(
    f"{_SEP}(?:(?<={_C}.){_SEP}{{0,2}}(?={_WORD})|(?={_SEP}{{0,2}}{_C})(?<={_WORD}.){_SEP}{{0,2}})", re.S)
# 1-3 punctuation/symbol characters inside a Latin word: 'ca-si-no', 'v*agra', 'online-casino'.
_LATIN_PUNCT = re.compile(f"{_P}(?<=[a-z0-9].){_P}{{0,2}}(?=[a-z0-9])", re.S)
# Three or more single letters/digits spaced out: 'c a s i n o', 'v . i . a'.
_SPACED_HINT = re.compile(f"{_SEP}[a-z0-9]{_SEP}{{1,3}}[a-z0-9]{_SEP}{{1,3}}[a-z0-9](?![a-z0-9])")
_SPACED_RUN = re.compile(f"[a-z0-9](?:{_SEP}{{1,3}}[a-z0-9](?![a-z0-9])){{2,}}")
_SPACED_SEPS = re.compile(f"{_SEP}+")
_THREE_SINGLES = array("Q", [1, 1, 1]).tobytes()  # three one-character tokens in a row
_LEET_SYMBOL = re.compile(r"\$(?<![a-z0-9].)(?=[a-z]{2})|[$@](?<=[a-z].)(?=[a-z])", re.S)
_LEET_DIGIT = re.compile(
    r"[013457](?<=[a-z].)[013457]?(?=[a-z])"  # inside a word: c4sino, c0c41ne
    r"|[013457](?<=[a-z]{2}.)(?![a-z0-9])"  # at its end: casin0
    r"|[013457](?<![a-z0-9].)(?=[a-z]{2})",  # at its start: 4dult
    re.S,
)
_LEET = str.maketrans({"4": "a", "0": "o", "1": "i", "3": "e", "5": "s", "7": "t", "$": "s", "@": "a"})
_LATIN_ALNUM = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789")


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


@lru_cache(maxsize=1)
def _t2s_with_contacts() -> tuple[opencc.OpenCC, bool]:
    """OpenCC's t2s with the contact-word variants added to its dictionary group, so one C++ pass
    does both; (converter, True) — or plain t2s and False when the shipped dictionary cannot be used."""
    try:
        share = Path(opencc.__file__).parent / "clib" / "share" / "opencc"
        contacts = Path(str(resources.files("netpatrol_config") / "opencc" / "contacts.ocd2"))
        base = json.loads((share / "t2s.json").read_text(encoding="utf-8"))
        group = base["conversion_chain"][0]["dict"]
        for entry in [*base.get("normalization", []), *base["conversion_chain"]]:
            _absolute(entry["dict"], share)
        group["dicts"].insert(0, {"type": "ocd2", "file": str(contacts)})
        folder = Path(tempfile.mkdtemp(prefix="netpatrol-opencc-"))
        config = folder / "t2s_contacts.json"
        config.write_text(json.dumps(base), encoding="utf-8")
        converter = opencc.OpenCC(str(config))
        if converter.convert("威信衛星網絡") != "微信微信网络":
            raise ValueError("unexpected conversion")
        return converter, True
    except Exception:  # noqa: BLE001 - any problem: fall back to plain t2s plus str.replace
        return _t2s(), False


def _absolute(entry: dict, share: Path) -> None:
    if "file" in entry:
        entry["file"] = str(share / entry["file"])
    for child in entry.get("dicts", []):
        _absolute(child, share)


@lru_cache(maxsize=65536)
def _t2s_char(ch: str) -> str:
    converted = _t2s().convert(ch)
    return converted if len(converted) == 1 else ch


Edit = tuple[int, int, int]  # (input start, input end, output length)


class _Step:
    """One length-changing pass: its edits, or how to find them again in its input when asked."""

    __slots__ = ("source", "finder", "edits", "_arrays")

    def __init__(self, source: str | None, finder: Callable[[str], list[Edit]] | None, edits: list[Edit] | None = None):
        self.source = source
        self.finder = finder
        self.edits = edits
        self._arrays: tuple[list[int], list[int], list[int], list[int]] | None = None

    def arrays(self) -> tuple[list[int], list[int], list[int], list[int]]:
        if self._arrays is None:
            edits = self.edits if self.edits is not None else self.finder(self.source)  # type: ignore[misc,arg-type]
            in_s, in_e, out_s, out_e = [], [], [], []
            shift = 0
            for start, end, out_len in edits:
                in_s.append(start)
                in_e.append(end)
                out_s.append(start + shift)
                shift += out_len - (end - start)
                out_e.append(end + shift)
            self._arrays = (in_s, in_e, out_s, out_e)
        return self._arrays

    def back(self, q: int, side: str) -> int:
        """Map an output offset to the input: `start` sides skip deleted text, `end` sides stop before it."""
        in_s, in_e, out_s, out_e = self.arrays()
        if side == "start":
            i = bisect_right(out_s, q) - 1
            if i < 0:
                return q
            if out_e[i] > out_s[i] and q < out_e[i]:
                return in_s[i]
            return q - out_e[i] + in_e[i]
        i = bisect_left(out_s, q) - 1
        if i < 0:
            return q
        if q <= out_e[i]:
            return in_e[i]
        return q - out_e[i] + in_e[i]

    def forward(self, p: int) -> int:
        """Map an input offset to the output (for positions the step itself reports)."""
        in_s, in_e, out_s, out_e = self.arrays()
        i = bisect_right(in_s, p) - 1
        if i < 0:
            return p
        if p < in_e[i]:
            return out_s[i]
        return p - in_e[i] + out_e[i]


def _finder(pattern: re.Pattern[str], out_len: int) -> Callable[[str], list[Edit]]:
    return lambda source: [(m.start(), m.end(), out_len) for m in pattern.finditer(source)]


def _join_spaced(text: str) -> tuple[str, list[Edit]]:
    """Join runs of three or more spaced-out single letters or digits ('c a s i n o' -> 'casino').

    The cheap hint pattern (it starts with a separator class) finds candidate runs; the run
    itself is matched only there, so pages without spaced letters pay one fast scan."""
    pieces: list[str] = []
    edits: list[Edit] = []
    pos = 0
    starts = [0] if text[:1].isalnum() else []
    starts += (hint.start() + 1 for hint in _SPACED_HINT.finditer(text))
    for start in starts:
        if start < pos:
            continue
        run = _SPACED_RUN.match(text, start)
        if run is None:
            continue
        pieces.append(text[pos:start])
        pieces.append(_SPACED_SEPS.sub("", run.group()))
        edits.extend((start + m.start(), start + m.end(), 0) for m in _SPACED_SEPS.finditer(run.group()))
        pos = run.end()
    if not edits:
        return text, edits
    pieces.append(text[pos:])
    return "".join(pieces), edits


class Normalized:
    """One text in its plain and key forms, with lazy offset maps back to the original."""

    __slots__ = ("original", "plain", "key", "plain_bytes", "_to_plain", "_to_key", "_soft", "_key_bytes")

    def __init__(self, original: str, plain: str, key: str, to_plain: list[_Step], to_key: list[_Step],
                 soft: _Step | None) -> None:
        self.original = original
        self.plain = plain
        self.key = key
        self._to_plain = to_plain  # steps original -> plain, in order
        self._to_key = to_key  # steps plain -> key, in order
        self._soft = soft
        self._key_bytes: bytes | None = None
        self.plain_bytes: bytes | None = None

    @property
    def key_bytes(self) -> bytes:
        if self._key_bytes is None:
            self._key_bytes = self.key.encode("utf-8")
        return self._key_bytes

    def plain_to_original(self, start: int, end: int) -> tuple[int, int]:
        for step in reversed(self._to_plain):
            start, end = step.back(start, "start"), step.back(end, "end")
        return start, max(start, end)

    def key_to_plain(self, start: int, end: int) -> tuple[int, int]:
        for step in reversed(self._to_key):
            start, end = step.back(start, "start"), step.back(end, "end")
        return start, max(start, end)

    def key_to_original(self, start: int, end: int) -> tuple[int, int]:
        return self.plain_to_original(*self.key_to_plain(start, end))

    def soft_boundaries(self) -> set[int]:
        """Key-form character offsets where a separator inside Latin text was removed ('casino.com')."""
        if self._soft is None:
            return set()
        in_s, _, out_s, _ = self._soft.arrays()
        return set(out_s)


def _fold_unstable(text: str) -> tuple[str, list[Edit]]:
    edits: list[Edit] = []

    def fold(match: re.Match[str]) -> str:
        segment = match.group()
        folded = unicodedata.normalize("NFKC", segment).casefold().translate(_DELETE)
        if len(folded) != len(segment):
            edits.append((match.start(), match.end(), len(folded)))
        return folded

    if text.isascii() and _ASCII_CONTROLS.search(text) is None:  # plain ASCII: nothing to fold
        return text, edits
    first = _FOLD_RUN.search(text)
    if first is None:  # the usual case: nothing to fold
        return text, edits
    pattern = _FOLD_RUN_COMPOSING if _HAS_COMPOSING.search(text, max(0, first.start() - 1)) else _FOLD_RUN
    return pattern.sub(fold, text), edits


def _fold_contacts(text: str) -> str:
    if "信" in text or "星" in text or "扣" in text:
        for variant, canonical in CONTACT_VARIANTS.items():
            if variant in text:
                text = text.replace(variant, canonical)
    return text


def plain_form(text: str) -> tuple[str, list[_Step]]:
    """NFKC (letters and digits), case-folded, invisibles removed, simplified Chinese, contact words folded."""
    folded, edits = _fold_unstable(text)
    steps = [_Step(None, None, edits)] if edits else []
    folded = folded.casefold()
    if not folded.isascii():
        converter, with_contacts = _t2s_with_contacts()
        simplified = converter.convert(folded)
        if len(simplified) != len(folded):  # never seen with OpenCC's t2s tables; keep offsets exact anyway
            simplified = "".join(map(_t2s_char, folded))
            with_contacts = False
        folded = simplified if with_contacts else _fold_contacts(simplified)
    if "vx" in folded or "wx" in folded or "v信" in folded or "w信" in folded:
        folded = _CONTACT_LATIN.sub("微信", folded)
    return folded, steps


def _whitespace_edits(source: str) -> list[Edit]:
    """Where `" ".join(source.split())` changed the text: runs become one space, ends vanish."""
    edits: list[Edit] = []
    last = len(source)
    for m in _WHITESPACE_RUNS.finditer(source):
        start, end = m.start(), m.end()
        if start == 0 or end == last:
            edits.append((start, end, 0))
        elif end - start > 1 or source[start] != " ":
            edits.append((start, end, 1))
    return edits


def key_form(plain: str) -> tuple[str, list[_Step], _Step | None]:
    """The matching form of plain text (see the module docstring) and the steps that produced it."""
    steps: list[_Step] = []
    tokens = plain.split()
    text = " ".join(tokens)
    if len(text) != len(plain) or text != plain:
        steps.append(_Step(plain, _whitespace_edits))
    # Spaced-out letters show as three one-character tokens in a row ('c a s', 'c . a'): a C-level
    # test on the token lengths spares the regex search on the pages that have none.
    if _THREE_SINGLES in array("Q", map(len, tokens)).tobytes():
        text, edits = _join_spaced(text)
        if edits:
            steps.append(_Step(None, None, edits))
    if not text.isascii():
        source = text
        text, n = _CJK_SEPARATORS.subn("", source)
        if n:
            steps.append(_Step(source, _finder(_CJK_SEPARATORS, 0)))
    if "$" in text or "@" in text:
        text = _LEET_SYMBOL.sub(lambda m: m.group().translate(_LEET), text)
    soft = None
    source = text
    text, n = _LATIN_PUNCT.subn("", source)
    if n:
        soft = _Step(source, _finder(_LATIN_PUNCT, 0))
        steps.append(soft)
    text = _LEET_DIGIT.sub(lambda m: m.group().translate(_LEET), text)
    return text, steps, soft


def normalize_text(text: str) -> Normalized:
    """Both forms of a page field, with the offset maps kept for explanations."""
    if not text:
        return Normalized("", "", "", [], [], None)
    plain, to_plain = plain_form(text)
    key, to_key, soft = key_form(plain)
    return Normalized(text, plain, key, to_plain, to_key, soft)


@lru_cache(maxsize=200_000)
def normalize(text: str) -> str:
    """The key form of `text`: what rule terms and page text are compared in."""
    if not text:
        return ""
    return key_form(plain_form(text)[0])[0]


def plain(text: str) -> str:
    """The plain form of `text` (what regexes see)."""
    return plain_form(text)[0] if text else ""


def is_latin_boundary(data: bytes, index: int, toward: int) -> bool:
    """True when the byte at `index` does not continue the Latin word or number ending at `index - toward`."""
    if index < 0 or index >= len(data):
        return True
    here, before = data[index], data[index - toward]
    if here not in _LATIN_ALNUM:
        return True
    return (here in b"0123456789") != (before in b"0123456789")
