"""What the store refuses, and why: each error's message says what to do. Part of the
application's one error tree (scheduler/errors.py)."""

from __future__ import annotations

from posts.errors import FactpostError


class StoreError(FactpostError):
    """A request the store cannot carry out; the message says why and what to do."""


class PostNotFound(StoreError):
    def __init__(self, post_id: int) -> None:
        super().__init__(f"no post with id {post_id}; 'factpost history' lists every post")


class NotEditable(StoreError):
    pass


class SelfApproval(StoreError):
    """The two-person rule: nobody approves text they wrote or changed."""


class WrongStep(StoreError):
    """An approval the post's clearance does not take now: the approver does not hold the
    step it waits for, holds only a later one (steps go in order), or cleared an earlier
    step of it."""


class PostChanged(StoreError):
    """An approval given for a version of a post that is no longer current: the text, time,
    image or pair partner changed after the approver opened it."""


class VersionMissing(StoreError):
    """An approval that does not say which version of the post it was given for."""


class BadFilter(StoreError):
    """A history filter that names no time or post the database can hold."""


class NeedsApproval(StoreError):
    """Review is required and the post carries no approval."""


class BadLink(StoreError):
    """A link or remote id given by staff that cannot be what the platform holds."""


#: Ids are 32-bit integers on PostgreSQL; anything outside names no post on any backend.
MAX_ID = 2**31 - 1


class EmptySearch(StoreError):
    """A search text with no letter or digit: nothing to look for (see db/search.py)."""

    def __init__(self, text: str) -> None:
        super().__init__(f"search {text!r} has no letters or digits to look for; "
                         "search for one or more words")


class ChainBroken(StoreError):
    """The audit trail's hash chain fails at a row (db/audit.py): the message names the row
    (id, time, place in the chain) and what differs."""
