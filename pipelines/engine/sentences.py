"""Sentences and negation: the scope of a context or `none` word is its own sentence, never the page.

A seller can append one line to any listing ("本店已在公安备案，依法经营", "谨防诈骗，请举报"), so a
word that cancels a trigger must stand in the trigger's own sentence. Sentences end at 。！？；!?;,
a line break (a block boundary of the page) or '. '. Offsets are kept in both forms a field is
matched in: key-form bytes (terms) and plain-form bytes (regexes), so a term and a regex match can be
compared. Computed lazily, only for pages where a cancelling word and a trigger both occur.

Negation: "无需登记", "不需证件", "免实名", "no ID needed" are signs of an illegal offer, not of
compliance, so a cancelling word right after a negation does not cancel.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipelines.engine.normalize import Normalized

_BREAK = re.compile(r"[。！？；!?;\n\r\u2028\u2029]+|\.(?=\s)")
_LINE = re.compile(r"[\n\r\u2028\u2029]+")
# A negation right before a word: 无需/无须/不需(要)/不用/不必/免/勿需/毋须/没有/不要 (up to two characters
# between: 无需身份登记), or an English "no"/"without"/"don't need" (one word between: no photo id).
_NEGATED_CJK = re.compile(r"(?:无需|无须|毋须|勿需|不需要?|不用|不必|(?<![避豁难以未减赦罢幸])免)(?:[\u4e00-\u9fff]{0,2})\s?$")
_NEGATED_LATIN = re.compile(r"(?:^|[^a-z])(?:no|without|zero|dont need|don't need|not need|never ask for)\s(?:[a-z]+\s)?$")


def breaks(norm: "Normalized", steps_to_key: list, lines: bool = False) -> tuple[list[int], list[int]]:
    """(key-form byte offsets, plain-form byte offsets) of the sentence (or line) breaks of a field, in order."""
    plain = norm.plain
    chars = [m.start() for m in (_LINE if lines else _BREAK).finditer(plain)]
    if not chars:
        return [], []
    plain_bytes = _byte_offsets(plain, chars)
    keys = []
    for p in chars:
        k = p
        for step in steps_to_key:
            k = step.forward(k)
        keys.append(k)
    return _byte_offsets(norm.key, keys), plain_bytes


def _byte_offsets(text: str, chars: list[int]) -> list[int]:
    out, acc, pos = [], 0, 0
    for c in chars:
        c = max(c, pos)
        acc += len(text[pos:c].encode("utf-8"))
        pos = c
        out.append(acc)
    return out


def sentence_of(offsets: list[int], at: int) -> int:
    """The number of the sentence holding byte offset `at`."""
    return bisect_right(offsets, at)


def negated(kb: bytes, start: int) -> bool:
    """Does a negation stand right before the word starting at key byte `start`?"""
    before = kb[max(0, start - 24):start].decode("utf-8", "ignore")
    if not before:
        return False
    return bool(_NEGATED_CJK.search(before) or _NEGATED_LATIN.search(before))


_DENIED = re.compile(r"(?:无法|不能|不可以?|不支持|不提供|禁止|严禁|拒绝)[\u4e00-\u9fff]?$")


def denied(kb: bytes, start: int) -> bool:
    """Is an offer word denied ("金币无法充值", "不能兑换现金")? Then it is no sign of a listing."""
    before = kb[max(0, start - 18):start].decode("utf-8", "ignore")
    return bool(before and _DENIED.search(before))
