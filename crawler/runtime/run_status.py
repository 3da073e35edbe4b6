"""Decide a finished run's status, so a broken crawl never reads as a decline."""

from __future__ import annotations

from crawler.config.schema import FailurePolicy

# Scrapy close reasons that mean the crawl was stopped from outside.
_INTERRUPTED_REASONS = {"shutdown", "cancelled", "interrupted"}


def classify(pages: int, errors: int, reason: str, policy: FailurePolicy,
             queries: tuple[int, int] | None = None) -> str:
    """`completed`, `partial` or `failed` by the share of failed fetches; `interrupted`/`timeout` by reason.

    A run that fetched nothing at all is `failed`: zero hits from zero pages is not a result.
    A search run is judged per query instead (`queries` = (queries tried, queries with lost pages)):
    its clean queries count in the report and its lost ones are left out there, so it is `failed`
    only when no query was clean, never because a share of its queries was walled.
    """
    if reason in _INTERRUPTED_REASONS:
        return "interrupted"
    if reason == "timeout":
        return "timeout"
    if queries is not None:
        tried, lost = queries
        return "completed" if tried - lost > 0 and pages > 0 else "failed"
    attempted = pages + errors
    if attempted == 0 or pages == 0:
        return "failed"
    failed_share = errors / attempted
    if failed_share >= policy.failed_ratio:
        return "failed"
    if failed_share >= policy.partial_ratio:
        return "partial"
    return "completed"
