"""Fixed content of the demo site: pages in legacy encodings, broken markup, generated benchmark text."""

from __future__ import annotations

import random

BINARY_BYTES = 50 * 1024

_ENCODED_GAMBLING = "网络赌博 真人百家乐 在线充值，首充送彩金，返水日结，加微信 bjl_888 咨询。"
_BIG5_GAMBLING = "網上賭場 真人百家樂 線上投注，首次儲值送彩金，加微信 bjl_888 諮詢。"


def gbk_page() -> bytes:
    page = (
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="gbk">\n'
        "<title>娱乐平台 充值中心</title>\n</head>\n<body>\n<h1>娱乐平台 充值中心</h1>\n"
        f'<div class="content"><p>{_ENCODED_GAMBLING}</p><p>价格：首充 100 元起</p></div>\n'
        "</body>\n</html>\n"
    )
    return page.encode("gbk")


def gb2312_page() -> bytes:
    # No <meta charset>: the charset is only in the Content-Type header.
    page = (
        "<!DOCTYPE html>\n<html>\n<head>\n<title>老玩家专区</title>\n</head>\n<body>\n<h1>老玩家专区</h1>\n"
        f'<div class="content"><p>{_ENCODED_GAMBLING}</p></div>\n</body>\n</html>\n'
    )
    return page.encode("gb2312")


def big5_page() -> bytes:
    page = (
        '<!DOCTYPE html>\n<html lang="zh-TW">\n<head>\n<meta charset="big5">\n'
        "<title>澳門娛樂 線上平台</title>\n</head>\n<body>\n<h1>澳門娛樂 線上平台</h1>\n"
        f'<div class="content"><p>{_BIG5_GAMBLING}</p><p>價格：註冊送 88 元</p></div>\n'
        "</body>\n</html>\n"
    )
    return page.encode("big5")


# Unclosed tags, a stray </div>, invalid UTF-8 bytes; the listing text is still there.
BROKEN_HTML = (
    b"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>"
    + "网络赌博 充值".encode()
    + b"</title>\n<body><div class=\"content\"><p>"
    + "网络赌博 真人百家乐 在线充值，返水 1.5%，<b>加 V信：bjl_888".encode()
    + b"\n<table><tr><td>\xff\xfe\xc3\x28 \x80\x81<td>"
    + "百家乐 充值 秒到账".encode()
    + b"</span></div></div>\n<p><i>\xe4\xb8 <ul><li>"
    + "首充送彩金".encode()
    + b"<li>\n"
)

ROBOTS = "User-agent: *\nDisallow: /private/\n"

SECRET_TEXT = "内部资料：网络赌博代理后台账号、赌博网站充值通道与代-开-发-票渠道清单，仅限内部人员查看，禁止外传。"

GEN_BENIGN = (
    "二手书籍整理转让，品相良好，可同城面交。",
    "家用电器以旧换新，旧机上门回收，价格透明。",
    "周末亲子手工课，材料全部由机构提供。",
    "出租城东两室一厅，近地铁，拎包入住。",
    "宠物用品清仓，猫砂、猫粮、玩具一律八折。",
    "健身房年卡转让，剩余十个月，可到店办理过户。",
    "新鲜水果产地直发，坏果包赔，满百包邮。",
    "钢琴陪练一对一，线上线下均可预约。",
    "摄影工作室承接证件照、全家福和毕业照拍摄。",
    "Used office chairs for sale, pick-up only, cash or bank transfer.",
    "Weekend farmers market: local honey, bread and seasonal vegetables.",
    "Bicycle repair and tune-up service, same-day turnaround for small jobs.",
)
GEN_ILLEGAL = (
    "网络赌博 真人百家乐 在线充值，首充送彩金，加 V信 bjl_888。",
    "代开发票：增值税专用发票可查验，点数低，量大从优。",
    "出售仿真枪、气枪、子弹，隐秘发货，全国包邮。",
    "冰毒、K粉出售，同城面交，外地隐秘包装。",
    "专业黑客接单：入侵网站、DDoS攻击、盗取账号。",
)


def generated_page_is_illegal(index: int) -> bool:
    """Whether /gen/<index> contains illegal text (every 10th page, starting at 0)."""
    return index % 10 == 0


_BINARY_CACHE: list[bytes] = []


def binary_blob() -> bytes:
    if not _BINARY_CACHE:
        _BINARY_CACHE.append(random.Random(20240601).randbytes(BINARY_BYTES))
    return _BINARY_CACHE[0]
