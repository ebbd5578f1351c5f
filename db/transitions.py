"""The transition function: the one way a post is created or changes state.

`move` checks the action against the table of actions (posts.states.RULES: which states it
connects and who may take it), the review rules that need the database (an approval present
before a post is queued or claimed, with every named step of clearance cleared; the
two-person rule on approval), and writes the audit
entry (who, when, what, from, to, why) in the same transaction as the change. `create` does the
same for a new post. Every part of the store that changes a post (staff actions, the queue,
outcomes, documents) goes through here; no other code sets `Post.status`.

`move` takes a post loaded in the session, or (the daemon's claims and outcomes) a `PostRef`,
a post known by its row: then the change is one conditional UPDATE through SQLAlchemy Core
(`WHERE status = <the state it is moved from>`) and the audit row one INSERT, the same checks
first, so the hot path skips the ORM's loading and unit of work but not the rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from db import audit as trail
from db.bulk import insert_with_ids, search_indexed_at_end
from db.clearance import clearance_problem
from db.database import CoreTransaction, Database, session_of
from db.errors import NeedsApproval, SelfApproval
from db.models import AuditEntry, Post, PublishCount
from db.prepared import Prepared
from db.versions import content_version, keep_new_texts, keep_text
from posts.states import DAEMON, Action, Actor, PostStatus, Review, check_move

S = PostStatus
A = Action
#: What the daemon does to a post, never to its text: no text version to look for.
_TEXT_KEPT = frozenset({A.CLAIM, A.RECLAIM, A.PUBLISH, A.REQUEUE, A.RELEASE, A.FAIL,
                        A.AWAIT_REVIEW})

_POSTS = Post.__table__
_MOVE = (update(_POSTS).where(_POSTS.c.id == bindparam("b_id"),
                              _POSTS.c.status == bindparam("b_from"))
         .values(status=bindparam("b_to"), updated_at=bindparam("b_now")))
#: The conditional UPDATE of a `PostRef`'s move, by whether it counts an attempt (the claim
#: that starts one counts it in the same statement) and the further columns it sets (bound
#: as v_<column>); each built once, when first asked for.
_MOVES: dict[tuple[bool, tuple[str, ...]], Prepared] = {}


def _move(counting: bool, columns: tuple[str, ...]) -> Prepared:
    found = _MOVES.get((counting, columns))
    if found is None:
        statement = _MOVE.values({column: bindparam(f"v_{column}") for column in columns})
        if counting:
            statement = statement.values(attempt_count=_POSTS.c.attempt_count + 1)
        found = _MOVES[(counting, columns)] = Prepared(statement)
    return found


_COUNTS = PublishCount.__table__
#: Count a publish in its account's hour (posting budgets read these counts).
_COUNT = {name: Prepared(dialect.insert(_COUNTS).values(
    account=bindparam("b_account"), hour=bindparam("b_hour"), posts=1).on_conflict_do_update(
    index_elements=[_COUNTS.c.account, _COUNTS.c.hour], set_={"posts": _COUNTS.c.posts + 1}))
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))}


@dataclass(frozen=True)
class PostRef:
    """A post known by its row rather than loaded into the session: what `move` needs to move
    it through SQLAlchemy Core (and, for a claim under review, to check its approval)."""

    id: int
    account: str
    status: str
    approved_by: str | None = None
    created_by: str | None = None


class Transitions:
    """The transition function under the office's review rules (`db.review`)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @property
    def review(self) -> Review:
        return self.db.review

    def queue_or_draft(self, post: Post) -> PostStatus:
        """Where a post staff send back towards publishing goes: queued, or draft when review
        requires an approval it does not carry."""
        if self.review.require_approval and post.approved_by is None:
            return S.DRAFT
        return S.QUEUED

    def create(self, s: Session, post: Post, actor: Actor, status: PostStatus, reason: str,
               now: datetime) -> None:
        """Add a new post in `status` (draft or queued) with its `create` audit entry."""
        check_move(None, A.CREATE, actor, None, status)
        if self.review.require_approval and status != S.DRAFT:
            raise NeedsApproval("review is required, so new posts are drafts until an "
                                "approver approves them")
        post.status = status
        s.add(post)
        s.flush()
        audit(s, post, actor.name, A.CREATE, None, status, reason, now)

    def create_many(self, s: Session, rows: Sequence[dict], actor: Actor, status: PostStatus,
                    reasons: Sequence[str], now: datetime,
                    parents: Sequence[int | None] = ()) -> list[int]:
        """`create` for many new posts at once (an import): the same checks, made once since
        every post gets the same actor and status, then one executemany for the posts and one
        for their `create` audit entries. `rows` are the posts' column values (without id or
        status), `parents` for each the index in `rows` of the thread part it replies to (or
        None; db/bulk.py `insert_with_ids`); returns their new ids in the order given."""
        check_move(None, A.CREATE, actor, None, status)
        if self.review.require_approval and status != S.DRAFT:
            raise NeedsApproval("review is required, so new posts are drafts until an "
                                "approver approves them")
        if not rows:
            return []
        with search_indexed_at_end(s):
            ids = insert_with_ids(s, _POSTS, [{**row, "status": status} for row in rows],
                                  refer={"parent_id": parents} if parents else None)
        audit_ids = trail.write_many(s, [
            {"at": now, "actor": actor.name, "action": A.CREATE, "post_id": post_id,
             "account": row["account"], "to_status": status, "reason": reason}
            for post_id, row, reason in zip(ids, rows, reasons, strict=True)])
        keep_new_texts(s, [{"post_id": post_id, "audit_id": audit_id, "at": now,
                            "actor": actor.name, "text": row["text"],
                            "media_id": row.get("media_id")}
                           for post_id, audit_id, row in zip(ids, audit_ids, rows, strict=True)])
        return ids

    def approval_problem(self, s: Session, post: Post | PostRef) -> str | None:
        """Why review does not let `post` be queued or sent, or None."""
        if not self.review.require_approval:
            return None
        if post.approved_by is None:
            return (f"post {post.id} has no approval; review is required, so an approver must "
                    f"approve it first (factpost post approve {post.id})")
        if self.review.two_person_rule and wrote(s, post, post.approved_by):
            return (f"post {post.id} was approved by {post.approved_by}, who wrote or edited "
                    "it; under the two-person rule another approver must approve it")
        # Named steps: every one cleared, in order, for this content (db/clearance.py).
        return clearance_problem(s, post, self.review)

    def approval_outdated(self, s: Session, post: Post) -> bool:
        """Whether review is on and `post` carries an approval for other content than it has
        now (its text, image or pair partner changed after it was approved, by a path that
        did not withdraw the approval). Approvals from before approvals recorded what they
        covered are taken as they are."""
        return (self.review.require_approval and post.approved_by is not None
                and post.approved_content is not None
                and post.approved_content != content_version(s, post, with_time=False))

    def move(self, s: Session | CoreTransaction, post: Post | PostRef, action: Action,
             actor: Actor, now: datetime, target: PostStatus, reason: str | None = None, *,
             values: Mapping[str, Any] | None = None, count_attempt: bool = False) -> bool:
        """The one way a post changes state: checks that `action` connects the two states,
        that `actor` may take it and that the review rules allow it, then writes the audit
        entry in the same transaction. Raises `IllegalTransition`, `NotPermitted`,
        `SelfApproval`, `NeedsApproval`.

        For a `PostRef`, the post is moved by one conditional UPDATE that also sets `values`
        (column: value) and, with `count_attempt`, counts an attempt; False (nothing written)
        when the row is no longer in `post.status` (another daemon's claim won). A loaded
        `Post` always moves (True); set its other columns on it, in a Session: `s` is a Core
        transaction (db/database.py) only with a `PostRef`."""
        check_move(post.id, action, actor, post.status, target)
        review = self.review
        if (action is A.APPROVE and (review.two_person_rule or review.steps)
                and wrote(s, post, actor.name)):
            raise SelfApproval(f"post {post.id} was written or edited by {actor.name}; under "
                               "the two-person rule another approver must approve it")
        # The daemon only hands back to the queue what it claimed, and a claim needs the
        # approval; staff never queue (and the daemon never claims) an unapproved post.
        if ((target == S.QUEUED and actor.role != DAEMON) or action is A.CLAIM) and (
                review.require_approval):
            # The steps of clearance are checked against the post's content: load it.
            orm = session_of(s)
            problem = self.approval_problem(
                orm, orm.get(Post, post.id) if isinstance(post, PostRef) else post)
            if problem:
                raise NeedsApproval(problem)
        previous = post.status
        if isinstance(post, PostRef):
            values = values or {}
            params = {f"v_{column}": value for column, value in values.items()}
            params.update(b_id=post.id, b_from=str(previous), b_to=str(target), b_now=now)
            moved = _move(count_attempt, tuple(values)).rowcount(s, params)
            if moved != 1:
                return False
            # Inserted at commit, chained (db/audit.py); the daemon's moves keep no text.
            trail.write_later(s, trail.AuditRow(
                at=now, actor=actor.name, action=str(action), post_id=post.id,
                account=post.account, from_status=str(previous), to_status=str(target),
                reason=reason))
        else:
            post.status = target
            post.updated_at = now
            audit(s, post, actor.name, action, previous, target, reason, now)
        if target == S.PUBLISHED:
            published = ((values or {}).get("published_at")
                         or getattr(post, "published_at", None) or now)
            _COUNT[self.db.dialect].rowcount(s, {
                "b_account": post.account,
                "b_hour": published.astimezone(UTC).replace(minute=0, second=0,
                                                             microsecond=0)})
        return True


def wrote(s: Session, post: Post | PostRef, actor: str) -> bool:
    """Whether `actor` wrote the post or changed its text (the two-person rule)."""
    if post.created_by == actor:
        return True
    edits = s.scalars(select(AuditEntry.reason).where(
        AuditEntry.post_id == post.id, AuditEntry.actor == actor,
        AuditEntry.action == "edit"))
    return any(reason and reason.startswith("edited text") for reason in edits)


def audit(s: Session, post: Post, actor: str, action: str, from_status: str | None,
          to_status: str | None, reason: str | None, now: datetime) -> None:
    """The audit row of a post's creation or move (db/audit.py writes every row), and the
    post's text kept as a version when it is new or changed (db/versions.py)."""
    entry = trail.write(s, at=now, actor=actor, action=action, post_id=post.id,
                        account=post.account, from_status=from_status, to_status=to_status,
                        reason=reason)
    if action not in _TEXT_KEPT:
        keep_text(s, post, entry, new=action == A.CREATE)
