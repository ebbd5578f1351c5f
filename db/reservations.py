"""The monthly spend cap, held in the claim's own transaction.

Admitting a unit (the first part of a thread, with its pair partner's thread for the leading
post of a pair) reserves its estimated cost under the cap of each billing app concerned, in the
same write transaction as the claim (db/queue.py `claim_next`), after taking that app's and
month's lock row: `SELECT ... FOR UPDATE` on PostgreSQL; on SQLite the claim's `BEGIN
IMMEDIATE` already makes it the only writer. So however many account threads and daemons race
for the last of a cap, one admission at a time sees what the others committed.

What counts against a cap (`committed`), read in one statement so that a charge committed
meanwhile is seen either as the charge or as the reservation it offsets, never as neither:

    the month's spend (charged, or pending: sent, outcome unknown)
  + each reservation of a post still queued or publishing, less what that post's publish
    requests have been charged since it was made

A reservation thus reconciles itself: a create that goes out replaces it (at its actual
price), one X refused (not charged) gives it back for the retry, and it stops counting once its
post is published, failed or cancelled (released). What can still pass the cap: reads made to
settle unclear outcomes (never estimated), a post priced higher than estimated, and thread parts
sent in the month after their unit was admitted (a thread is never cut).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, case, delete, func, select, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from db.history import thread_chain
from db.models import Post, XCapMonth, XCharge, XReservation
from posts.states import PostStatus

S = PostStatus
#: A reservation counts while its post may still be sent.
ACTIVE = (S.QUEUED, S.PUBLISHING)
_SPENT = ("pending", "charged")


def month_bounds(now: datetime) -> tuple[datetime, datetime]:
    """[start, end) of `now`'s calendar month, UTC."""
    now = now.astimezone(UTC)
    start = datetime(now.year, now.month, 1, tzinfo=UTC)
    end = datetime(now.year + (now.month == 12), now.month % 12 + 1, 1, tzinfo=UTC)
    return start, end


@dataclass(frozen=True)
class CapRules:
    """What a claim needs to hold the monthly caps (made by scheduler/spend.py)."""

    #: The billing app a post is charged to and the micro-dollars of the requests that publish
    #: it; None for a post its platform does not bill.
    price: Callable[[Post], tuple[str, int] | None]
    #: The monthly cap of each billing app that has one, in micro-dollars.
    caps: Mapping[str, int]
    #: Why a post waits, for its `last_error` (told of every refusal).
    explain: Callable[[Post, Refusal], str]
    #: Told of every admission weighed: (app, committed before the unit, cap, month start).
    observe: Callable[[str, int, int, datetime], None] = lambda *weighed: None


@dataclass(frozen=True)
class Refusal:
    """A unit that does not fit under an app's cap this month; it waits whole."""

    app: str
    #: What the unit would cost under this app's cap, and what is committed without it.
    unit_micros: int
    committed: int
    cap: int
    post_ids: tuple[int, ...]
    resets_at: datetime
    #: When it was weighed.
    at: datetime


def unit_of(s: Session, post: Post) -> list[Post]:
    """The posts that admitting `post` commits to: its thread and, for the leading post of a
    pair, the partner's thread (the parts not yet out). Nothing for a later thread part or a
    pair's second post (admitted with the post they follow), nor for a post tried before
    (admitted then, and maybe live: its timeline check must not wait a month)."""
    if (post.thread_position > 1 or post.attempt_count > 0
            or (post.pair_id is not None and post.id > post.pair_id)):
        return []
    heads = [post] + ([s.get(Post, post.pair_id)] if post.pair_id else [])
    return [part for head in heads if head is not None for part in thread_chain(s, head)
            if part.status in (S.QUEUED, S.DRAFT, S.PUBLISHING)]


def admit(s: Session, post: Post, rules: CapRules, now: datetime, dialect: str
          ) -> Refusal | None:
    """Reserve the cost of `post`'s unit under every cap it falls under, in session `s` (the
    claim's transaction); or, when it does not fit one of them, reserve nothing and say why."""
    unit = unit_of(s, post)
    by_app: dict[str, list[tuple[int, int]]] = {}
    for part in unit:
        priced = rules.price(part)
        if priced is not None and priced[0] in rules.caps:
            by_app.setdefault(priced[0], []).append((part.id, priced[1]))
    if not by_app:
        return None
    start, end = month_bounds(now)
    month = f"{start:%Y-%m}"
    unit_ids = [part.id for part in unit]
    for app in sorted(by_app):  # one order everywhere: two admissions never wait on each other
        _lock(s, app, month, dialect)
    for app in sorted(by_app):
        cost = sum(micros for _, micros in by_app[app])
        committed = _committed(s, app, month, start, end, exclude=unit_ids)
        cap = rules.caps[app]
        rules.observe(app, committed, cap, start)
        if committed + cost > cap:
            return Refusal(app, cost, committed, cap, tuple(unit_ids), end, now)
    # A unit weighed again (released before anything was sent) replaces its reservations.
    s.execute(delete(XReservation).where(XReservation.post_id.in_(unit_ids)))
    s.add_all(XReservation(post_id=post_id, app=app, month=month, micros=micros,
                           reserved_at=now)
              for app, items in by_app.items() for post_id, micros in items)
    s.flush()
    return None


def committed(s: Session, app: str, now: datetime) -> int:
    """Micro-dollars counting against `app`'s cap in `now`'s month: spent, and reserved for
    posts admitted and not yet sent."""
    start, end = month_bounds(now)
    return _committed(s, app, f"{start:%Y-%m}", start, end, exclude=())


def _committed(s: Session, app: str, month: str, start: datetime, end: datetime, *,
               exclude: Sequence[int]) -> int:
    spent = (select(func.coalesce(func.sum(XCharge.micros), 0))
             .where(XCharge.app == app, XCharge.state.in_(_SPENT), XCharge.at >= start,
                    XCharge.at < end).scalar_subquery())
    charged_since = (select(func.coalesce(func.sum(XCharge.micros), 0))
                     .where(XCharge.post_id == XReservation.post_id,
                            XCharge.purpose == "publish", XCharge.state.in_(_SPENT),
                            XCharge.at >= XReservation.reserved_at)
                     .correlate(XReservation).scalar_subquery())
    left = XReservation.micros - charged_since
    outstanding = (select(func.coalesce(func.sum(case((left > 0, left), else_=0)), 0))
                   .select_from(XReservation).join(Post, Post.id == XReservation.post_id)
                   .where(XReservation.app == app, XReservation.month == month,
                          Post.status.in_(ACTIVE),
                          XReservation.post_id.not_in(list(exclude)) if exclude else true())
                   .scalar_subquery())
    # One statement, one snapshot: see the docstring at the top.
    total = s.execute(select(spent + outstanding)).scalar_one()
    return int(total or 0)


def _lock(s: Session, app: str, month: str, dialect: str) -> None:
    """Take the app's and month's lock row (made on first use)."""
    values = {"app": app, "month": month}
    if dialect == "postgresql":
        s.execute(postgresql.insert(XCapMonth).values(values).on_conflict_do_nothing())
        s.execute(select(XCapMonth.app).where(and_(XCapMonth.app == app,
                                                   XCapMonth.month == month))
                  .with_for_update())
    elif dialect == "sqlite":
        # The claim's BEGIN IMMEDIATE holds the database's one write lock already.
        s.execute(sqlite.insert(XCapMonth).values(values).on_conflict_do_nothing())
