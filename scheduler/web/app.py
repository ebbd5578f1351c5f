"""Wiring: the app factory, its routers, error pages and security headers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool

from db.engine import describe_error
from db.store import Store
from scheduler.config import Config
from scheduler.errors import FactpostError, http_status
from scheduler.web import api, bulk, calendar, imports, ops, pages, people, posts
from scheduler.web.auth import (
    ApiAuthError,
    CsrfFailed,
    Forbidden,
    LoginRequired,
    session_actor,
    signed_in,
)
from scheduler.web.context import HERE, Web, utcnow
from scheduler.web.explain import explain
from scheduler.web.i18n import LANGUAGE_COOKIE, N_, gettext, language, negotiate
from scheduler.web.limits import BodyRules, RequestGate

CSP = ("default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; "
       "base-uri 'none'; object-src 'none'")


def create_app(config: Config, store: Store, *,
               clock: Callable[[], datetime] = utcnow) -> FastAPI:
    """The web UI and /api over `store`, which must already be migrated and opened with the
    config's review rules."""
    if store.review != config.review:
        raise ValueError(f"the store enforces {store.review}, the config asks for "
                         f"{config.review}; open the store with review=config.review")
    # The schema and its reference page are served by api.py, behind a login.
    app = FastAPI(title="factpost", version="1", docs_url=None, redoc_url=None,
                  openapi_url=None,
                  description=N_("Queue, approve and read the history of posts. Authenticate "
                                 "with 'Authorization: Bearer TOKEN' from 'factpost user "
                                 "token'."))
    app.state.web = web = Web(config, store, clock)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for module in (people, pages, calendar, posts, bulk, imports, api):
        app.include_router(module.router)
    ops.add_monitoring(app, config, store, clock)
    # Innermost of the middleware: the language is known before any route or error handler
    # builds a word, and whatever is refused before (sizes, sign-in) needs none.
    app.add_middleware(LanguageMiddleware)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        # Scripts and styles come only from /static: injected markup cannot run.
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if not request.url.path.startswith("/static/"):
            # Pages show what one signed-in person may see: no copy may outlive the session
            # (Back after signing out must not show History again).
            response.headers["Cache-Control"] = "no-store"
        return response

    if config.trusted_proxies:
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(config.trusted_proxies))

    async def proves_a_user(scope) -> bool:
        try:
            return await run_in_threadpool(signed_in, Request(scope))
        except DBAPIError as exc:
            # Nobody is proven while the database is down; the answer says why (below).
            scope.setdefault("state", {})["factpost_database_error"] = exc
            return False

    async def stranger(scope, receive, send) -> None:
        request = Request(scope, receive)
        failed = scope.get("state", {}).get("factpost_database_error")
        if failed is not None:
            # Not the error page: it would ask the database who is signed in.
            message = web.public_message(describe_error(config.database_url, failed) +
                                         "; try again shortly")
            response = (JSONResponse({"detail": message}, status_code=503)
                        if wants_json(request) else PlainTextResponse(message, status_code=503))
        elif wants_json(request):
            scheme = request.headers.get("authorization", "").partition(" ")[0]
            response = await api_auth(request, ApiAuthError(401, (
                "unknown, expired or revoked API token; ask an admin for a new one "
                "('factpost user token NAME')") if scheme.lower() == "bearer" else (
                "not signed in; send 'Authorization: Bearer TOKEN' (from 'factpost user "
                "token NAME')")))
        else:
            response = await login_required(request, LoginRequired())
        await response(scope, receive, send)

    # Last added, so outermost: nothing reads a body before this has sized it and, unless it
    # is the sign-in form, asked who is sending it.
    app.add_middleware(RequestGate, signed_in=proves_a_user, stranger=stranger, rules=BodyRules(
        body_bytes=config.max_body_bytes, upload_bytes=config.max_request_bytes,
        timeout_seconds=config.body_timeout_seconds, public=people.PUBLIC_BODY_PATHS,
        uploads=(*imports.UPLOAD_PATHS, *posts.UPLOAD_PATHS, *api.UPLOAD_PATHS)))

    def wants_json(request: Request) -> bool:
        return request.url.path.startswith("/api/") and request.url.path != "/api/docs"

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(ApiAuthError)
    async def api_auth(request: Request, exc: ApiAuthError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse({"detail": str(exc)}, status_code=exc.status, headers=headers)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden):
        return web.render(request, "error.html", session_actor(request), 403,
                          title=gettext("Not allowed"), message=str(exc))

    @app.exception_handler(CsrfFailed)
    async def csrf_failed(request: Request, exc: CsrfFailed):
        return web.render(request, "error.html", session_actor(request), 403,
                          title=gettext("Form expired"),
                          message=gettext("this form is from an old page or another site; go back, "
                                    "reload the page and try again"))

    def respond(request: Request, status: int, title: str, message: str, *,
                ask_who: bool = True, error: FactpostError | None = None):
        message = web.public_message(message)
        if wants_json(request):
            return JSONResponse({"detail": message}, status_code=status)
        return web.render(request, "error.html", session_actor(request) if ask_who else None,
                          status, title=title,
                          message=explain(error, message, public=web.public_message)
                          if error else message)

    @app.exception_handler(FactpostError)
    async def user_error(request: Request, exc: FactpostError):
        # One line for the person, never a traceback; the status from the one list of errors.
        return respond(request, http_status(exc), gettext("Cannot do that"), str(exc),
                       error=exc)

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError):
        # Shown to nobody in particular: asking the failing database who is signed in would
        # turn this page into a server error.
        return respond(request, 503, gettext("Database unavailable"),
                       describe_error(config.database_url, exc) + gettext("; try again shortly"),
                       ask_who=False)

    return app


class LanguageMiddleware:
    """ASGI middleware: serves each request in its language (see i18n.py): the signed-in
    user's choice, else the browser's cookie, else its Accept-Language."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        code = await run_in_threadpool(chosen_language, Request(scope))
        with language(code):
            await self.app(scope, receive, send)


def chosen_language(request: Request) -> str:
    try:
        actor = session_actor(request)
    except DBAPIError:
        # The error page says the database is down, in the browser's language.
        actor = None
    if actor is not None:
        return actor.language
    return negotiate(request.cookies.get(LANGUAGE_COOKIE),
                     request.headers.get("accept-language"))
