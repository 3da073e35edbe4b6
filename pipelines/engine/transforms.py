"""Evasion transforms of labeled items: what sellers and site templates do to a listing's text.

Each transform maps a labeled record to a new record; an illegal item must keep its verdict and
category under every one, and a benign item wrapped in a page template must stay benign. The
appended phrasings and page templates are data (config/evasion/), written for this suite; a record
gets the phrasing at its position, so every phrasing is used and runs are reproducible.
"""

from __future__ import annotations

import re
from functools import lru_cache
from html import escape
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterable

from pipelines.engine.anatomy import TemplateLearner, anatomy

Record = dict[str, Any]
CJK_PAIR = re.compile(r"(?<=[\u4e00-\u9fff])(?=[\u4e00-\u9fff])")
SEPARATORS = ("-", " ", "*", ".", "|", "~", "·", "_")
# Pinyin initials or spellings sellers write for key terms (赌博 → db, 博彩 → bc).
PINYIN = {
    "百家乐": "bjl", "博彩": "bc", "赌博": "dubo", "赌场": "dc", "娱乐城": "ylc", "彩金": "cj", "时时彩": "ssc",
    "代开发票": "dkfp", "发票": "fp", "刷单": "sd", "办证": "bz", "套现": "tx", "跑分": "pf", "洗钱": "xq",
    "色情": "sq", "约炮": "yp", "裸聊": "lc", "成人": "cr", "楼凤": "lf", "外围": "ww",
    "冰毒": "bd", "毒品": "dp", "大麻": "dm", "麻古": "mg", "摇头丸": "ytw", "k粉": "kf", "海洛因": "hly",
    "枪支": "qz", "手枪": "sq", "猎枪": "lq", "气枪": "qq", "弹药": "dy", "炸药": "zy", "管制刀具": "gzdj",
    "解锁": "js", "解id": "jid", "id锁": "idsuo", "刷机": "shuaji", "屏幕锁": "pms",
    "黑客": "hk", "木马": "mm", "ddos": "dd", "入侵": "rq", "盗号": "dh", "社工库": "sgk",
}


def _config() -> Path:
    return Path(str(resources.files("netpatrol_config") / "evasion"))


@lru_cache(maxsize=8)
def phrasings(kind: str) -> tuple[str, ...]:
    """The phrasings of one kind (footers, compliance, prefixes), comments and blank lines left out."""
    text = (_config() / f"{kind}.txt").read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


@lru_cache(maxsize=1)
def page_templates() -> tuple[tuple[str, str], ...]:
    return tuple((p.stem, p.read_text(encoding="utf-8")) for p in sorted((_config() / "templates").glob("*.html")))


def _append(kind: str, same_block: bool) -> Callable[[Record, int], Record]:
    """Append a phrasing: a site footer on a line of its own; a seller's claim every other time in the
    listing's own paragraph."""
    def transform(record: Record, i: int) -> Record:
        lines = phrasings(kind)
        text = str(record.get("text") or "")
        joiner = "\n" if i % 2 or not same_block else ("" if text.endswith(("。", "！", ".", "!", "？")) else "。")
        return {**record, "text": text + joiner + lines[i % len(lines)]}
    return transform


def _prefix(record: Record, i: int) -> Record:
    lines = phrasings("prefixes")
    return {**record, "text": lines[i % len(lines)] + str(record.get("text") or "")}


def _separators(record: Record, i: int) -> Record:
    sep = SEPARATORS[i % len(SEPARATORS)]
    return {**record, "title": CJK_PAIR.sub(sep, str(record.get("title") or "")),
            "text": CJK_PAIR.sub(sep, str(record.get("text") or ""))}


@lru_cache(maxsize=1)
def _s2t() -> Any:
    import opencc

    return opencc.OpenCC("s2t")


def _traditional(record: Record, i: int) -> Record:
    s2t = _s2t()
    return {**record, "title": s2t.convert(str(record.get("title") or "")),
            "text": s2t.convert(str(record.get("text") or ""))}


_FULLWIDTH = {c: c + 0xFEE0 for c in range(0x21, 0x7F)}


def _fullwidth(record: Record, i: int) -> Record:
    return {**record, "title": str(record.get("title") or "").translate(_FULLWIDTH),
            "text": str(record.get("text") or "").translate(_FULLWIDTH)}


def _pinyin(record: Record, i: int) -> Record:
    out = dict(record)
    for name in ("title", "text"):
        value = str(record.get(name) or "")
        for term, initials in PINYIN.items():
            value = value.replace(term, initials if i % 2 else initials.upper())
        out[name] = value
    return out


TEXT_TRANSFORMS: dict[str, Callable[[Record, int], Record]] = {
    "footer": _append("footers", same_block=False),
    "compliance": _append("compliance", same_block=True),
    "prefix": _prefix,
    "separators": _separators,
    "traditional": _traditional,
    "fullwidth": _fullwidth,
    "pinyin": _pinyin,
}
TRANSFORMS = ("plain", *TEXT_TRANSFORMS, "template")


def _text_html(text: str) -> str:
    return "".join(f"<p>{escape(line)}</p>" for line in text.splitlines() if line.strip())


def wrap(records: list[Record]) -> list[Record]:
    """Each record as a full page of one of the templates (round robin), its related-listings sidebar
    linking to the titles of other records; the page text is what anatomy keeps of it, with each
    template's repeated blocks learned over all pages of that template, as a crawl of the site would."""
    templates = page_templates()
    pages: list[tuple[int, Record, str, str]] = []
    for i, record in enumerate(records):
        name, template = templates[i % len(templates)]
        related = "".join(
            f'<li><a href="/item/{(i + k) % len(records)}.html">{escape(str(records[(i + k) % len(records)].get("title") or "")[:40])}</a></li>'
            for k in (1, 2, 3, 5, 8))
        html = (template.replace("{title}", escape(str(record.get("title") or "")))
                .replace("{text}", _text_html(str(record.get("text") or "")))
                .replace("{related}", related).replace("{views}", str(100 + i * 7)).replace("{reviews}", str(i % 50)))
        pages.append((i, record, name, html))
    learner = TemplateLearner()
    parsed = [(i, record, name, anatomy(html, f"http://{name}.test/item/{i}.html")) for i, record, name, html in pages]
    for _, _, name, page in parsed:
        learner.observe(name, page)
    out = []
    for i, record, name, page in parsed:
        out.append({**record, "title": page.title, "text": page.content(learner.template(name)),
                    "html_page": pages[i][3]})
    return out


def transformed(records: Iterable[Record], name: str) -> list[Record]:
    """The labeled records under one transform (`plain`: unchanged)."""
    records = list(records)
    if name == "plain":
        return records
    if name == "template":
        return wrap(records)
    transform = TEXT_TRANSFORMS[name]
    return [transform(record, i) for i, record in enumerate(records)]
