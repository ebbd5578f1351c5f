"""Newsroom users, their browser sessions, API tokens and failed sign-ins: persistence only.

Tokens arrive here already hashed; the caller owns the secrets, the database never sees them.
Every change to a user or a token is written to the audit trail in the same transaction, under
the admin (web) or the operator (command line) who made it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from db import audit
from db.database import Database
from db.errors import StoreError
from db.models import ApiToken, LoginFailure, User, UserStep, WebSession
from posts.states import Action, Actor, check_actor


class UserError(StoreError):
    """A request about users the store cannot carry out; the message says what to do."""


class UserStore:
    """Users, sessions, API tokens and failed sign-ins (`store.users`); each method is one
    transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- users --------------------------------------------------------------------------------

    def add_user(self, name: str, *, password_hash: str, role: str, now: datetime,
                 actor: Actor) -> User:
        """Add a user. Raises `UserError` (the name is taken), `NotPermitted`."""
        check_actor(actor, Action.MANAGE_USERS)
        with self.db.session() as s:
            if s.scalar(select(User).where(User.name == name)) is not None:
                raise UserError(f"a user named {name!r} already exists; choose another name "
                                "or change that user's role")
            user = User(name=name, password_hash=password_hash, role=role, created_at=now,
                        disabled=False)
            s.add(user)
            s.flush()
            _audit(s, actor, "user_add", f"user {name} added as {role}", now)
            return user

    def get_user(self, name: str) -> User | None:
        with self.db.reading() as s:
            return s.scalar(select(User).where(User.name == name))

    def require_user(self, name: str) -> User:
        user = self.get_user(name)
        if user is None:
            raise UserError(f"no user named {name!r}; 'factpost user list' shows every user")
        return user

    def users(self) -> list[User]:
        with self.db.reading() as s:
            return list(s.scalars(select(User).order_by(User.name)))

    def update_user(self, name: str, *, actor: Actor, now: datetime, role: str | None = None,
                    disabled: bool | None = None, password_hash: str | None = None) -> User:
        """Change a user. Disabling one or changing a password signs that user out and
        revokes every API token the user has, so enabling the user again revives none.
        Raises `UserError`, `NotPermitted`."""
        check_actor(actor, Action.MANAGE_USERS)
        with self.db.session() as s:
            user = s.scalar(select(User).where(User.name == name))
            if user is None:
                raise UserError(f"no user named {name!r}; 'factpost user list' shows every "
                                "user")
            changes = []
            if role is not None and role != user.role:
                changes.append(f"role {user.role} -> {role}")
                user.role = role
            if password_hash is not None:
                user.password_hash = password_hash
                changes.append("password changed")
            if disabled is not None and disabled != user.disabled:
                user.disabled = disabled
                changes.append("disabled" if disabled else "enabled")
            if disabled or password_hash is not None:
                why = "user disabled" if disabled else "password changed"
                s.execute(delete(WebSession).where(WebSession.user_id == user.id))
                revoked = _revoke(s, ApiToken.user_id == user.id, why, now)
                if revoked:
                    changes.append(f"{revoked} API token(s) revoked")
            if changes:
                _audit(s, actor, "user_change", f"user {name}: {', '.join(changes)}", now)
            return user

    def set_language(self, name: str, language: str) -> None:
        """Make `language` (a code the caller has checked, "en", "ar") user `name`'s web
        interface language. A preference of the user's own, so no audit entry. Raises
        `UserError` (no such user)."""
        with self.db.session() as s:
            changed = s.execute(update(User).where(User.name == name).values(language=language))
            if changed.rowcount == 0:
                raise UserError(f"no user named {name!r}; 'factpost user list' shows every "
                                "user")

    def set_steps(self, name: str, steps: Iterable[str], *, actor: Actor, now: datetime
                  ) -> list[str]:
        """Make `steps` the steps of clearance user `name` may approve (the caller checks
        they are configured); returns them sorted. Raises `UserError`, `NotPermitted`."""
        check_actor(actor, Action.MANAGE_USERS)
        wanted = sorted(set(steps))
        with self.db.session() as s:
            user = s.scalar(select(User).where(User.name == name))
            if user is None:
                raise UserError(f"no user named {name!r}; 'factpost user list' shows every "
                                "user")
            if wanted and user.role not in ("approver", "admin"):
                raise UserError(f"{name} is {user.role}; only approvers clear steps, so give "
                                f"the role first (factpost user set {name} --role approver)")
            had = sorted(s.scalars(select(UserStep.step).where(UserStep.user_id == user.id)))
            if had != wanted:
                s.execute(delete(UserStep).where(UserStep.user_id == user.id))
                s.add_all(UserStep(user_id=user.id, step=step) for step in wanted)
                _audit(s, actor, "user_change", f"user {name}: steps "
                       f"{', '.join(had) or 'none'} -> {', '.join(wanted) or 'none'}", now)
            return wanted

    def steps_by_user(self) -> dict[str, list[str]]:
        """The steps each user holds, by user name (users holding none left out)."""
        with self.db.reading() as s:
            held: dict[str, list[str]] = {}
            for name, step in s.execute(select(User.name, UserStep.step)
                                        .join(UserStep, UserStep.user_id == User.id)
                                        .order_by(User.name, UserStep.step)):
                held.setdefault(name, []).append(step)
            return held

    # -- sessions -----------------------------------------------------------------------------

    def create_session(self, user_id: int, *, token_hash: str, csrf_token: str, now: datetime,
                       expires_at: datetime) -> None:
        with self.db.session() as s:
            # Expired sessions are swept here rather than by a job: sign-ins are rare.
            s.execute(delete(WebSession).where(WebSession.expires_at < now))
            s.add(WebSession(token_hash=token_hash, user_id=user_id, csrf_token=csrf_token,
                             created_at=now, expires_at=expires_at))

    def session_user(self, token_hash: str, *, now: datetime
                     ) -> tuple[User, WebSession] | None:
        """The enabled user a live session belongs to, or None."""
        with self.db.reading() as s:
            row = s.execute(select(User, WebSession).join(WebSession,
                                                          WebSession.user_id == User.id)
                            .where(WebSession.token_hash == token_hash,
                                   WebSession.expires_at > now,
                                   User.disabled.is_(False))).first()
            return None if row is None else (row[0], row[1])

    def end_session(self, token_hash: str) -> None:
        with self.db.session() as s:
            s.execute(delete(WebSession).where(WebSession.token_hash == token_hash))

    # -- API tokens ---------------------------------------------------------------------------

    def add_api_token(self, user_id: int, *, token_hash: str, now: datetime,
                      expires_at: datetime, actor: Actor) -> ApiToken:
        """Store a new token's hash. Raises `NotPermitted`."""
        check_actor(actor, Action.MANAGE_USERS)
        with self.db.session() as s:
            user = s.get(User, user_id)
            token = ApiToken(user_id=user_id, token_hash=token_hash, created_at=now,
                             expires_at=expires_at)
            s.add(token)
            s.flush()
            _audit(s, actor, "token_issue", f"API token {token.id} issued for user "
                   f"{user.name}, expires {expires_at:%Y-%m-%d %H:%M} UTC", now)
            return token

    def token_user(self, token_hash: str, *, now: datetime) -> User | None:
        """The enabled user whose live token (neither expired nor revoked) this is, or None."""
        with self.db.session() as s:
            row = s.execute(select(User, ApiToken).join(ApiToken, ApiToken.user_id == User.id)
                            .where(ApiToken.token_hash == token_hash,
                                   ApiToken.expires_at > now, ApiToken.revoked_at.is_(None),
                                   User.disabled.is_(False))).first()
            if row is None:
                return None
            row[1].last_used_at = now
            return row[0]

    def api_tokens(self, name: str | None = None) -> list[tuple[ApiToken, str]]:
        """Every token (of one user when `name` is given) with its user's name, newest first."""
        with self.db.reading() as s:
            query = (select(ApiToken, User.name).join(User, ApiToken.user_id == User.id)
                     .order_by(ApiToken.id.desc()))
            if name is not None:
                query = query.where(User.name == name)
            return [(token, user) for token, user in s.execute(query)]

    def revoke_token(self, token_id: int, *, actor: Actor, now: datetime,
                     reason: str = "revoked by hand") -> ApiToken:
        """Revoke one token for good. Raises `UserError` (no such token), `NotPermitted`."""
        check_actor(actor, Action.MANAGE_USERS)
        with self.db.session() as s:
            token = s.get(ApiToken, token_id) if 0 < token_id < 2**31 else None
            if token is None:
                raise UserError(f"no API token with id {token_id}; 'factpost user token list' "
                                "shows every token")
            if token.revoked_at is None:
                token.revoked_at, token.revoked_reason = now, reason[:200]
                user = s.get(User, token.user_id)
                _audit(s, actor, "token_revoke", f"API token {token_id} of user {user.name} "
                       f"revoked: {reason}", now)
            return token

    def revoke_user_tokens(self, name: str, *, actor: Actor, now: datetime,
                           reason: str = "revoked by hand") -> int:
        """Revoke every live token of a user; returns how many. Raises `UserError`."""
        check_actor(actor, Action.MANAGE_USERS)
        with self.db.session() as s:
            user = s.scalar(select(User).where(User.name == name))
            if user is None:
                raise UserError(f"no user named {name!r}; 'factpost user list' shows every "
                                "user")
            revoked = _revoke(s, ApiToken.user_id == user.id, reason, now)
            if revoked:
                _audit(s, actor, "token_revoke", f"{revoked} API token(s) of user {name} "
                       f"revoked: {reason}", now)
            return revoked

    # -- sign-in throttling -------------------------------------------------------------------

    def record_login_failure(self, name: str, ip: str, *, now: datetime) -> None:
        with self.db.session() as s:
            s.add(LoginFailure(name=name, ip=ip, at=now))

    def login_failures_since(self, name: str, ip: str, since: datetime) -> int:
        with self.db.reading() as s:
            return s.scalar(select(func.count()).select_from(LoginFailure).where(
                LoginFailure.name == name, LoginFailure.ip == ip, LoginFailure.at >= since))

    def clear_login_failures(self, name: str, ip: str, *, before: datetime) -> None:
        """Forget a user's failures from this address (after a good sign-in), and everyone's
        failures older than `before`, which no longer count."""
        with self.db.session() as s:
            s.execute(delete(LoginFailure).where(
                (LoginFailure.at < before)
                | ((LoginFailure.name == name) & (LoginFailure.ip == ip))))


def _revoke(s: Session, condition, reason: str, now: datetime) -> int:
    return s.execute(update(ApiToken).where(condition, ApiToken.revoked_at.is_(None))
                     .values(revoked_at=now, revoked_reason=reason[:200])
                     .execution_options(synchronize_session=False)).rowcount


def _audit(s: Session, actor: Actor, action: str, reason: str, now: datetime) -> None:
    audit.write(s, at=now, actor=actor.name, action=action, reason=reason)
