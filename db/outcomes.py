"""What became of a claimed post: its attempts (each recorded before its request goes out) and
the outcome each leads to, published, back in the queue, or failed, recorded in the same
transaction as the attempt's end so a daemon killed between the two leaves no outcome without
its consequence. Later thread parts and a pair partner fail with the post they depend on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from db.database import CoreTransaction, Database, load_post
from db.errors import StoreError
from db.models import Attempt, AuditEntry, Post
from db.prepared import Prepared
from db.transitions import PostRef, Transitions
from posts.states import DAEMON, Action, Actor, PostStatus, check_move

S = PostStatus
A = Action

#: Attempt outcomes after which nobody knows whether the platform holds the post.
UNSURE_OUTCOMES = frozenset({"ambiguous", "abandoned", "duplicate"})

_ATTEMPTS = Attempt.__table__
# Built once: the daemon closes one attempt per post.
_CLOSE = Prepared(update(_ATTEMPTS).where(_ATTEMPTS.c.id == bindparam("b_id"))
                  .values(outcome=bindparam("b_outcome"), finished_at=bindparam("b_now"),
                          error_code=bindparam("b_code"), error_message=bindparam("b_message"),
                          explanation=bindparam("b_explanation"),
                          remote_id=bindparam("b_remote")))


@dataclass(frozen=True)
class AttemptResult:
    """How an attempt ended, recorded in the same transaction as the post's new state: a
    daemon killed between the two would otherwise leave an outcome without its consequence."""

    attempt_id: int
    outcome: str
    error_code: str | None = None
    error_message: str | None = None
    explanation: str | None = None
    remote_id: str | None = None


class Outcomes:
    """The daemon's record of attempts and their consequences; each method is one
    transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.transitions = Transitions(db)

    def start_attempt(self, post_id: int, *, worker: str, now: datetime) -> int:
        """Record that a request is about to be sent; committed before the request goes out."""
        with self.db.session() as s:
            post = load_post(s, post_id)
            if post.status != S.PUBLISHING or post.claimed_by != worker:
                raise StoreError(f"post {post_id} is no longer claimed by {worker}")
            post.attempt_count += 1
            attempt = Attempt(post_id=post_id, worker=worker, started_at=now)
            s.add(attempt)
            s.flush()
            return attempt.id

    def finish_attempt(self, result: AttemptResult, *, now: datetime) -> None:
        """Close an attempt whose consequence is decided later (an unsure outcome)."""
        with self.db.session() as s:
            close_attempt(s, result, now)

    def published(self, post_id: int, *, worker: str, remote_id: str, remote_url: str,
                  now: datetime, reason: str = "published",
                  attempt: AttemptResult | None = None) -> Post:
        """The claimed post is on the platform under `remote_id`: published, with its attempt
        closed in the same transaction."""
        with self.db.session() as s:
            close_attempt(s, attempt, now)
            post = load_post(s, post_id)
            post.remote_id, post.remote_url, post.published_at = remote_id, remote_url, now
            post.claimed_by = post.lease_until = None
            post.last_error = None
            self.transitions.move(s, post, A.PUBLISH, Actor(worker, DAEMON), now, S.PUBLISHED,
                                  reason)
            return post

    def publishing(self, post: Post, *, worker: str, remote_id: str, remote_url: str,
                   now: datetime, attempt: AttemptResult
                   ) -> Callable[[CoreTransaction], None]:
        """What `published` records, as a step for another transaction to take first: the
        daemon hands it to the account's next claim (`Queue.claim(settle=...)`), so the
        outcome and that claim commit together, before the next request goes out. `commit`
        takes it alone. Raises `IllegalTransition` when taken if the post is no longer
        publishing."""
        daemon = Actor(worker, DAEMON)

        def record(s: CoreTransaction) -> None:
            _CLOSE.rowcount(s, {
                "b_id": attempt.attempt_id, "b_outcome": attempt.outcome, "b_now": now,
                "b_code": attempt.error_code, "b_message": attempt.error_message,
                "b_explanation": attempt.explanation, "b_remote": attempt.remote_id})
            ref = PostRef(post.id, post.account, S.PUBLISHING)
            if not self.transitions.move(
                    s, ref, A.PUBLISH, daemon, now, S.PUBLISHED, "published", values={
                        "remote_id": remote_id, "remote_url": remote_url, "published_at": now,
                        "claimed_by": None, "lease_until": None, "last_error": None}):
                check_move(post.id, A.PUBLISH, daemon, load_post(s.orm, post.id).status,
                           S.PUBLISHED)

        return record

    def commit(self, step: Callable[[CoreTransaction], None]) -> None:
        """Take a step (`publishing`) in a transaction of its own."""
        with self.db.writing() as s:
            step(s)

    def requeue(self, post_id: int, *, worker: str, at: datetime, reason: str, now: datetime,
                attempt: AttemptResult | None = None) -> Post:
        """Put a claimed post back in the queue, due at `at` (a retry or a platform hold)."""
        with self.db.session() as s:
            close_attempt(s, attempt, now)
            post = load_post(s, post_id)
            post.scheduled_at = at
            post.claimed_by = post.lease_until = None
            post.last_error = reason
            self.transitions.move(s, post, A.REQUEUE, Actor(worker, DAEMON), now, S.QUEUED, reason)
            return post

    def failed(self, post_id: int, *, worker: str, reason: str, now: datetime,
               status: PostStatus = S.FAILED, attempt: AttemptResult | None = None
               ) -> list[Post]:
        """Fail a claimed post (or send it to needs_review). Later parts of its thread fail
        too: a thread never continues past a part that was not published."""
        with self.db.session() as s:
            close_attempt(s, attempt, now)
            post = load_post(s, post_id)
            post.claimed_by = post.lease_until = None
            partner = s.get(Post, post.pair_id) if post.pair_id else None
            if partner is not None and partner.status == S.PUBLISHED:
                # The other language is already out and cannot be taken back from here.
                status = S.NEEDS_REVIEW
                reason = (f"{reason}; its pair partner, post {partner.id} on {partner.account},"
                          " is already published, so the pair is incomplete: fix and retry this"
                          " post, or remove the partner from the platform by hand")
            post.last_error = reason
            daemon = Actor(worker, DAEMON)
            self.transitions.move(s, post, A.FAIL, daemon, now, status, reason)
            changed = [post]
            # (failed post, the first failed part of its thread)
            pending = [(post, post)]
            while pending:
                failed, origin = pending.pop(0)
                child = s.scalar(select(Post).where(Post.parent_id == failed.id))
                other = s.get(Post, failed.pair_id) if failed.pair_id else None
                for follower, why, root in (
                        (child, f"not sent: part {origin.thread_position}/{origin.thread_size} "
                                "of this thread was not published", origin),
                        (other, f"not sent: its pair partner, post {failed.id}, was not "
                                "published", other)):
                    if follower is not None and follower.status in (S.QUEUED, S.DRAFT):
                        follower.last_error = why
                        self.transitions.move(s, follower, A.FAIL, daemon, now, S.FAILED, why)
                        changed.append(follower)
                        pending.append((follower, root))
            return changed

    def last_outcome(self, post_id: int) -> str | None:
        """The outcome of the post's latest attempt (None while it is in flight)."""
        with self.db.reading() as s:
            return s.scalar(select(Attempt.outcome).where(Attempt.post_id == post_id)
                            .order_by(Attempt.id.desc()).limit(1))

    def cleared_by_staff(self, post_id: int) -> bool:
        """Whether staff sent the post again ('post resolve --retry', 'post retry') after its
        latest attempt started. Where no timeline can be read (Telegram) the dispatcher takes
        that as settled ("not there"); otherwise the post would go back to review for ever."""
        with self.db.reading() as s:
            started = s.scalar(select(func.max(Attempt.started_at)).where(
                Attempt.post_id == post_id))
            if started is None:
                return False
            return s.scalar(select(func.count()).select_from(AuditEntry).where(
                AuditEntry.post_id == post_id, AuditEntry.action == Action.RETRY.value,
                AuditEntry.at >= started)) > 0

    def first_attempt_at(self, post_id: int) -> datetime | None:
        """When the post's first attempt started: the timeline is read back to it."""
        with self.db.reading() as s:
            return s.scalar(select(func.min(Attempt.started_at)).where(
                Attempt.post_id == post_id))


def close_attempt(s: Session, result: AttemptResult | None, now: datetime) -> None:
    if result is None:
        return
    attempt = s.get(Attempt, result.attempt_id)
    attempt.outcome, attempt.finished_at = result.outcome, now
    attempt.error_code, attempt.error_message = result.error_code, result.error_message
    attempt.explanation, attempt.remote_id = result.explanation, result.remote_id
