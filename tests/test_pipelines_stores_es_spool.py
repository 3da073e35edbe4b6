"""The spool on its own (no cluster): complete records only, acknowledged offsets, orphans claimed once, items merged once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pipelines.stores.elasticsearch.spool import SegmentReader, SegmentWriter, claim_orphans, pending, read_ack
from pipelines.stores.elasticsearch.writer import merge_item


def test_records_are_read_back_complete_and_from_the_acknowledged_offset(tmp_path: Path) -> None:
    writer = SegmentWriter(tmp_path)
    for n in range(5):
        writer.append({"op": "docs", "docs": [{"n": n, "text": "代开发票"}]})
    with open(writer.path, "ab") as fh:
        fh.write(b'{"op": "docs", "docs": [{"n": 5')  # a record torn by a crash: never acknowledged to anyone
    reader = SegmentReader(writer.path)
    first = reader.read(max_records=2, max_docs=100)
    assert [r.data["docs"][0]["n"] for r in first] == [0, 1]
    reader.ack(first[-1].end, len(first))
    rest = SegmentReader(writer.path).read(max_records=100, max_docs=100)
    assert [r.data["docs"][0]["n"] for r in rest] == [2, 3, 4]
    assert read_ack(writer.path) == first[-1].end
    writer.close(remove=False)


def test_a_living_writers_segment_is_not_claimed_a_dead_ones_is(tmp_path: Path) -> None:
    mine = SegmentWriter(tmp_path)
    mine.append({"op": "docs", "docs": []})
    assert list(claim_orphans(tmp_path)) == []  # locked by this process
    child = subprocess.run([sys.executable, "-c", (
        "import sys, os, signal\n"
        "from pathlib import Path\n"
        "from pipelines.stores.elasticsearch.spool import SegmentWriter\n"
        "w = SegmentWriter(Path(sys.argv[1]))\n"
        "w.append({'op': 'docs', 'docs': [{'x': 1}]})\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"), str(tmp_path)], cwd=Path(__file__).resolve().parents[1])
    assert child.returncode == -9
    claimed = list(claim_orphans(tmp_path))
    assert len(claimed) == 1 and claimed[0].path != mine.path
    assert pending(tmp_path).segments == 2
    records = claimed[0].reader.read(10, 10)
    assert records[0].data == {"op": "docs", "docs": [{"x": 1}]}
    claimed[0].finish(remove=True)
    assert not claimed[0].path.exists() and pending(tmp_path).segments == 1
    mine.close(remove=True)
    assert not os.listdir(tmp_path)


def test_an_item_counts_each_run_once_whatever_the_order() -> None:
    def obs(run: str, at: str, title: str) -> dict[str, object]:
        return {"run_id": run, "@timestamp": at, "target": "t", "canonical_url": "u", "url": "u", "domain": "d",
                "categories": ["fraud"], "rules": ["r"], "title": title, "snippet": ""}

    first = merge_item(None, [obs("r2", "2026-11-02T00:00:00Z", "new"), obs("r1", "2026-11-01T00:00:00Z", "old")])
    assert first is not None
    assert (first["times_seen"], first["first_seen"], first["last_seen"], first["title"]) == (
        2, "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z", "new")
    assert merge_item(first, [obs("r1", "2026-11-01T00:00:00Z", "old")]) is None  # a replay changes nothing
    later = merge_item(first, [obs("r3", "2026-10-30T00:00:00Z", "older")])
    assert later is not None and (later["times_seen"], later["first_seen"], later["title"]) == (
        3, "2026-10-30T00:00:00Z", "new")
