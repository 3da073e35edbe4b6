"""Decide what became of an item from a fresh fetch: online, changed, unreachable or removed.

    online       the page answers and still matches the rules
    changed      the page answers with the item, but it no longer matches (edited to be harmless)
    removed      404/410/451, a host that no longer resolves, a soft-404 page (HTTP 200 saying the
                 content was deleted, in Chinese or English), or a page that lost the item's text
    unreachable  anything that may be transient (timeouts, refused connections, 5xx, blocks);
                 seen twice in a row, it counts as removed

Pure functions: the verify spider feeds them what it fetched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipelines.engine.normalize import normalize, plain

# Wording of "this content is gone" pages. Chinese marketplaces, forums and classifieds
# (删除 deleted, 下架 taken off the shelf, 失效 invalid, 过期 expired, 屏蔽 blocked, 不存在 does not exist),
# and the common English phrasings.
_SOFT404 = re.compile(
    r"(?:已被?|被)(?:删除|下架|屏蔽|封禁|移除|关闭)|已(?:失效|过期|下线)"
    r"|(?:页面|网页|内容|商品|宝贝|信息|帖子|主题|链接|文章|视频|店铺)(?:已)?(?:不存在|找不到|无法访问|丢失)"
    r"|(?:页面|网页|内容|信息|帖子|链接)(?:走丢|失踪)了|找不到(?:该|此|您要的|你要的)?(?:页面|内容|信息|商品)"
    r"|page (?:was )?not found|404 not found|not found|no longer (?:available|exists?|listed|active)"
    r"|(?:has|have|was|were) been (?:removed|deleted|taken down)|(?:was|were) (?:removed|deleted)"
    r"|does(?:n't| not) exist|listing (?:has )?ended|content (?:is )?unavailable|page (?:is )?unavailable"
    r"|this page isn't available|we couldn't find",
    re.IGNORECASE,
)
#: A page longer than this (visible characters) is a real page that may mention deletions in passing.
SOFT404_MAX_TEXT = 3000
#: Titles shorter than this are too generic to prove a page still carries the item.
MIN_TITLE_CHARS = 4

REMOVED_STATUSES = {404: "http_404", 410: "http_410", 451: "http_451"}
BLOCKED_STATUSES = {401, 403, 407, 429, 503}


@dataclass(frozen=True)
class Outcome:
    status: str  # online | changed | unreachable | removed
    reason: str
    http_status: int | None = None


def is_soft404(title: str, text: str) -> bool:
    """An HTTP 200 page that says its content was deleted: in its title, or as the message of a short page.

    Both are normalized first, so traditional characters ('已刪除') and full-width letters read the same."""
    if _SOFT404.search(plain(title)):
        return True
    return len(text) <= SOFT404_MAX_TEXT and bool(_SOFT404.search(plain(text)))


def lost_text(reference_title: str, title: str, text: str) -> bool:
    """Does the page no longer carry the item? Judged by the item's recorded title (normalized)."""
    wanted = normalize(reference_title).strip()
    if len(wanted) < MIN_TITLE_CHARS:
        return False
    return wanted not in normalize(f"{title}\n{text}")


def classify_page(http_status: int, title: str, text: str, matched: bool, reference_title: str, blocked: bool) -> Outcome:
    """Classify an HTTP answer (after redirects) whose visible text has been extracted and matched."""
    if http_status in REMOVED_STATUSES:
        return Outcome("removed", REMOVED_STATUSES[http_status], http_status)
    if http_status in BLOCKED_STATUSES or blocked:
        return Outcome("unreachable", "blocked", http_status)
    if http_status >= 500:
        return Outcome("unreachable", f"http_{http_status}", http_status)
    if http_status >= 400:
        return Outcome("unreachable", f"http_{http_status}", http_status)
    if http_status >= 300:
        return Outcome("unreachable", "redirect_unfollowed", http_status)
    if matched:
        return Outcome("online", "matches", http_status)
    if is_soft404(title, text):
        return Outcome("removed", "soft404", http_status)
    if lost_text(reference_title, title, text):
        return Outcome("removed", "lost_text", http_status)
    return Outcome("changed", "no_match", http_status)


def settle(outcome: Outcome, previous_status: str) -> Outcome:
    """Unreachable on two checks in a row is removed; a single one stays transient."""
    if outcome.status == "unreachable" and previous_status == "unreachable":
        return Outcome("removed", "unreachable_twice", outcome.http_status)
    return outcome
