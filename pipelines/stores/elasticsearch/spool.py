"""The durable spool: every Elasticsearch write is appended here first, then applied and acknowledged.

Each store that writes owns one append-only segment file (JSON Lines, one record per
write) and holds an exclusive `flock` on it while it lives. Beside it, `<segment>.ack`
holds the byte offset up to which the records have been applied to the cluster,
replaced atomically after every applied group. So:

* a kill -9 loses nothing that a store method returned from: the record is in the
  file (the OS keeps it even when the process dies), and at most the group in flight
  is applied twice — harmless, since every document id is derived from its content's
  identity (see `es_layout`);
* a segment whose lock can be taken belongs to no living writer: it is an orphan,
  replayed in order (oldest segment first, records in file order) from its ack offset,
  then deleted, by the next run's writer or by `netpatrol es flush`.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import orjson

SUFFIX = ".spool"
ACK_SUFFIX = ".ack"
REJECTED_FILE = "rejected.jsonl"


def record_docs(data: dict[str, Any]) -> int:
    """Documents one spool record writes (a batch record counts its parts'); at least 1."""
    if data.get("op") == "batch":
        return sum(len(p.get("docs", ())) or 1 for p in data.get("parts") or ()) or 1
    return len(data.get("docs", ())) or 1


def _ack_path(path: Path) -> Path:
    return path.with_name(path.name + ACK_SUFFIX)


def read_ack(path: Path) -> int:
    try:
        return int(_ack_path(path).read_text(encoding="ascii").strip() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def write_ack(path: Path, offset: int) -> None:
    ack = _ack_path(path)
    tmp = ack.with_name(ack.name + ".tmp")
    tmp.write_text(str(offset), encoding="ascii")
    os.replace(tmp, ack)


def remove_segment(path: Path) -> None:
    for p in (_ack_path(path), path):
        try:
            p.unlink()
        except FileNotFoundError:
            pass


@dataclass
class Record:
    """One spooled write and the byte offset just after it."""

    end: int
    data: dict[str, Any]


class SegmentReader:
    """Reads complete records of a segment from its acknowledged offset on."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = read_ack(path)
        self._fh = open(path, "rb")  # noqa: SIM115 - kept open while tailing
        self._fh.seek(self.offset)
        self._pos = self.offset
        self.corrupt: list[str] = []
        self.acked_records = 0  # records applied through this reader

    def read(self, max_records: int, max_docs: int) -> list[Record]:
        """Up to `max_records` complete records (stopping once `max_docs` documents are gathered)."""
        records: list[Record] = []
        docs = 0
        while len(records) < max_records and docs < max_docs:
            line = self._fh.readline()
            if not line:
                break
            if not line.endswith(b"\n"):  # a write still in progress, or torn by a crash: not acknowledged to anyone
                self._fh.seek(self._pos)
                break
            self._pos += len(line)
            try:
                data = orjson.loads(line)
            except orjson.JSONDecodeError:
                self.corrupt.append(line.decode("utf-8", "replace"))
                continue
            records.append(Record(self._pos, data))
            docs += record_docs(data)
        return records

    def at_end(self) -> bool:
        return self._pos >= os.fstat(self._fh.fileno()).st_size

    def rewind(self) -> None:
        """Back to the acknowledged offset: records read but not applied are read again."""
        self._fh.seek(self.offset)
        self._pos = self.offset

    def ack(self, offset: int, records: int) -> None:
        write_ack(self.path, offset)
        self.offset = offset
        self.acked_records += records

    def close(self) -> None:
        self._fh.close()


class MemoryTail:
    """This store's own segment as its writer thread sees it: the records handed over in memory.

    The file stays the durable copy; the thread does not read back and parse what was just
    written. If too many records wait (a long outage), the copies are dropped and the rest is
    read from the file from the acknowledged offset on.
    """

    MAX_BUFFERED = 500

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._buffer: deque[Record] = deque()
        self._cursor = 0  # records handed out by read() and not yet acknowledged
        self._file: SegmentReader | None = None
        self._written = 0
        self.offset = 0
        self.acked_records = 0
        self.corrupt: list[str] = []

    def push(self, record: Record) -> None:
        with self._lock:
            self._written = record.end
            if self._file is not None:
                return
            if len(self._buffer) >= self.MAX_BUFFERED:
                self._buffer.clear()
                self._cursor = 0
                write_ack(self.path, self.offset)
                self._file = SegmentReader(self.path)
                return
            self._buffer.append(record)

    def read(self, max_records: int, max_docs: int) -> list[Record]:
        with self._lock:
            if self._file is not None:
                records = self._file.read(max_records, max_docs)
                self.corrupt = self._file.corrupt
                return records
            out: list[Record] = []
            docs = 0
            while self._cursor < len(self._buffer) and len(out) < max_records and docs < max_docs:
                record = self._buffer[self._cursor]
                self._cursor += 1
                out.append(record)
                docs += record_docs(record.data)
            return out

    def at_end(self) -> bool:
        with self._lock:
            if self._file is not None:
                return self._file.at_end()
            return self._cursor >= len(self._buffer)

    def pending_docs(self) -> int:
        """Documents handed over and not yet read (a large number once reading from the file)."""
        with self._lock:
            if self._file is not None:
                return 1 << 30
            return sum(record_docs(self._buffer[i].data) for i in range(self._cursor, len(self._buffer)))

    def rewind(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.rewind()
            self._cursor = 0

    def ack(self, offset: int, records: int) -> None:
        with self._lock:
            write_ack(self.path, offset)
            self.offset = offset
            self.acked_records += records
            if self._file is not None:
                self._file.offset = offset
                return
            for _ in range(records):
                self._buffer.popleft()
            self._cursor -= records

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


class SegmentWriter:
    """This process's own segment: append-only, locked for as long as the writer lives."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(4)}{SUFFIX}"
        self.path = directory / name
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_EXCL, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self.records = 0
        self.size = 0

    def append(self, record: dict[str, Any]) -> int:
        """Write one record; return the byte offset just after it."""
        data = orjson.dumps(record, default=str, option=orjson.OPT_APPEND_NEWLINE)
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self.records += 1
        self.size += len(data)
        return self.size

    def close(self, remove: bool) -> None:
        """Release the lock; delete the files first when everything was applied."""
        if self._fd < 0:
            return
        if remove:
            remove_segment(self.path)
        else:
            os.fsync(self._fd)
        os.close(self._fd)
        self._fd = -1


class ClaimedSegment:
    """An orphaned segment locked by this process for replay."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd = fd
        self.reader = SegmentReader(path)

    def finish(self, remove: bool) -> None:
        self.reader.close()
        if remove:
            remove_segment(self.path)
        os.close(self._fd)


def claim_orphans(directory: Path, exclude: Path | None = None) -> Iterator[ClaimedSegment]:
    """Lock and yield, oldest first, the segments no living writer holds."""
    if not directory.is_dir():
        return
    for path in sorted(directory.glob(f"*{SUFFIX}")):
        if exclude is not None and path == exclude:
            continue
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)  # a living writer's segment
            continue
        if os.fstat(fd).st_nlink == 0:  # replayed and deleted by someone else meanwhile
            os.close(fd)
            continue
        yield ClaimedSegment(path, fd)


@dataclass
class Pending:
    segments: int
    bytes: int


def pending(directory: Path) -> Pending:
    """What waits in the spool (unacknowledged bytes), for messages and `es flush`."""
    segments = 0
    size = 0
    if directory.is_dir():
        for path in directory.glob(f"*{SUFFIX}"):
            try:
                left = path.stat().st_size - read_ack(path)
            except FileNotFoundError:
                continue
            if left > 0:
                segments += 1
                size += left
    return Pending(segments, size)


def append_rejected(directory: Path, entries: list[dict[str, Any]]) -> Path:
    """Documents the cluster refused for good (mapping errors...), kept with their errors for a person to act on."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / REJECTED_FILE
    with open(path, "a", encoding="utf-8") as fh:
        for entry in entries:
            fh.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")
    return path
