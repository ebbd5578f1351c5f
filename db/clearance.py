"""Clearance: the steps of review a post passes through before it is approved.

An office names its steps in order (`[review] steps = ["legal", "public-affairs"]`, carried
by `Review.steps`); one that names none has the one step `DEFAULT_STEP`, which every approver
holds (the two-person rule's case). Each approval of a step is a `Clearance` row: which step,
by whom, when, and the content version (db/versions.py, without times) it was given for. A
post is approved, and queued, only when its last step is cleared: the approval that clears it
sets `Post.approved_by`, the one column the claim tests (db/queue.py), so publishing asks
nothing new.

Which clearances count: the live rows (not withdrawn by an edit) from the first step on, as
long as each is the configured step at its place and was given for the post's current
content. A draft whose every step is cleared was sent back by a path that withdrew its
approval (a claim that found it changed, `hold_unreviewed`), so it starts again at step 1.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db.errors import WrongStep
from db.models import Clearance, Post, User, UserStep
from db.versions import content_version
from posts.states import Actor, PostStatus, Review


@dataclass(frozen=True)
class Cleared:
    """One step that counts: its name, who cleared it and when (UTC)."""

    step: str
    by: str
    at: datetime


@dataclass(frozen=True)
class Progress:
    """Where a post stands in its clearance: the steps in order and those cleared so far."""

    steps: tuple[str, ...]
    cleared: tuple[Cleared, ...]

    @property
    def waiting_for(self) -> str | None:
        """The step the post waits for, None once every step is cleared."""
        done = len(self.cleared)
        return self.steps[done] if done < len(self.steps) else None

    @property
    def position(self) -> int:
        """The number (from 1) of the step the post waits for, or of its last step."""
        return min(len(self.cleared) + 1, len(self.steps))

    def summary(self) -> str:
        """One line: each step, cleared (by whom) or waiting, in order."""
        parts = [f"{c.step} cleared by {c.by}" for c in self.cleared]
        if self.waiting_for is not None:
            parts.append(f"waits for {self.waiting_for}")
            parts += [f"then {step}" for step in self.steps[len(self.cleared) + 1:]]
        return "; ".join(parts)

    def record(self) -> dict:
        """As JSON: the steps, those cleared (step, by, at in ISO 8601 UTC) and the one
        waited for (null once cleared)."""
        return {"steps": list(self.steps), "waiting_for": self.waiting_for,
                "cleared": [{"step": c.step, "by": c.by, "at": c.at.isoformat()}
                            for c in self.cleared]}


def counted(s: Session, post: Post, steps: tuple[str, ...], *, waiting: bool = True
            ) -> list[Clearance]:
    """The clearances of `post` that count (the module docstring says which), in step
    order. `waiting=False` asks about a draft being queued now, whose every step counts."""
    return _sorted(s, post, steps, waiting)[0]


def _sorted(s: Session, post: Post, steps: tuple[str, ...], waiting: bool
            ) -> tuple[list[Clearance], list[Clearance]]:
    """The live clearances of `post` that count, and those that do not."""
    rows = list(s.scalars(select(Clearance).where(Clearance.post_id == post.id,
                                                  Clearance.withdrawn_at.is_(None))
                          .order_by(Clearance.id)))
    if not rows:
        return [], []
    current = content_version(s, post, with_time=False)
    run: list[Clearance] = []
    for row, step in zip(rows, steps, strict=False):
        # A row from before approvals recorded their content is taken as it is.
        if row.step != step or (row.content is not None and row.content != current):
            break
        run.append(row)
    if waiting and len(run) == len(steps) and post.status == PostStatus.DRAFT:
        run = []
    return run, rows[len(run):]


def progress(s: Session, post: Post, review: Review) -> Progress:
    """Where `post` stands in the office's clearance."""
    steps = review.clearance_steps
    return Progress(steps, tuple(Cleared(row.step, row.cleared_by, row.cleared_at)
                                 for row in counted(s, post, steps)))


def clearance_problem(s: Session, post: Post, review: Review) -> str | None:
    """Why the named steps do not clear `post` for the queue, or None (also when the office
    names no steps: its one approval is `Post.approved_by`)."""
    if not review.steps:
        return None
    done = len(counted(s, post, review.steps, waiting=False))
    if done == len(review.steps):
        return None
    return (f"post {post.id} has not cleared step {review.steps[done]} ({done + 1} of "
            f"{len(review.steps)}); a holder of that step must approve it first "
            f"(factpost post approve {post.id})")


def withdraw(s: Session, post: Post, now: datetime) -> int:
    """Withdraw every live clearance of `post` (its content changed): it starts again at
    step 1. The rows stay, for the record. Returns how many were withdrawn."""
    live = update(Clearance).where(Clearance.post_id == post.id,
                                   Clearance.withdrawn_at.is_(None))
    return s.execute(live.values(withdrawn_at=now)
                     .execution_options(synchronize_session=False)).rowcount


def steps_held(s: Session, name: str) -> frozenset[str]:
    """The steps the enabled user `name` may clear (none for anyone else)."""
    return frozenset(s.scalars(select(UserStep.step).join(User, User.id == UserStep.user_id)
                               .where(User.name == name, User.disabled.is_(False))))


def holders(s: Session) -> dict[str, list[str]]:
    """Each step's enabled holders, by name."""
    found: dict[str, list[str]] = {}
    for step, name in s.execute(select(UserStep.step, User.name)
                                .join(User, User.id == UserStep.user_id)
                                .where(User.disabled.is_(False))
                                .order_by(UserStep.step, User.name)):
        found.setdefault(step, []).append(name)
    return found


def clear_step(s: Session, post: Post, actor: Actor, review: Review, held: Collection[str],
               now: datetime) -> Progress:
    """Record `actor`'s approval of the step `post` waits for, given the steps `actor` holds
    (`held`; with no named steps every approver holds the one step). Returns the progress
    before this approval (its `waiting_for` is the step just cleared). Raises `WrongStep`:
    `actor` does not hold that step, holds only a later one (out of order), or already
    cleared an earlier step of this post."""
    run, void = _sorted(s, post, review.clearance_steps, True)
    for row in void:  # for other content or steps: withdrawn, so the new row counts
        row.withdrawn_at = now
    done = Progress(review.clearance_steps,
                    tuple(Cleared(row.step, row.cleared_by, row.cleared_at) for row in run))
    step = done.waiting_for
    if step is None:  # a draft never has every step counted (see `counted`)
        raise WrongStep(f"post {post.id} has cleared every step already")
    where = f"post {post.id} waits for step {step} ({done.position} of {len(done.steps)})"
    if review.steps:
        later = [name for name in done.steps[done.position:] if name in held]
        if step not in held and later:
            raise WrongStep(f"{where}; {actor.name} holds {', '.join(later)}, which "
                            f"{'comes' if len(later) == 1 else 'come'} after it: clearance "
                            f"goes in order ({' -> '.join(done.steps)})")
        if step not in held:
            who = ", ".join(holders(s).get(step, [])) or (
                f"nobody yet; an operator gives it with factpost user set NAME --step {step}")
            raise WrongStep(f"{where}, which {actor.name} does not hold; it can be cleared by "
                            f"{who}")
        if any(earlier.by == actor.name for earlier in done.cleared):
            raise WrongStep(f"{where}; {actor.name} cleared an earlier step of it, so "
                            "another holder of this step must clear it")
    s.add(Clearance(post_id=post.id, step=step, position=done.position, cleared_by=actor.name,
                    cleared_at=now, content=content_version(s, post, with_time=False)))
    return done
