"""Signing in and out, and the admin's Users page."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from db.users import UserError
from scheduler.users import (
    ROLES,
    LoginThrottled,
    add_user,
    authenticate,
    check_role,
    check_steps,
    hash_password,
)
from scheduler.web.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    SESSION_LIFETIME,
    Admin,
    AdminForm,
    AuthorForm,
    same,
    session_actor,
    start_session,
)
from scheduler.web.auth import token_hash as hash_of
from scheduler.web.context import web
from scheduler.web.explain import explain
from scheduler.web.i18n import LANGUAGE_COOKIE, LANGUAGES, gettext

router = APIRouter(include_in_schema=False)
#: The only routes whose body is read before anyone is signed in, and so kept tiny (limits.py).
PUBLIC_BODY_PATHS = ("/login",)


def safe_next(target: str | None) -> str:
    # Only paths on this site: an open redirect would make the sign-in page a phishing aid.
    if target and target.startswith("/") and not target.startswith("//") \
            and "\\" not in target:
        return target
    return "/"


def login_page(request: Request, *, status: int = 200, error: str | None = None,
               name: str = "", next_: str = "/"):
    token = secrets.token_urlsafe(32)
    response = web(request).render(request, "login.html", None, status, error=error,
                                   login_csrf=token, name=name, next=safe_next(next_))
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="lax",
                        secure=web(request).config.secure_cookies, path="/login")
    return response


@router.get("/login")
def login_form(request: Request, next: str = "/"):
    if session_actor(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return login_page(request, next_=next)


@router.post("/login")
def login(request: Request, name: str = Form(""), password: str = Form(""),
          csrf: str = Form(""), next: str = Form("/")):
    w = web(request)
    if not same(csrf, request.cookies.get(LOGIN_CSRF_COOKIE)):
        return login_page(request, status=403, name=name, next_=next,
                          error=gettext("the sign-in form expired; try again"))
    ip = request.client.host if request.client else "unknown"
    now = w.now()
    try:
        user = authenticate(w.users, name.strip(), password, ip=ip, now=now)
    except LoginThrottled as exc:
        return login_page(request, status=429, name=name, next_=next,
                          error=explain(exc))
    if user is None:
        return login_page(request, status=401, name=name, next_=next,
                          error=gettext("wrong name or password (or the user is disabled)"))
    token, _expires = start_session(request, user, now)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax",
                        secure=w.config.secure_cookies, path="/",
                        max_age=int(SESSION_LIFETIME.total_seconds()))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    # The sign-in page after signing out speaks the user's language too.
    remember_language(response, user.language, w.config.secure_cookies)
    return response


def remember_language(response, code: str, secure: bool) -> None:
    response.set_cookie(LANGUAGE_COOKIE, code, max_age=365 * 24 * 3600, path="/",
                        httponly=True, samesite="lax", secure=secure)


@router.post("/language")
def choose_language(request: Request, actor: AuthorForm, language: str = Form(""),
                    back: str = Form("/")):
    """The header's language switch: the signed-in user's language from now on, in every
    browser they sign in with."""
    w = web(request)
    if language not in LANGUAGES:
        raise UserError(gettext("no interface language %(code)r; choose one of %(known)s",
                          code=language, known=", ".join(LANGUAGES)))
    w.users.set_language(actor.name, language)
    response = RedirectResponse(safe_next(back), status_code=303)
    remember_language(response, language, w.config.secure_cookies)
    return response


@router.post("/logout")
def logout(request: Request, actor: AuthorForm):
    web(request).users.end_session(hash_of(request.cookies.get(SESSION_COOKIE, "")))
    response = web(request).redirect("/login", gettext("signed out"))
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/users")
def users_page(request: Request, actor: Admin, error: str = ""):
    w = web(request)
    return w.render(request, "users.html", actor, users=w.users.users(), roles=ROLES,
                    error=error or None, held=w.users.steps_by_user())


@router.post("/users")
def users_add(request: Request, actor: AdminForm,
              name: str = Form(""), role: str = Form("author"), password: str = Form("")):
    w = web(request)
    try:
        add_user(w.users, name.strip(), password, role, now=w.now(), actor=actor)
    except UserError as exc:
        return w.render(request, "users.html", actor, 400, users=w.users.users(), roles=ROLES,
                        error=explain(exc), held=w.users.steps_by_user())
    return w.redirect("/users", gettext("added %(name)s", name=name.strip()))


@router.post("/users/{name}")
def users_change(request: Request, name: str, actor: AdminForm,
                 role: str = Form(""), state: str = Form(""), password: str = Form(""),
                 step: Annotated[list[str] | None, Form()] = None, steps_shown: str = Form("")):
    w = web(request)
    if name == actor.name and (state == "disabled" or (role and role != "admin")):
        raise UserError(gettext("you cannot disable yourself or drop your own admin role; ask "
                          "another admin"))
    # The form's step boxes say every step the user holds; forms without them change none.
    steps = check_steps(step or [], w.config.review_steps) if steps_shown else None
    if steps and (role or w.users.require_user(name).role) == "author":
        raise UserError(gettext("only approvers clear steps; give %(name)s the approver role too",
                          name=name))
    w.users.update_user(name, role=check_role(role) if role else None,
                        disabled={"disabled": True, "active": False}.get(state),
                        password_hash=hash_password(password) if password else None,
                        actor=actor, now=w.now())
    if steps is not None:
        w.users.set_steps(name, steps, actor=actor, now=w.now())
    return w.redirect("/users", gettext("updated %(name)s", name=name))
