"""Serve an evidence file by its SHA-256: never by a path from the request, never from outside the evidence folder."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.responses import PlainTextResponse, Response

from crawler.cli.evidence import verify
from pipelines.evidence import read_evidence

if TYPE_CHECKING:
    from crawler.web.app import Workbench

SHA256 = re.compile(r"^[0-9a-f]{64}$")


def resolve_inside(root: Path, recorded: str, data_dir: Path) -> Path | None:
    """The recorded evidence path, resolved (symlinks too), when it lies inside `root`; None otherwise."""
    path = Path(recorded)
    path = path if path.is_absolute() else data_dir / path
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    return resolved if resolved.is_relative_to(root.resolve()) and resolved.is_file() else None


def serve_evidence(app: "Workbench", sha256: str, download: bool) -> Response:
    if not SHA256.match(sha256):
        return PlainTextResponse("evidence is served by its SHA-256 only", status_code=404)
    row = app.store.evidence_by_sha256(sha256)
    if row is None:
        return PlainTextResponse("no such evidence", status_code=404)
    path = resolve_inside(app.evidence_root, row["path"], app.loaded.data_dir)
    if path is None:
        return PlainTextResponse("the recorded file is not in the evidence folder", status_code=404)
    check = verify(path, row["kind"], row["sha256"])
    headers = {"X-Netpatrol-Check": check}
    if download:
        suffix = ".html.gz" if row["kind"] == "html" else ".png"
        headers["Content-Disposition"] = f'attachment; filename="{sha256}{suffix}"'
        return Response(path.read_bytes(), media_type="application/octet-stream", headers=headers)
    content = read_evidence(path, row["kind"])
    if row["kind"] == "html":
        # A hostile page as it was fetched: shown sandboxed (no scripts, an opaque origin), never as our page.
        headers["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"
        return Response(content, media_type="text/html", headers=headers)
    return Response(content, media_type=row.get("media_type") or "image/png", headers=headers)
