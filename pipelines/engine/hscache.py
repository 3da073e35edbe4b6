"""Compiled Hyperscan databases kept on disk, so a process does not compile the same rule pack again.

Compiling a pack's regexes in UTF-8/Unicode mode can take seconds (a `\\W{0,2}` between CJK
characters is a large Unicode class, repeated), and every crawl, scheduled run and `match` is
its own process. Hyperscan's own serialization (`dumpb`/`loadb`) makes the second and later
compiles of the same patterns a file read. The key is a hash of everything that shapes the
database (patterns, ids, flags, mode, Hyperscan build, CPU), so a stale entry cannot be used;
an unreadable or foreign entry is ignored and compiled anew. A cache that cannot be written
(read-only home, full disk) only costs the compile time.

Location: $NETPATROL_HS_CACHE, else $XDG_CACHE_HOME/netpatrol/hyperscan, else
~/.cache/netpatrol/hyperscan. NETPATROL_HS_CACHE=off disables it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Callable

import hyperscan

logger = logging.getLogger(__name__)

KEEP_ENTRIES = 32  # the newest databases kept; older ones are deleted when a new one is written
SUFFIX = ".hsdb"


def cache_dir() -> Path | None:
    configured = os.environ.get("NETPATROL_HS_CACHE", "")
    if configured.lower() in ("off", "0", "no", "false"):
        return None
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "netpatrol" / "hyperscan"


def _key(expressions: list[bytes], ids: list[int], flags: list[int], literal: bool, mode: int) -> str:
    digest = hashlib.sha256()
    try:
        version = metadata.version("hyperscan")
    except metadata.PackageNotFoundError:  # pragma: no cover - installed without metadata
        version = "unknown"
    digest.update(f"{version}|{platform.machine()}|{mode}|{literal}|{len(expressions)}\n".encode())
    for expression, ident, flag in zip(expressions, ids, flags):
        digest.update(b"%d|%d|%d|" % (ident, flag, len(expression)))
        digest.update(expression)
    return digest.hexdigest()


def compile_database(expressions: list[bytes], ids: list[int], flags: list[int], literal: bool = False,
                     mode: int = hyperscan.HS_MODE_BLOCK,
                     compile_fn: Callable[[], hyperscan.Database] | None = None, cache: bool = True) -> hyperscan.Database:
    """The database for these expressions: loaded from the cache when it was compiled before, else compiled.

    Compile errors (hyperscan.error) propagate unchanged, so callers name the rule at fault.
    """

    def compile_now() -> hyperscan.Database:
        db = hyperscan.Database(mode=mode)
        db.compile(expressions=expressions, ids=ids, elements=len(expressions), flags=flags, literal=literal)
        return db

    build = compile_fn or compile_now
    folder = cache_dir() if cache else None
    if folder is None:
        return build()
    path = folder / (_key(expressions, ids, flags, literal, mode) + SUFFIX)
    try:
        data = path.read_bytes()
    except OSError:
        data = None
    if data:
        try:
            db = hyperscan.loadb(data, mode)
            hyperscan.Scratch(db)  # refuses a database built for another CPU (a cache shared across hosts)
            try:
                os.utime(path)  # recently used: kept by the pruning below
            except OSError:
                pass
            return db
        except Exception as exc:  # noqa: BLE001 - a damaged or foreign entry is only a cache miss
            logger.debug("ignoring unusable Hyperscan cache entry %s: %s", path, exc)
    db = build()
    _store(folder, path, db)
    return db


def _store(folder: Path, path: Path, db: hyperscan.Database) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(bytes(hyperscan.dumpb(db)))
        os.replace(tmp, path)  # atomic: concurrent processes never read half a file
        entries = sorted(folder.glob(f"*{SUFFIX}"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[KEEP_ENTRIES:]:
            old.unlink(missing_ok=True)
    except OSError as exc:
        logger.debug("Hyperscan cache %s not written: %s", folder, exc)
