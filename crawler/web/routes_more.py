"""Workbench pages beyond the queue: reports, units, tips (the public form too) and the audit trail."""

from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from crawler.report.build import ReportOptions, Window, build_report, parse_window
from crawler.review.tipcheck import refusal
from crawler.review.tips import check_url, make_tip, queue_tips, set_outcome
from crawler.web.app import needs, wb
from crawler.web.queries import default_windows, kibana_links
from crawler.web.security import csrf_ok
from pipelines.errors import UsageError
from pipelines.stores.base import iso
from pipelines.stores.workbench import TIP_OUTCOMES


def _windows(request: Request) -> tuple[Window, Window] | str:
    b, c = request.query_params.get("baseline", ""), request.query_params.get("compare", "")
    if b and c:
        try:
            return parse_window(b, "baseline"), parse_window(c, "compare")
        except UsageError as exc:
            return str(exc)
    found = default_windows(wb(request).store.runs())
    return found if found else "not enough patrol runs for a report yet: give two windows"


def _report(request: Request) -> tuple[dict[str, Any] | None, str, str, str]:
    app = wb(request)
    windows = _windows(request)
    if isinstance(windows, str):
        return None, request.query_params.get("baseline", ""), request.query_params.get("compare", ""), windows
    baseline, compare = windows
    analytics = app.loaded.config.analytics
    options = ReportOptions(confirmed_only=request.query_params.get("confirmed") == "1", top_n=analytics.top_n,
                            coverage_tolerance=analytics.coverage_tolerance, league_size=analytics.league_size)
    report = build_report(app.store, baseline, compare, None, options)
    b, c = baseline.bounds(), compare.bounds()
    return report, f"{b[0]}..{b[1]}", f"{c[0]}..{c[1]}", ""


@needs("viewer")
async def report_page(request: Request) -> Response:
    app = wb(request)
    report, b, c, problem = _report(request)
    web = app.loaded.config.web
    kibana = kibana_links(web.kibana_url, web.kibana_dashboard, window=(b.split("..")[0], c.split("..")[-1])) if report else {}
    from crawler.report.output.csv import tables

    names = sorted(tables(report)) if report else []
    return app.render(request, "report.html", report=report, baseline=b, compare=c, problem=problem, kibana=kibana,
                      confirmed=request.query_params.get("confirmed") == "1", csv_names=names)


@needs("viewer")
async def report_html(request: Request) -> Response:
    """The HTML report itself (charts and tables, crawler.report.output.html), framed by the report page."""
    from crawler.report.output.html import render_html

    report, _b, _c, problem = _report(request)
    if report is None:
        return PlainTextResponse(problem, status_code=400)
    return HTMLResponse(render_html(report))


@needs("viewer")
async def report_csv(request: Request) -> Response:
    from crawler.report.output.csv import tables

    report, _b, _c, problem = _report(request)
    if report is None:
        return PlainTextResponse(problem, status_code=400)
    name = request.path_params["name"]
    found = tables(report)
    if name not in found:
        return PlainTextResponse("no such table", status_code=404)
    head, rows = found[name]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(head)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@needs("viewer")
async def units_page(request: Request) -> Response:
    app = wb(request)
    report, b, c, problem = _report(request)
    filings = app.store.filings()
    return app.render(request, "units.html", report=report, baseline=b, compare=c, problem=problem, filings=filings)


@needs("viewer")
async def tips_page(request: Request) -> Response:
    app = wb(request)
    tips = list(reversed(app.store.tips()))
    return app.render(request, "tips.html", tips=tips, outcomes=TIP_OUTCOMES)


@needs("reviewer")
async def tip_outcome(request: Request) -> Response:
    app = wb(request)
    form = await request.form()
    found = app.store.tips(ids=[request.path_params["tip_id"]])
    if not found:
        return PlainTextResponse("no such tip", status_code=404)
    try:
        set_outcome(app.store, found[0], str(form.get("outcome") or ""), request.state.user.name,
                    str(form.get("note") or ""))
    except UsageError as exc:
        return PlainTextResponse(str(exc), status_code=400)
    return RedirectResponse("/tips", status_code=303)


async def public_tip(request: Request) -> Response:
    """The public form: no login, a CSRF token, a size limit, a rate limit per address, http(s) URLs only,
    and no tip for an address the tips' network policy refuses (checked before any connection)."""
    app = wb(request)
    if request.method == "GET":
        return app.render(request, "tip_form.html")
    tips = app.loaded.config.tips
    declared = request.headers.get("content-length")
    if declared is None or not declared.isdigit() or int(declared) > tips.max_bytes:
        return PlainTextResponse(f"a tip is at most {tips.max_bytes} bytes", status_code=413)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > tips.max_bytes:
            return PlainTextResponse(f"a tip is at most {tips.max_bytes} bytes", status_code=413)
    form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), max_num_fields=10).items()}
    if not csrf_ok(request, form.get("csrf")):
        return PlainTextResponse("CSRF token missing or wrong", status_code=403)
    address = request.client.host if request.client else "?"
    if not app.tip_limiter.allow(address):
        return PlainTextResponse("too many tips from your address; try again later", status_code=429)
    try:
        url = check_url(form.get("url", ""), tips.max_url_chars)
    except UsageError as exc:
        return app.render(request, "tip_form.html", status=400, error=str(exc), url=form.get("url", "")[:300])
    why = refusal(app.loaded, url)
    reporter = request.session.get("user") or address
    if why:
        app.audit(str(reporter), "tip.refused", url, reason=why)
        return app.render(request, "tip_form.html", status=400, url=url,
                          error="this address is not on the public internet; the tip was not taken")
    tip = make_tip(url, form.get("channel", "") or "web-form", form.get("note", ""), reporter=str(reporter))
    queue_tips(app.store, [tip], str(reporter))
    app.kick_tips()
    return app.render(request, "tip_form.html", done=tip.id)


@needs("admin")
async def audit_page(request: Request) -> Response:
    app = wb(request)
    return app.render(request, "audit.html", entries=app.store.audit(500), now=iso)


def routes() -> list[Route]:
    return [
        Route("/report", report_page),
        Route("/report/html", report_html),
        Route("/report/csv/{name:str}", report_csv),
        Route("/units", units_page),
        Route("/tips", tips_page),
        Route("/tips/{tip_id:str}/outcome", tip_outcome, methods=["POST"]),
        Route("/tip", public_tip, methods=["GET", "POST"]),
        Route("/audit", audit_page),
    ]
