"""What /metrics reports, read from the store (not counted in a process), so that every daemon
and web server on one database reports the same figures and a restart loses none.

Each method is one read-only transaction of aggregate queries; none reads rows one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, extract, func, literal_column, select
from sqlalchemy.sql import ColumnElement

from db.database import Database
from db.models import AccountState, Attempt, Post
from posts.states import PostStatus

S = PostStatus

#: Claim latency buckets, seconds (Prometheus `le`): from "on time" to "an hour late".
LATENCY_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)


@dataclass(frozen=True)
class Latency:
    """A histogram: cumulative counts per bucket bound (LATENCY_BUCKETS), count, sum (s)."""

    buckets: tuple[tuple[float, int], ...]
    count: int
    total_seconds: float


class Measures:
    """Aggregates for /metrics; each method is one read-only transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def posts_by_state(self) -> dict[tuple[str, str], int]:
        """Posts by (platform, status)."""
        with self.db.reading() as s:
            return {(platform, status): n for platform, status, n in s.execute(
                select(Post.platform, Post.status, func.count())
                .group_by(Post.platform, Post.status))}

    def attempts_by_outcome(self) -> dict[tuple[str, str], int]:
        """Finished attempts by (platform, outcome): published, retryable, rate_limited,
        permanent, ambiguous, duplicate, abandoned, ... (the publisher's failure classes)."""
        with self.db.reading() as s:
            return {(platform, outcome): n for platform, outcome, n in s.execute(
                select(Post.platform, Attempt.outcome, func.count())
                .join(Post, Post.id == Attempt.post_id)
                .where(Attempt.outcome.is_not(None))
                .group_by(Post.platform, Attempt.outcome))}

    def published(self) -> dict[str, int]:
        """Posts published, by platform (published is final: the count only grows)."""
        with self.db.reading() as s:
            return dict(s.execute(select(Post.platform, func.count())
                                  .where(Post.status == S.PUBLISHED)
                                  .group_by(Post.platform)).all())

    def claim_latency(self) -> dict[str, Latency]:
        """By platform: how long after its due time each published post's last attempt
        started (its due time is `scheduled_at`, which a retry moves to the retry's time), in
        seconds. Deliberate spacing after a backlog counts as lateness here."""
        last = (select(func.max(Attempt.id).label("attempt_id"))
                .join(Post, Post.id == Attempt.post_id)
                .where(Post.status == S.PUBLISHED).group_by(Attempt.post_id).subquery())
        late = self._seconds(Attempt.started_at, Post.scheduled_at)
        columns = [func.sum(case((late <= bound, 1), else_=0)) for bound in LATENCY_BUCKETS]
        query = (select(Post.platform, func.count(), func.coalesce(func.sum(late), 0.0),
                        *columns)
                 .select_from(last).join(Attempt, Attempt.id == last.c.attempt_id)
                 .join(Post, Post.id == Attempt.post_id).group_by(Post.platform))
        with self.db.reading() as s:
            out = {}
            for platform, count, total, *counts in s.execute(query):
                out[platform] = Latency(
                    tuple(zip(LATENCY_BUCKETS, (int(c or 0) for c in counts), strict=True)),
                    int(count), float(total or 0))
            return out

    def account_states(self) -> list[AccountState]:
        with self.db.reading() as s:
            return list(s.scalars(select(AccountState).order_by(AccountState.name)))

    def reachable(self) -> bool:
        """Whether the database answers a query (raises the driver's error if not)."""
        with self.db.reading() as s:
            return s.scalar(select(literal_column("1"))) == 1

    def _seconds(self, later: ColumnElement[datetime], earlier: ColumnElement[datetime]
                 ) -> ColumnElement[float]:
        if self.db.dialect == "postgresql":
            return extract("epoch", later - earlier)
        # SQLite stores times as text; julianday reads them (days, fractional).
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def accounts_held(states: Sequence[AccountState], now: datetime) -> list[AccountState]:
    """The accounts a platform's rate limit or the posting budget holds at `now`."""
    return [a for a in states if a.held_until is not None and a.held_until > now]
