"""The publisher contract: the only thing the dispatcher knows about a platform.

One publisher object serves one configured account (`Account`: what it needs of the config,
handed in, never read from it). Every platform failure is sorted at this edge into a few typed
errors, so the dispatcher decides what happens next from the type alone:

    PublishError                    the platform did not (visibly) accept the post
    ├── Retryable                   nothing was applied; the same request may be sent again
    │   └── RateLimited             ...but not before `reset_at`
    ├── Permanent                   sending it again will not help; a person must act
    │   ├── CredentialsRejected     the account's tokens are bad or expired: pause the account
    │   ├── DuplicateContent        X refused identical text: evidence of an earlier success
    │   └── CannotDelete            the platform (or its publisher) offers no deletion
    └── Ambiguous                   the request may have been applied (timeout after sending,
                                    dropped connection, commit-then-error): look before resending

Each error keeps the platform's own code and message (for the attempt row) and a sentence a
press officer understands (`explanation`). Messages never contain secrets.

A platform module (scheduler/platforms/x.py, facebook.py) opens with its `PlatformSpec`
(spec.py), then implements `Publisher`; registry.py lists the modules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from posts.errors import FactpostError
from posts.media import Media  # the image value type, defined beside its checks


@dataclass(frozen=True)
class Account:
    """What a publisher needs of a configured account. `options` holds the keys only its
    platform reads (its spec's `options`, e.g. a Graph API version), by key."""

    name: str
    platform: str
    handle: str
    api_url: str
    timeout_seconds: float = 30.0
    options: Mapping[str, object] = field(default_factory=dict, hash=False)

    @property
    def env_prefix(self) -> str:
        """Where its secrets are read from: `FACTPOST_<NAME>_<FIELD>`, NAME upper-cased with
        every other character as `_`."""
        return "FACTPOST_" + re.sub(r"[^A-Za-z0-9]", "_", self.name).upper() + "_"

    def option(self, key: str, default: object = None) -> object:
        return self.options.get(key, default)


class CredentialsMissing(FactpostError):
    """An account's secrets are not in the environment; the message names the variables."""


@dataclass(frozen=True)
class Published:
    """Where a post now lives on the platform."""

    remote_id: str
    remote_url: str


@dataclass(frozen=True)
class RemotePost:
    """A post read back from the account's own timeline, used to settle ambiguous outcomes.

    `text` is the text as it was posted, as far as the platform lets it be restored (X's
    HTML escaping undone, its t.co links replaced by the addresses they stand for, the link
    it appends for an image taken off). `unresolved_links` are links the platform shortened
    without saying where they lead: `text` still holds them as the platform gave them.
    `reply_to` is the post it replies to (None: none). `has_media` says whether an image or
    video is attached, None where the platform's read does not say."""

    remote_id: str
    text: str
    created_at: datetime | None
    remote_url: str
    reply_to: str | None = None
    has_media: bool | None = None
    unresolved_links: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccountInfo:
    """What `accounts check` learns from the platform about the credentials' owner."""

    remote_id: str
    handle: str
    display_name: str


@dataclass(frozen=True)
class Budget:
    """At most `posts` publishes per `window_seconds`, per account (or per billing app)."""

    posts: int
    window_seconds: int


@dataclass(frozen=True)
class RateLimitState:
    """The platform's latest word on how many more requests this account may make.

    `remaining` is None when the platform did not say. `reset_at` is when the window
    reopens (UTC).
    """

    remaining: int | None
    reset_at: datetime | None


class PublishError(FactpostError):
    """Base of every platform failure. `str(err)` is the explanation for people."""

    explanation = "the platform refused the post"

    def __init__(self, explanation: str | None = None, *, code: str | None = None,
                 message: str | None = None, http_status: int | None = None) -> None:
        self.explanation = explanation or self.explanation
        self.code = code
        self.message = message
        self.http_status = http_status
        super().__init__(self.explanation)

    @property
    def outcome(self) -> str:
        """The attempt outcome name stored in the database for this error class."""
        return next(_OUTCOMES[c] for c in type(self).__mro__ if c in _OUTCOMES)


class Retryable(PublishError):
    explanation = "the platform was temporarily unavailable; factpost will try again"


class RateLimited(Retryable):
    explanation = "the account reached the platform's posting limit; factpost will wait"

    def __init__(self, explanation: str | None = None, *, reset_at: datetime | None = None,
                 **kwargs) -> None:
        super().__init__(explanation, **kwargs)
        self.reset_at = reset_at


class Permanent(PublishError):
    explanation = "the platform rejected the post; it needs a person's attention"


class CredentialsRejected(Permanent):
    explanation = ("the platform rejected the account's credentials; renew the tokens, "
                   "then run 'factpost accounts resume'")


class DuplicateContent(Permanent):
    explanation = "the platform refused the post as a duplicate of one already published"


class CannotDelete(Permanent):
    explanation = "factpost cannot delete posts on this platform; remove it by hand"


class Ambiguous(PublishError):
    explanation = ("the platform may or may not have published the post; factpost will check "
                   "the account's timeline before trying again")


_OUTCOMES = {
    RateLimited: "rate_limited",
    Retryable: "retryable",
    CredentialsRejected: "credentials_rejected",
    DuplicateContent: "duplicate",
    CannotDelete: "cannot_delete",
    Permanent: "permanent",
    Ambiguous: "ambiguous",
    PublishError: "error",
}


@dataclass(frozen=True)
class Deleted:
    """A post that is no longer on the platform: deleted by this request, or `already_gone`
    (the platform says no such post exists, e.g. deleted by an earlier request whose answer
    was lost, or by hand)."""

    remote_id: str
    already_gone: bool = False


def delete_post(publisher: Publisher, remote_id: str) -> Deleted:
    """Delete one post through `publisher`'s optional `delete` method (see `Deleter`).

    A publisher without one raises `CannotDelete`, naming the platform. Deleting is idempotent
    on the platform (a post is there or not), so after `Ambiguous` the same call may be made
    again: its answer (`Deleted`, perhaps `already_gone`) settles what the first did."""
    delete = getattr(publisher, "delete", None)
    if delete is None:
        raise CannotDelete(f"factpost cannot delete posts on {publisher.platform}; remove "
                           f"post {remote_id} by hand on the platform, then record it",
                           code="cannot_delete")
    return delete(remote_id)


@runtime_checkable
class Deleter(Protocol):
    """The optional part of a publisher that takes posts down (x.XPublisher,
    facebook.FacebookPublisher). A publisher without it cannot retract: `delete_post` says so."""

    def delete(self, remote_id: str) -> Deleted:
        """Delete the account's post `remote_id` (one post: a thread's parts are deleted one
        by one, by the caller, last part first).

        Returns `Deleted`; `already_gone` when the platform says there is no such post. Raises
        `Ambiguous` when the request may have been applied but no answer came (ask again:
        deleting is idempotent), `RateLimited`, `Retryable` when nothing was applied,
        `CredentialsRejected`, or `Permanent` when the platform refuses (not the account's
        post, or not deletable)."""
        ...


@runtime_checkable
class Publisher(Protocol):
    """Publishes to one account. Implementations: x.XPublisher, facebook.FacebookPublisher.

    Built by its module's `publisher(account, credentials)` from an `Account` and the secrets
    its spec names (`credentials`, keyed by field in lower case), without a network call.
    Methods never sleep on rate limits: they raise RateLimited instead.

    A publisher whose platform bills per request (its spec has `billing`) also has `app`, the
    billing account its requests are charged to, and `meter`, a settable `Meter` that every
    request is reported to (scheduler/spend.py gives it one writing to the ledger).
    """

    platform: str
    account_name: str

    def publish(self, text: str, *, reply_to: str | None = None, media: Media | None = None,
                key: str | None = None) -> Published:
        """Publish `text`, as a reply to remote post `reply_to` when given (a thread's parts),
        with `media` attached when given (already checked against the platform's limits).

        `key` names the post, the same on every attempt to send it. A platform that offers
        idempotency (a request key it remembers, a record key the client chooses) uses it so
        that a resend cannot duplicate the post; one that offers none ignores it, and the
        dispatcher reads the timeline before any resend instead.

        Raises a PublishError subclass on failure. A failure while uploading an image, before
        the post itself was requested, is never Ambiguous: no post can exist yet.
        """
        ...

    def recent_posts(self, limit: int = 100, since: datetime | None = None, *,
                     after_id: str | None = None, replies: bool = True) -> list[RemotePost]:
        """The account's own most recent posts, newest first: at most `limit`, and with
        `since`, paging back until a post older than `since` (which may be included).
        `after_id` names a post of the account known to be older than any wanted; a platform
        whose ids are ordered in time (X) asks only for posts newer than it. With `replies`
        False no reply is wanted, and a platform that bills reads (X) asks for none.

        Raises a PublishError subclass when the timeline cannot be read.
        """
        ...

    def check(self) -> AccountInfo:
        """Verify the credentials against the platform. Raises a PublishError subclass."""
        ...

    @property
    def rate_limit(self) -> RateLimitState | None:
        """What the last response said about the remaining allowance, if anything."""
        ...
