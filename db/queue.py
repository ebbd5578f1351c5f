"""The queue: what is due, claims and leases.

The database is the queue; whoever publishes asks it what is due and claims a post with one
conditional UPDATE, so of several daemons racing for the same post exactly one wins. A claim
is held under a lease; a post found `publishing` with an expired lease belonged to a daemon
that died and is taken over (`reclaim_expired`).

"Due" has one definition, `Due.clause`, which the daemon's claims, its wake-ups and
`factpost run --dry-run` all use: a post is due when it is queued and its time has come; the
part before it in its thread is published; for a pair, its partner allows it (the leading post,
the lower id, goes only when its partner is due too and the partner's account may publish; the
other once the leader is out); review has cleared it; and, where the account's last post went
out late, its overdue spacing has passed (`Due`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, true, update
from sqlalchemy.orm import aliased

from db.database import Database
from db.models import AccountState, Attempt, AuditEntry, Post
from db.reservations import CapRules, admit
from db.transitions import Transitions, wrote
from posts.states import DAEMON, Action, Actor, PostStatus, Review

S = PostStatus
A = Action

#: Why a claim (or `hold_unreviewed`) sends an approved post back to draft.
OUTDATED = ("its text, image or pair partner changed after it was approved; it needs approval "
            "again")

# Built once: a fresh alias per call defeats SQLAlchemy's statement cache, and rebuilding the
# claim query's joins was most of a claim's cost (benchmarks/run.py).
_PARENT = aliased(Post, name="parent")
_PARTNER = aliased(Post, name="partner")
_PARTNER_PARENT = aliased(Post, name="partner_parent")
_PARTNER_STATE = aliased(AccountState, name="partner_state")

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

    def clause(self, review: Review) -> ColumnElement[bool]:
        """The condition on `Post` (joined as `Queue.candidates` joins it) that selects this
        account's due posts."""
        parent, partner, partner_parent = _PARENT, _PARTNER, _PARTNER_PARENT
        partner_state, now = _PARTNER_STATE, self.now
        # Both or neither: the leading post of a pair (lower id) goes only when its partner
        # is due too and the partner's account may publish; the other once the leader is out.
        partner_ready = and_(
            partner.status == S.QUEUED, partner.scheduled_at <= now,
            or_(partner.parent_id.is_(None), partner_parent.status == S.PUBLISHED),
            or_(partner_state.name.is_(None),
                and_(partner_state.paused.is_(False),
                     or_(partner_state.held_until.is_(None), partner_state.held_until <= now))))
        approved = and_(Post.approved_by.is_not(None),
                        Post.approved_by != Post.created_by if review.two_person_rule
                        else true())
        spaced = (or_(Post.scheduled_at > self.overdue_until,
                      Post.scheduled_at <= now - self.lateness)
                  if self.overdue_until is not None else true())
        return and_(
            Post.account == self.account, Post.status == S.QUEUED, Post.scheduled_at <= now,
            # Defence in depth: whatever its status says, a post that review requires an
            # approval for is not sent without one.
            approved if review.require_approval else true(),
            spaced,
            or_(Post.parent_id.is_(None), parent.status == S.PUBLISHED),
            or_(Post.pair_id.is_(None),
                and_(Post.id > Post.pair_id, partner.status == S.PUBLISHED),
                and_(Post.id < Post.pair_id, partner_ready)))


class Queue:
    """What is due, and claiming it; each method is one transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.transitions = Transitions(db)

    def due(self, account: str, now: datetime) -> Due:
        """What "due" means for `account` at `now` (its overdue spacing read from its last
        publish)."""
        with self.db.reading() as s:
            last = s.execute(select(Post.scheduled_at, Post.published_at).where(
                Post.account == account, Post.status == S.PUBLISHED,
                Post.published_at.is_not(None)).order_by(Post.published_at.desc())
                .limit(1)).first()
        if last is None or last[1] - last[0] <= OVERDUE_GRACE:
            return Due(account, now)
        scheduled, published = last
        # Only posts that were themselves overdue then (by more than the grace) keep spacing.
        return Due(account, now, published - OVERDUE_GRACE, published - scheduled)

    def candidates(self, due: Due, exclude: Collection[int] = ()) -> Select:
        """The ids of the account's due posts, soonest first; posts in `exclude` (ones the
        caller has decided must wait) left out."""
        query = (select(Post.id).outerjoin(_PARENT, Post.parent_id == _PARENT.id)
                 .outerjoin(_PARTNER, Post.pair_id == _PARTNER.id)
                 .outerjoin(_PARTNER_PARENT, _PARTNER.parent_id == _PARTNER_PARENT.id)
                 .outerjoin(_PARTNER_STATE, _PARTNER.account == _PARTNER_STATE.name)
                 .where(due.clause(self.db.review))
                 .order_by(Post.scheduled_at, Post.id))
        if exclude:
            query = query.where(Post.id.not_in(list(exclude)))
        return query

    def due_posts(self, account: str, now: datetime) -> list[Post]:
        """The account's due posts, soonest first, without claiming any (`run --dry-run`)."""
        due = self.due(account, now)
        with self.db.reading() as s:
            posts = [s.get(Post, post_id) for post_id in s.scalars(self.candidates(due))]
            return [p for p in posts if not self.transitions.approval_problem(s, p)
                    and not self.transitions.approval_outdated(s, p)]

    def claim_next(self, account: str, *, worker: str, now: datetime, lease: timedelta,
                   exclude: Collection[int] = (), cap: CapRules | None = None) -> Post | None:
        """Claim this account's next due post for `worker`, or None; posts in `exclude` (ones
        the caller has decided must wait) are passed over. The claim is one conditional
        UPDATE, so of several processes racing for the same post exactly one wins. With
        `cap`, the first post of a unit is claimed only if its unit's cost fits under the
        monthly caps, and that cost is reserved in the same transaction
        (db/reservations.py); a unit that does not fit stays queued, its first post saying
        why."""
        query = self.candidates(self.due(account, now), exclude)
        if self.db.dialect == "postgresql":
            # Daemons sharing the database skip rows another is claiming instead of queueing
            # behind its lock; the conditional UPDATE below stays the arbiter.
            query = query.limit(1).with_for_update(of=Post, skip_locked=True)
        else:
            query = query.limit(5)
        daemon = Actor(worker, DAEMON)
        with self.db.session() as s:
            for post_id in s.scalars(query).all():
                candidate = s.get(Post, post_id)
                if self.transitions.approval_outdated(s, candidate):
                    # Defence in depth: whatever changed it, what goes out is what was cleared.
                    candidate.approved_by = candidate.approved_at = None
                    candidate.approved_content = None
                    self.transitions.move(s, candidate, A.AWAIT_REVIEW, daemon, now, S.DRAFT,
                                          OUTDATED)
                    continue
                if self.db.review.require_approval and self.transitions.approval_problem(
                        s, candidate):
                    continue  # never sent; staff see it in the queue without an approval
                # The conditional UPDATE is the arbiter between racing daemons; the state
                # change itself goes through the transition function like every other.
                won = s.execute(
                    update(Post).where(Post.id == post_id, Post.status == S.QUEUED)
                    .values(claimed_by=worker, lease_until=now + lease, updated_at=now)
                    .execution_options(synchronize_session=False)).rowcount
                if won != 1:
                    continue
                post = s.get(Post, post_id, populate_existing=True)
                refusal = admit(s, post, cap, now, self.db.dialect) if cap else None
                if refusal is not None:
                    # Not claimed after all (the UPDATE set no status): it waits, saying why.
                    post.claimed_by = post.lease_until = None
                    post.last_error = cap.explain(post, refusal)
                    continue
                self.transitions.move(s, post, A.CLAIM, daemon, now, S.PUBLISHING)
                return post
            return None

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
        partner, partner_state = _PARTNER, _PARTNER_STATE
        blocked = (select(Post.id).join(partner, Post.pair_id == partner.id)
                   .outerjoin(partner_state, partner.account == partner_state.name)
                   .where(Post.status == S.QUEUED,
                          or_(partner_state.paused.is_(True),
                              partner.status.not_in([S.QUEUED, S.PUBLISHING, S.PUBLISHED]))))
        due = select(func.min(Post.scheduled_at)).where(
            Post.account == account, Post.status == S.QUEUED, Post.id.not_in(blocked))
        if exclude:
            due = due.where(Post.id.not_in(list(exclude)))
        lease = select(func.min(Post.lease_until)).where(Post.account == account,
                                                         Post.status == S.PUBLISHING)
        with self.db.reading() as s:
            soonest, expiring = s.scalar(due), s.scalar(lease)
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
        accounts = [account] if isinstance(account, str) else list(account)
        with self.db.reading() as s:
            return s.scalar(select(Post.published_at).where(
                Post.account.in_(accounts), Post.status == S.PUBLISHED,
                Post.published_at >= since).order_by(Post.published_at.desc())
                .offset(posts - 1).limit(1))


def held_message(count: int) -> str:
    """What staff are told about posts that were queued before review was turned on."""
    return (f"{count} post(s) queued before review was turned on now wait for approval "
            "(the Approvals page, or factpost post approve ID)")
