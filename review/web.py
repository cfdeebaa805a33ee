"""The review web UI: FastAPI routes over ``views`` (what a page shows) and ``actions``
(what a person does). Server-rendered Jinja2 pages, htmx for the proof-request preview, one
small script of our own for the keyboard; no inline script (CSP ``script-src 'self'``).

Security: only ``/login`` and ``/static`` answer without a session; sessions are signed
cookies (itsdangerous) carrying the user's id, session epoch and CSRF token, HttpOnly,
SameSite=Strict, Secure over HTTPS; every POST checks the CSRF token (403 otherwise) and,
but for login and logout, that the user is an accountant (403 for a viewer). Text read from
documents and emails is escaped by Jinja2's autoescape, never marked safe.
"""
from __future__ import annotations

import hmac
import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError
from starlette.datastructures import FormData

from config.settings import Settings
from matching.signals import euro
from notifier import compose
from notifier.replies import why_not_answerable
from review import actions, queue, views, wording
from review import statements as bank
from review.errors import Forbidden, NotFound, ReviewError
from review.pages import page_png
from review.users import User, authenticate, get_user
from store.db import Database
from store.models import DocumentRow, MessageRow, OutgoingMailRow
from store.reviews import ReviewActionRow

log = logging.getLogger("pec_intake.review")

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "pec_review"
LOGIN_COOKIE = "pec_review_login"
HTMX = "htmx-2.0.11.min.js"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def utcnow() -> datetime:
    return datetime.now(UTC)


def secret_key(settings: Settings) -> str:
    """From ``$<[review] secret_key_env>``, else generated once and kept in var/."""
    value = os.environ.get(settings.review.secret_key_env)
    if value:
        return value
    path = settings.originals_dir.parent / "review-secret.key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


@dataclass(frozen=True)
class Session_:
    user: User
    csrf: str


class _Redirect(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def create_app(settings: Settings, db: Database, *,
               clock: Callable[[], datetime] = utcnow) -> FastAPI:
    app = FastAPI(title="pec-intake review", docs_url=None, redoc_url=None, openapi_url=None)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals.update(htmx=HTMX, euro_text=_euro_text, local=_local,
                                 status_labels=views.STATUS_LABELS,
                                 flag_labels=views.FLAG_LABELS)
    templates.env.filters["italian"] = wording.italian
    signer = URLSafeTimedSerializer(secret_key(settings), salt="pec-review-session")
    login_signer = URLSafeTimedSerializer(secret_key(settings), salt="pec-review-login")
    ctx = actions.ReviewContext(settings, clock)
    max_age = int(settings.review.session_hours * 3600)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    # --- plumbing ---------------------------------------------------------------------

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # noqa: ANN001, ANN202
        try:
            response = await call_next(request)
        except _Redirect as redirect:  # pragma: no cover (handled by the exception handler)
            response = redirect.response
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(_Redirect)
    async def redirect_handler(request: Request, exc: _Redirect) -> Response:
        return exc.response

    @app.exception_handler(ReviewError)
    async def review_error(request: Request, exc: ReviewError) -> Response:
        if _wants_json(request):
            return JSONResponse({"error": exc.reason, "message": exc.message_it},
                                status_code=exc.status_code)
        session = _session_or_none(request)
        return templates.TemplateResponse(request, "error.html", {
            "session": session, "error": exc, "back": request.headers.get("referer")
            if _same_origin(request, request.headers.get("referer")) else None},
            status_code=exc.status_code)

    def _secure(request: Request) -> bool:
        return request.url.scheme == "https"

    def _session_or_none(request: Request) -> Session_ | None:
        cached = getattr(request.state, "review_session", None)
        if cached is not None:
            return cached
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        try:
            data = signer.loads(token, max_age=max_age)
        except BadSignature:
            return None
        with db.session() as session:
            user = get_user(session, int(data.get("u", 0)))
        if user is None or user.disabled or user.session_epoch != data.get("e"):
            return None
        found = Session_(user, str(data.get("c", "")))
        request.state.review_session = found
        return found

    def require(request: Request) -> Session_:
        found = _session_or_none(request)
        if found is not None:
            return found
        if _wants_json(request) or request.method != "GET" or \
                request.headers.get("HX-Request"):
            raise _Redirect(JSONResponse({"error": "login required"}, status_code=401))
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise _Redirect(RedirectResponse(f"/login?next={quote(target)}", status_code=303))

    async def change(request: Request) -> tuple[Session_, FormData]:
        """A request that changes something: a session, a valid CSRF token, an accountant."""
        found = require(request)
        form = await request.form()
        token = str(form.get("csrf") or request.headers.get("X-CSRF-Token") or "")
        if not token or not hmac.compare_digest(token, found.csrf):
            raise Forbidden("missing or invalid CSRF token",
                            "Richiesta non valida (token CSRF mancante o scaduto): "
                            "ricarica la pagina.")
        if not found.user.may_act:
            raise Forbidden(f"user {found.user.name} is a viewer: may look, not act",
                            "Il tuo profilo può solo consultare: nessuna modifica fatta.")
        return found, form

    def page(request: Request, name: str, context: dict[str, Any],
             status_code: int = 200) -> Response:
        context.setdefault("session", _session_or_none(request))
        return templates.TemplateResponse(request, name, context, status_code=status_code)

    def today() -> date:
        return clock().date()

    # --- login ------------------------------------------------------------------------

    @app.get("/login")
    async def login_form(request: Request, next: str = "/queue") -> Response:
        token = secrets.token_urlsafe(24)
        response = page(request, "login.html", {"csrf": login_signer.dumps(token),
                                                "next": _safe_next(next), "error": None})
        response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict",
                            secure=_secure(request), max_age=3600, path="/login")
        return response

    @app.post("/login")
    async def login(request: Request) -> Response:
        form = await request.form()
        name = str(form.get("username") or "").strip()
        password = str(form.get("password") or "")
        nxt = _safe_next(str(form.get("next") or "/queue"))
        if not _login_allowed(request, str(form.get("csrf") or ""), login_signer):
            raise Forbidden("login from another site, or with an invalid CSRF token",
                            "Modulo scaduto: ricarica la pagina di accesso.")
        review = settings.review
        with db.session() as session:
            result = authenticate(
                session, name, password, client=request.client.host if request.client
                else None, max_failures=review.lockout_attempts,
                window=timedelta(minutes=review.lockout_minutes), now=clock())
        if result.user is None:
            if result.locked_until is not None:
                wait = max(1, int((result.locked_until - clock()).total_seconds() // 60) + 1)
                error = f"Troppi tentativi falliti: accesso bloccato per {wait} minuti."
                status = 429
            else:
                error, status = "Nome utente o password errati.", 401
            log.warning("review login refused for %r from %s", name[:64],
                        request.client.host if request.client else "-")
            token = secrets.token_urlsafe(24)
            response = page(request, "login.html", {"csrf": login_signer.dumps(token),
                                                    "next": nxt, "error": error,
                                                    "username": name}, status_code=status)
            response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict",
                                secure=_secure(request), max_age=3600, path="/login")
            return response
        user = result.user
        log.info("review login: %s (%s)", user.name, user.role)
        response = RedirectResponse(nxt, status_code=303)
        response.set_cookie(SESSION_COOKIE, signer.dumps({
            "u": user.id, "e": user.session_epoch, "c": secrets.token_urlsafe(32)}),
            httponly=True, samesite="strict", secure=_secure(request), max_age=max_age,
            path="/")
        response.delete_cookie(LOGIN_COOKIE, path="/login")
        return response

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        found = require(request)
        form = await request.form()
        if not hmac.compare_digest(str(form.get("csrf") or ""), found.csrf):
            raise Forbidden("missing or invalid CSRF token", "Richiesta non valida.")
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    # --- the queue --------------------------------------------------------------------

    @app.get("/")
    async def root(request: Request) -> Response:
        return await queue_page(request)

    @app.get("/queue")
    @app.get("/queue.json")
    async def queue_page(request: Request) -> Response:
        found = require(request)
        p = request.query_params
        filters = queue.QueueFilters(
            reason=p.get("reason") or None, source=p.get("source") or None,
            method=p.get("method") or None, date_from=_date(p.get("date_from")),
            date_to=_date(p.get("date_to")), q=(p.get("q") or "").strip()[:200] or None,
            page=_int(p.get("page"), 1))
        queue.sync_safely(db)
        with db.session() as session:
            data = queue.queue_page(session, filters, today=today(),
                                    page_size=settings.review.page_size,
                                    urgent_days=settings.review.urgent_days, sync_first=False,
                                    sources=[source.name for source in settings.sources])
            done = _done_banner(session, p.get("done"), found, clock())
        if _wants_json(request):
            return JSONResponse(views.to_json(data))
        return page(request, "queue.html", {"q": data, "done": done,
                                            "reason_labels": queue.REASON_LABELS})

    # --- a receipt --------------------------------------------------------------------

    @app.get("/receipts/{receipt_id}.json")
    async def receipt_json(request: Request, receipt_id: int) -> Response:
        found = require(request)
        with db.session() as session:
            view = views.receipt_view(session, settings, receipt_id, user=found.user.name,
                                      now=clock(), lock=False)
        return JSONResponse(views.to_json(view))

    @app.get("/receipts/{receipt_id}")
    async def receipt_page(request: Request, receipt_id: int) -> Response:
        found = require(request)
        if _wants_json(request):
            return await receipt_json(request, receipt_id)
        for attempt in (1, 2):  # two first looks at a receipt at once: the second re-reads
            try:
                with db.session() as session:
                    view = views.receipt_view(session, settings, receipt_id,
                                              user=found.user.name, now=clock(),
                                              lock=found.user.may_act)
                    done = _done_banner(session, request.query_params.get("done"), found,
                                        clock())
                break
            except IntegrityError:
                if attempt == 2:
                    raise
        return page(request, "receipt.html", {"r": view, "done": done,
                                              "notice": request.query_params.get("notice")})

    @app.get("/receipts/{receipt_id}/documents/{doc_id}/pages/{number}.png")
    async def page_image(request: Request, receipt_id: int, doc_id: int,
                         number: int) -> Response:
        require(request)
        with db.session() as session:
            receipt = session.get(MessageRow, receipt_id)
            doc = session.get(DocumentRow, doc_id)
            if receipt is None or doc is None or doc.message_id != receipt_id:
                raise NotFound("no such document", "Documento inesistente.")
            try:
                path = page_png(settings, receipt, doc, number)
            except (LookupError, OSError, ValueError) as exc:
                raise NotFound(f"page {number}: {exc}", "Pagina non disponibile.") from None
        return FileResponse(path, media_type="image/png",
                            headers={"Cache-Control": "private, max-age=86400"})

    def after_action(request: Request, receipt_id: int, action: str) -> Response:
        queue.sync_safely(db)
        with db.session() as session:
            nxt = queue.next_in_queue(session, receipt_id, today=today(),
                                      urgent_days=settings.review.urgent_days)
        suffix = f"?done={receipt_id}&action={action}"
        target = f"/receipts/{nxt}{suffix}" if nxt else f"/queue{suffix}"
        if _wants_json(request):
            return JSONResponse({"ok": True, "next": target})
        return RedirectResponse(target, status_code=303)

    @app.post("/receipts/{receipt_id}/match")
    async def match(request: Request, receipt_id: int) -> Response:
        found, form = await change(request)
        codes = [str(v) for v in form.getlist("order_codes")]
        confirmed = form.get("confirmed") == "1"
        version = _int(form.get("version"), None)
        reason = str(form.get("reason") or "").strip() or None
        try:
            actions.perform(db, actions.match, ctx, receipt_id, codes, actor=found.user.name,
                            reason=reason, version=version, confirmed=confirmed)
        except actions.NeedsConfirmation as need:
            return page(request, "confirm.html", {
                "receipt_id": receipt_id, "codes": need.codes, "message": need.message_it,
                "paid": need.paid, "due": need.due, "version": version, "reason": reason,
                "csrf": found.csrf})
        return after_action(request, receipt_id, "match")

    @app.post("/receipts/{receipt_id}/dismiss")
    async def dismiss(request: Request, receipt_id: int) -> Response:
        found, form = await change(request)
        actions.perform(db, actions.dismiss, ctx, receipt_id, actor=found.user.name,
                        reason=str(form.get("reason") or ""),
                        version=_int(form.get("version"), None))
        return after_action(request, receipt_id, "dismiss")

    @app.post("/receipts/{receipt_id}/duplicate")
    async def duplicate(request: Request, receipt_id: int) -> Response:
        found, form = await change(request)
        of = _int(str(form.get("of") or "").lstrip("#"), None)
        if of is None:
            raise ReviewError("duplicate of which receipt?",
                              "Indica il numero della ricevuta originale.")
        actions.perform(db, actions.mark_duplicate, ctx, receipt_id, of,
                        actor=found.user.name, reason=str(form.get("reason") or "") or None,
                        version=_int(form.get("version"), None))
        return after_action(request, receipt_id, "duplicate")

    @app.post("/receipts/{receipt_id}/requeue")
    async def requeue(request: Request, receipt_id: int) -> Response:
        found, _form = await change(request)
        actions.perform(db, actions.requeue, ctx, receipt_id, actor=found.user.name)
        return RedirectResponse(f"/receipts/{receipt_id}?notice=requeued", status_code=303)

    @app.post("/receipts/{receipt_id}/undo")
    async def undo(request: Request, receipt_id: int) -> Response:
        found, _form = await change(request)
        actions.perform(db, actions.undo, ctx, receipt_id, actor=found.user.name)
        if _wants_json(request):
            return JSONResponse({"ok": True, "next": f"/receipts/{receipt_id}"})
        return RedirectResponse(f"/receipts/{receipt_id}?notice=undone", status_code=303)

    @app.get("/receipts/{receipt_id}/request/{what}")
    async def request_preview(request: Request, receipt_id: int, what: str) -> Response:
        found = require(request)
        if what not in compose.PROOF_REQUESTS:
            raise NotFound(f"no request {what!r}", "Richiesta sconosciuta.")
        with db.session() as session:
            receipt = session.get(MessageRow, receipt_id)
            if receipt is None:
                raise NotFound("no such receipt", "Ricevuta inesistente.")
            refused = why_not_answerable(receipt, settings)
            sent = session.scalar(
                OutgoingMailRow.__table__.select().with_only_columns(OutgoingMailRow.id)
                .where(OutgoingMailRow.event_key == f"proof-request:{what}:{receipt_id}"))
            mail = None if refused else compose.proof_request(
                what, receipt.sender or "", settings.sender_name, subject=receipt.subject,
                received_at=receipt.received_at, filename=receipt.filename)
            version = actions.review_state(session, receipt_id, clock()).version
        view = views.PreviewView(receipt_id, what, mail.to if mail else None,
                                 mail.subject if mail else None, mail.text if mail else None,
                                 refused, sent is not None)
        if _wants_json(request):
            return JSONResponse(views.to_json(view))
        name = "preview_panel.html" if request.headers.get("HX-Request") else "preview.html"
        return page(request, name, {"p": view, "version": version, "csrf": found.csrf})

    @app.post("/receipts/{receipt_id}/request/{what}")
    async def request_send(request: Request, receipt_id: int, what: str) -> Response:
        found, form = await change(request)
        result = actions.perform(db, actions.request_proof, ctx, receipt_id, what,
                                 actor=found.user.name, note=str(form.get("note") or ""),
                                 version=_int(form.get("version"), None))
        if _wants_json(request):
            return JSONResponse({"ok": True, "to": result.note})
        return RedirectResponse(f"/receipts/{receipt_id}?notice=requested", status_code=303)

    # --- bank statement lines no order could be given -----------------------------------

    @app.get("/statements")
    @app.get("/statements.json")
    async def bank_lines_page(request: Request) -> Response:
        require(request)
        with db.session() as session:
            data = bank.bank_queue(session)
        if _wants_json(request):
            return JSONResponse(views.to_json(data))
        return page(request, "statements.html", {
            "b": data, "notice": request.query_params.get("notice"),
            "csrf": _session_or_none(request).csrf})

    @app.post("/statements/{line_id}/match")
    async def bank_line_match(request: Request, line_id: int) -> Response:
        found, form = await change(request)
        codes = [c for v in form.getlist("order_codes") for c in str(v).replace(",", " ")
                 .split()]
        with db.session() as session:
            done = bank.match_line(session, settings, clock, line_id, codes,
                                   actor=found.user.name,
                                   reason=str(form.get("reason") or "").strip() or None,
                                   confirmed=form.get("confirmed") == "1")
        if _wants_json(request):
            return JSONResponse({"ok": True, "order_codes": done})
        return RedirectResponse(f"/statements?notice=matched-{line_id}", status_code=303)

    @app.post("/statements/{line_id}/dismiss")
    async def bank_line_dismiss(request: Request, line_id: int) -> Response:
        found, form = await change(request)
        with db.session() as session:
            bank.dismiss_line(session, clock, line_id, actor=found.user.name,
                              reason=str(form.get("reason") or ""))
        if _wants_json(request):
            return JSONResponse({"ok": True})
        return RedirectResponse(f"/statements?notice=dismissed-{line_id}", status_code=303)

    # --- an order ---------------------------------------------------------------------

    @app.get("/orders/{code}.json")
    async def order_json(request: Request, code: str) -> Response:
        require(request)
        with db.session() as session:
            view = views.order_view(session, code)
        return JSONResponse(views.to_json(view))

    @app.get("/orders/{code}")
    async def order_page(request: Request, code: str) -> Response:
        require(request)
        if _wants_json(request):
            return await order_json(request, code)
        with db.session() as session:
            view = views.order_view(session, code)
        return page(request, "order.html", {"o": view})

    return app


# --- helpers ----------------------------------------------------------------------------

def _done_banner(session, done: str | None, found: Session_, now: datetime) -> dict | None:  # noqa: ANN001
    """The last action's banner: what was done, and the undo button while it is open."""
    receipt_id = _int(done, None)
    if receipt_id is None:
        return None
    action = session.query(ReviewActionRow).filter(
        ReviewActionRow.message_id == receipt_id).order_by(ReviewActionRow.id.desc()).first()
    if action is None:
        return None
    undo = action.action == "match" and action.undone_at is None and \
        action.undo_until is not None and action.undo_until > now and \
        action.actor == f"person:{found.user.name}"
    return {"id": receipt_id, "action": action.action,
            "label": views.ACTION_LABELS.get(action.action, action.action),
            "codes": list(action.order_codes or []), "undo": undo,
            "seconds": int((action.undo_until - now).total_seconds()) if undo else 0}


def _login_allowed(request: Request, token: str, signer: URLSafeTimedSerializer) -> bool:
    """Login CSRF: a browser posting from another site (its Origin, Sec-Fetch-Site) is
    refused; a token, when the form's is sent, must be the one this browser was given. A
    script that posts only ``username`` and ``password`` (no Origin header) may log in."""
    origin = request.headers.get("origin")
    if (origin and origin != "null" and not _same_origin(request, origin)) or \
            request.headers.get("sec-fetch-site") == "cross-site":
        return False
    if origin == "null":
        return False
    if not token:
        return True
    try:
        expected = signer.loads(token, max_age=3600)
    except BadSignature:
        return False
    return hmac.compare_digest(str(expected), request.cookies.get(LOGIN_COOKIE) or "")


def _wants_json(request: Request) -> bool:
    return request.url.path.endswith(".json") or \
        "application/json" in request.headers.get("accept", "").split(",")[0]


def _same_origin(request: Request, url: str | None) -> bool:
    if not url:
        return False
    parts = urlsplit(url)
    return parts.netloc == request.url.netloc


def _safe_next(value: str) -> str:
    """Only a path of this site: never an open redirect."""
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/queue"
    return value


def _int(value: Any, default: Any) -> Any:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return default


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _euro_text(value: Any) -> str:
    from decimal import Decimal
    if value in (None, ""):
        return "—"
    return "€ " + euro(Decimal(str(value)))


def _local(value: datetime | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    if value is None:
        return "—"
    from zoneinfo import ZoneInfo
    return value.astimezone(ZoneInfo("Europe/Rome")).strftime(fmt)


def serve(settings: Settings, db: Database) -> int:
    """Serves until SIGTERM/SIGINT, then finishes the requests in hand and exits 0 (like
    ``run``: a stop asked for is not a failure)."""
    import uvicorn

    class Server(uvicorn.Server):
        def capture_signals(self):  # noqa: ANN202 - uvicorn would re-raise the signal
            import contextlib
            import signal

            @contextlib.contextmanager
            def handlers():  # noqa: ANN202
                previous = {sig: signal.signal(sig, self.handle_exit)
                            for sig in (signal.SIGINT, signal.SIGTERM)}
                try:
                    yield
                finally:
                    for sig, handler in previous.items():
                        signal.signal(sig, handler)
            return handlers()

    app = create_app(settings, db)
    log.info("review UI on http://%s:%d/", settings.review.host, settings.review.port)
    Server(uvicorn.Config(app, host=settings.review.host, port=settings.review.port,
                          log_level="info", proxy_headers=True, server_header=False)).run()
    return 0
