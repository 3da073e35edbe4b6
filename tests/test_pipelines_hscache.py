"""The on-disk cache of compiled Hyperscan databases: a hit gives the same matches, a bad entry is a miss."""

from __future__ import annotations

from pathlib import Path

import hyperscan
import pytest

import pipelines.engine.matcher as matcher_module
import pipelines.engine.regexes as regexes_module
from pipelines.engine import hscache
from pipelines.engine.matcher import Matcher
from pipelines.engine.rules import load_rules

TEXTS = [
    ("t1", "网络赌博 百家乐 加微信 bet777 注册送彩金"),
    ("t2", "警方打击网络赌博团伙，抓获犯罪嫌疑人"),
    ("t3", "代-开-发-票 正规点数 详聊"),
]


def _results(matcher: Matcher) -> list[tuple[bool, list[str], float]]:
    out = []
    for _id, text in TEXTS:
        result = matcher.match(title=text, text=text)
        out.append((result.matched, sorted(result.rules), result.score))
    return out


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "hs"
    monkeypatch.setenv("NETPATROL_HS_CACHE", str(folder))
    return folder


def test_second_compile_loads_the_cached_database_and_matches_the_same(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rules = load_rules()
    first = _results(Matcher(rules))
    entries = sorted(cache.glob("*.hsdb"))
    assert entries, "the compiled databases are written to the cache"
    stamps = {p: p.stat().st_mtime_ns for p in entries}
    calls: list[int] = []

    def no_compile() -> hyperscan.Database:
        calls.append(1)
        raise AssertionError("compiled although cached")

    original = hscache.compile_database
    lookups: list[int] = []

    def cached_only(*args, **kwargs):  # type: ignore[no-untyped-def]
        lookups.append(1)
        return original(*args, **kwargs, compile_fn=no_compile)

    # A cache hit never compiles, and loaded databases answer exactly as freshly compiled ones.
    monkeypatch.setattr(matcher_module, "compile_database", cached_only)
    monkeypatch.setattr(regexes_module, "compile_database", cached_only)
    again = _results(Matcher(rules))
    assert again == first and lookups and not calls
    assert sorted(cache.glob("*.hsdb")) == entries and all(p.stat().st_mtime_ns >= stamps[p] for p in entries)
    assert first[0][0] and not first[1][0] and first[2][0]


def test_damaged_entry_is_compiled_again(cache: Path) -> None:
    expressions, ids, flags = [b"abc", "赌博".encode()], [0, 1], [hyperscan.HS_FLAG_SINGLEMATCH] * 2
    hscache.compile_database(expressions, ids, flags, literal=True)
    (entry,) = cache.glob("*.hsdb")
    entry.write_bytes(b"not a database")
    db = hscache.compile_database(expressions, ids, flags, literal=True)
    found: list[int] = []
    db.scan("xx赌博abc".encode(), match_event_handler=lambda i, *_: found.append(i))
    assert sorted(found) == [0, 1]
    assert entry.read_bytes() != b"not a database"


def test_cache_off_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETPATROL_HS_CACHE", "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert hscache.cache_dir() is None
    hscache.compile_database([b"abc"], [0], [0], literal=True)
    assert not any(tmp_path.rglob("*.hsdb"))
