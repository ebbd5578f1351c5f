"""What /metrics reports, read from the store (not counted in a process), so that every daemon
and web server on one database reports the same figures and a restart loses none.

Each method is one read-only transaction. Posts by state are counted from the (account,
status) index; attempts, which are only ever added and whose outcome is written once, are
tallied incrementally by primary key (`AttemptTally`), so a scrape reads only the attempts
made since the last one instead of the whole table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Float, Integer, case, cast, extract, func, literal_column, select

from db.database import Database
from db.models import AccountState, Attempt, Post

#: Claim latency buckets, seconds (Prometheus `le`): from "on time" to "an hour late".
LATENCY_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)


#: An attempt is counted once it started this long ago: ids are handed out before commit, so
#: a younger one may still be joined by an earlier id (and /metrics lags by this much).
SETTLE = timedelta(seconds=30)


@dataclass
class Latency:
    """A histogram: counts per bucket bound (LATENCY_BUCKETS, not cumulative), count, sum."""

    counts: list[int] = field(default_factory=lambda: [0] * len(LATENCY_BUCKETS))
    count: int = 0
    total_seconds: float = 0.0

    def add(self, seconds: float) -> None:
        self.count += 1
        self.total_seconds += seconds
        for i, bound in enumerate(LATENCY_BUCKETS):
            if seconds <= bound:
                self.counts[i] += 1
                break

    @property
    def buckets(self) -> list[tuple[float, int]]:
        """(bound, attempts at or under it): Prometheus's cumulative buckets."""
        running, out = 0, []
        for bound, n in zip(LATENCY_BUCKETS, self.counts, strict=True):
            running += n
            out.append((bound, running))
        return out


@dataclass
class AttemptTally:
    """Totals over finished attempts, kept by a process and advanced by primary key
    (`Measures.advance`). An attempt's outcome is written once, so what was counted stays
    counted, and every process that advances a tally over one database arrives at the same
    totals; an attempt still in flight when passed is remembered and counted when it ends.

    `outcomes`: by (platform, outcome). `latency`: by platform, how long after its due time
    (`scheduled_at`, which a retry moves to the retry's time) each attempt that published a
    post started, seconds; spacing kept after a backlog counts as lateness."""

    upto: int = 0
    open: set[int] = field(default_factory=set)
    outcomes: dict[tuple[str, str], int] = field(default_factory=dict)
    latency: dict[str, Latency] = field(default_factory=dict)

    def count(self, attempt_id: int, outcome: str | None, platform: str,
              started_at: datetime, due_at: datetime) -> None:
        self.upto = max(self.upto, attempt_id)
        if outcome is None:
            self.open.add(attempt_id)
            return
        self.open.discard(attempt_id)
        key = (platform, outcome)
        self.outcomes[key] = self.outcomes.get(key, 0) + 1
        if outcome == "published":
            self.latency.setdefault(platform, Latency()).add(
                (started_at - due_at).total_seconds())


class Measures:
    """Aggregates for /metrics; each method is one read-only transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def posts_by_state(self) -> dict[tuple[str, str], int]:
        """Posts by (account, status), read from the (account, status) index alone."""
        with self.db.reading() as s:
            return {(account, status): n for account, status, n in s.execute(
                select(Post.account, Post.status, func.count())
                .group_by(Post.account, Post.status))}

    def advance(self, tally: AttemptTally, *, now: datetime, batch: int = 50_000) -> None:
        """Bring `tally` up to the attempts that started before `now - SETTLE`, reading only
        those it has not counted (by primary key) and those it saw still in flight."""
        settled_before = now - SETTLE
        if tally.upto == 0:
            self._seed(tally, settled_before)
        with self.db.reading() as s:
            query = (select(Attempt.id, Attempt.outcome, Attempt.started_at, Post.platform,
                            Post.scheduled_at)
                     .join(Post, Post.id == Attempt.post_id).order_by(Attempt.id))
            while True:
                rows = s.execute(query.where(Attempt.id > tally.upto).limit(batch)).all()
                # Ids are handed out before commit: a later id may be visible before an earlier
                # one is, so the tally stops at the first attempt too young to be sure of.
                young = next((i for i, r in enumerate(rows) if r.started_at >= settled_before),
                             len(rows))
                for row in rows[:young]:
                    tally.count(row.id, row.outcome, row.platform,
                                row.started_at, row.scheduled_at)
                if young < len(rows) or len(rows) < batch:
                    break
            if tally.open:
                for row in s.execute(query.where(Attempt.id.in_(sorted(tally.open)[:1000]),
                                                 Attempt.outcome.is_not(None))):
                    tally.count(row.id, row.outcome, row.platform,
                                row.started_at, row.scheduled_at)

    def account_states(self) -> list[AccountState]:
        with self.db.reading() as s:
            return list(s.scalars(select(AccountState).order_by(AccountState.name)))

    def _seed(self, tally: AttemptTally, settled_before: datetime) -> None:
        """Start a tally from aggregates over every settled attempt, computed by the database
        (reading a long history row by row would take a first scrape tens of seconds)."""
        with self.db.reading() as s:
            upto = s.scalar(select(func.max(Attempt.id))
                            .where(Attempt.started_at < settled_before))
            if upto is None:
                return
            joined = (select().select_from(Attempt).join(Post, Post.id == Attempt.post_id)
                      .where(Attempt.id <= upto))
            for platform, outcome, n in s.execute(
                    joined.add_columns(Post.platform, Attempt.outcome, func.count())
                    .where(Attempt.outcome.is_not(None))
                    .group_by(Post.platform, Attempt.outcome)):
                tally.outcomes[(platform, outcome)] = n
            late = (joined.add_columns(Post.platform.label("platform"), self._seconds(
                        Attempt.started_at, Post.scheduled_at).label("seconds"))
                    .where(Attempt.outcome == "published")
                    # Computed once per row, not once per bucket.
                    .cte("late").prefix_with("MATERIALIZED", dialect="postgresql"))
            for platform, count, total, *cumulative in s.execute(
                    select(late.c.platform, func.count(),
                           func.coalesce(func.sum(late.c.seconds), 0.0),
                           *[func.sum(case((late.c.seconds <= bound, 1), else_=0))
                             for bound in LATENCY_BUCKETS]).group_by(late.c.platform)):
                running = [int(c or 0) for c in cumulative]
                tally.latency[platform] = Latency(
                    [b - a for a, b in zip([0, *running], running, strict=False)],
                    int(count), float(total or 0))
            tally.open.update(s.scalars(select(Attempt.id).where(
                Attempt.id <= upto, Attempt.outcome.is_(None))))
            tally.upto = upto

    def _seconds(self, later, earlier):
        """`later - earlier` in seconds, exact to the microsecond (as `AttemptTally.count`
        computes it, so that a bound such as 1 s puts a post in the same bucket both ways)."""
        if self.db.dialect == "postgresql":
            return extract("epoch", later - earlier)
        # SQLite keeps times as text, "YYYY-MM-DD HH:MM:SS.ffffff" (SQLAlchemy's format):
        # whole seconds from strftime, the fraction from the text. julianday would be shorter
        # but is a double of days, some 40 microseconds off.
        def whole(value):
            return cast(func.strftime("%s", value), Integer)

        def fraction(value):
            return cast(func.substr(value, 20), Float)

        return (whole(later) - whole(earlier)) + (fraction(later) - fraction(earlier))

    def reachable(self) -> bool:
        """Whether the database answers a query (raises the driver's error if not)."""
        with self.db.reading() as s:
            return s.scalar(select(literal_column("1"))) == 1



def accounts_held(states: Sequence[AccountState], now: datetime) -> list[AccountState]:
    """The accounts a platform's rate limit or the posting budget holds at `now`."""
    return [a for a in states if a.held_until is not None and a.held_until > now]
