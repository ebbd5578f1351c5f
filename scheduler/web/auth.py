"""Who is asking: browser sessions (cookie + per-session CSRF token) and API bearer tokens.

A session cookie holds a random token; the database keeps its SHA-256 and the session's CSRF
token. Every form carries that CSRF token and every state-changing request checks it, so a
page on another site cannot act for a signed-in user even where SameSite=Lax lets a cookie
through. Scripts send `Authorization: Bearer <token>` instead and need no CSRF token.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from db.models import User
from posts.states import Actor as StaffMember
from scheduler.users import new_token, token_hash
from scheduler.web.context import web
from scheduler.web.i18n import gettext, role_word

SESSION_COOKIE = "factpost_session"
LOGIN_CSRF_COOKIE = "factpost_login_csrf"
SESSION_LIFETIME = timedelta(hours=12)
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class LoginRequired(Exception):
    """A page needs a signed-in user; the browser is sent to the sign-in page."""


class Forbidden(Exception):
    """Signed in, but the role does not allow this."""


class CsrfFailed(Exception):
    """A form or request without this session's CSRF token."""


class ApiAuthError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Actor(StaffMember):
    """The signed-in user behind a request, as the store sees it (name and role), with the
    session's CSRF token (None for API token requests) and the user's interface language."""

    csrf: str | None = None
    language: str = "en"


def start_session(request: Request, user: User, now: datetime) -> tuple[str, datetime]:
    """A new session for `user`; returns (cookie value, expiry)."""
    token = new_token()
    expires = now + SESSION_LIFETIME
    web(request).users.create_session(user.id, token_hash=token_hash(token),
                                      csrf_token=secrets.token_urlsafe(32), now=now,
                                      expires_at=expires)
    return token, expires


def session_actor(request: Request) -> Actor | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    w = web(request)
    found = w.users.session_user(token_hash(token), now=w.now())
    if found is None:
        return None
    user, session = found
    return Actor(user.name, user.role, session.csrf_token, user.language)


def signed_in(request: Request) -> bool:
    """Whether `request` proves a user: a live API token in `Authorization: Bearer`, or else a
    live session cookie. No role or CSRF check (the route makes those); this is what the
    request gate asks before it lets a body be read (see limits.py)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        w = web(request)
        return w.users.token_user(token_hash(token.strip()), now=w.now()) is not None
    return session_actor(request) is not None


def same(given: object, expected: str | None) -> bool:
    return (isinstance(given, str) and expected is not None
            and secrets.compare_digest(given.encode(), expected.encode()))


def needs(role: str):
    """Dependency for a page: a signed-in user with at least `role`."""

    def dependency(request: Request) -> Actor:
        actor = session_actor(request)
        if actor is None:
            raise LoginRequired()
        if not actor.may(role):
            raise Forbidden(gettext("this needs the %(role)s role; you are signed in as "
                                    "%(name)s (%(own)s)", role=role_word(role),
                                    name=actor.name, own=role_word(actor.role)))
        return actor

    return dependency


def posts_form(role: str):
    """Dependency for a form submission: `needs(role)` plus this session's CSRF token."""

    author = Depends(needs(role))

    async def dependency(request: Request, actor: Actor = author) -> Actor:
        form = await request.form()
        if not same(form.get("csrf"), actor.csrf):
            raise CsrfFailed()
        return actor

    return dependency


bearer = HTTPBearer(auto_error=False, description="A token from 'factpost user token NAME'.")
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]


def api_user(role: str):
    """Dependency for /api: a bearer token, or a browser session (with the CSRF header on
    anything that changes state)."""

    def dependency(request: Request, credentials: BearerCredentials) -> Actor:
        w = web(request)
        if credentials is not None:
            user = w.users.token_user(token_hash(credentials.credentials), now=w.now())
            if user is None:
                raise ApiAuthError(401, "unknown, expired or revoked API token; ask an admin "
                                        "for a new one ('factpost user token NAME')")
            actor = Actor(user.name, user.role, None, user.language)
        else:
            actor = session_actor(request)
            if actor is None:
                raise ApiAuthError(401, "not signed in; send 'Authorization: Bearer TOKEN' "
                                        "(from 'factpost user token NAME')")
            if request.method not in SAFE_METHODS and not same(
                    request.headers.get(CSRF_HEADER), actor.csrf):
                raise ApiAuthError(403, f"missing or wrong {CSRF_HEADER} header; reload the "
                                        "page")
        if not actor.may(role):
            raise ApiAuthError(403, f"this needs the {role} role; {actor.name} is "
                                    f"{actor.role}")
        return actor

    return dependency


# Parameter types for routes: `actor: Author` signs in an author (or better), and so on.
Author = Annotated[Actor, Depends(needs("author"))]
Approver = Annotated[Actor, Depends(needs("approver"))]
Admin = Annotated[Actor, Depends(needs("admin"))]
AuthorForm = Annotated[Actor, Depends(posts_form("author"))]
ApproverForm = Annotated[Actor, Depends(posts_form("approver"))]
AdminForm = Annotated[Actor, Depends(posts_form("admin"))]
ApiAuthor = Annotated[Actor, Depends(api_user("author"))]
ApiApprover = Annotated[Actor, Depends(api_user("approver"))]
