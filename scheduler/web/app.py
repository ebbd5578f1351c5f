"""Wiring: the app factory, shared state, templates, error pages and security headers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader

from db.store import NotEditable, PostNotFound, SelfApproval, Store, StoreError
from db.users import UserStore
from posts.states import IllegalTransition
from scheduler.compose import PostTextError
from scheduler.config import Config, ConfigError
from scheduler.importing import DocumentImportError
from scheduler.timing import TimeFormatError
from scheduler.web.auth import (
    Actor,
    ApiAuthError,
    CsrfFailed,
    Forbidden,
    LoginRequired,
    session_actor,
)

HERE = Path(__file__).parent
#: Errors that mean "the request was wrong": one line for the person, never a traceback.
USER_ERRORS = (ConfigError, StoreError, DocumentImportError, TimeFormatError,
               IllegalTransition, PostTextError)
NAV = (("/", "Queue", "author"), ("/calendar", "Calendar", "author"),
       ("/compose", "Compose", "author"), ("/import", "Import", "author"),
       ("/approvals", "Approvals", "approver"), ("/history", "History", "author"),
       ("/status", "Status", "author"), ("/users", "Users", "admin"))


def utcnow() -> datetime:
    return datetime.now(UTC)


class Web:
    """What every route needs: config, store, users, clock and templates."""

    def __init__(self, config: Config, store: Store, clock: Callable[[], datetime]) -> None:
        self.config = config
        self.store = store
        self.users = UserStore(store)
        self.now = clock
        self.tz = config.timezone
        env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True,
                          trim_blocks=True, lstrip_blocks=True)
        env.filters["local"] = self.local
        env.filters["short"] = shorten
        self.templates = Jinja2Templates(env=env)

    def local(self, when: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return "" if when is None else when.astimezone(self.tz).strftime(fmt)

    def render(self, request: Request, template: str, actor: Actor | None, status: int = 200,
               **context) -> HTMLResponse:
        nav = [(href, label) for href, label, role in NAV if actor and actor.may(role)]
        return self.templates.TemplateResponse(
            request, template, {"actor": actor, "csrf": actor.csrf if actor else None, "nav": nav,
                            "config": self.config, "tz": self.tz.key,
                            "notice": request.query_params.get("notice"), **context},
            status_code=status)


def shorten(text: str, width: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def create_app(config: Config, store: Store, *,
               clock: Callable[[], datetime] = utcnow) -> FastAPI:
    """The web UI and /api over `store`, which must already be migrated."""
    from scheduler.web import api, imports, pages, people, posts

    app = FastAPI(title="factpost", version="1", docs_url="/api/docs", redoc_url=None,
                  openapi_url="/api/openapi.json",
                  description="Queue, approve and read the history of posts. Authenticate "
                              "with 'Authorization: Bearer TOKEN' from 'factpost user token'.")
    app.state.web = web = Web(config, store, clock)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for module in (people, pages, posts, imports, api):
        app.include_router(module.router)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        # Scripts and styles come only from /static: injected markup cannot run.
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
            "form-action 'self'; base-uri 'none'")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    def wants_json(request: Request) -> bool:
        return request.url.path.startswith("/api")

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
                          title="Not allowed", message=str(exc))

    @app.exception_handler(CsrfFailed)
    async def csrf_failed(request: Request, exc: CsrfFailed):
        return web.render(request, "error.html", session_actor(request), 403,
                          title="Form expired",
                          message="this form is from an old page or another site; go back, "
                                  "reload the page and try again")

    async def user_error(request: Request, exc: Exception):
        status = 404 if isinstance(exc, PostNotFound) else (
            409 if isinstance(exc, NotEditable | SelfApproval | IllegalTransition) else 400)
        if wants_json(request):
            return JSONResponse({"detail": str(exc)}, status_code=status)
        return web.render(request, "error.html", session_actor(request), status,
                          title="Cannot do that", message=str(exc))

    for error in USER_ERRORS:
        app.add_exception_handler(error, user_error)
    return app
