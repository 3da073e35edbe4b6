"""Tip-offs from the public: intake (the app's form, `netpatrol tips import FILE.csv`), duplicates, outcomes.

A tip is queued, then `netpatrol tips check` fetches it through the crawl path
(crawler.review.tipcheck) and gives it an outcome: `confirmed` (it is a hit),
`no_violation`, `unreachable` or `duplicate` (netpatrol already knew the URL). Every
outcome, automatic or a reviewer's, is written to the audit trail.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import urlsplit

from crawler.report.build import _parse_bound
from crawler.review.csvfile import read_rows
from pipelines.errors import UsageError
from pipelines.stores.base import Store, iso, utcnow
from pipelines.stores.workbench import TIP_OUTCOMES, AuditEntry, Tip
from pipelines.urls import canonical_url

#: The pseudo-target of tip runs: not a valid config target name, so it never collides with one.
TIPS_TARGET = "@tips"
MAX_NOTE = 2000


def new_tip_id() -> str:
    return f"tip-{utcnow().strftime('%Y%m%d')}-{secrets.token_hex(4)}"


def check_url(url: str, max_chars: int = 2048) -> str:
    """The URL, stripped, when it is an absolute http(s) URL with a host; UsageError otherwise."""
    url = (url or "").strip()
    if not url:
        raise UsageError("no URL given")
    if len(url) > max_chars:
        raise UsageError(f"the URL is longer than {max_chars} characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise UsageError(f"not a valid URL: {url[:200]!r}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise UsageError(f"only http(s) URLs are taken: {url[:200]!r}")
    if any(ch.isspace() for ch in url):
        raise UsageError("the URL contains spaces")
    return url


def make_tip(url: str, channel: str, note: str = "", reported_at: str | None = None, reporter: str = "") -> Tip:
    now = iso(utcnow()) or ""
    return Tip(id=new_tip_id(), url=url, canonical_url=canonical_url(url), reported_at=reported_at or now,
               received_at=now, channel=channel[:60] or "unknown", note=note[:MAX_NOTE], reporter=reporter)


def read_tips_csv(path: Path, max_chars: int = 2048) -> list[Tip]:
    """Rows of `url, reported_at, channel, note` (header line first); UsageError naming every bad line."""
    rows = read_rows(path, ("url",))
    tips, problems = [], []
    for line, row in enumerate(rows, start=2):
        try:
            url = check_url(row.get("url", ""), max_chars)
            reported = row.get("reported_at") or ""
            reported_at = iso(_parse_bound(reported, False)) if reported else None
        except UsageError as exc:
            problems.append(f"line {line}: {exc}")
            continue
        tips.append(make_tip(url, row.get("channel") or "import", row.get("note", ""), reported_at))
    if problems:
        shown = "; ".join(problems[:10]) + (f"; … {len(problems) - 10} more" if len(problems) > 10 else "")
        raise UsageError(f"{path}: nothing imported, {len(problems)} problem(s): {shown}")
    if not tips:
        raise UsageError(f"{path}: no tips in the file")
    return tips


def queue_tips(store: Store, tips: list[Tip], user: str) -> None:
    store.put_tips(tips)
    store.add_audit([AuditEntry(t.received_at, user, "tip.submit", t.id, {"url": t.url, "channel": t.channel})
                     for t in tips])


def decide(store: Store, tips: list[Tip], user: str) -> None:
    """Write checked tips and one audit entry per outcome."""
    if not tips:
        return
    store.put_tips(tips)
    store.add_audit([AuditEntry(t.checked_at or iso(utcnow()) or "", user, "tip.outcome", t.id,
                                {"url": t.url, "outcome": t.outcome, "reason": t.reason}) for t in tips])


def set_outcome(store: Store, tip: Tip, outcome: str, user: str, note: str = "") -> Tip:
    """A reviewer's outcome for a tip (overrules the automatic one; both stay in the audit trail)."""
    if outcome not in TIP_OUTCOMES:
        raise UsageError(f"outcome {outcome!r} is not one of {', '.join(TIP_OUTCOMES)}")
    now = iso(utcnow()) or ""
    tip.status, tip.outcome, tip.reason, tip.decided_by = "checked", outcome, note[:200] or "reviewer", user
    tip.checked_at = tip.checked_at or now
    store.put_tips([tip])
    store.add_audit([AuditEntry(now, user, "tip.outcome", tip.id, {"url": tip.url, "outcome": outcome, "note": note})])
    return tip


def known_duplicates(store: Store, queued: list[Tip]) -> list[Tip]:
    """Queued tips whose URL netpatrol already knew (a tracked hit, or an earlier tip): outcome `duplicate`."""
    urls = {t.canonical_url for t in queued}
    items = {i.canonical_url for i in store.items(canonical_urls=urls)} if urls else set()
    earlier: dict[str, str] = {}
    for tip in store.tips():
        if tip.status == "checked" and tip.outcome != "duplicate":
            earlier.setdefault(tip.canonical_url, tip.id)
    out, now = [], iso(utcnow()) or ""
    first_in_batch: dict[str, str] = {}
    for tip in queued:
        if tip.canonical_url in items:
            reason = "known hit"
        elif tip.canonical_url in earlier:
            reason = f"same URL as {earlier[tip.canonical_url]}"
        elif tip.canonical_url in first_in_batch:
            reason = f"same URL as {first_in_batch[tip.canonical_url]}"
        else:
            first_in_batch[tip.canonical_url] = tip.id
            continue
        tip.status, tip.outcome, tip.reason, tip.checked_at, tip.decided_by = "checked", "duplicate", reason, now, "system"
        out.append(tip)
    return out
