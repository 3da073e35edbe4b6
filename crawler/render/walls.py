"""Is a fetched page a wall (CAPTCHA, rate limit, login, "enable JavaScript") rather than the page asked for?

Judged as a person would judge it, never from strings anywhere in the raw HTML:
  * what the page *says*: its title and its visible text, links left out (a link to /captcha
    or a "验证码登录" menu entry says nothing about the page it sits on);
  * what its forms are *for*: a CAPTCHA input, image or widget (reCAPTCHA, hCaptcha, Turnstile,
    Geetest/slider), a password box;
  * how much of the page the wall takes: a wall leaves next to nothing else to read. A listing
    with a CAPTCHA field in its contact form, or an article about CAPTCHAs, is a page.
One lxml parse per page (shared with the rest of the crawl); pure, so it is tested on a corpus of walls and look-alikes (tests/data/walls/).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from parsel import Selector

#: Visible, non-link characters left beside the wall below which any wall sign makes the page a wall.
SMALL_CONTENT = 150
#: With only a form as sign (no wall wording, no widget), other content up to this still makes a wall.
TINY_CONTENT = 20
#: The on-screen weight of a CAPTCHA widget or frame, in characters of text it displaces.
WIDGET_CHARS = 150
#: Above this much other content a page is a page, however loudly part of it reads like a wall.
MAX_WALL_CONTENT = 1000

_PHRASES: dict[str, re.Pattern[str]] = {
    "captcha": re.compile(
        r"verify (?:that )?you(?:'re| are) (?:a )?human|are you (?:a )?(?:robot|human)|i'?m not a robot"
        r"|not a robot|security check|checking (?:if the site connection is secure|your browser)"
        r"|complete the (?:captcha|challenge|puzzle|verification)|enter the (?:characters|code|captcha)"
        r"|solve (?:this|the) (?:captcha|puzzle)|human verification|bot (?:check|protection|verification)"
        r"|slide (?:to|the slider)|drag the slider|just a moment|one more step|attention required"
        r"|verifying you are human|review the security of your connection|press (?:and|&) hold"
        r"|请输入(?:图中|下方|图片)?(?:的)?验证码|输入验证码|安全验证|人机验证|人机识别|滑动验证|滑块验证|拖动(?:下方)?滑块"
        r"|向右滑动|按住滑块|请完成(?:安全)?验证|点击(?:按钮)?(?:进行|完成)验证|请依次点击|验证码错误|访问验证|身份验证后继续"
        r"|請輸入驗證碼|安全驗證|人機驗證|滑動驗證",
        re.IGNORECASE,
    ),
    "rate_limit": re.compile(
        r"too many requests|rate[- ]limit(?:ed)?|unusual traffic|request limit|slow down|temporarily (?:blocked|banned)"
        r"|access (?:denied|blocked)|you have been blocked|your (?:ip|access) (?:address )?has been (?:blocked|banned)"
        r"|(?:why )?have i been blocked|you (?:are unable|do not have permission|don't have permission) to access"
        r"|security service to protect itself|you were blocked|been (?:rate limited|throttled)|too many requests"
        r"|(?<!请勿)(?<!不要)(?<!避免)(?:访问|请求|操作|下单)(?:过于|太)频繁|频率过高|访问频率过[高快]|访问受限|访问被拒绝|拒绝访问"
        r"|(?:您的)?ip(?:地址)?(?:已)?被(?:暂时)?(?:封禁|封锁|限制|屏蔽)|请稍后(?:再)?(?:试|访问)|稍后再试"
        r"|訪問過於頻繁|請求過於頻繁|請稍後再試",
        re.IGNORECASE,
    ),
    "login": re.compile(
        r"(?:sign|log) ?in to (?:continue|view|see|read|access)|please (?:sign|log) ?in|you must (?:be )?(?:logged|signed) in"
        r"|members only|login required|sign in required"
        r"|登录后(?:才能)?(?:查看|继续|访问|浏览|阅读)|请先登录|请登录后|需要登录|登录才能|会员(?:专享|可见)"
        r"|登入後(?:查看|繼續)|請先登入",
        re.IGNORECASE,
    ),
    "javascript": re.compile(
        r"(?:enable|turn on|activate)\W+(?:\w+\W+){0,3}?javascript|javascript (?:is )?(?:required|disabled)"
        r"|(?:启用|开启|打开|允许)\s*(?:您?的?\s*)?(?:浏览器\s*的?\s*)?javascript|javascript\s*(?:已被|被)?\s*(?:禁用|关闭|未启用)",
        re.IGNORECASE,
    ),
}
# Every wall phrase at once, searched in lowercased text: the phrases are written in lower case, and
# without IGNORECASE Python's engine can skip ahead by first characters (about 4x faster on page text).
_ANY_PHRASE = re.compile("|".join(f"(?:{p.pattern})" for p in _PHRASES.values()))
_TITLES = re.compile(
    r"^\s*(?:just a moment|attention required|access denied|security check|captcha|robot check|"
    r"one more step|429|too many requests|403 forbidden|安全验证|访问验证|验证码|人机验证|访问受限|访问过于频繁|请稍候|"
    r"請稍候|安全驗證|登录|登入|sign in|log in)",
    re.IGNORECASE,
)
_CAPTCHA_NAME = re.compile(
    r"captcha|验证码|驗證碼|vcode|checkcode|check_code|verifycode|verify_code|seccode|authcode|yzm|imgcode|turnstile",
    re.IGNORECASE,
)
_WIDGET = re.compile(
    r"g-recaptcha|h-captcha|cf-turnstile|cf-challenge|challenge-form|challenge-platform|geetest|nc_wrapper|nc-container"
    r"|nc_scale|tcaptcha|slide-?verify|slider-?verify|verify-?slider|captcha",
    re.IGNORECASE,
)
_WIDGET_FRAME = re.compile(r"recaptcha|hcaptcha|challenges\.cloudflare|turnstile|geetest|captcha", re.IGNORECASE)
_WS = re.compile(r"\s+")
_SKIP = {"script", "style", "noscript", "template", "svg", "head", "title"}
_ORDER = ("captcha", "rate_limit", "login", "javascript")


@dataclass(frozen=True)
class WallVerdict:
    """Why a page is a wall: its `kind`, the `reason` in words, and the character counts it rests on."""

    kind: str  # captcha | rate_limit | login | javascript
    reason: str
    wall_chars: int
    content_chars: int


_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]")


def _chars(text: str) -> int:
    """Characters a person reads, a CJK character counting twice (it says about what two Latin letters... more)."""
    text = _WS.sub("", text)
    return len(text) + len(_CJK.findall(text))


def _attrs(node: Any) -> str:
    return " ".join(str(v) for k, v in node.attrib.items() if k in ("id", "class", "name", "placeholder", "src", "alt",
                                                                       "aria-label", "data-sitekey", "title"))


class _Reader:
    """Walks the visible tree once, sorting characters into link / wall / content and noting signs."""

    def __init__(self) -> None:
        self.link_chars = 0
        self.content_chars = 0
        self.wall: dict[str, int] = {}  # kind -> characters (or visual weight) of the wall saying it
        self.signs: dict[str, str] = {}
        self.strong: set[str] = set()
        self.evidence: set[str] = set()  # title | phrase | widget | form: independent ways a page shows a wall

    @property
    def wall_chars(self) -> int:
        return sum(self.wall.values())

    def sign(self, kind: str, why: str, chars: int = 0, strong: bool = True) -> None:
        """Note a sign of a wall; a form alone is a weak sign (a contact form may ask for a CAPTCHA too)."""
        self.signs.setdefault(kind, why)
        self.wall[kind] = self.wall.get(kind, 0) + chars
        if strong:
            self.strong.add(kind)

    def walk(self, root: Any) -> None:
        """Depth-first, without recursion: hostile pages nest deeper than Python's stack."""
        stack: list[tuple[bool, Any, bool, str | None]] = [(False, root, False, None)]
        while stack:
            if self.content_chars + self.link_chars > MAX_WALL_CONTENT:
                return  # this much else to read: a page whatever follows (and long pages cost no more to judge)
            is_tail, node, in_link, wall = stack.pop()
            if is_tail:
                self._text(node.tail, in_link, wall)
                continue
            tag = node.tag.lower() if isinstance(node.tag, str) else ""
            stack.append((True, node, in_link, wall))
            if not tag or tag in _SKIP or _hidden(node):
                continue
            inner = wall or self._wall_element(node, tag)
            inner_link = in_link or tag == "a"
            self._text(node.text, inner_link, inner)
            stack.extend((False, child, inner_link, inner) for child in reversed(node))

    def _text(self, text: str | None, in_link: bool, wall: str | None) -> None:
        if not text or not text.strip():
            return
        count = _chars(text)
        if in_link:
            self.link_chars += count
            return
        if wall:
            self.wall[wall] = self.wall.get(wall, 0) + count
            return
        if not _ANY_PHRASE.search(text.lower()):  # most text says nothing of a wall: one scan instead of four
            self.content_chars += count
            return
        for kind in _ORDER:
            found = list(_PHRASES[kind].finditer(text))
            if found:
                said = sum(_chars(m.group(0)) for m in found)
                # A sentence about the wall is all wall; in a long paragraph only the words themselves are.
                walled = min(count, 2 * said + 20)
                self.sign(kind, f"says {found[0].group(0)!r}", walled)
                self.evidence.add("phrase")
                self.content_chars += count - walled
                return
        self.content_chars += count

    def _wall_element(self, node: Any, tag: str) -> str | None:
        """The kind of wall `node` is: a CAPTCHA widget, or a form whose purpose is a CAPTCHA or a login."""
        if tag == "iframe" and _WIDGET_FRAME.search(node.attrib.get("src", "") + " " + node.attrib.get("title", "")):
            self.sign("captcha", "a CAPTCHA frame", WIDGET_CHARS)
            self.evidence.add("widget")
            return "captcha"
        if tag in ("div", "span", "section", "canvas", "form", "iframe") and _WIDGET.search(
            " ".join(str(node.attrib.get(k, "")) for k in ("id", "class", "data-sitekey"))
        ):
            self.sign("captcha", f"a CAPTCHA widget <{tag}>", WIDGET_CHARS)
            self.evidence.add("widget")
            return "captcha"
        if tag != "form":
            return None
        for field in node.iter("input", "img", "button", "label"):
            if field.tag == "input" and (field.attrib.get("type") or "").lower() == "hidden":
                continue
            if _CAPTCHA_NAME.search(_attrs(field) + " " + (field.text or "")):
                self.sign("captcha", "a form asking for a CAPTCHA", strong=False)
                self.evidence.add("form")
                return "captcha"
        if any((f.attrib.get("type") or "").lower() == "password" for f in node.iter("input")):
            self.sign("login", "a login form", strong=False)
            self.evidence.add("form")
            return "login"
        return None


def _hidden(node: Any) -> bool:
    """Hidden from a person by the markup itself (inline style or the `hidden` attribute)."""
    if "hidden" in node.attrib:
        return True
    style = node.attrib.get("style", "").replace(" ", "").lower()
    return "display:none" in style or "visibility:hidden" in style


def detect_wall(html: str | None = None, root: Any = None) -> WallVerdict | None:
    """Return why a page is a wall, or None when it is an ordinary page (whatever strings it contains).

    Give the HTML, or the lxml root already parsed for the page (a crawl parses each page once and
    shares the tree between this check, link extraction and page anatomy)."""
    if root is None:
        if not html or not html.strip():
            return None
        try:
            root = Selector(text=html).root
        except (ValueError, TypeError):
            return None
    if not isinstance(getattr(root, "tag", None), str):
        return None
    title = _WS.sub(" ", " ".join(str(t) for t in root.xpath("//title//text()"))).strip()
    reader = _Reader()
    for body in root.xpath("//body"):
        reader.walk(body)
    if title:
        for kind in _ORDER:
            found = _PHRASES[kind].search(title)
            if found:
                reader.sign(kind, f"its title says {found.group(0)!r}", 1)
                reader.evidence.add("title")
                break
        else:
            if _TITLES.search(title):
                kind = "login" if re.search(r"登录|登入|sign in|log in", title, re.IGNORECASE) else (
                    "rate_limit" if re.search(r"429|too many|频繁|受限|denied|forbidden", title, re.IGNORECASE) else "captcha")
                reader.sign(kind, f"its title is {title[:40]!r}", 1)
                reader.evidence.add("title")
    if not reader.signs:
        return None
    # Links count as the page's own matter here: a portal full of links beside a header login box is a page.
    content = reader.content_chars + reader.link_chars
    wall = reader.wall_chars
    small = SMALL_CONTENT if reader.strong else TINY_CONTENT
    if {"widget", "form"} & reader.evidence and len(reader.evidence) >= 2 and reader.strong:
        # Something to solve plus words or a title saying so: a wall with more small print.
        small = 2 * SMALL_CONTENT
    dominated = content <= small or (wall >= content and content <= MAX_WALL_CONTENT)
    if not dominated:
        return None
    # What the wall mostly says, strong signs before forms alone.
    kind = max(reader.signs, key=lambda k: (k in reader.strong, reader.wall.get(k, 0), -_ORDER.index(k)))
    if kind == "javascript" and content > SMALL_CONTENT:
        return None
    return WallVerdict(kind, f"{reader.signs[kind]}; {content} characters of other content", wall, content)
