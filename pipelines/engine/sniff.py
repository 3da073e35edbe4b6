"""Is a body that says it is HTML really text? Junk must be skipped and counted, never matched.

A random binary body served as `text/html` decodes into a soup of letters from every
script, and a rule pack of thousands of short terms finds "hits" in it. So before a page
is read, its decoded text is sniffed on up to three samples (start, middle, end):
  * NUL bytes or other control characters beyond a trace: binary;
  * many U+FFFD replacement characters: bytes that are not in the page's encoding;
  * almost no letters among the visible characters: not prose in any script.
Cheap (a few regex scans of at most 3 x 32 KB) and pure, so it runs on every page.
"""

from __future__ import annotations

import re

SAMPLE_CHARS = 32 * 1024
#: Share of control characters (NUL and other C0/C1 controls but tab, CR, LF, FF) above which text is binary.
MAX_CONTROL_SHARE = 0.02
#: Share of U+FFFD (undecodable bytes) above which the body is not in any encoding it claims.
MAX_REPLACEMENT_SHARE = 0.05
#: Share of letters among non-space characters below which a body is not text (markup included: tags are letters).
MIN_LETTER_SHARE = 0.25
#: Bodies shorter than this are never judged on shares (a tiny page is what it is).
MIN_JUDGED_CHARS = 64

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_SPACE = re.compile(r"\s+")


def _samples(text: str) -> str:
    if len(text) <= 3 * SAMPLE_CHARS:
        return text
    middle = len(text) // 2 - SAMPLE_CHARS // 2
    return text[:SAMPLE_CHARS] + text[middle : middle + SAMPLE_CHARS] + text[-SAMPLE_CHARS:]


def not_text(text: str) -> str | None:
    """Why decoded `text` is not text (a short phrase for logs), or None when it is text worth reading."""
    sample = _samples(text)
    if "\x00" in sample[:4096] and sample.count("\x00") > 8:
        return "NUL bytes"
    chars = _SPACE.sub("", sample)
    total = len(chars)
    if total < MIN_JUDGED_CHARS:
        return None
    controls = len(_CONTROL.findall(chars))
    if controls / total > MAX_CONTROL_SHARE:
        return f"{controls / total:.0%} control characters"
    replaced = chars.count("\ufffd")
    if replaced / total > MAX_REPLACEMENT_SHARE:
        return f"{replaced / total:.0%} undecodable bytes"
    letters = sum(1 for c in chars if c.isalpha())
    if letters / total < MIN_LETTER_SHARE:
        return f"only {letters / total:.0%} letters"
    return None
