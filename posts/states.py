"""The life of a post, and every transition it may make.

    draft ──approve──▶ queued ──claim──▶ publishing ──▶ published
      ▲  │               │  ▲               │
      │  └──(no review)──┘  └──retry/wait───┤
      └──edit (approved)──┘                 ├──▶ failed       (permanent error, retries used up)
                                            └──▶ needs_review (outcome unknown, unreadable timeline)

    draft, queued, failed, needs_review ──cancel──▶ cancelled
    failed, needs_review ──retry──▶ queued;  needs_review ──resolve──▶ published

`publishing` is held under a lease: a post found `publishing` with an expired lease belonged to a
daemon that died, and is settled by looking at the account's timeline before anything is resent.
The store applies these rules in one place (`Store.transition`), writing the audit entry in the
same transaction.
"""

from __future__ import annotations

from enum import StrEnum


class PostStatus(StrEnum):
    DRAFT = "draft"
    QUEUED = "queued"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    FAILED = "failed"
    NEEDS_REVIEW = "needs_review"
    CANCELLED = "cancelled"


S = PostStatus
TRANSITIONS: dict[PostStatus, frozenset[PostStatus]] = {
    S.DRAFT: frozenset({S.QUEUED, S.CANCELLED}),
    S.QUEUED: frozenset({S.PUBLISHING, S.DRAFT, S.CANCELLED, S.FAILED}),
    S.PUBLISHING: frozenset({S.PUBLISHED, S.QUEUED, S.FAILED, S.NEEDS_REVIEW}),
    S.PUBLISHED: frozenset(),
    S.FAILED: frozenset({S.QUEUED, S.CANCELLED}),
    S.NEEDS_REVIEW: frozenset({S.PUBLISHED, S.QUEUED, S.CANCELLED}),
    S.CANCELLED: frozenset(),
}

#: States in which staff may still change the text or the time.
EDITABLE = frozenset({S.DRAFT, S.QUEUED, S.FAILED, S.NEEDS_REVIEW})
#: States in which a post can still be withdrawn and replaced by a corrected version: nothing
#: of it has reached, or may have reached, the platform.
REPLACEABLE = frozenset({S.DRAFT, S.QUEUED, S.FAILED})
#: States that will not change again without a person.
FINAL = frozenset({S.PUBLISHED, S.CANCELLED})


class IllegalTransition(ValueError):
    """A post was asked to move between two states that are not connected."""

    def __init__(self, post_id: int | None, current: PostStatus, target: PostStatus) -> None:
        where = f"post {post_id}" if post_id is not None else "post"
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "nothing (it is final)"
        super().__init__(
            f"{where} is {current}; it cannot become {target} (from {current} it can become: "
            f"{allowed})"
        )
        self.current = current
        self.target = target


def check_transition(post_id: int | None, current: PostStatus | str,
                     target: PostStatus | str) -> None:
    current, target = PostStatus(current), PostStatus(target)
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(post_id, current, target)
