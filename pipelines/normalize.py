"""Text normalization applied identically to rule terms and to crawled text.

Sellers evade keyword lists with full-width letters, zero-width characters,
traditional characters and separators between Chinese characters ('赌 博',
'代-开-发-票'). Every step here is a C-level pass (unicodedata, str.translate,
OpenCC, re) so normalizing a page costs far less than fetching it.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc

# Zero-width and invisible format characters used to split keywords.
_INVISIBLE = dict.fromkeys(
    [0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0xFEFF, 0x00AD, 0x180E, 0x034F]
    + list(range(0x202A, 0x202F))
    + list(range(0x2066, 0x206A))
    + [c for c in range(0x00, 0x20) if c not in (0x09, 0x0A, 0x0D)]
    + [0x7F]
)
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Up to three separator characters (spaces, punctuation, symbols, emoji) between two CJK characters.
_CJK_SEPARATORS = re.compile(rf"(?<=[{_CJK}])[^\w{_CJK}]{{1,3}}(?=[{_CJK}])")
_SPACES = re.compile(r"[ \t\r\f\v\u3000]+")


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def normalize(text: str) -> str:
    """Return the matching form of `text`: NFKC, case-folded, invisibles removed,
    simplified Chinese, separators between Chinese characters removed, runs of spaces collapsed."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text)
    text = text.translate(_INVISIBLE).casefold()
    if not text.isascii():
        text = _t2s().convert(text)
        text = _CJK_SEPARATORS.sub("", text)
    return _SPACES.sub(" ", text)
