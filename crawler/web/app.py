"""The workbench application: Starlette routes over the store, Jinja2 templates with autoescaping.

Every page needs a login except the public tip form; roles are checked per action
(viewer < reviewer < admin), every POST carries a CSRF token, and every triage and
tip decision goes to the audit trail.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from crawler import settings as defaults
from crawler.config.schema import LoadedConfig
from crawler.review.triage import Decision, record
from crawler.web import auth
from crawler.web.queries import FILTERS, evidence_rows, find_item, highlight, kibana_links, page_text, queue, spans
from crawler.web.security import HEADERS, RateLimiter, csrf_ok, csrf_token, session_secret
from pipelines.errors import NetpatrolError, UsageError
from pipelines.stores.base import Store, iso, utcnow
from pipelines.stores.workbench import AuditEntry, User

Page = Callable[[Request], Awaitable[Response]]


@dataclass
class Workbench:
    """What every route needs: the config, one store connection, the templates, the tip worker."""

    loaded: LoadedConfig
    store: Store
    env: Environment
    tip_limiter: RateLimiter
    evidence_root: Path
    kick_tips: Callable[[], None] = lambda: None

    def render(self, request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("user", getattr(request.state, "user", None))
        context["csrf"] = csrf_token(request)
        context["web"] = self.loaded.config.web
        return HTMLResponse(self.env.get_template(name).render(request=request, **context), status_code=status)

    def audit(self, user: str, action: str, subject: str, **detail: Any) -> None:
        self.store.add_audit([AuditEntry(iso(utcnow()) or "", user, action, subject, detail)])


def wb(request: Request) -> Workbench:
    return request.app.state.workbench  # type: ignore[no-any-return]


def needs(role: str) -> Callable[[Page], Page]:
    """A page for logged-in users of at least `role`; POSTs must also carry the session's CSRF token."""

    def wrap(page: Page) -> Page:
        async def guarded(request: Request) -> Response:
            name = request.session.get("user")
            user = wb(request).store.get_user(name) if name else None
            if user is None or user.disabled:
                if request.method == "GET":
                    return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
                return PlainTextResponse("login required", status_code=401)
            request.state.user = user
            if request.method == "POST":
                form = await request.form()
                if not csrf_ok(request, str(form.get("csrf") or "")):
                    wb(request).audit(user.name, "csrf.refused", request.url.path)
                    return PlainTextResponse("CSRF token missing or wrong", status_code=403)
            if not auth.allowed(user.role, role):
                wb(request).audit(user.name, "refused", request.url.path, needed=role, role=user.role)
                return PlainTextResponse(f"this needs the {role} role; you are {user.role}", status_code=403)
            return await page(request)

        return guarded

    return wrap


# --- login -----------------------------------------------------------------------------------------

async def login(request: Request) -> Response:
    app = wb(request)
    target = request.query_params.get("next", "/")
    target = target if target.startswith("/") and not target.startswith("//") else "/"
    if request.method == "GET":
        return app.render(request, "login.html", next=target)
    form = await request.form()
    if not csrf_ok(request, str(form.get("csrf") or "")):
        return PlainTextResponse("CSRF token missing or wrong", status_code=403)
    name, password = str(form.get("name") or ""), str(form.get("password") or "")
    user = auth.authenticate(app.store, name, password)
    if user is None:
        app.audit(name[:64] or "?", "login.failed", "login", address=request.client.host if request.client else "")
        return app.render(request, "login.html", status=401, next=target, error="wrong name or password")
    request.session.clear()  # a fresh session (and CSRF token) at login
    request.session["user"] = user.name
    csrf_token(request)
    app.audit(user.name, "login", "login")
    return RedirectResponse(target, status_code=303)


@needs("viewer")
async def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


# --- review queue and hits ---------------------------------------------------------------------------

@needs("viewer")
async def queue_page(request: Request) -> Response:
    app = wb(request)
    filters = {k: request.query_params.get(k, "") for k in FILTERS}
    show = request.query_params.get("show", "untriaged")
    rows, choices = queue(app.store, filters, show)
    return app.render(request, "queue.html", rows=rows[:500], total=len(rows), filters=filters, choices=choices,
                      show=show)


@needs("viewer")
async def hit_page(request: Request) -> Response:
    app = wb(request)
    item = find_item(app.store, request.path_params["item_id"])
    if item is None:
        return app.render(request, "error.html", status=404, message="no such hit")
    rows, _ = queue(app.store, {}, "all")
    row = next((r for r in rows if r.item.canonical_url == item.canonical_url), None)
    hit = row.hit if row else {}
    explanation = hit.get("explanation") or {}
    kept = page_text(app.store, item.canonical_url, hit.get("run_id", ""))
    title, text = kept if kept else (item.title, hit.get("snippet", ""))
    verdicts = app.store.verdicts()
    return app.render(
        request, "hit.html", item=item, row=row, hit=hit, explanation=explanation,
        title_html=highlight(title, spans(explanation, "title")),
        text_html=highlight(text, spans(explanation, "text") if kept else []), text_kept=kept is not None,
        evidence=evidence_rows(app.store, item.canonical_url, app.loaded.data_dir),
        verdict=verdicts.get(item.canonical_url), history=app.store.audit(50, subject=item.canonical_url),
        kibana=kibana_links(app.loaded.config.web.kibana_url, app.loaded.config.web.kibana_dashboard,
                            item.canonical_url),
    )


@needs("reviewer")
async def triage(request: Request) -> Response:
    app = wb(request)
    form = await request.form()
    url, verdict, note = str(form.get("url") or ""), str(form.get("verdict") or ""), str(form.get("note") or "")[:2000]
    if verdict not in ("confirmed", "dismissed"):
        return PlainTextResponse("verdict must be confirmed or dismissed", status_code=400)
    user: User = request.state.user
    try:
        written = record(app.store, [Decision(0, url, verdict, note)], "triage")
    except UsageError as exc:
        return PlainTextResponse(str(exc), status_code=400)
    app.audit(user.name, "triage", written[0].canonical_url, verdict=verdict, note=note, url=url)
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"ok": True, "url": url, "verdict": verdict})
    back = str(form.get("next") or "/")
    return RedirectResponse(back if back.startswith("/") and not back.startswith("//") else "/", status_code=303)


# --- search ------------------------------------------------------------------------------------------

@needs("viewer")
async def search_page(request: Request) -> Response:
    app = wb(request)
    q = request.query_params.get("q", "").strip()[:200]
    size = app.loaded.config.web.page_size
    try:
        page = max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        page = 1
    total, rows = app.store.search_hits(q, (page - 1) * size, size) if q else (0, [])
    from crawler.web.queries import item_id

    return app.render(request, "search.html", q=q, total=total, rows=rows, page=page, size=size, item_id=item_id)


@needs("viewer")
async def search_csv(request: Request) -> Response:
    app = wb(request)
    q = request.query_params.get("q", "").strip()[:200]
    total, rows = app.store.search_hits(q, 0, 100000) if q else (0, [])
    out = io.StringIO()
    writer = csv.writer(out)
    keys = ["url", "domain", "categories", "rules", "title", "status", "first_seen", "last_seen"]
    writer.writerow(keys)
    for row in rows:
        writer.writerow([";".join(v) if isinstance(v, list) else v for v in (row.get(k) for k in keys)])
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="netpatrol-search.csv"'})


# --- evidence ------------------------------------------------------------------------------------------

@needs("viewer")
async def evidence_file(request: Request) -> Response:
    """By SHA-256 only; the recorded path must lie inside the evidence folder, whatever the store says."""
    from crawler.web.evidence import serve_evidence

    return serve_evidence(wb(request), request.path_params["sha256"], request.query_params.get("download") == "1")


# --- the application -----------------------------------------------------------------------------------

async def _security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    try:
        response = await call_next(request)
    except NetpatrolError as exc:
        response = PlainTextResponse(f"netpatrol: {exc}", status_code=503)
    for key, value in HEADERS.items():
        response.headers.setdefault(key, value)
    return response


def create_app(loaded: LoadedConfig, store: Store, secure_cookies: bool = True) -> Starlette:
    from starlette.middleware.base import BaseHTTPMiddleware

    from crawler.web import routes_more

    env = Environment(loader=PackageLoader("crawler.web", "templates"), autoescape=select_autoescape(["html"]))
    evidence = defaults.NETPATROL_EVIDENCE_DIR
    root = loaded.resolve(Path(evidence)) if evidence else loaded.data_dir / "evidence"
    tips = loaded.config.tips
    workbench = Workbench(loaded, store, env, RateLimiter(tips.rate_limit, tips.rate_window), root)
    web = loaded.config.web
    routes = [
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/", queue_page),
        Route("/hit/{item_id:str}", hit_page),
        Route("/triage", triage, methods=["POST"]),
        Route("/search", search_page),
        Route("/search.csv", search_csv),
        Route("/evidence/{sha256:str}", evidence_file),
        *routes_more.routes(),
        Mount("/static", StaticFiles(packages=[("crawler.web", "static")]), name="static"),
    ]
    middleware = [
        Middleware(BaseHTTPMiddleware, dispatch=_security_headers),
        Middleware(SessionMiddleware, secret_key=session_secret(loaded.data_dir), session_cookie="netpatrol_session",
                   max_age=int(web.session_hours * 3600), same_site="strict", https_only=secure_cookies),
    ]
    app = Starlette(routes=routes, middleware=middleware)
    app.state.workbench = workbench
    return app
