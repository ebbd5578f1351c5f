"""Mastodon, on any instance, through Mastodon.py with an account's access token.

- Posting: POST /api/v1/statuses with `in_reply_to_id` for a thread's later parts, the
  account's `visibility` and `language`, and an `Idempotency-Key`,
  https://docs.joinmastodon.org/methods/statuses/#create. The key is derived from the post
  (the dispatcher's key, the same on every attempt, with the text, the parent and the image),
  and Mastodon keeps it for an hour: a repeat of the request inside that hour answers the status
  the first one made instead of making another (PostStatusService, `idempotency_duplicate`,
  https://github.com/mastodon/mastodon/blob/main/app/services/post_status_service.rb). The
  key is stored after the status is saved: a repeat overlapping that write is not covered.
- An ambiguous send is settled like any other: the dispatcher reads the account's statuses
  (GET /api/v1/accounts/:id/statuses, https://docs.joinmastodon.org/methods/accounts/#statuses)
  back to the first try; found = published with that id. Not found = sent again, with the same
  key, so a status that was still being made while we looked is answered back, not doubled,
  as long as the hour has not passed; after it, the read alone decides.
- Images: POST /api/v2/media with the alt text as `description`
  (https://docs.joinmastodon.org/methods/media/#v2), then the status with `media_ids`. The
  upload creates no status, so its failures are never ambiguous. Images are processed while
  the upload is answered (200); only video and audio answer 202 and process later.
- Limits: the instance's own, from GET /api/v2/instance (mastodon_text.py counts as Mastodon
  does), read once an hour per instance; Mastodon's defaults (500, URLs 23) where it cannot be
  read. Statuses: 300 per account per 3 hours
  (https://github.com/mastodon/mastodon/blob/main/app/lib/rate_limiter.rb); every response
  carries X-RateLimit-Limit/-Remaining/-Reset, and a refusal is 429
  (https://docs.joinmastodon.org/api/rate-limits/).
- Deleting: DELETE /api/v1/statuses/:id (https://docs.joinmastodon.org/methods/statuses/#delete)
  takes one status; its replies stay, so each part of a thread is deleted by itself.
- Errors are JSON {"error": "..."} with the HTTP status saying what happened
  (https://docs.joinmastodon.org/entities/Error/): 401 a bad token, 403 "This action is not
  allowed", 404 "Record not found" (a parent that is gone), 422 "Validation failed: ...", 429,
  503 "There was a temporary problem serving your request, please try again".
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from posts.media import GIF, JPEG, MB, PNG, WEBP, Media, MediaRules
from posts.split import TextRules
from scheduler.platforms import mastodon_text
from scheduler.platforms.base import (
    Account,
    AccountInfo,
    Ambiguous,
    Budget,
    CredentialsRejected,
    Deleted,
    Permanent,
    Published,
    PublishError,
    RateLimited,
    RateLimitState,
    RemotePost,
    Retryable,
)
from scheduler.platforms.http import Redactor, api_session, sort_transport_error
from scheduler.platforms.spec import Option, PlatformSpec

if TYPE_CHECKING:  # Mastodon.py and requests load with the first publisher, not with the spec
    import requests
    from mastodon import Mastodon

log = logging.getLogger(__name__)

DEFAULT_BASE = "https://mastodon.social"
VISIBILITIES = ("public", "unlisted", "private")
#: What Mastodon.py is told the server runs, so that it asks no version and uses the v2 media
#: upload (3.1.4+) and the v2 instance read (4.0+).
API_VERSION = "4.0.0"
#: How long an instance's limits are trusted, and how soon an unreadable one is asked again.
LIMITS_FRESH_SECONDS = 3_600
LIMITS_RETRY_SECONDS = 600
#: At most this many statuses a page (Mastodon's maximum `limit`).
PAGE = 40


def _visibility_problem(value: object) -> str | None:
    if value in VISIBILITIES:
        return None
    return f"{value!r} is not a Mastodon visibility"


SPEC = PlatformSpec(
    name="mastodon",
    title="Mastodon",
    docs="https://docs.joinmastodon.org/methods/statuses/",
    # Mastodon's defaults; each account's instance says its own (account_text below).
    text=mastodon_text.rules(),
    # The image types Mastodon processes (MediaAttachment::IMAGE_MIME_TYPES); 16 MB per image
    # and 1,500 characters of alt text (MediaAttachment::IMAGE_LIMIT, MAX_DESCRIPTION_LENGTH,
    # https://github.com/mastodon/mastodon/blob/main/app/models/media_attachment.rb; an
    # instance reports its own in configuration.media_attachments).
    media=MediaRules(types=(JPEG, PNG, GIF, WEBP), max_bytes=16 * MB, max_alt_chars=1500),
    # An access token with the write:statuses, write:media and read:statuses scopes.
    credentials=("ACCESS_TOKEN",),
    handle="the Mastodon username on its instance (set api_url to the instance)",
    api_url=DEFAULT_BASE,
    budget=lambda options: Budget(300, 3 * 3_600),
    options=(Option("visibility", "public", _visibility_problem,
                    'use "public", "unlisted" or "private" '
                    "(https://docs.joinmastodon.org/entities/Status/#visibility)"),),
    account_text=lambda account: instance_rules(account),
)


# The instance's limits --------------------------------------------------------------------------

_limits: dict[str, tuple[float, TextRules]] = {}
_limits_lock = threading.Lock()


def instance_rules(account: Account) -> TextRules:
    """The text rules of `account`'s instance, from GET /api/v2/instance (no token needed),
    kept for an hour; Mastodon's defaults, asked again in ten minutes, when it cannot be read."""
    key = account.api_url.rstrip("/")
    with _limits_lock:
        held = _limits.get(key)
    if held is not None and held[0] > time.monotonic():
        return held[1]
    found = _read_instance_rules(account)
    fresh = LIMITS_FRESH_SECONDS if found is not None else LIMITS_RETRY_SECONDS
    rules = found or SPEC.text
    with _limits_lock:
        _limits[key] = (time.monotonic() + fresh, rules)
    return rules


def _read_instance_rules(account: Account) -> TextRules | None:
    try:
        api = _client(account, None, timeout=min(account.timeout_seconds, 5.0))
        statuses = api.instance_v2()["configuration"]["statuses"]
        return mastodon_text.rules(
            int(statuses["max_characters"]),
            int(statuses.get("characters_reserved_per_url")
                or mastodon_text.DEFAULT_URL_CHARACTERS))
    except Exception as exc:  # unreachable, not Mastodon, or a limit below any post's
        log.warning("account %s: the instance's limits could not be read (%s); using "
                    "Mastodon's defaults", account.name, type(exc).__name__)
        return None


def _client(account: Account, token: str | None, *, timeout: float,
            session: requests.Session | None = None) -> Mastodon:
    from mastodon import Mastodon

    # ratelimit_method="throw": the library must never sleep on a limit (the dispatcher holds
    # the account instead); the version is stated so that it asks none.
    return Mastodon(access_token=token, api_base_url=account.api_url,
                    session=session or api_session(account, account.api_url),
                    request_timeout=timeout, ratelimit_method="throw",
                    version_check_mode="created", mastodon_version=API_VERSION)


# The publisher ----------------------------------------------------------------------------------

class MastodonPublisher:
    platform = SPEC.name

    def __init__(self, account: Account, credentials: Mapping[str, str], *,
                 session: requests.Session | None = None) -> None:
        self.account_name = account.name
        self.handle = account.handle
        self.visibility = str(SPEC.option(account, "visibility"))
        self.language = getattr(account, "language", None)
        self._redact = Redactor(credentials.values())
        self._api = _client(account, credentials["access_token"],
                            timeout=account.timeout_seconds, session=session)
        self._account_id: str | None = None
        self._rate_limit: RateLimitState | None = None

    def __repr__(self) -> str:
        return f"MastodonPublisher(account={self.account_name!r}, handle={self.handle!r})"

    def publish(self, text: str, *, reply_to: str | None = None, media: Media | None = None,
                key: str | None = None) -> Published:
        media_ids = None
        if media is not None:
            attachment = self._call(lambda: self._api.media_post(
                media.content, mime_type=media.mime_type, description=media.alt_text,
                file_name=media.filename), creating=False)
            if attachment.get("url") is None:  # 202: still processing (video, audio)
                raise Retryable("Mastodon is still processing the image; factpost will try "
                                "again", code="202", http_status=202)
            media_ids = [attachment["id"]]
        status = self._call(lambda: self._api.status_post(
            text, in_reply_to_id=reply_to, media_ids=media_ids, visibility=self.visibility,
            language=self.language, idempotency_key=idempotency_key(key, text, reply_to, media)),
            creating=True)
        remote_id = str(status.get("id") or "")
        if not remote_id:
            raise Ambiguous("Mastodon answered without a status id; factpost will check the "
                            "account before trying again", code="no_id")
        return Published(remote_id, status.get("url") or status.get("uri") or "")

    def delete(self, remote_id: str) -> Deleted:
        """Delete one of the account's statuses (base.Deleter): DELETE /api/v1/statuses/:id,
        https://docs.joinmastodon.org/methods/statuses/#delete. Mastodon answers 404 "Record
        not found" both for a status that is gone and for another account's (it looks the
        status up among the account's own), so a 404 is told apart by reading the status:
        still there = not ours (Permanent), gone = `already_gone`. A thread's replies stay."""
        from mastodon.errors import MastodonNotFoundError

        try:
            self._call(lambda: self._api.status_delete(remote_id), creating=True)
        except Ambiguous as exc:
            raise Ambiguous("Mastodon did not confirm the deletion; factpost asks again "
                            "before saying whether the post is gone", code=exc.code,
                            message=exc.message, http_status=exc.http_status) from None
        except Permanent as exc:
            if exc.http_status != 404:
                raise
            try:
                self._api.status(remote_id)
            except MastodonNotFoundError:
                return Deleted(remote_id, already_gone=True)
            except Exception:  # the read failed: whether it is ours is unknown
                raise Retryable("Mastodon could not say whether the post still exists; "
                                "factpost will try again", code="404") from None
            raise Permanent(f"status {remote_id} is not this account's; Mastodon deletes "
                            "only the account's own", code="404", http_status=404) from None
        return Deleted(remote_id)

    def recent_posts(self, limit: int = 100, since: datetime | None = None, *,
                     after_id: str | None = None, replies: bool = True) -> list[RemotePost]:
        # Reads are free and ids are not compared across daemons' clocks: `after_id` is not
        # used, `since` stops the paging.
        account_id = self._own_id()
        posts: list[RemotePost] = []
        page = self._call(lambda: self._api.account_statuses(
            account_id, exclude_replies=not replies, exclude_reblogs=True,
            limit=min(PAGE, limit)), creating=False)
        while page:
            posts += [remote_post(s) for s in page if not s.get("reblog")]
            oldest = posts[-1].created_at if posts else None
            if len(posts) >= limit or (since is not None and oldest and oldest < since):
                break
            page = self._call(lambda p=page: self._api.fetch_next(p), creating=False)
        return posts[:limit]

    def check(self) -> AccountInfo:
        me = self._call(self._api.account_verify_credentials, creating=False)
        self._account_id = str(me["id"])
        return AccountInfo(self._account_id, me.get("acct") or me.get("username") or "",
                           me.get("display_name") or "")

    @property
    def rate_limit(self) -> RateLimitState | None:
        return self._rate_limit

    def _own_id(self) -> str:
        if self._account_id is None:
            self.check()
        assert self._account_id is not None
        return self._account_id

    def _call(self, request, *, creating: bool):
        from mastodon.errors import (
            MastodonAPIError,
            MastodonError,
            MastodonNetworkError,
            MastodonRatelimitError,
        )

        try:
            result = request()
        except MastodonRatelimitError as exc:
            self._note_limits()
            reset = self._rate_limit.reset_at if self._rate_limit else None
            raise RateLimited("Mastodon's limit for this account is reached; factpost will "
                              "wait", reset_at=reset or datetime.now(UTC) + timedelta(minutes=5),
                              code="429", message=self._redact(str(exc)),
                              http_status=429) from None
        except MastodonNetworkError as exc:
            raise self._sort_network(exc, creating=creating) from None
        except MastodonAPIError as exc:
            self._note_limits()
            raise self._sort_api(exc, creating=creating) from None
        except MastodonError as exc:  # the library refused the call before sending it
            raise Permanent(f"Mastodon.py refused the request: {self._redact(str(exc))}",
                            code=type(exc).__name__) from None
        self._note_limits()
        return result

    def _note_limits(self) -> None:
        remaining = getattr(self._api, "ratelimit_remaining", None)
        reset = getattr(self._api, "ratelimit_reset", None)
        if remaining is not None or reset is not None:
            self._rate_limit = RateLimitState(
                remaining, datetime.fromtimestamp(reset, UTC) if reset else None)

    def _sort_network(self, exc: Exception, *, creating: bool) -> PublishError:
        import requests

        # Mastodon.py raises its network error inside its handler of the requests failure,
        # which stays as the context and says whether anything was sent.
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, requests.RequestException):
            return sort_transport_error(cause, creating=creating, redact=self._redact,
                                        platform=SPEC.title)
        message = self._redact(str(exc))
        if creating:
            return Ambiguous("the connection to Mastodon failed after the post was sent; "
                             "factpost will check the account before trying again",
                             code="connection_lost", message=message)
        return Retryable("Mastodon did not answer; factpost will try again",
                         code="transport", message=message)

    def _sort_api(self, exc: Exception, *, creating: bool) -> PublishError:
        args = list(exc.args) + [None] * 4
        status = args[1] if isinstance(args[1], int) else None
        detail = self._redact(str(args[3] or args[2] or args[0]))
        common = {"code": str(status) if status else type(exc).__name__, "message": detail,
                  "http_status": status}
        if status == 401:
            return CredentialsRejected("Mastodon rejected the access token; renew it, then run "
                                       "'factpost accounts resume'", **common)
        if status == 404 and creating:
            return Permanent("Mastodon no longer has the post this one replies to (or the "
                             f"endpoint): {detail}", **common)
        if status is not None and 400 <= status < 500 and status != 408:
            return Permanent(f"Mastodon refused the post: {detail}", **common)
        if creating:  # a 5xx, a proxy's page, an answer that is not JSON: it may have applied
            return Ambiguous("Mastodon reported an error; the post may be live, so factpost "
                             "will check the account before trying again", **common)
        return Retryable("Mastodon reported a temporary error; factpost will try again",
                         **common)


def idempotency_key(key: str | None, text: str, reply_to: str | None,
                    media: Media | None) -> str | None:
    """The Idempotency-Key of one post: its dispatcher key (the same on every attempt) with
    what is sent, so that another database's post with the same id but other content never
    gets an earlier status back. None without a key."""
    if key is None:
        return None
    digest = hashlib.sha256("\n".join([
        key, reply_to or "", media.sha256 if media else "", media.alt_text if media else "",
        text]).encode("utf-8")).hexdigest()
    return f"factpost-{digest[:40]}"


def remote_post(status: Mapping) -> RemotePost:
    """A status from the account's timeline, its text restored from its HTML."""
    created = status.get("created_at")
    if isinstance(created, str):
        created = datetime.fromisoformat(created.replace("Z", "+00:00"))
    return RemotePost(str(status["id"]),
                      mastodon_text.plain_text(status.get("content") or "",
                                               status.get("mentions") or ()),
                      created, status.get("url") or status.get("uri") or "",
                      reply_to=(str(status["in_reply_to_id"])
                                if status.get("in_reply_to_id") else None),
                      has_media=bool(status.get("media_attachments")))


def publisher(account: Account, credentials: Mapping[str, str], *,
              session: requests.Session | None = None) -> MastodonPublisher:
    """The publisher of one Mastodon account (registry.py builds it)."""
    return MastodonPublisher(account, credentials, session=session)
