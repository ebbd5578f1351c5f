"""Taking published posts down and answering them: retractions, corrections and the public
acknowledgment of a removal. Every move goes through the transition function
(transitions.py) with its audit row; the retracted post keeps its row, text and trail.

A retraction is written before the platform is asked (`begin`: published -> retracting, the
reason and note in the audit row) and settled by its answer (`settle`: -> retracted, or back to
published when the platform refused), so a deletion whose answer was lost leaves the post
`retracting`, visible, until someone asks again. A correction or an acknowledgment is a new
post linked to the one it answers (`Post.corrects_id`); a correction on a platform that
threads goes out as a reply to it (`Post.reply_to_corrected`, read by history.parent_remote_id).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.database import Database, load_post
from db.errors import NotEditable
from db.history import thread_chain
from db.models import Post
from db.transitions import Transitions, audit
from posts.states import REPLACEABLE, Action, Actor, PostStatus, check_actor

S = PostStatus
A = Action


@dataclass(frozen=True)
class Target:
    """One post to delete on its platform."""

    post_id: int
    account: str
    platform: str
    remote_id: str


@dataclass(frozen=True)
class Answer:
    """What a post that answers another is: its account and platform, its texts (a thread's
    parts in order), and whether it replies to the post it answers."""

    account: str
    platform: str
    texts: Sequence[str]
    reply: bool = False


class Retractions:
    """Retractions, corrections and acknowledgments; each method is one transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.transitions = Transitions(db)

    def begin(self, post_id: int, *, reason: str, actor: Actor, now: datetime
              ) -> list[Target]:
        """Mark the post for removal with every published part of its thread and of its pair
        partner's (published -> retracting, `reason` in each audit row; a post already
        retracting is asked for again), and cancel their parts never sent. Returns what to
        delete, each thread's last part first, so no reader ever sees a reply whose post is
        gone. Raises `NotEditable` when nothing of it is published, or when a part may be
        live unrecorded (publishing, needs_review), and `NotPermitted`."""
        check_actor(actor, A.RETRACT)
        with self.db.session() as s:
            post = load_post(s, post_id)
            units = [_thread(s, post)]
            partners = [s.get(Post, p.pair_id) for p in units[0] if p.pair_id]
            if partners and partners[0] is not None:
                units.append(_thread(s, partners[0]))
            unknown = [p for unit in units for p in unit
                       if p.status in (S.PUBLISHING, S.NEEDS_REVIEW)]
            if unknown:
                raise NotEditable(
                    f"post {unknown[0].id} (of the same thread or pair) is {unknown[0].status}: "
                    "whether it is live is not known yet; once it is settled (factpost post "
                    f"resolve {unknown[0].id}), retract post {post_id} again")
            targets = []
            for unit in units:
                for part in reversed(unit):
                    if part.status in REPLACEABLE and part is not post:
                        # Never sent: it would go out as a reply to, or the partner of, a
                        # post that is gone.
                        self.transitions.move(s, part, A.CANCEL, actor, now, S.CANCELLED,
                                              f"retracted with post {post_id}: {reason}")
                        continue
                    if part.status not in (S.PUBLISHED, S.RETRACTING) or not part.remote_id:
                        continue
                    again = part.status == S.RETRACTING
                    self.transitions.move(s, part, A.RETRACT, actor, now, S.RETRACTING,
                                          ("asked again: " if again else "") + reason)
                    targets.append(Target(part.id, part.account, part.platform,
                                          part.remote_id))
            if not targets:
                raise NotEditable(f"post {post_id} is {post.status}; only a published post "
                                  "is retracted (cancel one that is not yet out)")
            return targets

    def settle(self, post_id: int, *, gone: bool | None, detail: str, actor: Actor,
               now: datetime) -> Post:
        """Record the platform's answer for a post being retracted: `gone` True, retracted;
        False (the platform refused), published again, as it still is; None (no answer
        could be had), still retracting, for someone to ask again. `detail` goes in the
        audit row."""
        target = {True: S.RETRACTED, False: S.PUBLISHED, None: S.RETRACTING}[gone]
        with self.db.session() as s:
            post = load_post(s, post_id)
            if gone and post.status == S.RETRACTED:
                return post  # settled meanwhile by a retraction asked at the same time
            self.transitions.move(s, post, A.RETRACT, actor, now, target, detail)
            return post

    def answer(self, post_id: int, answers: Sequence[Answer], *, why: str, actor: Actor,
               now: datetime, status: PostStatus) -> list[Post]:
        """Store the posts that answer post `post_id` (a correction, or the acknowledgment of
        its removal), due now, in one transaction: each `Answer` a post or thread linked to
        it (the first answer to it, a second to its pair partner when there is one, and the
        two linked as a pair), with a `correct` audit row on the answered post saying `why`.
        `status` is draft or queued (`NeedsApproval` under review for queued)."""
        check_actor(actor, A.CORRECT)
        with self.db.session() as s:
            post = load_post(s, post_id)
            answered = [_thread(s, post)[-1]]
            partner = s.get(Post, post.pair_id) if post.pair_id else None
            if partner is not None:
                answered.append(_thread(s, partner)[-1])
            firsts: list[Post] = []
            stored: list[Post] = []
            for n, answer in enumerate(answers):
                to = answered[min(n, len(answered) - 1)]
                created: list[Post] = []
                for position, text in enumerate(answer.texts, 1):
                    part = Post(account=answer.account, platform=answer.platform, text=text,
                                scheduled_at=now, thread_position=position,
                                thread_size=len(answer.texts), created_by=actor.name,
                                created_at=now, updated_at=now,
                                parent=created[-1] if created else None,
                                corrects_id=to.id if position == 1 else None,
                                reply_to_corrected=answer.reply and position == 1)
                    self.transitions.create(s, part, actor, status,
                                            f"{why} of post {to.id}", now)
                    created.append(part)
                firsts.append(created[0])
                stored.extend(created)
            if len(firsts) == 2:
                firsts[0].pair_id, firsts[1].pair_id = firsts[1].id, firsts[0].id
            for to in answered[:len(answers)]:
                audit(s, to, actor.name, A.CORRECT, None, None,
                      f"{why}: post {', '.join(str(p.id) for p in firsts)}", now)
            return stored

    def answers_to(self, post_id: int) -> list[Post]:
        """The posts that answer post `post_id` (corrections, acknowledgments), oldest first."""
        with self.db.reading() as s:
            return list(s.scalars(select(Post).where(Post.corrects_id == post_id)
                                  .order_by(Post.id)))


def _thread(s: Session, post: Post) -> list[Post]:
    """Every part of `post`'s thread, in order, read in session `s`."""
    root = post
    while root.parent_id is not None:
        root = load_post(s, root.parent_id)
    return [p for p in thread_chain(s, root) if p.thread_position <= root.thread_size]
