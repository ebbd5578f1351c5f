"""Bluesky through the atproto SDK (MarshalX/atproto), signed in with an app password.

- Signing in: com.atproto.server.createSession with the handle and an app password
  (https://docs.bsky.app/docs/api/com-atproto-server-create-session); the SDK refreshes the
  access JWT before it expires (refreshSession). createSession itself is limited to 30 per
  5 minutes and 300 a day per account, so a publisher signs in once and keeps its session.
- Posting: com.atproto.repo.createRecord of an `app.bsky.feed.post` record
  (https://docs.bsky.app/docs/advanced-guides/posts): 300 graphemes and 3,000 UTF-8 bytes of
  text (the lexicon's maxGraphemes and maxLength,
  https://github.com/bluesky-social/atproto/blob/main/lexicons/app/bsky/feed/post.json).
  Links, mentions and hashtags are facets with UTF-8 byte offsets
  (https://docs.bsky.app/docs/advanced-guides/post-richtext), found by the SDK's port of the
  official app's detection (`Client.detect_facets`; a mention whose handle does not resolve
  stays plain text, as in the app). A thread part replies with strong refs (uri + cid) to its
  root and its parent, read from the parent record.
- Images: com.atproto.repo.uploadBlob, then an `app.bsky.embed.images` embed with `alt`
  (https://docs.bsky.app/docs/advanced-guides/posts#images-embeds), up to 4 per post.
- Exactly once: the record key is chosen by us, a TID derived from the post's `key`
  (record_key), so every attempt at one post writes the same record. A PDS answers a create
  at a key that already holds a record with HTTP 500 InternalServerError (the repository's MST
  refuses the duplicate leaf and the error is not mapped:
  https://github.com/bluesky-social/indigo/issues/873,
  https://github.com/bluesky-social/atproto/pull/4728 proposes a named error). So after any
  create whose outcome is unclear (that 500, a timeout, a dropped connection) the publisher
  reads com.atproto.repo.getRecord at that key: a record with our text there is the post,
  published; none means nothing was applied, and a resend cannot duplicate it, because the
  server refuses a second record at the key.
- Deleting (retractions): com.atproto.repo.deleteRecord, which succeeds whether or not the
  record is there (https://github.com/bluesky-social/atproto/pull/690), so getRecord first says
  whether it was already gone.
- Reading back: app.bsky.feed.getAuthorFeed, ordered by time (record keys chosen from a hash
  are not), https://docs.bsky.app/docs/api/app-bsky-feed-get-author-feed
- Limits: 5,000 write points an hour and 35,000 a day per account, a create costing 3
  (https://docs.bsky.app/docs/advanced-guides/rate-limits); the RateLimit-* headers say what is
  left, a 429 `RateLimitExceeded` when nothing is.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from posts.media import GIF, JPEG, PNG, WEBP, Media, MediaRules
from posts.split import TextRules
from scheduler.platforms.base import (
    Account,
    AccountInfo,
    Ambiguous,
    Budget,
    CredentialsRejected,
    Deleted,
    DuplicateContent,
    Permanent,
    Published,
    PublishError,
    RateLimited,
    RateLimitState,
    RemotePost,
    Retryable,
)
from scheduler.platforms.http import Redactor, is_loopback, quiet
from scheduler.platforms.spec import PlatformSpec

if TYPE_CHECKING:  # the SDK and httpx load with the first publisher, not with the spec
    import httpx

DEFAULT_BASE = "https://bsky.social"
COLLECTION = "app.bsky.feed.post"
MAX_GRAPHEMES = 300
MAX_TEXT_BYTES = 3_000
# The lexicon allows 2,000,000 bytes now ("formerly limited to 1 MB",
# https://github.com/bluesky-social/atproto/blob/main/lexicons/app/bsky/embed/images.json);
# factpost holds to 1,000,000, which every PDS and AppView still running the older rule takes.
MAX_IMAGE_BYTES = 1_000_000
# The lexicon sets no bound on `alt`; the Bluesky app stops at 2,000 (MAX_ALT_TEXT in
# https://github.com/bluesky-social/social-app/blob/main/src/lib/constants.ts).
MAX_ALT_TEXT = 2_000
# https://docs.bsky.app/docs/advanced-guides/rate-limits: 5,000 points an hour, 3 a create.
CREATES_PER_HOUR = 5_000 // 3
# Errors that say the access token is no longer good; signing in again fixes them.
TOKEN_ERRORS = ("ExpiredToken", "InvalidToken")
# httpx logs each request line at INFO; httpcore logs at DEBUG. No secret is in a URL, but a
# library's DEBUG output is kept from handlers on principle (http.py).
quiet("httpx", "httpcore")

_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"


@functools.cache
def _graphemes():
    import regex  # extended grapheme clusters (UAX #29), as the app's `graphemer` counts them

    return regex.compile(r"\X")


def post_length(text: str) -> int:
    """A post's length against its 300: its graphemes, or a tenth of its UTF-8 bytes where the
    lexicon's 3,000-byte bound comes first (long emoji sequences), whichever is more."""
    graphemes = len(_graphemes().findall(text))
    return max(graphemes, -(-len(text.encode("utf-8")) * MAX_GRAPHEMES // MAX_TEXT_BYTES))


def record_key(key: str) -> str:
    """The record key every attempt at the post named `key` writes: a TID (13 characters of
    base32-sortable, top bit 0; https://atproto.com/specs/tid), as `app.bsky.feed.post`'s
    lexicon requires (`"key": "tid"`), taken from SHA-256 of `key`. Its timestamp bits mean
    nothing: record keys are chosen by clients and are not to be trusted as times
    (https://atproto.com/specs/record-key)."""
    value = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") >> 1
    return "".join(_TID_ALPHABET[(value >> (60 - 5 * i)) & 31] for i in range(13))


SPEC = PlatformSpec(
    name="bluesky",
    title="Bluesky",
    docs="https://docs.bsky.app/docs/advanced-guides/posts",
    text=TextRules(limit=MAX_GRAPHEMES, measure=post_length, unit="graphemes", threads=True,
                   numbering=" {position}/{size}"),
    # `accept: image/*` in the lexicon; the app posts these four.
    media=MediaRules(types=(JPEG, PNG, WEBP, GIF), max_bytes=MAX_IMAGE_BYTES,
                     max_alt_chars=MAX_ALT_TEXT),
    # The account's handle (or email) to sign in with, and an app password
    # (https://bsky.app/settings/app-passwords): never the account's own password.
    credentials=("HANDLE", "APP_PASSWORD"),
    handle="the Bluesky handle (office.bsky.social, or the office's own domain)",
    api_url=DEFAULT_BASE,
    budget=lambda options: Budget(CREATES_PER_HOUR, 3_600),
)


class BlueskyPublisher:
    platform = SPEC.name

    def __init__(self, account: Account, credentials: Mapping[str, str], *,
                 session: object | None = None) -> None:
        # `session` (a requests session) does not apply: the SDK speaks httpx, given here the
        # account's timeout and, on loopback, no proxies from the environment.
        from atproto import Client
        from atproto_client.request import Request

        self.account_name = account.name
        self.handle = account.handle
        self._login = credentials["handle"]
        self._password = credentials["app_password"]
        self._redact = Redactor(credentials.values())
        self._rate_limit: RateLimitState | None = None
        self._did: str | None = None
        request = Request(timeout=account.timeout_seconds,
                          trust_env=not is_loopback(account.api_url),
                          event_hooks={"response": [self._inspect]})
        self._client = Client(base_url=account.api_url, request=request)

    def __repr__(self) -> str:
        return f"BlueskyPublisher(account={self.account_name!r}, handle={self.handle!r})"

    # -- the contract -------------------------------------------------------------------------

    def publish(self, text: str, *, reply_to: str | None = None,
                media: Media | None = None, key: str | None = None) -> Published:
        from atproto import models

        did = self._signed_in()
        # Reads and the upload create no post: their failures are never Ambiguous.
        facets = self._call(lambda: self._client.detect_facets(text), creating=False) or None
        reply = self._reply_ref(reply_to) if reply_to else None
        embed = self._images(media) if media is not None else None
        from posts.sentences import detect_language

        record = models.AppBskyFeedPost.Record(
            text=text, created_at=self._client.get_current_time_iso(), facets=facets,
            reply=reply, embed=embed, langs=[detect_language(text)])
        rkey = record_key(key) if key else None
        data = models.ComAtprotoRepoCreateRecord.Data(repo=did, collection=COLLECTION,
                                                      record=record, rkey=rkey)
        try:
            created = self._call(lambda: self._client.com.atproto.repo.create_record(data),
                                 creating=True)
        except (Ambiguous, DuplicateContent):
            if rkey is None:
                raise
            found = self._record_at(did, rkey, text, reply_to)
            if found is None:
                raise
            return found
        return Published(created.uri, self._web_url(created.uri))

    def delete(self, remote_id: str) -> Deleted:
        """Delete one of the account's posts (base.Deleter) with com.atproto.repo.deleteRecord
        (https://docs.bsky.app/docs/api/com-atproto-repo-delete-record). deleteRecord succeeds
        whether or not the record is there (https://github.com/bluesky-social/atproto/pull/690),
        so the record is read first to say whether it was already gone; a delete whose answer
        was lost is settled by asking again."""
        from atproto import models

        did = self._signed_in()
        repo, _, rest = remote_id.removeprefix("at://").partition("/")
        collection, _, rkey = rest.partition("/")
        if repo != did or collection != COLLECTION or not rkey:
            raise Permanent(f"{remote_id} is not a post of this Bluesky account",
                            code="not_ours", message=remote_id)
        if self._get_record(remote_id) is None:
            return Deleted(remote_id, already_gone=True)
        data = models.ComAtprotoRepoDeleteRecord.Data(repo=did, collection=COLLECTION,
                                                      rkey=rkey)
        try:
            self._call(lambda: self._client.com.atproto.repo.delete_record(data), creating=True)
        except Ambiguous as exc:
            raise Ambiguous("Bluesky did not confirm the deletion; factpost asks again before "
                            "saying whether the post is gone", code=exc.code,
                            message=exc.message, http_status=exc.http_status) from None
        return Deleted(remote_id)

    def recent_posts(self, limit: int = 100, since: datetime | None = None, *,
                     after_id: str | None = None, replies: bool = True) -> list[RemotePost]:
        # Reads cost nothing and record keys are not ordered in time: `after_id` is not used.
        from atproto import models

        did = self._signed_in()
        posts: list[RemotePost] = []
        cursor: str | None = None
        while len(posts) < limit:
            params = models.AppBskyFeedGetAuthorFeed.Params(
                actor=did, limit=min(100, limit - len(posts)), cursor=cursor,
                filter="posts_with_replies" if replies else "posts_no_replies")
            page = self._call(lambda p=params: self._client.app.bsky.feed.get_author_feed(p),
                              creating=False)
            for item in page.feed:
                if item.reason is not None or item.post.author.did != did:
                    continue  # a repost, or another account's post in a thread
                posts.append(self._remote(item.post.uri, item.post.record,
                                          has_media=_has_images(item.post.embed)))
            cursor = page.cursor
            oldest = posts[-1].created_at if posts else None
            if not cursor or not page.feed or (since and oldest and oldest < since):
                break
        return posts[:limit]

    def check(self) -> AccountInfo:
        from atproto import models

        did = self._signed_in()
        profile = self._call(lambda: self._client.app.bsky.actor.get_profile(
            models.AppBskyActorGetProfile.Params(actor=did)), creating=False)
        return AccountInfo(did, profile.handle, profile.display_name or "")

    @property
    def rate_limit(self) -> RateLimitState | None:
        return self._rate_limit

    # -- pieces of a post -----------------------------------------------------------------------

    def _reply_ref(self, parent_uri: str):
        """Strong refs to the thread's root and to the parent, read from the parent record
        (a reply names both: https://docs.bsky.app/docs/advanced-guides/posts#replies)."""
        from atproto import models

        parent = self._get_record(parent_uri)
        if parent is None:
            raise Permanent("the post this part replies to is no longer on Bluesky; check the "
                            "thread", code="RecordNotFound", message=parent_uri)
        parent_ref = models.ComAtprotoRepoStrongRef.Main(uri=parent.uri, cid=parent.cid)
        above = getattr(parent.value, "reply", None)
        root = above.root if above is not None else parent_ref
        return models.AppBskyFeedPost.ReplyRef(root=root, parent=parent_ref)

    def _images(self, media: Media):
        from atproto import models

        blob = self._call(lambda: self._client.upload_blob(media.content), creating=False)
        return models.AppBskyEmbedImages.Main(images=[
            models.AppBskyEmbedImages.Image(alt=media.alt_text, image=blob.blob)])

    def _record_at(self, did: str, rkey: str, text: str,
                   reply_to: str | None) -> Published | None:
        """The post at our record key after an unclear create: Published when our record is
        there, None when nothing is (or it cannot be read: the caller's Ambiguous stands)."""
        uri = f"at://{did}/{COLLECTION}/{rkey}"
        try:
            found = self._get_record(uri)
        except PublishError:
            return None
        if found is None:
            return None
        reply = getattr(found.value, "reply", None)
        parent = reply.parent.uri if reply is not None else None
        if getattr(found.value, "text", None) != text or parent != reply_to:
            # The key is the post's, so this is an earlier version of it (edited since) or,
            # far less likely, another post's: either way a person must look.
            raise DuplicateContent(
                f"Bluesky already holds a different post at this post's record key ({uri}); "
                "check the account, then resolve the post", code="RecordExists", message=uri)
        return Published(found.uri, self._web_url(found.uri))

    def _get_record(self, uri: str):
        """com.atproto.repo.getRecord for `uri`; None when the PDS says RecordNotFound."""
        from atproto import models
        from atproto_client.exceptions import BadRequestError

        _, _, path = uri.partition("at://")
        repo, collection, rkey = path.split("/", 2)
        params = models.ComAtprotoRepoGetRecord.Params(repo=repo, collection=collection,
                                                       rkey=rkey)
        try:
            return self._client.com.atproto.repo.get_record(params)
        except BadRequestError as exc:
            if _error_name(exc) == "RecordNotFound":
                return None
            raise self._sort(exc, creating=False) from None
        except Exception as exc:
            raise self._sort(exc, creating=False) from None

    def _remote(self, uri: str, record, *, has_media: bool) -> RemotePost:
        reply = getattr(record, "reply", None)
        created = getattr(record, "created_at", None)
        return RemotePost(uri, getattr(record, "text", ""),
                          _parse_time(created) if created else None, self._web_url(uri),
                          reply_to=reply.parent.uri if reply is not None else None,
                          has_media=has_media or _has_images(getattr(record, "embed", None)))

    def _web_url(self, uri: str) -> str:
        return f"https://bsky.app/profile/{self.handle}/post/{uri.rsplit('/', 1)[-1]}"

    # -- the session and the sorting of failures ---------------------------------------------------

    def _signed_in(self) -> str:
        """The account's DID, signing in (createSession) the first time."""
        if self._did is None:
            self._call(lambda: self._client.login(self._login, self._password,
                                                  fetch_bsky_profile=False), creating=False,
                       signing_in=True)
            self._did = self._client._session.did  # the SDK keeps no public copy of it
        return self._did

    def _call(self, request, *, creating: bool, signing_in: bool = False):
        try:
            return request()
        except Exception as exc:
            if not signing_in and _error_name(exc) in TOKEN_ERRORS:
                # The access token was refused before anything was applied: sign in again
                # (the app password stands) and send the same request once more.
                self._did = None
                self._signed_in()
                try:
                    return request()
                except Exception as again:
                    raise self._sort(again, creating=creating) from None
            raise self._sort(exc, creating=creating, signing_in=signing_in) from None

    def _sort(self, exc: Exception, *, creating: bool, signing_in: bool = False
              ) -> PublishError:
        from atproto_client.exceptions import RequestErrorBase

        response = getattr(exc, "response", None) if isinstance(exc, RequestErrorBase) else None
        if response is None:
            return self._sort_transport(exc, creating=creating)
        status = response.status_code
        name = _error_name(exc)
        message = self._redact(_error_message(exc) or f"HTTP {status}")
        common = {"code": name or str(status), "message": message, "http_status": status}
        if (status == 401 and signing_in) or name in ("AccountTakedown", "AccountDeactivated"):
            return CredentialsRejected("Bluesky refused the handle and app password; make a new "
                                       "app password, then run 'factpost accounts resume'",
                                       **common)
        if status in (401, 403) or name in TOKEN_ERRORS:
            return CredentialsRejected("Bluesky refused the account's session; check the app "
                                       "password, then run 'factpost accounts resume'", **common)
        if status == 429:
            return RateLimited("Bluesky's write limit for this account is reached; factpost "
                               "will wait", reset_at=_reset_at(response.headers), **common)
        if status == 409 or name == "RecordAlreadyExists":
            # A PDS that names the taken record key (409 RecordAlreadyExists; the reference PDS
            # answers 500 instead, see above): evidence that an earlier attempt succeeded.
            return DuplicateContent("Bluesky already holds a record at this post's key",
                                    **common)
        if 400 <= status < 500 and status != 408:
            return Permanent(f"Bluesky refused the post: {message}", **common)
        if creating:
            return Ambiguous("Bluesky reported an error; the post may be live, so factpost "
                             "will look at its record before trying again", **common)
        return Retryable("Bluesky reported a temporary error; factpost will try again",
                         **common)

    def _sort_transport(self, exc: Exception, *, creating: bool) -> PublishError:
        import httpx

        cause = exc if isinstance(exc, httpx.HTTPError) else exc.__cause__
        message = self._redact(f"{type(cause or exc).__name__}: {cause or exc}")
        if isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout):
            return Retryable("Bluesky could not be reached; factpost will try again",
                             code="connection", message=message)
        if not isinstance(cause, httpx.HTTPError):
            # Not a transport failure: an answer the SDK could not read (a proxy's page).
            if creating:
                return Ambiguous("Bluesky gave an answer factpost cannot read; the post may be "
                                 "live, so factpost will look before trying again",
                                 code="unreadable", message=message)
            return Retryable("Bluesky gave an answer factpost cannot read; factpost will try "
                             "again", code="unreadable", message=message)
        if not creating:
            return Retryable("Bluesky did not answer; factpost will try again",
                             code="transport", message=message)
        if isinstance(cause, httpx.TimeoutException):
            return Ambiguous("Bluesky did not answer in time; the post may or may not be live, "
                             "so factpost will look before trying again", code="timeout",
                             message=message)
        return Ambiguous("the connection to Bluesky broke after the post was sent; factpost "
                         "will look before trying again", code="connection_lost",
                         message=message)

    def _inspect(self, response: httpx.Response) -> None:
        # Each endpoint reports its own limit (createSession's 30 per 5 minutes, a read's);
        # only the write points say how many more posts the account may make.
        if not response.request.url.path.endswith("/com.atproto.repo.createRecord"):
            return
        remaining = response.headers.get("ratelimit-remaining")
        if remaining is not None and remaining.isdigit():
            self._rate_limit = RateLimitState(int(remaining), _reset_at(response.headers))


def _has_images(embed) -> bool:
    """Whether an embed (a record's, or the AppView's view of it) holds images; a link card
    or a quoted post is not one."""
    return (getattr(embed, "py_type", None) or "").startswith("app.bsky.embed.images")


def _error_name(exc: Exception) -> str | None:
    content = getattr(getattr(exc, "response", None), "content", None)
    return getattr(content, "error", None)


def _error_message(exc: Exception) -> str | None:
    content = getattr(getattr(exc, "response", None), "content", None)
    message = getattr(content, "message", None)
    return message if message is not None else (str(exc) or None)


def _reset_at(headers: Mapping[str, str]) -> datetime:
    reset = str(headers.get("ratelimit-reset") or "")
    if reset.isdigit():
        return datetime.fromtimestamp(int(reset), UTC)
    return datetime.now(UTC) + timedelta(minutes=5)


def _parse_time(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def publisher(account: Account, credentials: Mapping[str, str], *,
              session: object | None = None) -> BlueskyPublisher:
    """The publisher of one Bluesky account (registry.py builds it)."""
    return BlueskyPublisher(account, credentials, session=session)
