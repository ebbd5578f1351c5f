"""The daemon's hot path in the database: the statements a claim runs, built once, and "due".

A claim is one write transaction: the outcome of the account's previous post (when the caller
has one to record), the account's pause, hold and posting budgets, its due posts, the claim of
the first (the conditional UPDATE that is the arbiter between daemons, through the transition
function), the monthly cap's reservation (db/reservations.py) and the attempt row the request
will be recorded under. Committed before the request goes out, so the outcome of one post is
durable before the next request is sent (db/queue.py `Queue.claim`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    bindparam,
    func,
    or_,
    select,
    true,
    update,
)

from db.models import AccountState, Attempt, Post, PublishCount, UTCDateTime
from db.prepared import Prepared
from posts.states import PostStatus, Review

S = PostStatus

# The queries of the daemon's hot path are SQLAlchemy Core over table aliases, built once at
# import with bound parameters (b_...) for what changes per call. Besides the cost (building
# and caching the ORM claim query was most of a claim's), this is what keeps a claim correct:
# ORM aliases (`aliased(Post)`) make each attribute's column the first time it is used, and
# when account threads did that at the same moment, SQLAlchemy could fail to find the column
# in the alias ("SAWarning: Did not locate an expression in selectable for attribute
# 'status'") and keep the plain table's column for good. A partner-state column taken from the
# unaliased table added `account_state` to the FROM list, so while that table was empty every
# claim of the process found nothing: the daemon of ../shared/cases/13-stalled-daemon kept
# polling for 9 minutes with 250 posts due. Core aliases have no such lazy step once their
# columns are read, which `_touch` does here, in one thread.
POSTS = Post.__table__
STATES = AccountState.__table__
_PARENT = POSTS.alias("parent")
_PARTNER = POSTS.alias("partner")
_PARTNER_PARENT = POSTS.alias("partner_parent")
_PARTNER_STATE = STATES.alias("partner_state")
for _alias in (_PARENT, _PARTNER, _PARTNER_PARENT, _PARTNER_STATE):
    _alias.c  # noqa: B018 (see above: the column collection is made here, in one thread)

_ACCOUNT = bindparam("b_account")
_NOW = bindparam("b_now", type_=UTCDateTime)
_CUT = bindparam("b_cut", type_=UTCDateTime)
_SPACED = bindparam("b_spaced", type_=UTCDateTime)
_EXCLUDE = bindparam("b_exclude", expanding=True)

#: A post published less late than this went out on time: a daemon's polling and the requests
#: before it take seconds, and holding the next post for those would only slow the queue.
OVERDUE_GRACE = timedelta(seconds=60)


@dataclass(frozen=True)
class Due:
    """What "due" means for one account at `now`.

    Overdue posts keep their spacing: when the account's last post went out more than
    `OVERDUE_GRACE` late (the daemon was stopped, the account paused, posts queued in the past
    with --allow-past), the posts that were already overdue then (scheduled no later than
    `overdue_until`) are due only as long after that publish as they were planned after the
    post it published, i.e. once `scheduled_at + lateness <= now`. A post that was not yet
    due when the last one went out keeps its own time.
    """

    account: str
    now: datetime
    overdue_until: datetime | None = None
    lateness: timedelta = timedelta(0)

    def at(self, scheduled_at: datetime) -> datetime:
        """When a queued post scheduled at `scheduled_at` comes due (its thread and pair
        aside)."""
        if self.overdue_until is not None and scheduled_at <= self.overdue_until:
            return scheduled_at + self.lateness
        return scheduled_at

    @staticmethod
    def clause(review: Review) -> ColumnElement[bool]:
        """The condition on `posts` (joined as `candidates` joins it) that selects an account's
        due posts, its values bound by `params`."""
        parent, partner, partner_parent = _PARENT.c, _PARTNER.c, _PARTNER_PARENT.c
        partner_state, post = _PARTNER_STATE.c, POSTS.c
        # Both or neither: the leading post of a pair (lower id) goes only when its partner
        # is due too and the partner's account may publish; the other once the leader is out.
        partner_ready = and_(
            partner.status == S.QUEUED, partner.scheduled_at <= _NOW,
            or_(partner.parent_id.is_(None), partner_parent.status == S.PUBLISHED),
            or_(partner_state.name.is_(None),
                and_(partner_state.paused.is_(False),
                     or_(partner_state.held_until.is_(None), partner_state.held_until <= _NOW))))
        approved = and_(post.approved_by.is_not(None),
                        post.approved_by != post.created_by if review.two_person_rule
                        else true())
        return and_(
            post.account == _ACCOUNT, post.status == S.QUEUED, post.scheduled_at <= _NOW,
            # Defence in depth: whatever its status says, a post that review requires an
            # approval for is not sent without one.
            approved if review.require_approval else true(),
            # Overdue spacing (without it, both bounds are `now` and this always holds).
            or_(post.scheduled_at > _CUT, post.scheduled_at <= _SPACED),
            or_(post.parent_id.is_(None), parent.status == S.PUBLISHED),
            or_(post.pair_id.is_(None),
                and_(post.id > post.pair_id, partner.status == S.PUBLISHED),
                and_(post.id < post.pair_id, partner_ready)))

    def params(self, exclude: Sequence[int] = ()) -> dict:
        """The bound values of `clause` (and of `candidates(review, len(exclude))`, with the
        posts it leaves out)."""
        spaced = self.overdue_until is not None
        params = {"b_account": self.account, "b_now": self.now,
                  "b_cut": self.overdue_until if spaced else self.now,
                  "b_spaced": self.now - self.lateness if spaced else self.now}
        params.update((f"b_exclude_{n}", post_id) for n, post_id in enumerate(exclude))
        # The places up to `excluded_slots` repeat the last post: NOT IN does not mind.
        params.update((f"b_exclude_{n}", exclude[-1])
                      for n in range(len(exclude), excluded_slots(len(exclude))))
        return params


def excluded_slots(excluded: int) -> int:
    """The places for `excluded` posts in the statements that leave them out: the next power
    of two, so the counts of posts waiting for a monthly cap, which grow claim by claim, make
    one statement per doubling and not one per count (each is compiled inside the claim's
    write transaction and kept, and PostgreSQL's driver prepares only statements that
    recur)."""
    return 0 if excluded == 0 else 1 << (excluded - 1).bit_length()


def _candidates(review: Review, excluded: int) -> Select:
    """An account's due posts under `review`, soonest first, but for `excluded` posts (bound
    as b_exclude_0, b_exclude_1, ...: `Due.params`)."""
    query = (select(*POSTS.c, _PARENT.c.remote_id.label("reply_to"))
             .outerjoin(_PARENT, POSTS.c.parent_id == _PARENT.c.id)
             .outerjoin(_PARTNER, POSTS.c.pair_id == _PARTNER.c.id)
             .outerjoin(_PARTNER_PARENT, _PARTNER.c.parent_id == _PARTNER_PARENT.c.id)
             .outerjoin(_PARTNER_STATE, _PARTNER.c.account == _PARTNER_STATE.c.name)
             .where(Due.clause(review))
             .order_by(POSTS.c.scheduled_at, POSTS.c.id))
    if excluded:
        query = query.where(POSTS.c.id.not_in(
            [bindparam(f"b_exclude_{n}") for n in range(excluded)]))
    return query


#: The candidates and the claim's reading of them, by (require_approval, two_person_rule,
#: `excluded_slots`) and, for the claim, dialect; each built once, when first asked for.
_CANDIDATES: dict[tuple[bool, bool, int], Prepared] = {}
_CLAIMING: dict[tuple[bool, bool, int, str], Prepared] = {}


def candidates(review: Review, excluded: int = 0) -> Prepared:
    """An account's due posts under `review` (every column of `posts`, and `reply_to`: the
    remote id of the thread part before it), soonest first, leaving out `excluded` posts;
    bind `Due.params`."""
    slots = excluded_slots(excluded)
    key = (review.require_approval, review.two_person_rule, slots)
    found = _CANDIDATES.get(key)
    if found is None:
        found = _CANDIDATES[key] = Prepared(_candidates(review, slots))
    return found


def claiming(review: Review, excluded: int, dialect: str) -> Prepared:
    """What a claim reads of `candidates`: on PostgreSQL, daemons sharing the database skip
    rows another is claiming instead of queueing behind its lock (the conditional UPDATE stays
    the arbiter); on SQLite the claim holds the one write lock already."""
    slots = excluded_slots(excluded)
    key = (review.require_approval, review.two_person_rule, slots, dialect)
    found = _CLAIMING.get(key)
    if found is None:
        query = _candidates(review, slots)
        found = _CLAIMING[key] = Prepared(
            query.limit(1).with_for_update(of=POSTS, skip_locked=True)
            if dialect == "postgresql" else query.limit(5))
    return found
#: What the claim reads before its candidates: the account's pause and hold, and its last
#: publish (for the overdue spacing).
_STATE = select(STATES.c.paused, STATES.c.held_until).where(STATES.c.name == _ACCOUNT)
_LAST_PUBLISH = (select(POSTS.c.scheduled_at, POSTS.c.published_at)
                 .where(POSTS.c.account == _ACCOUNT, POSTS.c.status == S.PUBLISHED,
                        POSTS.c.published_at.is_not(None))
                 .order_by(POSTS.c.published_at.desc()).limit(1))
LAST_OUTCOME = Prepared(select(Attempt.__table__.c.outcome)
                        .where(Attempt.__table__.c.post_id == bindparam("b_post"))
                        .order_by(Attempt.__table__.c.id.desc()).limit(1))
START_ATTEMPT = Prepared(Attempt.__table__.insert().values(post_id=bindparam("b_post"),
                                                           worker=bindparam("b_worker"),
                                                           started_at=_NOW)
                         .returning(Attempt.__table__.c.id))
_COUNTS = PublishCount.__table__
#: At least as many publishes as the window holds: whole hours, from the one it starts in.
_BUDGET_BOUND = (select(func.coalesce(func.sum(_COUNTS.c.posts), 0))
                 .where(_COUNTS.c.account.in_(bindparam("b_accounts", expanding=True)),
                        _COUNTS.c.hour >= bindparam("b_hour", type_=UTCDateTime)))
_BUDGET_SCAN = (select(POSTS.c.published_at)
           .where(POSTS.c.account.in_(bindparam("b_accounts", expanding=True)),
                  POSTS.c.status == S.PUBLISHED, POSTS.c.published_at >= bindparam(
                      "b_since", type_=UTCDateTime))
           .order_by(POSTS.c.published_at.desc()).offset(bindparam("b_skip")).limit(1))


def _before_claim(budgets: tuple[int, ...]) -> Select:
    """What a claim reads before its candidates, in one statement: the account's pause and
    hold, its last publish (scheduled_at, published_at; for the overdue spacing) and, for
    each budget (the number of accounts it counts), its bound (as `_BUDGET_BOUND` reads it,
    bound as b_accounts_N_0, b_accounts_N_1, ... and b_hour_N). Scalar subqueries, so the row
    is there even for an account with no state."""
    last = _LAST_PUBLISH.subquery()
    columns = [_STATE.with_only_columns(STATES.c.paused).scalar_subquery(),
               _STATE.with_only_columns(STATES.c.held_until).scalar_subquery(),
               select(last.c.scheduled_at).scalar_subquery(),
               select(last.c.published_at).scalar_subquery()]
    for n, accounts in enumerate(budgets):
        columns.append(
            select(func.coalesce(func.sum(_COUNTS.c.posts), 0))
            .where(_COUNTS.c.account.in_([bindparam(f"b_accounts_{n}_{i}")
                                          for i in range(accounts)]),
                   _COUNTS.c.hour >= bindparam(f"b_hour_{n}", type_=UTCDateTime))
            .scalar_subquery())
    return select(*columns)


#: `_before_claim` by the budgets' sizes, each built once, when first asked for.
_BEFORE_CLAIM: dict[tuple[int, ...], Prepared] = {}


def before_claim(conn: Connection, account: str, budgets: Sequence[Budget], now: datetime
                 ) -> tuple:
    """The row of `_before_claim` for `account` and its `budgets` at `now`: paused,
    held_until, the last publish's scheduled_at and published_at, then each budget's bound
    (`budget_reopens` takes it)."""
    sizes = tuple(len(budget.accounts) for budget in budgets)
    query = _BEFORE_CLAIM.get(sizes)
    if query is None:
        query = _BEFORE_CLAIM[sizes] = Prepared(_before_claim(sizes))
    params = {"b_account": account}
    for n, budget in enumerate(budgets):
        params.update((f"b_accounts_{n}_{i}", name) for i, name in enumerate(budget.accounts))
        params[f"b_hour_{n}"] = _window_hour(now - budget.window)
    return query.first(conn, params)


#: A claim's lease, set before a monthly cap is weighed (db/reservations.py); taken back by
#: `_UNCLAIM` when the unit must wait.
_LEASE = (update(POSTS).where(POSTS.c.id == bindparam("b_id"), POSTS.c.status == S.QUEUED)
          .values(claimed_by=bindparam("b_worker"), lease_until=bindparam("b_until"),
                  updated_at=_NOW))
_UNCLAIM = (update(POSTS).where(POSTS.c.id == bindparam("b_id"))
            .values(claimed_by=None, lease_until=None, last_error=bindparam("b_why")))


@dataclass(frozen=True)
class Budget:
    """At most `posts` publishes by `accounts` together in any `window`; `reason` is what the
    account's hold says once it is used up."""

    accounts: tuple[str, ...]
    posts: int
    window: timedelta
    reason: str


@dataclass(frozen=True)
class Claim:
    """A claimed post (`post`, detached, as the claim left it but for `attempt_count`, which
    counts the attempts before this one), the attempt the claim started (None when the last
    outcome is unsure: the caller reads the timeline first, then starts one), the remote
    id of the part it replies to, and what the caller's `prepay` wrote with the claim."""

    post: Post
    attempt: int | None = None
    reply_to: str | None = None
    prepaid: object = None


def _window_hour(since: datetime) -> datetime:
    """The start of the hour `since` falls in: hourly counts from there on hold at least
    every publish since `since`."""
    return since.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def budget_reopens(conn: Connection, budget: Budget, now: datetime, bound: int | None = None
                   ) -> datetime | None:
    """None while `budget.accounts` published fewer than `budget.posts` posts in the window
    before `now` (`now` is the window's start when `budget.window` is zero); otherwise the
    publish time of the `posts`-th most recent one (the budget reopens when it leaves the
    window). Reads the hourly counts (a row per hour of the window; `bound`, when the caller
    read them already: `before_claim`) and, only when they come within the budget, the posts
    themselves."""
    since = now - budget.window
    accounts = list(budget.accounts)
    if bound is None:
        bound = conn.scalar(_BUDGET_BOUND, {"b_accounts": accounts,
                                            "b_hour": _window_hour(since)})
    if bound < budget.posts:
        return None
    return conn.scalar(_BUDGET_SCAN, {"b_accounts": accounts, "b_since": since,
                                      "b_skip": budget.posts - 1})
