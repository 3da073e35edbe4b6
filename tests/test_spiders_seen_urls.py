"""The site spider's seen-URL sets: the same answers in memory and on disk, and the max_pages cap of claims."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.spiders.seen_urls import DiskSeen, MemorySeen, SeenClaims, seen_urls


@pytest.mark.parametrize("make", [MemorySeen, lambda: DiskSeen(None, cache_kib=64)], ids=["memory", "disk"])
def test_add_and_contains_agree(make) -> None:  # type: ignore[no-untyped-def]
    seen = make()
    try:
        urls = [f"http://127.0.0.1/item/{i}" for i in range(6000)]  # past one disk commit of 5,000
        assert [seen.add(u) for u in urls[:3]] == [True, True, True]
        assert seen.add(urls[0]) is False
        assert all(seen.add(u) for u in urls[3:])
        assert len(seen) == 6000
        assert urls[5999] in seen and "http://127.0.0.1/item/6000" not in seen and 42 not in seen
    finally:
        seen.close()


def test_disk_set_leaves_no_file_behind(tmp_path: Path) -> None:
    seen = DiskSeen(tmp_path)
    seen.add("http://127.0.0.1/")
    path = seen.path
    assert path.exists()
    seen.close()
    assert not path.exists() and list(tmp_path.iterdir()) == []


def test_claims_stop_at_the_cap_and_auto_picks_disk_for_large_crawls() -> None:
    claims = SeenClaims(MemorySeen(), limit=3)
    assert claims.claim_many(["a", "b", "a", "c", "d"]) == [True, True, False, True, False]
    assert len(claims) == 3 and "d" not in claims.seen
    assert seen_urls("auto", 10, disk_above=50_000).kind == "memory"
    large = seen_urls("auto", 60_000, disk_above=50_000)
    assert large.kind == "disk"
    large.close()
    with pytest.raises(ValueError, match="auto, memory or disk"):
        seen_urls("bloom", 10, 50_000)
