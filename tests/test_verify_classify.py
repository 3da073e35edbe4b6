"""What a fresh fetch says about an item: the classification rules of `netpatrol verify`, without a network."""

from __future__ import annotations

import pytest

from crawler.verify.classify import Outcome, classify_page, is_soft404, lost_text, settle

TITLE = "新平台上线 首充福利 老玩家回归专享"


@pytest.mark.parametrize("title, text", [
    ("该商品已删除", "看看其他商品吧"),
    ("易货集市", "抱歉，该帖子已被删除"),
    ("闲鱼", "宝贝不存在"),
    ("某论坛", "該主題已被刪除"),  # traditional characters
    ("信息详情", "该信息已过期"),
    ("Oops", "This listing has been removed."),
    ("404 Not Found", ""),
    ("Marketplace", "Sorry, this item is no longer available"),
    ("PAGE NOT FOUND", "home"),
])
def test_soft404_wording(title: str, text: str) -> None:
    assert is_soft404(title, text)


@pytest.mark.parametrize("title, text", [
    ("卖家已修改", "卖家已修改本商品信息：现出售闲置二手书籍若干"),
    ("新平台上线", "正常的商品页面，价格面议"),
    ("Bike for sale", "Good condition, pick-up only"),
])
def test_ordinary_pages_are_not_soft404(title: str, text: str) -> None:
    assert not is_soft404(title, text)


def test_a_long_page_mentioning_deletion_is_not_a_soft404() -> None:
    text = "论坛公告：违规帖子已被删除。" + "正常内容。" * 1000
    assert not is_soft404("论坛首页", text)


def test_lost_text() -> None:
    assert not lost_text(TITLE, TITLE + " - 易货集市", "正文")
    assert not lost_text(TITLE, "首页", f"推荐：{TITLE.replace(' ', '')}")  # normalized: spacing does not matter
    assert lost_text(TITLE, "易货集市 - 首页", "欢迎来到易货集市")
    assert not lost_text("二手", "首页", "x")  # too short a title proves nothing


@pytest.mark.parametrize("status, title, text, matched, expected", [
    (200, TITLE, "网络赌博", True, Outcome("online", "matches", 200)),
    (200, TITLE, "卖家已修改本商品信息", False, Outcome("changed", "no_match", 200)),
    (200, "该商品已删除", "", False, Outcome("removed", "soft404", 200)),
    (200, "易货集市 - 首页", "欢迎", False, Outcome("removed", "lost_text", 200)),
    (404, "", "", False, Outcome("removed", "http_404", 404)),
    (410, "", "", False, Outcome("removed", "http_410", 410)),
    (451, "", "", False, Outcome("removed", "http_451", 451)),
    (403, "", "", False, Outcome("unreachable", "blocked", 403)),
    (429, "", "", False, Outcome("unreachable", "blocked", 429)),
    (500, "", "", False, Outcome("unreachable", "http_500", 500)),
    (400, "", "", False, Outcome("unreachable", "http_400", 400)),
])
def test_classify_page(status: int, title: str, text: str, matched: bool, expected: Outcome) -> None:
    assert classify_page(status, title, text, matched, TITLE, blocked=False) == expected


def test_a_captcha_wall_is_unreachable_not_removed() -> None:
    assert classify_page(200, "安全验证", "请输入验证码", False, TITLE, blocked=True).status == "unreachable"


def test_unreachable_twice_is_removed() -> None:
    down = Outcome("unreachable", "timeout")
    assert settle(down, "online") == down
    assert settle(down, "unreachable") == Outcome("removed", "unreachable_twice")
    assert settle(Outcome("online", "matches"), "unreachable").status == "online"
