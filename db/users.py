"""Newsroom users, their browser sessions, API tokens and failed sign-ins: persistence only.

Tokens arrive here already hashed; the caller owns the secrets, the database never sees them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select

from db.models import ApiToken, LoginFailure, User, WebSession
from db.store import Store, StoreError


class UserError(StoreError):
    """A request about users the store cannot carry out; the message says what to do."""


class UserStore:
    """User queries on a Store's database; each method is one transaction."""

    def __init__(self, store: Store) -> None:
        self._store = store

    # -- users --------------------------------------------------------------------------------

    def add_user(self, name: str, *, password_hash: str, role: str, now: datetime) -> User:
        with self._store.session() as s:
            if s.scalar(select(User).where(User.name == name)) is not None:
                raise UserError(f"a user named {name!r} already exists; choose another name "
                                "or change that user's role")
            user = User(name=name, password_hash=password_hash, role=role, created_at=now,
                        disabled=False)
            s.add(user)
            s.flush()
            return user

    def get_user(self, name: str) -> User | None:
        with self._store.session() as s:
            return s.scalar(select(User).where(User.name == name))

    def require_user(self, name: str) -> User:
        user = self.get_user(name)
        if user is None:
            raise UserError(f"no user named {name!r}; 'factpost user list' shows every user")
        return user

    def users(self) -> list[User]:
        with self._store.session() as s:
            return list(s.scalars(select(User).order_by(User.name)))

    def update_user(self, name: str, *, role: str | None = None, disabled: bool | None = None,
                    password_hash: str | None = None) -> User:
        """Change a user. Disabling one or changing a password signs that user out."""
        with self._store.session() as s:
            user = s.scalar(select(User).where(User.name == name))
            if user is None:
                raise UserError(f"no user named {name!r}; 'factpost user list' shows every "
                                "user")
            if role is not None:
                user.role = role
            if password_hash is not None:
                user.password_hash = password_hash
            if disabled is not None:
                user.disabled = disabled
            if disabled or password_hash is not None:
                s.execute(delete(WebSession).where(WebSession.user_id == user.id))
            return user

    # -- sessions -----------------------------------------------------------------------------

    def create_session(self, user_id: int, *, token_hash: str, csrf_token: str, now: datetime,
                       expires_at: datetime) -> None:
        with self._store.session() as s:
            # Expired sessions are swept here rather than by a job: sign-ins are rare.
            s.execute(delete(WebSession).where(WebSession.expires_at < now))
            s.add(WebSession(token_hash=token_hash, user_id=user_id, csrf_token=csrf_token,
                             created_at=now, expires_at=expires_at))

    def session_user(self, token_hash: str, *, now: datetime
                     ) -> tuple[User, WebSession] | None:
        """The enabled user a live session belongs to, or None."""
        with self._store.session() as s:
            row = s.execute(select(User, WebSession).join(WebSession,
                                                          WebSession.user_id == User.id)
                            .where(WebSession.token_hash == token_hash,
                                   WebSession.expires_at > now,
                                   User.disabled.is_(False))).first()
            return None if row is None else (row[0], row[1])

    def end_session(self, token_hash: str) -> None:
        with self._store.session() as s:
            s.execute(delete(WebSession).where(WebSession.token_hash == token_hash))

    # -- API tokens ---------------------------------------------------------------------------

    def add_api_token(self, user_id: int, *, token_hash: str, now: datetime) -> None:
        with self._store.session() as s:
            s.add(ApiToken(user_id=user_id, token_hash=token_hash, created_at=now))

    def token_user(self, token_hash: str, *, now: datetime) -> User | None:
        with self._store.session() as s:
            row = s.execute(select(User, ApiToken).join(ApiToken, ApiToken.user_id == User.id)
                            .where(ApiToken.token_hash == token_hash,
                                   User.disabled.is_(False))).first()
            if row is None:
                return None
            row[1].last_used_at = now
            return row[0]

    # -- sign-in throttling -------------------------------------------------------------------

    def record_login_failure(self, name: str, ip: str, *, now: datetime) -> None:
        with self._store.session() as s:
            s.add(LoginFailure(name=name, ip=ip, at=now))

    def login_failures_since(self, name: str, ip: str, since: datetime) -> int:
        with self._store.session() as s:
            return s.scalar(select(func.count()).select_from(LoginFailure).where(
                LoginFailure.name == name, LoginFailure.ip == ip, LoginFailure.at >= since))

    def clear_login_failures(self, name: str, ip: str, *, before: datetime) -> None:
        """Forget a user's failures from this address (after a good sign-in), and everyone's
        failures older than `before`, which no longer count."""
        with self._store.session() as s:
            s.execute(delete(LoginFailure).where(
                (LoginFailure.at < before)
                | ((LoginFailure.name == name) & (LoginFailure.ip == ip))))
