"""Normalization defeats the common evasions and is identical for rules and text."""

from __future__ import annotations

import pytest

from pipelines.normalize import normalize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("赌 博", "赌博"),
        ("代-开-发-票", "代开发票"),
        ("網絡賭博", "网络赌博"),
        ("ＶＸ：１２３４５", "vx:12345"),  # full-width letters and digits (NFKC)
        ("c\u200b4\u200dsino", "c4sino"),  # zero-width characters
        ("ONLINE   Casino", "online casino"),
        ("赌☆博★网", "赌博网"),  # symbols between CJK characters
        ("赌🎲博", "赌博"),  # emoji between CJK characters
        ("", ""),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_long_separator_runs_are_kept() -> None:
    # Sentences that merely end and begin with CJK characters are not glued together.
    assert normalize("我们不赌。。。。博物馆") == "我们不赌。。。。博物馆"


def test_idempotent() -> None:
    text = "網上賭場 ＶＩＰ 代-开-发-票 Online\u200bCasino"
    assert normalize(normalize(text)) == normalize(text)
