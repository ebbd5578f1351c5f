"""The queue: what is due, claims and leases.

The database is the queue; whoever publishes asks it what is due and claims a post with one
conditional UPDATE, so of several daemons racing for the same post exactly one wins. A claim
is held under a lease; a post found `publishing` with an expired lease belonged to a daemon
that died and is taken over (`reclaim_expired`).

"Due" has one definition, `Due.clause` (db/claims.py), which the daemon's claims, its wake-ups
and `factpost run --dry-run` all use: a post is due when it is queued and its time has come;
the part before it in its thread is published; for a pair, its partner allows it (the leading
post, the lower id, goes only when its partner is due too and the partner's account may
publish; the other once the leader is out); review has cleared it; and, where the account's
last post went out late, its overdue spacing has passed (`Due`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import Row, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from db.accounts import hold_in
from db.claims import (
    _ACCOUNT,
    _EXCLUDE,
    _LAST_PUBLISH,
    _LEASE,
    _PARTNER,
    _PARTNER_STATE,
    _UNCLAIM,
    LAST_OUTCOME,
    OVERDUE_GRACE,
    POSTS,
    START_ATTEMPT,
    Budget,
    Claim,
    Due,
    before_claim,
    budget_reopens,
    candidates,
    claiming,
)
from db.database import CoreTransaction, Database
from db.models import Attempt, AuditEntry, Post
from db.outcomes import UNSURE_OUTCOMES
from db.reservations import CapRules, admit
from db.transitions import PostRef, Transitions, wrote
from posts.states import DAEMON, Action, Actor, PostStatus

__all__ = ["OVERDUE_GRACE", "Budget", "Claim", "Due", "Queue", "held_message"]

S = PostStatus
A = Action

#: Why a claim (or `hold_unreviewed`) sends an approved post back to draft.
OUTDATED = ("its text, image or pair partner changed after it was approved; it needs approval "
            "again")

# Built once, like the claim's statements (db/claims.py).
#: A pair whose partner cannot go (its account paused, itself not queued or out), asked of
#: one post: a set of every blocked post, read with NOT IN, scanned the whole queue on each
#: wake-up (12 ms with 10,000 queued, twice per tick with two accounts).
_BLOCKED = (select(_PARTNER.c.id)
            .outerjoin(_PARTNER_STATE, _PARTNER.c.account == _PARTNER_STATE.c.name)
            .where(_PARTNER.c.id == POSTS.c.pair_id,
                   or_(_PARTNER_STATE.c.paused.is_(True),
                       _PARTNER.c.status.not_in([S.QUEUED, S.PUBLISHING, S.PUBLISHED])))
            .correlate(POSTS).exists())
_REMOTE_ID = select(POSTS.c.remote_id).where(POSTS.c.id == bindparam("b_id"))
#: The soonest first, so the index on (status, scheduled_at) is walked in order and the walk
#: stops at the first that is not blocked, instead of reading every queued post for a min().
_SOONEST = (select(POSTS.c.scheduled_at)
            .where(POSTS.c.account == _ACCOUNT, POSTS.c.status == S.QUEUED, ~_BLOCKED,
                   POSTS.c.id.not_in(_EXCLUDE))
            .order_by(POSTS.c.scheduled_at).limit(1))
_EXPIRING = select(func.min(POSTS.c.lease_until)).where(POSTS.c.account == _ACCOUNT,
                                                        POSTS.c.status == S.PUBLISHING)


def _due(last: Row | None, account: str, now: datetime) -> Due:
    """`Due` for the account whose last publish (scheduled_at, published_at) is `last`."""
    if last is None or last[1] - last[0] <= OVERDUE_GRACE:
        return Due(account, now)
    scheduled, published = last
    # Only posts that were themselves overdue then (by more than the grace) keep spacing.
    return Due(account, now, published - OVERDUE_GRACE, published - scheduled)


class Queue:
    """What is due, and claiming it; each method is one transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.transitions = Transitions(db)

    def due(self, account: str, now: datetime) -> Due:
        """What "due" means for `account` at `now` (its overdue spacing read from its last
        publish)."""
        with self.db.reading() as s:
            return _due(s.connection().execute(_LAST_PUBLISH, {"b_account": account}).first(),
                        account, now)

    def due_posts(self, account: str, now: datetime) -> list[Post]:
        """The account's due posts, soonest first, without claiming any (`run --dry-run`)."""
        due = self.due(account, now)
        with self.db.reading() as s:
            ids = [row.id for row in candidates(self.db.review).rows(s, due.params())]
            posts = [s.get(Post, post_id) for post_id in ids]
            return [p for p in posts if not self.transitions.approval_problem(s, p)
                    and not self.transitions.approval_outdated(s, p)]

    def claim_next(self, account: str, *, worker: str, now: datetime, lease: timedelta,
                   exclude: Collection[int] = (), cap: CapRules | None = None) -> Post | None:
        """Claim this account's next due post for `worker`, starting no attempt; None when
        nothing is due. See `claim`."""
        claimed = self.claim(account, worker=worker, now=now, lease=lease, exclude=exclude,
                             cap=cap, start_attempt=False)
        return claimed.post if claimed else None

    def claim(self, account: str, *, worker: str, now: datetime, lease: timedelta,
              exclude: Collection[int] = (), cap: CapRules | None = None,
              budgets: Sequence[Budget] = (), start_attempt: bool = True,
              settle: Callable[[CoreTransaction], object] | None = None,
              prepay: Callable[[CoreTransaction, Post], object] | None = None
              ) -> Claim | None:
        """Claim this account's next due post for `worker`, in one write transaction, or None.

        The transaction is a Core one (`Database.writing`): it runs once a post, and an ORM
        Session in it is made only for a step that loads rows (review, a monthly cap, a
        budget's hold). In order: `settle(transaction)` (the outcome of the account's previous
        post, which thus commits with this claim, before the next request goes out); nothing
        is claimed while the account is paused or held, or while one of `budgets` is used up
        (the account is then held until it reopens, saying why); posts in `exclude` (ones the
        caller has decided must wait) are passed over. The claim is one conditional UPDATE, so
        of several processes racing for the same post exactly one wins. With `cap`, the first
        post of a unit is claimed only if its unit's cost fits under the monthly caps, and
        that cost is reserved in the same transaction (db/reservations.py); a unit that does
        not fit stays queued, its first post saying why. With `start_attempt`, the attempt the
        request will go out under is recorded too, unless the post's last outcome is unsure
        (`Claim.attempt` is None: read the timeline first, then `Outcomes.start_attempt`);
        and then `prepay(transaction, post)`, whose result is `Claim.prepaid` (the pending
        charge of the request about to go out: scheduler/spend.py)."""
        daemon = Actor(worker, DAEMON)
        with self.db.writing() as s:
            if settle is not None:
                settle(s)
            conn = s.connection
            paused, held_until, *rest = before_claim(conn, account, budgets, now)
            last, bounds = rest[:2], rest[2:]
            if paused or (held_until is not None and held_until > now):
                return None
            for budget, bound in zip(budgets, bounds, strict=True):
                reopens = budget_reopens(conn, budget, now, bound)
                if reopens is not None:
                    hold_in(s.orm, account, until=reopens + budget.window, reason=budget.reason)
                    return None
            due = _due(None if last[1] is None else last, account, now)
            exclude = sorted(exclude)
            query = claiming(self.db.review, len(exclude), self.db.dialect)
            for row in query.rows(conn, due.params(exclude)):
                claimed = self._claim_row(s, row, daemon, now, lease, cap, start_attempt)
                if claimed is not None and prepay is not None and claimed.attempt is not None:
                    return replace(claimed, prepaid=prepay(s, claimed.post))
                if claimed is not None:
                    return claimed
            return None

    def _claim_row(self, s: CoreTransaction, row: tuple, daemon: Actor, now: datetime,
                   lease: timedelta, cap: CapRules | None, start_attempt: bool
                   ) -> Claim | None:
        conn, worker = s.connection, daemon.name
        if self.db.review.require_approval and not self._cleared(s.orm, row.id, daemon, now):
            return None
        fields = {"claimed_by": worker, "lease_until": now + lease}
        if cap is not None:
            if conn.execute(_LEASE, {"b_id": row.id, "b_worker": worker,
                                     "b_until": now + lease, "b_now": now}).rowcount != 1:
                return None
            post = s.orm.get(Post, row.id, populate_existing=True)
            refusal = admit(s.orm, post, cap, now, self.db.dialect)
            if refusal is not None:
                # Not claimed after all (no status was set): it waits, saying why.
                conn.execute(_UNCLAIM, {"b_id": row.id, "b_why": cap.explain(post, refusal)})
                return None
        counting = start_attempt and (row.attempt_count == 0 or LAST_OUTCOME.scalar(
            conn, {"b_post": row.id}) not in UNSURE_OUTCOMES)
        # The conditional UPDATE is the arbiter between racing daemons; the state change
        # itself goes through the transition function like every other.
        ref = PostRef(row.id, row.account, row.status, row.approved_by, row.created_by)
        if not self.transitions.move(s, ref, A.CLAIM, daemon, now, S.PUBLISHING,
                                     values=fields, count_attempt=counting):
            return None
        attempt = (START_ATTEMPT.scalar(conn, {"b_post": row.id, "b_worker": worker,
                                               "b_now": now}) if counting else None)
        values = row._asdict()
        del values["reply_to"]
        values.update(fields, status=S.PUBLISHING, updated_at=now)
        reply_to = row.reply_to
        if row.parent_id is None and row.corrects_id is not None and row.reply_to_corrected:
            # A correction that answers the post it corrects (db/history.py parent_remote_id).
            reply_to = conn.scalar(_REMOTE_ID, {"b_id": row.corrects_id})
        return Claim(Post(**values), attempt, reply_to)

    def _cleared(self, s: Session, post_id: int, daemon: Actor, now: datetime) -> bool:
        """Under review: whether what would go out is what was cleared. A post changed since
        its approval goes back to draft (defence in depth, whatever changed it)."""
        candidate = s.get(Post, post_id)
        if self.transitions.approval_outdated(s, candidate):
            candidate.approved_by = candidate.approved_at = None
            candidate.approved_content = None
            self.transitions.move(s, candidate, A.AWAIT_REVIEW, daemon, now, S.DRAFT, OUTDATED)
            s.flush()
            return False
        # Never sent without an approval; staff see it in the queue without one.
        return self.transitions.approval_problem(s, candidate) is None

    def reclaim_expired(self, account: str, *, worker: str, now: datetime, lease: timedelta
                        ) -> Post | None:
        """Take over one post whose holder's lease ran out (that daemon died mid-publish).

        Its unfinished attempt is closed as `abandoned`, so the dispatcher knows to look at the
        account's timeline before sending anything.
        """
        with self.db.session() as s:
            candidates = s.scalars(
                select(Post.id).where(Post.account == account, Post.status == S.PUBLISHING,
                                      Post.lease_until < now).order_by(Post.id).limit(5)).all()
            for post_id in candidates:
                won = s.execute(
                    update(Post).where(Post.id == post_id, Post.status == S.PUBLISHING,
                                       Post.lease_until < now)
                    .values(claimed_by=worker, lease_until=now + lease, updated_at=now)
                    .execution_options(synchronize_session=False)).rowcount
                if won != 1:
                    continue
                s.execute(update(Attempt).where(Attempt.post_id == post_id,
                                                Attempt.outcome.is_(None))
                          .values(outcome="abandoned", finished_at=now,
                                  explanation="the daemon stopped while this request was in "
                                              "flight")
                          .execution_options(synchronize_session=False))
                post = s.get(Post, post_id, populate_existing=True)
                self.transitions.move(s, post, A.RECLAIM, Actor(worker, DAEMON), now,
                                      S.PUBLISHING, "lease expired; previous holder presumed "
                                                    "dead")
                return post
            return None

    def release_claims(self, worker: str, *, now: datetime) -> int:
        """Hand back posts a stopping worker claimed but never started sending."""
        with self.db.session() as s:
            posts = s.scalars(select(Post).where(Post.status == S.PUBLISHING,
                                                 Post.claimed_by == worker)).all()
            released = 0
            for post in posts:
                in_flight = s.scalar(select(func.count()).select_from(Attempt).where(
                    Attempt.post_id == post.id, Attempt.outcome.is_(None)))
                if in_flight:
                    continue
                post.claimed_by = post.lease_until = None
                self.transitions.move(s, post, A.RELEASE, Actor(worker, DAEMON), now,
                                      S.QUEUED, "daemon stopping")
                released += 1
            return released

    def next_due_at(self, account: str, *, now: datetime, exclude: Collection[int] = ()
                    ) -> datetime | None:
        """When the account's soonest queued post (or expiring lease) needs the daemon, its
        overdue spacing counted; posts in `exclude` (ones the daemon has decided must wait)
        are left out, and so is a pair whose partner cannot go (its account paused, itself
        not queued)."""
        with self.db.reading() as s:
            conn = s.connection()
            soonest = conn.scalar(_SOONEST, {"b_account": account, "b_exclude": list(exclude)})
            expiring = conn.scalar(_EXPIRING, {"b_account": account})
        if soonest is not None:
            soonest = self.due(account, now).at(soonest)
        times = [t for t in (soonest, expiring) if t is not None]
        return min(times) if times else None

    def hold_unreviewed(self, *, actor: Actor, now: datetime) -> list[int]:
        """Send back to draft every queued post that review does not clear: posts queued
        while `require_approval` was off (or approved by their own writer before the
        two-person rule), which the claim would otherwise pass over forever without a word,
        and posts whose content changed after their approval.
        Each move goes through the transition function with its audit row. Returns their ids;
        none when review is off."""
        review = self.db.review
        if not review.require_approval:
            return []
        query = select(Post).where(Post.status == S.QUEUED).order_by(Post.id)
        held = []
        with self.db.session() as s:
            for post in s.scalars(query).all():
                problem = self.transitions.approval_problem(s, post)
                outdated = problem is None and self.transitions.approval_outdated(s, post)
                if problem is None and not outdated:
                    continue
                if outdated:
                    reason = OUTDATED
                elif post.approved_by is None:
                    reason = ("queued while review was off; review is on now, so it waits for "
                              "an approval")
                elif review.two_person_rule and wrote(s, post, post.approved_by):
                    reason = (f"approved by {post.approved_by}, who wrote or edited it, before "
                              "the two-person rule was on; another approver must approve it")
                else:  # a step of clearance named since it was queued
                    reason = problem
                post.approved_by = post.approved_at = post.approved_content = None
                self.transitions.move(s, post, A.AWAIT_REVIEW, actor, now, S.DRAFT, reason)
                held.append(post.id)
        return held

    def held_for_review(self) -> list[int]:
        """Drafts that were queued before review was turned on (`hold_unreviewed` moved
        them), oldest first."""
        with self.db.reading() as s:
            # From the drafts (few, by the status index) to their audit rows (by post).
            held = (select(AuditEntry.id).where(AuditEntry.post_id == Post.id,
                                                AuditEntry.action == A.AWAIT_REVIEW,
                                                AuditEntry.reason != OUTDATED)
                    .correlate(Post).exists())
            return list(s.scalars(select(Post.id).where(Post.status == S.DRAFT, held)
                                  .order_by(Post.id)))

    def pending_count(self, accounts: Sequence[str] | None = None) -> int:
        """Posts the daemon still has to deal with (queued or publishing)."""
        with self.db.reading() as s:
            query = select(func.count()).select_from(Post).where(
                Post.status.in_([S.QUEUED, S.PUBLISHING]))
            if accounts is not None:
                query = query.where(Post.account.in_(accounts))
            return s.scalar(query)

    def budget_reopens_at(self, account: str | Sequence[str], *, since: datetime, posts: int
                          ) -> datetime | None:
        """None while this account (or these accounts together) published fewer than `posts`
        posts since `since`; otherwise the publish time of the `posts`-th most recent one (the
        budget reopens when it leaves the window). Reads at most `posts` rows, whatever the
        history holds."""
        accounts = (account,) if isinstance(account, str) else tuple(account)
        with self.db.reading() as s:
            return budget_reopens(s.connection(), Budget(accounts, posts, timedelta(0), ""),
                                  since)


def held_message(count: int) -> str:
    """What staff are told about posts that were queued before review was turned on."""
    return (f"{count} post(s) queued before review was turned on now wait for approval "
            "(the Approvals page, or factpost post approve ID)")
