"""The life of a post: every action that moves one, who may take it, and from which states.

    draft ──approve──▶ queued ──claim──▶ publishing ──publish──▶ published
      ▲  │               │  ▲               │
      │  └──(no review)──┘  └─requeue/release┤
      └──edit (approved)──┘                 ├──fail──▶ failed  (permanent error, retries used up)
                                            └──fail──▶ needs_review  (outcome unknown)

    draft ──approve (a step of several, not the last)──▶ draft

    draft ──reject──▶ cancelled;  draft, queued, failed, needs_review ──cancel──▶ cancelled
    failed, needs_review ──retry──▶ queued (draft when review is on and it carries no approval)
    failed, needs_review ──edit──▶ queued (draft when its text changed under review)
    needs_review ──resolve──▶ published
    queued ──await_review──▶ draft  (queued while review was off; it is on now)
    published ──retract──▶ retracting ──retract──▶ retracted  (deleted on the platform)
                                      └─retract──▶ published  (the platform refused to delete)

`retracting` is written before the platform is asked to delete the post, so a deletion whose
answer was lost is never forgotten: the post stays `retracting` until a later `retract` settles
it. A retracted post keeps its row, text and trail: it is gone from the platform only.

Each action is a `Rule`: the (from, to) moves it may make and who may take it. People hold one
of the ranked staff roles (author < approver < admin); the publishing daemon and the operator
at the command line (user management, maintenance, imports without a token) are actors of
their own kinds and may only take the actions named for them. `Review` carries the office's
review rules. The store applies all of this in one place, its transition function
(db/transitions.py, `Transitions.move`), together with the review checks that need the
database (the two-person rule) and the audit entry, in the same transaction.

`publishing` is held under a lease: a post found `publishing` with an expired lease belonged to a
daemon that died, and is settled by looking at the account's timeline before anything is resent.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from posts.errors import FactpostError


class PostStatus(StrEnum):
    DRAFT = "draft"
    QUEUED = "queued"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    FAILED = "failed"
    NEEDS_REVIEW = "needs_review"
    CANCELLED = "cancelled"
    RETRACTING = "retracting"
    RETRACTED = "retracted"


S = PostStatus

#: Staff roles, ranked: each may do all the one before it may.
STAFF_ROLES = ("author", "approver", "admin")
#: The publishing daemon (its worker name is the actor's name).
DAEMON = "daemon"
#: Whoever holds the config and the database at the command line, named by the operating
#: system's user (like a web framework's create-superuser command).
OPERATOR = "operator"


@dataclass(frozen=True)
class Actor:
    """Who takes an action: a name for the audit trail and a role (`STAFF_ROLES`, `DAEMON` or
    `OPERATOR`)."""

    name: str
    role: str

    def may(self, needed: str) -> bool:
        """Whether this actor holds the staff role `needed`, or a higher one."""
        return (self.role in STAFF_ROLES and needed in STAFF_ROLES
                and STAFF_ROLES.index(self.role) >= STAFF_ROLES.index(needed))


#: The one step of clearance when the office names none (`[review] steps` left out): any
#: approver clears it, as the two-person rule always had it.
DEFAULT_STEP = "approval"


@dataclass(frozen=True)
class Review:
    """The office's review rules ([review] in config.toml)."""

    #: New posts are drafts; nothing is queued, claimed or published without an approval.
    require_approval: bool = False
    #: Nobody approves a post they wrote or whose text they changed.
    two_person_rule: bool = False
    #: The named steps of clearance, in order (`[review] steps`, e.g. ("legal",
    #: "public-affairs")): one approval per step, each by a user holding that step. Empty: one
    #: step, `DEFAULT_STEP`, which every approver holds.
    steps: tuple[str, ...] = ()

    @property
    def clearance_steps(self) -> tuple[str, ...]:
        """The steps a post is cleared through, in order (at least one)."""
        return self.steps or (DEFAULT_STEP,)


#: No review: posts are queued as they are made.
NO_REVIEW = Review()


class Action(StrEnum):
    CREATE = "create"
    APPROVE = "approve"
    REJECT = "reject"
    EDIT = "edit"
    CANCEL = "cancel"
    RETRY = "retry"
    RESOLVE = "resolve"
    RETRACT = "retract"
    CORRECT = "correct"
    SUPERSEDE = "supersede"
    RELINK = "relink"
    AWAIT_REVIEW = "await_review"
    CLAIM = "claim"
    RECLAIM = "reclaim"
    PUBLISH = "publish"
    REQUEUE = "requeue"
    RELEASE = "release"
    FAIL = "fail"
    PAUSE = "pause"
    RESUME = "resume"
    MANAGE_USERS = "manage_users"


@dataclass(frozen=True)
class Rule:
    """What an action may do: its (from, to) moves (from None: a new post; an empty set: the
    action moves no post), the least staff role that may take it (None: no staff), and the
    other kinds of actor (`DAEMON`, `OPERATOR`) that may."""

    moves: frozenset[tuple[PostStatus | None, PostStatus]]
    staff: str | None
    others: frozenset[str] = frozenset()

    def allows(self, actor: Actor) -> bool:
        return (self.staff is not None and actor.may(self.staff)) or actor.role in self.others

    @property
    def sources(self) -> frozenset[PostStatus | None]:
        return frozenset(source for source, _ in self.moves)


def _moves(*pairs: tuple[PostStatus | None, PostStatus]
           ) -> frozenset[tuple[PostStatus | None, PostStatus]]:
    return frozenset(pairs)


D, Q, P, F, R, C = S.DRAFT, S.QUEUED, S.PUBLISHING, S.FAILED, S.NEEDS_REVIEW, S.CANCELLED
_DAEMON, _OPERATOR = frozenset({DAEMON}), frozenset({OPERATOR})

RULES: dict[Action, Rule] = {
    Action.CREATE: Rule(_moves((None, D), (None, Q)), "author", _OPERATOR),
    # Clearing a step of several keeps the post a draft; the last step queues it.
    Action.APPROVE: Rule(_moves((D, Q), (D, D)), "approver"),
    Action.REJECT: Rule(_moves((D, C)), "approver"),
    # An edit keeps the state, sends an approved text back to draft, or queues a failed post
    # again (to draft when review needs a new approval).
    Action.EDIT: Rule(_moves((D, D), (Q, Q), (Q, D), (F, Q), (F, D), (R, Q), (R, D)), "author"),
    Action.CANCEL: Rule(_moves((D, C), (Q, C), (F, C), (R, C)), "author"),
    Action.RETRY: Rule(_moves((F, Q), (F, D), (R, Q), (R, D)), "author"),
    Action.RESOLVE: Rule(_moves((R, S.PUBLISHED)), "approver"),
    # Taking a published post down (db/retractions.py): asked, then settled by the platform's
    # answer; asking again while it is `retracting` settles a deletion whose answer was lost.
    Action.RETRACT: Rule(_moves((S.PUBLISHED, S.RETRACTING), (S.RETRACTING, S.RETRACTING),
                                (S.RETRACTING, S.RETRACTED), (S.RETRACTING, S.PUBLISHED)),
                         "approver"),
    # A correction of a published post is a new post; this action moves none, it links them.
    Action.CORRECT: Rule(frozenset(), "approver"),
    Action.SUPERSEDE: Rule(_moves((D, C), (Q, C), (F, C)), "author", _OPERATOR),
    Action.RELINK: Rule(_moves((D, D), (Q, Q), (F, F)), "author", _OPERATOR),
    # Posts queued while review was off, found unapproved once it is on (by the daemon at its
    # start or by the operator's `status`): drafts again, so approvers see them.
    Action.AWAIT_REVIEW: Rule(_moves((Q, D)), None, _DAEMON | _OPERATOR),
    Action.CLAIM: Rule(_moves((Q, P)), None, _DAEMON),
    Action.RECLAIM: Rule(_moves((P, P)), None, _DAEMON),
    Action.PUBLISH: Rule(_moves((P, S.PUBLISHED)), None, _DAEMON),
    Action.REQUEUE: Rule(_moves((P, Q)), None, _DAEMON),
    Action.RELEASE: Rule(_moves((P, Q)), None, _DAEMON),
    # Later thread parts and pair partners fail unsent with the post they depend on.
    Action.FAIL: Rule(_moves((P, F), (P, R), (Q, F), (D, F)), None, _DAEMON),
    # Actions on accounts and people move no post.
    Action.PAUSE: Rule(frozenset(), "admin", _DAEMON),
    Action.RESUME: Rule(frozenset(), "admin"),
    Action.MANAGE_USERS: Rule(frozenset(), "admin", _OPERATOR),
}

#: Every state change any action may make (a post's state diagram).
TRANSITIONS: dict[PostStatus, frozenset[PostStatus]] = {
    status: frozenset(target for rule in RULES.values() for source, target in rule.moves
                      if source == status and target != status)
    for status in PostStatus
}

#: States in which staff may still change the text or the time.
EDITABLE = frozenset({S.DRAFT, S.QUEUED, S.FAILED, S.NEEDS_REVIEW})
#: States in which a post can still be withdrawn and replaced by a corrected version: nothing
#: of it has reached, or may have reached, the platform.
REPLACEABLE = frozenset({S.DRAFT, S.QUEUED, S.FAILED})


class IllegalTransition(FactpostError):
    """A post was asked to move between two states that the action does not connect."""

    def __init__(self, post_id: int | None, current: PostStatus, target: PostStatus,
                 action: Action | None = None) -> None:
        where = f"post {post_id}" if post_id is not None else "post"
        if action is None:
            allowed = ", ".join(sorted(TRANSITIONS[current])) or "nothing (it is final)"
            message = (f"{where} is {current}; it cannot become {target} (from {current} it "
                       f"can become: {allowed})")
        elif current in RULES[action].sources:
            message = f"{where} is {current}; {action} cannot make it {target}"
        else:
            sources = sorted(str(s) for s in RULES[action].sources if s is not None)
            message = f"{where} is {current}; {action} works on {', '.join(sources)} posts only"
        super().__init__(message)
        self.current = current
        self.target = target


class NotPermitted(FactpostError):
    """The actor's role does not allow the action."""

    def __init__(self, actor: Actor, action: Action) -> None:
        rule = RULES[action]
        who = [f"the {rule.staff} role" if rule.staff else None,
               *(f"the {other}" for other in sorted(rule.others))]
        super().__init__(f"{action.replace('_', ' ')} needs {' or '.join(w for w in who if w)}; "
                         f"{actor.name} is {_article(actor.role)}")
        self.actor = actor
        self.action = action


def _article(role: str) -> str:
    return f"an {role}" if role[:1] in "aeiou" else f"a {role}"


def check_actor(actor: Actor, action: Action) -> None:
    """Raise `NotPermitted` unless `actor` may take `action`."""
    if not RULES[action].allows(actor):
        raise NotPermitted(actor, action)


def check_move(post_id: int | None, action: Action, actor: Actor,
               current: PostStatus | str | None, target: PostStatus | str) -> None:
    """Raise `NotPermitted` or `IllegalTransition` unless `action` by `actor` may move a post
    from `current` (None: a new post) to `target`."""
    check_actor(actor, action)
    current = PostStatus(current) if current is not None else None
    target = PostStatus(target)
    if (current, target) not in RULES[action].moves:
        if current is None:
            raise IllegalTransition(post_id, target, target, action)
        raise IllegalTransition(post_id, current, target, action)


def check_transition(post_id: int | None, current: PostStatus | str,
                     target: PostStatus | str) -> None:
    """Raise `IllegalTransition` unless some action connects the two states."""
    current, target = PostStatus(current), PostStatus(target)
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(post_id, current, target)
