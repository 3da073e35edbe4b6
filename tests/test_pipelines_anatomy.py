"""Page anatomy: blocks, index links, chrome, per-host template learning; and sentence-local vetoes."""

from __future__ import annotations

from pipelines.engine.anatomy import TemplateLearner, anatomy
from pipelines.engine.matcher import Matcher
from pipelines.engine.rules import load_rules

PAGE = """<html><head><title>{title}</title></head><body>
<div class="top">好物小铺 | 购物车</div>
<div class="main"><h1>{title}</h1><p>{text} <b>现货</b>。</p></div>
<div class="list"><ul><li><a href="/item/2">出售仿真枪 保密发货</a> <span>¥300</span></li>
<li><a href="http://other.test/x">真人百家乐 首充送彩金</a></li></ul></div>
<footer><p>免责声明：请谨慎交易，谨防诈骗，发现违法信息请举报。</p></footer>
<div class="z9">本店依法经营 诚信为本</div></body></html>"""


def page(title: str, text: str) -> str:
    return PAGE.format(title=title, text=text)


def test_blocks_index_links_and_chrome() -> None:
    a = anatomy(page("二手自行车", "九成新 三百元"), "http://shop.test/item/1")
    assert a.title == "二手自行车"
    content = a.content()
    assert "九成新 三百元 现货。" in content  # inline markup stays inside its block
    assert "仿真枪" not in content and "百家乐" not in content  # index entries are not the page's text
    assert "谨防诈骗" not in content  # <footer> is chrome
    assert a.index_links() == [("http://shop.test/item/2", "出售仿真枪 保密发货 ¥300"),
                               ("http://other.test/x", "真人百家乐 首充送彩金")]


def test_template_learned_per_host_and_duplicates_count_once() -> None:
    learner = TemplateLearner(min_pages=3)
    pages = [anatomy(page(f"商品{i}", f"描述{i}"), "http://shop.test/") for i in range(3)]
    learner.observe("shop", pages[0])
    learner.observe("shop", pages[0])  # the same page twice is one page
    learner.observe("shop", pages[1])
    assert "依法经营" in pages[0].content(learner.template("shop"))
    learner.observe("shop", pages[2])
    assert "依法经营" not in pages[0].content(learner.template("shop"))  # seen on 3 pages: template
    assert "描述0" in pages[0].content(learner.template("shop"))
    assert learner.template("other") == set()


def test_an_ad_reposted_on_a_few_pages_of_a_busy_host_is_not_template() -> None:
    """A seller reposts one ad under several URLs: on 3 of 40 pages it is below the share, so it stays content."""
    learner = TemplateLearner(min_pages=3, min_share=0.3)
    ad = "出售仿真枪 保密发货 加微信 qq8899"
    pages = [anatomy(page(f"商品{i}", ad if i % 13 == 0 else f"描述{i}"), "http://shop.test/") for i in range(40)]
    for one in pages:
        learner.observe("shop", one)
    template = learner.template("shop")
    assert ad in pages[13].content(template)  # seen on pages 0, 13, 26: 3 of 40
    assert "依法经营" not in pages[13].content(template)  # the footer, on all 40 pages, is template


def test_broken_and_empty_html() -> None:
    assert anatomy("").blocks == []
    a = anatomy("<p>未闭合<div>块<b>粗", "http://x.test/")
    assert a.content() == "未闭合\n块粗"


def test_one_line_appended_cancels_nothing_and_negation_is_an_offer_sign() -> None:
    matcher = Matcher(load_rules())
    offer = "出售各类证件，三天出证，加微信 zj8899"
    assert matcher.match("", offer).matched
    for line in ("本店已在公安机关备案，依法经营。", "谨防诈骗，如遇问题请投诉举报。"):
        assert matcher.match("", offer + "\n" + line).matched, line
    # "无需身份登记" is a sign of an illegal offer, not compliance: 登记 after a negation vetoes nothing.
    rent = "手机卡出售，无需身份登记，当天发货 微信 sim6688"
    assert matcher.match("", rent).matched
    # Crackdown news stays unflagged: the context word stands in the trigger's own sentence.
    assert not matcher.match("", "警方打掉一个出售各类证件的团伙，抓获12人。").matched
