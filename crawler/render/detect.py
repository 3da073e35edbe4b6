"""Does a plainly fetched page look like a JavaScript shell, whose content only a browser would show?

Three signs, any of which is enough when the page has scripts to run:
  * almost no visible text: next to nothing, or a little text outweighed by its scripts
    (short pages with an analytics snippet, such as a removed listing, are not shells),
  * an empty application mount point (#app, #root, #__next, ...),
  * a <noscript> asking for JavaScript, on a page with little text of its own.
A page without any script is never a shell: a browser would show the same text.
The function is pure and cheap (one lxml parse), so it runs on every plain HTML page
of `render: auto` targets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from parsel import Selector

MOUNT_IDS = ("app", "root", "__next", "__nuxt", "___gatsby", "main-app", "react-root", "application", "svelte")
MOUNT_XPATH = (
    "//body//*[" + " or ".join(f"@id='{i}'" for i in MOUNT_IDS) + " or @data-reactroot or @ng-app"
    " or self::app-root]"
)
_VISIBLE_TEXT = (
    "//body//text()[not(ancestor::script) and not(ancestor::style) and not(ancestor::noscript)"
    " and not(ancestor::template)]"
)
_ASKS_FOR_JS = re.compile(
    r"(enable|turn on|activate|requires?|need|allow|switch on)\W+(?:\w+\W+){0,6}?(javascript|js\b)"
    r"|(javascript|js\b)\W+(?:\w+\W+){0,6}?(enabled?|required|needed|disabled|turned off)"
    r"|(启用|开启|打开|允许|需要|支持|禁用|禁止)\s*(?:您?的?\s*)?(浏览器\s*的?\s*)?(javascript|js)"
    r"|(javascript|js)\s*(已被|被)?\s*(禁用|关闭|未启用|未开启)",
    re.IGNORECASE,
)
_WS = re.compile(r"\s+")

#: Visible characters below which a page with scripts is a shell whatever its scripts.
NO_TEXT_CHARS = 50
#: Below this many visible characters, a page is a shell when its scripts outweigh its text.
MIN_TEXT_CHARS = 200
#: Script weight per visible character above which short text is "outweighed"; an external script counts as
#: EXTERNAL_SCRIPT_CHARS characters (bundles are large; their size is unknown without fetching them).
SCRIPT_TEXT_RATIO = 2.0
EXTERNAL_SCRIPT_CHARS = 1500
#: A <noscript> plea for JavaScript marks a shell when the page shows less text than this.
NOSCRIPT_TEXT_CHARS = 500


@dataclass(frozen=True)
class ShellVerdict:
    """Why a page looks like a JavaScript shell (`reason`), with the figures the verdict rests on."""

    reason: str
    text_chars: int
    scripts: int


def js_shell(html: str) -> ShellVerdict | None:
    """Return why `html` looks like a JavaScript shell, or None when its text is there without a browser."""
    if not html or "<script" not in html.lower():
        return None
    try:
        page = Selector(text=html)
    except (ValueError, TypeError):
        return None
    script_nodes = page.xpath("//script")
    scripts = len(script_nodes)
    if not scripts:
        return None
    weight = sum(
        EXTERNAL_SCRIPT_CHARS if node.attrib.get("src") else len("".join(node.xpath("./text()").getall()).strip())
        for node in script_nodes
    )
    text = _WS.sub(" ", " ".join(page.xpath(_VISIBLE_TEXT).getall())).strip()
    chars = len(text)
    for mount in page.xpath(MOUNT_XPATH):
        inner_text = _WS.sub("", "".join(mount.xpath(".//text()[not(ancestor::script) and not(ancestor::noscript)]").getall()))
        if not inner_text and not mount.xpath(".//*[not(self::script) and not(self::noscript) and not(self::style)]"):
            ident = mount.attrib.get("id") or mount.root.tag
            return ShellVerdict(f"empty mount point #{ident}", chars, scripts)
    if chars < NO_TEXT_CHARS or (chars < MIN_TEXT_CHARS and weight >= SCRIPT_TEXT_RATIO * chars):
        return ShellVerdict(f"almost no visible text ({chars} characters) and {scripts} script(s)", chars, scripts)
    if chars < NOSCRIPT_TEXT_CHARS:
        for note in page.xpath("//noscript"):
            said = _WS.sub(" ", " ".join(note.xpath(".//text()").getall()))
            if _ASKS_FOR_JS.search(said):
                return ShellVerdict("a <noscript> asks for JavaScript", chars, scripts)
    return None
