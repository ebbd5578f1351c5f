"""Who may do what in the newsroom, and how people prove who they are.

Roles are ranked: an approver can do all an author can, an admin all an approver can.

    author    compose, import, edit, cancel and retry posts; read everything
    approver  + approve, reject and resolve (never their own under [review] two_person_rule);
                with [review] steps, clear only the steps they are given (`--step`)
    admin     + manage users, pause and resume accounts

The same roles hold on the command line, where a staff command proves its user with an API
token (`FACTPOST_TOKEN`); what each role may do is decided in one table (`posts.states.RULES`)
that the store enforces.

Passwords are stored as argon2id hashes; session and API tokens are random and stored as their
SHA-256 (they carry 256 bits of entropy, so a slow hash adds nothing). API tokens expire
(`[web] api_token_days`, 90 by default) and die with a password change or a disable.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from db.models import User
from db.users import UserError, UserStore
from posts.errors import FactpostError
from posts.states import STAFF_ROLES, Actor

ROLES = STAFF_ROLES
#: How long an API token works unless config says otherwise.
DEFAULT_TOKEN_DAYS = 90
MIN_PASSWORD_CHARS = 10
#: At most this many failed sign-ins per user name and address within the window.
MAX_LOGIN_FAILURES = 5
LOGIN_WINDOW = timedelta(minutes=15)

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Checking a password for an unknown user costs the same as for a known one, so response
    times do not reveal which names exist. Made on first use, not at import: an Argon2 hash
    takes half a second and 64 MB, which every `factpost` command paid at start."""
    return _hasher.hash("not a password anyone has")


class LoginThrottled(FactpostError):
    """Too many failed sign-ins for one user from one address."""


def check_name(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}", name or ""):
        raise UserError(f"{name!r} is not a usable user name; use letters, digits and . _ - @ "
                        "(at most 100)")
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    return role


def check_steps(steps: Iterable[str], configured: Sequence[str]) -> list[str]:
    """`steps` if every one is a step of clearance `[review] steps` names. Raises
    `UserError`."""
    steps = list(steps)
    for step in steps:
        if step not in configured:
            raise UserError(
                f"step {step!r} is not configured; [review] steps names "
                f"{', '.join(configured)}" if configured else
                f"step {step!r} is not configured; config.toml names no [review] steps, so "
                "every approver clears the one approval")
    return steps


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_CHARS:
        raise UserError(f"the password is {len(password)} characters; use at least "
                        f"{MIN_PASSWORD_CHARS}")
    return _hasher.hash(password)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_user(users: UserStore, name: str, password: str, role: str, *, now: datetime,
             actor: Actor) -> User:
    return users.add_user(check_name(name), password_hash=hash_password(password),
                          role=check_role(role), now=now, actor=actor)


def issue_api_token(users: UserStore, name: str, *, now: datetime, actor: Actor,
                    days: int = DEFAULT_TOKEN_DAYS) -> str:
    """A new API token for `name`, working for `days` days; returned once, only its hash is
    kept. Raises `UserError` (no such user, or a disabled one)."""
    user = users.require_user(name)
    if user.disabled:
        raise UserError(f"user {name!r} is disabled; enable the user first "
                        f"(factpost user set {name} --enable)")
    token = "fp_" + new_token()
    users.add_api_token(user.id, token_hash=token_hash(token), now=now,
                        expires_at=now + timedelta(days=days), actor=actor)
    return token


def token_actor(users: UserStore, token: str, *, now: datetime) -> Actor | None:
    """The staff member a live API token proves, or None (unknown, expired or revoked token,
    or a disabled user)."""
    user = users.token_user(token_hash(token.strip()), now=now)
    return None if user is None else Actor(user.name, user.role)


def authenticate(users: UserStore, name: str, password: str, *, ip: str, now: datetime
                 ) -> User | None:
    """The user if the password is right. Raises LoginThrottled after too many failures
    (before checking the password, so guessing stops working too)."""
    since = now - LOGIN_WINDOW
    if users.login_failures_since(name, ip, since) >= MAX_LOGIN_FAILURES:
        raise LoginThrottled(
            f"too many failed sign-ins for {name!r} from this address; wait "
            f"{int(LOGIN_WINDOW.total_seconds() // 60)} minutes or ask an admin to reset the "
            "password")
    user = users.get_user(name)
    try:
        ok = _hasher.verify(user.password_hash if user else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None or user.disabled:
        users.record_login_failure(name[:200], ip, now=now)
        return None
    users.clear_login_failures(name, ip, before=since)
    return user
