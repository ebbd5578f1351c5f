"""Accounts and holds, and the daemons' heartbeats: whether an account may publish now (paused
by staff or by the daemon when the platform rejects its credentials; held until a time when
its budget or the platform's rate limit is used up), and which daemons are alive."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from db import audit
from db.database import Database
from db.models import AccountState, Worker
from posts.states import Action, Actor, check_actor

A = Action


class Accounts:
    """Per-account pauses and holds; each method is one transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def state(self, name: str) -> AccountState:
        """The account's pause and hold (a blank state for one never paused or held)."""
        with self.db.reading() as s:
            return s.get(AccountState, name) or AccountState(name=name, paused=False)

    def states(self) -> dict[str, AccountState]:
        """Every account's state that was ever set, by name."""
        with self.db.reading() as s:
            return {a.name: a for a in s.scalars(select(AccountState))}

    def hold(self, name: str, *, until: datetime, reason: str) -> None:
        """The platform asked for a pause until `until` (rate limit); not a staff decision."""
        with self.db.session() as s:
            hold_in(s, name, until=until, reason=reason)

    def pause(self, name: str, *, actor: Actor, reason: str, now: datetime) -> None:
        """Hold an account's posts (an admin, or the daemon when the platform rejects the
        credentials). Raises `NotPermitted`."""
        check_actor(actor, A.PAUSE)
        with self.db.session() as s:
            state = _state(s, name)
            if state.paused:
                return
            state.paused, state.paused_reason, state.paused_at = True, reason, now
            audit.write(s, at=now, actor=actor.name, action="pause", account=name,
                        reason=reason)

    def resume(self, name: str, *, actor: Actor, now: datetime) -> bool:
        """Let a paused account publish again (an admin). Raises `NotPermitted`."""
        check_actor(actor, A.RESUME)
        with self.db.session() as s:
            state = _state(s, name)
            if not state.paused:
                return False
            state.paused, state.paused_reason, state.paused_at = False, None, None
            audit.write(s, at=now, actor=actor.name, action="resume", account=name,
                        reason="resumed")
            return True



class Workers:
    """The daemons' heartbeats; each method is one transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def heartbeat(self, worker: str, *, now: datetime, stopping: bool = False) -> None:
        """The daemon `worker` is alive at `now` (or, with `stopping`, has stopped)."""
        with self.db.session() as s:
            row = s.get(Worker, worker)
            if row is None:
                row = Worker(id=worker, started_at=now)
                s.add(row)
            row.last_seen = now
            row.stopped_at = now if stopping else None

    def all(self) -> list[Worker]:
        """Every daemon that has run, the most recently seen first."""
        with self.db.reading() as s:
            return list(s.scalars(select(Worker).order_by(Worker.last_seen.desc())))


def hold_in(s: Session, name: str, *, until: datetime, reason: str) -> None:
    """Hold the account until `until`, saying why, in session `s`'s transaction."""
    state = _state(s, name)
    state.held_until, state.held_reason = until, reason
    s.flush()


def _state(s: Session, name: str) -> AccountState:
    state = s.get(AccountState, name)
    if state is None:
        state = AccountState(name=name, paused=False)
        s.add(state)
    return state
