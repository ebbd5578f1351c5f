"""X (formerly Twitter) through tweepy's API v2 Client, OAuth 1.0a user context.

- Posting: POST /2/tweets, https://docs.x.com/x-api/posts/create-post
  A thread is a reply chain (`in_reply_to_tweet_id` = the previous part's id).
- Images: POST /2/media/upload (one request, base64 `media` in JSON,
  https://docs.x.com/x-api/media/upload-media), then the alt text with POST /2/media/metadata
  (https://docs.x.com/x-api/media/create-media-metadata), then the post with `media_ids`.
  tweepy 4.17 only wraps the retired v1.1 upload, so these two go through tweepy's own request
  method: same session, same OAuth 1.0a signing, same error classes.
- Limits: 280 weighted characters (posts.weight, twitter-text v3); the posting limits and
  prices of X's pay-per-use terms are in x_terms.py; the x-rate-limit-* (and, where sent,
  x-user-limit-24hour-* / x-app-limit-24hour-*) response headers say what is left,
  https://docs.x.com/x-api/fundamentals/rate-limits
- Reading the timeline back: GET /2/users/:id/tweets with `start_time` and `since_id`
  (https://docs.x.com/x-api/users/get-posts), so X returns, and bills, only the posts made
  since our first try.
- Every request is reported to the publisher's `meter` with what X bills for it (x_terms.py):
  a create before it is sent and again once its outcome is known, reads with the resources
  they returned.
- Deleting: DELETE /2/tweets/:id (tweepy's `delete_tweet`), https://docs.x.com/x-api/posts/delete-post
  answers `{"data": {"deleted": true}}`; `deleted` false (or a 404) means X holds no such post.
  The endpoint takes one post (the docs name no cascade to replies; only an edited post's
  versions go together, https://docs.x.com/x-api/fundamentals/edit-posts), so each part of a
  thread is deleted by itself.
  Billed per request that deleted ($0.010, x_terms.py).
- The duplicate-content refusal is a 403 whose detail text is the only signal.
- `wait_on_rate_limit` sleeps inside the call, which would stall the daemon: never used.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from posts.media import JPEG, MB, PNG, WEBP, Media, MediaRules
from posts.split import TextRules
from posts.weight import (
    MAX_WEIGHTED_LENGTH,
    code_point_weight,
    weighted_length,
    weighted_length_of_parts,
)
from scheduler.platforms import x_terms
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
from scheduler.platforms.billing import Meter, NullMeter
from scheduler.platforms.http import Redactor, api_session, quiet, sort_transport_error
from scheduler.platforms.spec import Option, PlatformSpec

if TYPE_CHECKING:  # tweepy and requests load with the first publisher, not with the spec
    import requests
    import tweepy

DEFAULT_BASE = "https://api.twitter.com"
# tweepy logs request headers (the OAuth header) at DEBUG, oauthlib signature base strings.
quiet("tweepy", "requests_oauthlib", "oauthlib")


def _tier_problem(value: object) -> str | None:
    if value in x_terms.TIERS:
        return None
    return f"unknown X API tier {value!r}"


def _budget(options: Mapping[str, object]) -> Budget:
    return Budget(*x_terms.TIER_BUDGETS[str(options.get("tier", x_terms.PAY_PER_USE))])


SPEC = PlatformSpec(
    name="x",
    title="X",
    docs="https://docs.x.com/x-api",
    # twitter-text v3 weighting: URLs 23, emoji and CJK 2, Latin and Arabic 1
    # (https://docs.x.com/fundamentals/counting-characters); a thread is a reply chain.
    text=TextRules(limit=MAX_WEIGHTED_LENGTH, measure=weighted_length,
                   unit="weighted characters", threads=True, packs="sentences",
                   numbering=" {position}/{size}", char_weight=code_point_weight,
                   slow_measure=True, measure_parts=weighted_length_of_parts),
    # JPEG, PNG or WEBP up to 5 MB through the one-request v2 upload, whose `media_type` enum
    # has no GIF (GIFs need the chunked upload, which factpost does not use):
    # https://docs.x.com/x-api/media/introduction, https://docs.x.com/x-api/media/upload-media.
    # Alt text at most 1,000 characters: https://docs.x.com/x-api/media/create-media-metadata
    media=MediaRules(types=(JPEG, PNG, WEBP), max_bytes=5 * MB, max_alt_chars=1000),
    # OAuth 1.0a user context.
    credentials=("CONSUMER_KEY", "CONSUMER_SECRET", "ACCESS_TOKEN", "ACCESS_TOKEN_SECRET"),
    handle="the X username",
    api_url=DEFAULT_BASE,
    # X's pay-per-use limit for POST /2/tweets, or a legacy contract's (x_terms.py).
    budget=_budget,
    options=(Option("tier", x_terms.PAY_PER_USE, _tier_problem,
                    f'leave it out for X\'s pay-per-use terms, or use "free", "basic" or "pro" '
                    f"for a legacy contract ({x_terms.PRICING_URL})"),),
    billing=x_terms.BILLING,
    # Snowflake ids: https://docs.x.com/resources/fundamentals/x-ids
    ordered_ids=True,
)

_WINDOWS = (("x-rate-limit-remaining", "x-rate-limit-reset"),
            ("x-user-limit-24hour-remaining", "x-user-limit-24hour-reset"),
            ("x-app-limit-24hour-remaining", "x-app-limit-24hour-reset"))


class XPublisher:
    platform = SPEC.name

    def __init__(self, account: Account, credentials: Mapping[str, str], *,
                 session: requests.Session | None = None) -> None:
        self.account_name = account.name
        self.handle = account.handle
        self._redact = Redactor(credentials.values())
        self._headers: Mapping[str, str] = {}
        self._user_id: str | None = None
        #: The X app the account posts through; X bills (and limits) per app.
        self.app = x_terms.BILLING.app(credentials)
        self.meter: Meter = NullMeter()
        # Deletes whose answer was lost, by post id: the next delete of that post settles
        # what they were billed (X bills a delete that deleted).
        self._unsettled_deletes: dict[str, list[object]] = {}
        import tweepy

        self.client = tweepy.Client(
            consumer_key=credentials["consumer_key"],
            consumer_secret=credentials["consumer_secret"],
            access_token=credentials["access_token"],
            access_token_secret=credentials["access_token_secret"],
            wait_on_rate_limit=False)
        self.client.session = session or api_session(account, DEFAULT_BASE)
        self.client.session.hooks["response"].append(self._remember_headers)

    def __repr__(self) -> str:
        return f"XPublisher(account={self.account_name!r}, handle={self.handle!r})"

    def create_operation(self, text: str) -> str:
        """The billed operation `publish` of `text` starts on its meter (x_terms.py): the
        dispatcher writes its pending charge with the post's claim."""
        return x_terms.create_operation(text)

    def publish(self, text: str, *, reply_to: str | None = None,
                media: Media | None = None, key: str | None = None) -> Published:
        # X takes no idempotency key (`key`): the timeline is read before any resend.
        media_ids = [self.upload(media)] if media is not None else None
        token = self.meter.start(self.create_operation(text))
        try:
            response = self._call(lambda: self.client.create_tweet(
                text=text, in_reply_to_tweet_id=reply_to, media_ids=media_ids,
                user_auth=True), creating=True)
        except Ambiguous:
            self.meter.settle(token, charged=None)
            raise
        except PublishError:
            self.meter.settle(token, charged=False)
            raise
        tweet_id = str(response.data["id"])
        self.meter.settle(token, charged=True, remote_id=tweet_id)
        return Published(tweet_id, self.url_for(tweet_id))

    def delete(self, remote_id: str) -> Deleted:
        """Delete one of the account's posts (base.Deleter). A delete is idempotent, so one
        whose answer was lost is settled by asking again."""
        earlier = self._unsettled_deletes.pop(remote_id, [])
        token = self.meter.start(x_terms.POST_DELETE)
        try:
            response = self._call(lambda: self.client.delete_tweet(remote_id, user_auth=True),
                                  creating=True)
        except Ambiguous as exc:
            self.meter.settle(token, charged=None)
            self._unsettled_deletes[remote_id] = [*earlier, token]
            raise Ambiguous("X did not confirm the deletion; factpost asks again before "
                            "saying whether the post is gone", code=exc.code,
                            message=exc.message, http_status=exc.http_status) from None
        except PublishError as exc:
            self.meter.settle(token, charged=False)
            if exc.http_status != 404:
                self._unsettled_deletes[remote_id] = earlier
                raise
            deleted = False
        else:
            deleted = bool((response.data or {}).get("deleted"))
            self.meter.settle(token, charged=deleted)
        # The post is gone now: the last lost request deleted it unless this one did.
        for position, lost in enumerate(earlier, 1):
            self.meter.settle(lost, charged=not deleted and position == len(earlier))
        return Deleted(remote_id, already_gone=not deleted)

    def upload(self, media: Media) -> str:
        """Upload an image and set its alt text; returns the media id. Nothing is posted, so
        every failure here is safe to retry (creating=False)."""
        uploaded = self._call(lambda: self.client.request("POST", "/2/media/upload", json={
            "media": base64.b64encode(media.content).decode("ascii"),
            "media_category": "tweet_image", "media_type": media.mime_type},
            user_auth=True), creating=False)
        self.meter.record(x_terms.MEDIA_UPLOAD)
        media_id = str((uploaded.json().get("data") or {}).get("id") or "")
        if not media_id:
            raise Retryable("X accepted the image without returning its id; factpost will "
                            "upload it again", code="no_media_id")
        self._call(lambda: self.client.request("POST", "/2/media/metadata", json={
            "id": media_id, "metadata": {"alt_text": {"text": media.alt_text}}},
            user_auth=True), creating=False)
        self.meter.record(x_terms.MEDIA_METADATA)
        return media_id

    def recent_posts(self, limit: int = 100, since: datetime | None = None, *,
                     after_id: str | None = None, replies: bool = True) -> list[RemotePost]:
        """Newest first, each with its text as posted (`as_posted`); retweets left out (they
        are not the account's posts), and replies unless `replies`. With `since` and
        `after_id` (a post known to be older than any that matters), X is asked only for
        posts created since then: each returned post is billed (x_terms.py), so the window is
        what keeps a look at the timeline cheap."""
        user_id = self._user_id or self._me().remote_id
        posts: list[RemotePost] = []
        token = None
        bounds = {"start_time": since.astimezone(UTC) if since else None,
                  "since_id": after_id}
        # https://docs.x.com/x-api/users/get-posts `exclude`: every post returned is billed.
        exclude = ["retweets"] if replies else ["retweets", "replies"]
        while len(posts) < limit and not _reached(posts, since):
            page = self._call(lambda t=token: self.client.get_users_tweets(
                user_id, max_results=max(5, min(100, limit - len(posts))),
                pagination_token=t, exclude=exclude,
                tweet_fields=["created_at", "referenced_tweets", "entities", "attachments"],
                user_auth=True, **bounds), creating=False)
            returned = page.data or []
            self.meter.record(x_terms.POST_READ, units=len(returned),
                              resources=[f"post:{t.id}" for t in returned])
            for tweet in returned:
                replied = next((r.id for r in (tweet.referenced_tweets or [])
                                if r.type == "replied_to"), None)
                text, unresolved = as_posted(tweet.text, tweet.entities)
                posts.append(RemotePost(
                    str(tweet.id), text, tweet.created_at, self.url_for(str(tweet.id)),
                    str(replied) if replied else None,
                    has_media=bool((tweet.attachments or {}).get("media_keys")),
                    unresolved_links=unresolved))
            token = (page.meta or {}).get("next_token")
            if not token:
                break
        return posts[:limit]

    def check(self) -> AccountInfo:
        return self._me()

    @property
    def rate_limit(self) -> RateLimitState | None:
        """The most restrictive of the windows the last response reported."""
        states = []
        for remaining_key, reset_key in _WINDOWS:
            if remaining_key in self._headers and reset_key in self._headers:
                try:
                    states.append(RateLimitState(
                        int(self._headers[remaining_key]),
                        datetime.fromtimestamp(int(self._headers[reset_key]), UTC)))
                except ValueError:
                    continue
        if not states:
            return None
        exhausted = [s for s in states if s.remaining == 0]
        if exhausted:
            return max(exhausted, key=lambda s: s.reset_at)
        return min(states, key=lambda s: s.remaining)

    def url_for(self, tweet_id: str) -> str:
        return f"https://x.com/{self.handle}/status/{tweet_id}"

    def _me(self) -> AccountInfo:
        response = self._call(lambda: self.client.get_me(user_auth=True), creating=False)
        self._user_id = str(response.data.id)
        self.meter.record(x_terms.USER_READ, resources=[f"user:{self._user_id}"])
        return AccountInfo(self._user_id, response.data.username, response.data.name)

    def _remember_headers(self, response: requests.Response, *args, **kwargs) -> None:
        self._headers = response.headers

    def _call(self, request, *, creating: bool):
        import requests
        import tweepy

        try:
            return request()
        except tweepy.TweepyException as exc:
            raise self._sort(exc, creating=creating) from None
        except requests.RequestException as exc:
            raise sort_transport_error(exc, creating=creating, redact=self._redact,
                                       platform="X") from None

    def _sort(self, exc: tweepy.TweepyException, *, creating: bool) -> PublishError:
        import tweepy

        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None)
        detail = self._redact(" ".join(str(m) for m in getattr(exc, "api_messages", []))
                              or str(exc))
        codes = getattr(exc, "api_codes", [])
        code = str(codes[0]) if codes else (str(status) if status else None)
        common = {"code": code, "message": detail, "http_status": status}
        if isinstance(exc, tweepy.TooManyRequests):
            return RateLimited("X's posting limit for this account is reached; factpost will "
                               "wait until it resets", reset_at=self._reset_after_429(exc),
                               **common)
        if isinstance(exc, tweepy.Unauthorized):
            return CredentialsRejected("X rejected this account's credentials; renew the "
                                       "tokens, then run 'factpost accounts resume'", **common)
        if isinstance(exc, tweepy.Forbidden) and "duplicate" in detail.lower():
            return DuplicateContent("X refused the post because the same text is already "
                                    "on this account", **common)
        if isinstance(exc, tweepy.Forbidden):
            return Permanent(f"X refused the post: {detail}", **common)
        if isinstance(exc, tweepy.BadRequest | tweepy.NotFound):
            return Permanent(f"X rejected the request: {detail}", **common)
        if isinstance(exc, tweepy.TwitterServerError):
            if creating:
                # X is known to answer 503 after the tweet was in fact created.
                return Ambiguous("X reported a server error; the post may be live, so "
                                 "factpost will check the account before trying again",
                                 **common)
            return Retryable("X reported a server error; factpost will try again", **common)
        if creating:
            return Ambiguous(f"X gave an unexpected answer ({detail}); factpost will check "
                             "the account before trying again", **common)
        return Retryable(f"X gave an unexpected answer ({detail})", **common)

    def _reset_after_429(self, exc: tweepy.TooManyRequests) -> datetime | None:
        state = self.rate_limit
        if state is not None and state.remaining == 0:
            return state.reset_at
        reset = getattr(exc, "reset_time", None)
        return datetime.fromtimestamp(reset, UTC) if reset else None


#: X escapes these three, and only these, in the text it returns
#: (https://github.com/tweepy/tweepy/issues/1080).
_ESCAPED = re.compile("&(amp|lt|gt);")
_UNESCAPED = {"amp": "&", "lt": "<", "gt": ">"}
#: A t.co link as X writes it into returned text (https://help.x.com/en/using-x/url-shortener).
_TCO = re.compile(r"https?://t\.co/[A-Za-z0-9]+")


def as_posted(text: str, entities: Mapping | None) -> tuple[str, tuple[str, ...]]:
    """A post's text as it was sent, from `text` and `entities` as X returns them, and the t.co
    links no entity explains (left in the text as they are).

    X returns the text with "&", "<" and ">" escaped, which is undone once, exactly (a text
    that itself held "&amp;" reads "&amp;amp;"). It rewrites every link to a t.co address, so
    two posts that differ only in their link read the same; the `entities.urls` of each post
    say where each t.co link leads: `expanded_url`, the link as written, or where that is
    missing `unwound_url`, where it finally leads
    (https://docs.x.com/x-api/fundamentals/data-dictionary, Tweet `entities`). The t.co link X
    appends for an attached image (its entity has a `media_key`) is not text and is taken off.
    """
    text = _ESCAPED.sub(lambda m: _UNESCAPED[m.group(1)], text)
    targets: dict[str, str] = {}
    for entity in (entities or {}).get("urls") or ():
        short = entity.get("url")
        if not short:
            continue
        if entity.get("media_key"):
            targets[short] = ""
        elif entity.get("expanded_url") or entity.get("unwound_url"):
            targets[short] = entity.get("expanded_url") or entity["unwound_url"]
    unresolved: list[str] = []

    def restore(match: re.Match) -> str:
        if match.group() in targets:
            return targets[match.group()]
        unresolved.append(match.group())
        return match.group()

    return _TCO.sub(restore, text).rstrip(), tuple(unresolved)


def _reached(posts: list[RemotePost], since: datetime | None) -> bool:
    """Whether paging back has gone past `since` (the timeline is newest first)."""
    oldest = posts[-1].created_at if posts else None
    return since is not None and oldest is not None and oldest < since


def publisher(account: Account, credentials: Mapping[str, str], *,
              session: requests.Session | None = None) -> XPublisher:
    """The publisher of one X account (registry.py builds it)."""
    return XPublisher(account, credentials, session=session)
