"""The spend ledger of platforms that bill per request (X): persistence only (prices and
their meaning live with each platform, scheduler/platforms/x_terms.py for X). Money is integer
micro-dollars; times are UTC. The tables are named x_charges and x_read_charges (migration
0006) from when X was the only platform that billed; the operations in them are the
platform's own names.

States of a charge:

    pending       the request was sent and its outcome is not known yet: counted as spent
    charged       X answered with what it bills (a created post, resources returned)
    not_charged   X refused the request, or the timeline showed that the post was not made
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import String, bindparam, case, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from db import reservations
from db.database import Database
from db.models import Post, XCharge, XReadCharge, XReservation
from db.prepared import Bind, Prepared
from posts.states import PostStatus

PENDING, CHARGED, NOT_CHARGED = "pending", "charged", "not_charged"
SPENT = (PENDING, CHARGED)
CREATES = ("post_create", "post_create_with_url")
#: Read-deduplication rows older than this many days are of no further use.
KEEP_READ_DAYS = 2


@dataclass(frozen=True)
class DaySpend:
    """One account's X requests on one UTC day."""

    day: date
    account: str
    app: str
    requests: int
    posts: int
    posts_with_links: int
    resources_read: int
    micros: int


_START_KEYS = ("at", "account", "app", "operation", "purpose", "state", "units",
               "billed_units", "unit_micros", "micros", "post_id")
_START = Prepared(insert(XCharge.__table__).returning(XCharge.__table__.c.id),
                  keys=_START_KEYS)


class SpendStore:
    """The spend ledger (`store.spend`); each method is one transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- writing ------------------------------------------------------------------------------

    def start(self, *, account: str, app: str, operation: str, unit_micros: int, at: datetime,
              purpose: str, post_id: int | None) -> int:
        """Record a create about to be sent (counted as spent until settled); returns its id."""
        with self.db.session() as s:
            return start_in(s, account=account, app=app, operation=operation,
                            unit_micros=unit_micros, at=at, purpose=purpose, post_id=post_id)

    def settle(self, charge_id: int, *, charged: bool, remote_id: str | None = None) -> None:
        with self.db.session() as s:
            settle_in(s, charge_id, charged=charged, remote_id=remote_id)

    def settle_post(self, post_id: int, *, found: bool, remote_id: str | None = None) -> int:
        """Settle the pending creates of a post whose outcome the timeline has now shown: the
        newest made the post when it was `found`, none did otherwise. Returns how many."""
        with self.db.session() as s:
            pending = list(s.scalars(select(XCharge).where(
                XCharge.post_id == post_id, XCharge.state == PENDING,
                XCharge.operation.in_(CREATES)).order_by(XCharge.id.desc())))
            for n, charge in enumerate(pending):
                if found and n == 0:
                    charge.state, charge.remote_id = CHARGED, remote_id
                else:
                    charge.state, charge.billed_units, charge.micros = NOT_CHARGED, 0, 0
            return len(pending)

    def record(self, *, account: str, app: str, operation: str, unit_micros: int,
               at: datetime, purpose: str, post_id: int | None, units: int = 1,
               resources: Sequence[str] | None = None) -> XCharge:
        """Record an answered request. With `resources` (a read), each is billed only if the
        app has not paid for it yet on `at`'s UTC day."""
        with self.db.session() as s:
            billed = units
            if resources is not None:
                billed = self._first_reads(s, app, at.date(), resources)
            charge = XCharge(at=at, account=account, app=app, operation=operation,
                             purpose=purpose, state=CHARGED, units=units, billed_units=billed,
                             unit_micros=unit_micros, micros=unit_micros * billed,
                             post_id=post_id)
            s.add(charge)
            s.flush()
            return charge

    def _first_reads(self, s, app: str, day: date, resources: Sequence[str]) -> int:
        """How many of `resources` the app reads for the first time on `day` (and remember
        them). Two daemons reading the same post at the same instant may both count it."""
        wanted = list(dict.fromkeys(resources))
        if not wanted:
            return 0
        key = day.isoformat()
        seen = set(s.scalars(select(XReadCharge.resource).where(
            XReadCharge.app == app, XReadCharge.day == key,
            XReadCharge.resource.in_(wanted))))
        new = [r for r in wanted if r not in seen]
        if new:
            rows = [{"app": app, "day": key, "resource": r} for r in new]
            s.execute(_insert_ignoring_duplicates(self.db.dialect), rows)
            s.execute(delete(XReadCharge).where(
                XReadCharge.day < (day - timedelta(days=KEEP_READ_DAYS)).isoformat()))
        return len(new)

    # -- reading ------------------------------------------------------------------------------

    def spent(self, app: str, *, since: datetime, until: datetime) -> int:
        """Micro-dollars the app has spent (or may have: pending) in [since, until)."""
        with self.db.reading() as s:
            return s.scalar(select(func.coalesce(func.sum(XCharge.micros), 0)).where(
                XCharge.app == app, XCharge.state.in_(SPENT), XCharge.at >= since,
                XCharge.at < until)) or 0

    def spent_by_app(self, *, since: datetime, until: datetime
                     ) -> dict[str, tuple[int, tuple[str, ...]]]:
        """Per app: (micro-dollars spent in [since, until), the accounts that spent it)."""
        with self.db.reading() as s:
            rows = s.execute(select(XCharge.app, XCharge.account, func.sum(XCharge.micros))
                             .where(XCharge.state.in_(SPENT), XCharge.at >= since,
                                    XCharge.at < until)
                             .group_by(XCharge.app, XCharge.account)).all()
        out: dict[str, tuple[int, tuple[str, ...]]] = {}
        for app, account, micros in rows:
            total, accounts = out.get(app, (0, ()))
            out[app] = (total + (micros or 0), tuple(sorted({*accounts, account})))
        return out

    def by_day(self, *, since: datetime | None = None, until: datetime | None = None,
               account: str | None = None) -> list[DaySpend]:
        """Spend per UTC day and account, newest day first."""
        # date() is a function on SQLite and a cast on PostgreSQL; both give the UTC day.
        day = func.date(XCharge.at).label("day")
        is_create = XCharge.operation.in_(CREATES)
        query = (select(day, XCharge.account, XCharge.app, func.count(),
                        func.sum(case((is_create & (XCharge.state != NOT_CHARGED), 1),
                                      else_=0)),
                        func.sum(case(((XCharge.operation == "post_create_with_url")
                                       & (XCharge.state != NOT_CHARGED), 1), else_=0)),
                        func.sum(case((XCharge.operation.in_(("post_read", "user_read")),
                                       XCharge.units), else_=0)),
                        func.sum(XCharge.micros))
                 .where(XCharge.state.in_(SPENT) | is_create)
                 .group_by(day, XCharge.account, XCharge.app)
                 .order_by(day.desc(), XCharge.account))
        query = _window(query, since, until, account)
        with self.db.reading() as s:
            rows = s.execute(query).all()
        return [DaySpend(_as_date(d), account_, app, requests, posts or 0, links or 0,
                         read or 0, micros or 0)
                for d, account_, app, requests, posts, links, read, micros in rows]

    def committed(self, app: str, now: datetime) -> int:
        """Micro-dollars counting against the app's monthly cap in `now`'s month: spent, and
        set aside for posts admitted but not yet sent (db/reservations.py)."""
        with self.db.reading() as s:
            return reservations.committed(s, app, now)

    def unreserved(self, accounts: Sequence[str], *, until: datetime) -> list[Post]:
        """Posts of these accounts, queued or drafts, due before `until`, that nothing has
        been set aside for yet: what the cap will still have to admit."""
        if not accounts:
            return []
        with self.db.reading() as s:
            return list(s.scalars(select(Post).where(
                Post.account.in_(list(accounts)),
                Post.status.in_([PostStatus.QUEUED, PostStatus.DRAFT]),
                Post.scheduled_at < until,
                Post.id.not_in(select(XReservation.post_id)))))

    def app_of(self, account: str) -> str | None:
        """The billing app the account's latest request was charged to, if any."""
        with self.db.reading() as s:
            return s.scalar(select(XCharge.app).where(XCharge.account == account)
                            .order_by(XCharge.id.desc()).limit(1))

    def charges(self, *, since: datetime | None = None, until: datetime | None = None,
                account: str | None = None, post_id: int | None = None) -> list[XCharge]:
        """Every recorded request, oldest first."""
        query = select(XCharge).order_by(XCharge.id)
        if post_id is not None:
            query = query.where(XCharge.post_id == post_id)
        with self.db.reading() as s:
            return list(s.scalars(_window(query, since, until, account)))


def start_in(s: Bind, *, account: str, app: str, operation: str, unit_micros: int,
             at: datetime, purpose: str, post_id: int | None) -> int:
    """`SpendStore.start` in the transaction of `s` (the daemon's: a post's claim)."""
    # Core, built once: one per X post, on the daemon's hot path.
    return _START.scalar(s, {
        "at": at, "account": account, "app": app, "operation": operation,
        "purpose": purpose, "state": PENDING, "units": 1, "billed_units": 1,
        "unit_micros": unit_micros, "micros": unit_micros, "post_id": post_id,
    })


def settle_in(s: Bind, charge_id: int, *, charged: bool, remote_id: str | None = None
              ) -> None:
    """Write a create's answer in session `s`'s transaction: charged (with the id of what it
    made), or not charged (nothing was made)."""
    if charged:
        _CHARGED.rowcount(s, {"b_id": charge_id, "b_remote": remote_id})
    else:
        _NOT_CHARGED.rowcount(s, {"b_id": charge_id})


# Built once, like `_START`: one of them runs for every X post the daemon publishes.
_CHARGES = XCharge.__table__
_CHARGED = Prepared(update(_CHARGES).where(_CHARGES.c.id == bindparam("b_id")).values(
    state=CHARGED, remote_id=func.coalesce(bindparam("b_remote", type_=String),
                                           _CHARGES.c.remote_id)))
_NOT_CHARGED = Prepared(update(_CHARGES).where(_CHARGES.c.id == bindparam("b_id"))
                        .values(state=NOT_CHARGED, billed_units=0, micros=0))


def _window(query, since: datetime | None, until: datetime | None, account: str | None):
    if since is not None:
        query = query.where(XCharge.at >= since)
    if until is not None:
        query = query.where(XCharge.at < until)
    if account is not None:
        query = query.where(XCharge.account == account)
    return query


def _as_date(value) -> date:
    # SQLite hands a CAST(... AS DATE) back as text.
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _insert_ignoring_duplicates(dialect: str):
    if dialect == "postgresql":
        return postgresql.insert(XReadCharge).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(XReadCharge).on_conflict_do_nothing()
    return insert(XReadCharge)
