"""Facebook Pages through facebook-sdk's GraphAPI, with a Page access token.

- Posting: POST /{page-id}/feed, https://developers.facebook.com/docs/pages-api/posts
- Images: POST /{page-id}/photos with the file as multipart `source`, the post text as
  `caption` and the alt text as `alt_text_custom` (facebook-sdk's `put_photo`),
  https://developers.facebook.com/docs/graph-api/reference/page/photos. One request creates
  the photo and its feed story, so a failure after sending is as ambiguous as a text post's.
- Reading: GET /{page-id}/feed, GET /{page-id}
- Deleting: DELETE /{page-post-id} (facebook-sdk's `delete_object`) answers
  `{"success": true}`, https://developers.facebook.com/docs/pages-api/posts ("Delete a Post");
  a post that no longer exists is refused with code 100, subcode 33 ("Unsupported delete
  request. Object ... does not exist"),
  https://developers.facebook.com/docs/graph-api/guides/error-handling
- Versions: the account's `graph_version`; retirement dates and what Meta answers a retired
  version are in facebook_versions.py.
- Limits: one post may hold 63,206 characters. Throttling is signalled by error codes
  4/17/32/613 and the X-App-Usage / X-Business-Use-Case-Usage headers,
  https://developers.facebook.com/docs/graph-api/overview/rate-limiting
- facebook-sdk 3.1.0 never looks at the HTTP status (a 5xx without an `error` object reads as
  success; an HTML error page gives code None) and hides the usage headers, so a response hook
  on our session checks the status and reads the headers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from posts.media import GIF, JPEG, MB, PNG, Media, MediaRules
from posts.split import TextRules
from scheduler.platforms import facebook_versions as versions
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
from scheduler.platforms.http import Redactor, api_session, quiet, sort_transport_error
from scheduler.platforms.spec import Option, PlatformSpec, SettingsCheck

if TYPE_CHECKING:  # facebook-sdk and requests load with the first publisher, not with the spec
    import requests

DEFAULT_BASE = "https://graph.facebook.com"
# facebook-sdk puts access_token in the query string of the URLs it logs.
quiet("facebook")


def _version_problem(value: object) -> str | None:
    if isinstance(value, str) and versions.is_plausible(value):
        return None
    return f"{value!r} is not a Graph API version"


def _check_version(account: Account, today: date) -> SettingsCheck:
    version = str(account.option("graph_version", versions.DEFAULT_VERSION))
    status = versions.status(version, today)
    return SettingsCheck(
        details={"graph_version": version,
                 "graph_version_retires_on": (status.retires_on.isoformat()
                                              if status.retires_on else None)},
        message=status.message, refuse=status.state == versions.RETIRED)


SPEC = PlatformSpec(
    name="facebook",
    title="Facebook",
    docs="https://developers.facebook.com/docs/pages-api",
    # One post may hold 63,206 characters; a section longer than that is cut into numbered
    # posts, paragraphs kept whole where they fit. Pages have no reply-chain threads.
    text=TextRules(limit=63_206, measure=len, unit="characters", threads=False,
                   packs="paragraphs"),
    # JPEG, PNG or GIF (the formats Meta lists; WEBP is not among them). Meta "recommend[s]
    # uploading photos under 4MB" (https://developers.facebook.com/docs/graph-api/photo-uploads/;
    # third-party tools quote a 10 MB hard limit): factpost holds to the documented 4 MB.
    media=MediaRules(types=(JPEG, PNG, GIF), max_bytes=4 * MB, max_alt_chars=1000),
    # A Page access token.
    credentials=("PAGE_TOKEN",),
    handle="the Facebook page id",
    api_url=DEFAULT_BASE,
    # Meta documents no fixed post count for Pages; this default keeps a page well under the
    # spam heuristics (error 368) while the usage headers do the real pacing.
    budget=lambda options: Budget(50, 3_600),
    options=(Option("graph_version", versions.DEFAULT_VERSION, _version_problem,
                    f'use e.g. "{versions.DEFAULT_VERSION}" ({versions.VERSIONS_URL})'),),
    check_settings=_check_version,
)

TOKEN_ERRORS = {102, 190, 463, 467}
#: Graph's refusal of a request on an object it cannot find (code 100, subcode 33).
NO_SUCH_OBJECT = "100/33"
THROTTLE_ERRORS = {4, 17, 32, 613}
#: A call to a retired Graph version (see facebook_versions.py for the sources).
DEPRECATED_VERSION = 2635


class GraphHTTPError(Exception):
    """Raised by our response hook for any HTTP error status, before facebook-sdk sees it."""

    def __init__(self, response: requests.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


class FacebookPublisher:
    platform = SPEC.name

    def __init__(self, account: Account, credentials: Mapping[str, str], *,
                 session: requests.Session | None = None) -> None:
        self.account_name = account.name
        self.page = account.handle
        self._redact = Redactor(credentials.values())
        self._rate_limit: RateLimitState | None = None
        session = session or api_session(account, DEFAULT_BASE)
        session.hooks["response"].append(self._inspect)
        # facebook-sdk 3.1.0's constructor accepts only Graph versions 2.8-3.1, long retired.
        # The version is only a path prefix to it, so construct with an accepted one and set
        # the instance's own attribute; the library's globals stay untouched.
        import facebook

        self.graph = facebook.GraphAPI(access_token=credentials["page_token"],
                                       timeout=account.timeout_seconds, version="3.1",
                                       session=session)
        self.graph.version = SPEC.option(account, "graph_version")

    def __repr__(self) -> str:
        return f"FacebookPublisher(account={self.account_name!r}, page={self.page!r})"

    def publish(self, text: str, *, reply_to: str | None = None,
                media: Media | None = None, key: str | None = None) -> Published:
        # The Graph API takes no idempotency key (`key`): the timeline is read before a resend.
        if media is None:
            result = self._call(lambda: self.graph.put_object(self.page, "feed", message=text),
                                creating=True)
        else:
            result = self._call(lambda: self.graph.put_photo(
                (media.filename, media.content, media.mime_type),
                album_path=f"{self.page}/photos", caption=text,
                alt_text_custom=media.alt_text), creating=True)
        # A photo answers {"id": photo id, "post_id": feed post id}; the feed post is what
        # the timeline lists and what the permalink points at.
        post_id = str(result.get("post_id") or result.get("id") or "")
        if not post_id:
            raise Ambiguous("Facebook answered without a post id; factpost will check the "
                            "page before trying again", code="no_id",
                            message=self._redact(json.dumps(result)[:500]))
        return Published(post_id, permalink(post_id))

    def delete(self, remote_id: str) -> Deleted:
        """Delete one of the page's posts (base.Deleter). A delete is idempotent, so one
        whose answer was lost is settled by asking again."""
        try:
            result = self._call(lambda: self.graph.delete_object(remote_id), creating=True)
        except Ambiguous as exc:
            raise Ambiguous("Facebook did not confirm the deletion; factpost asks again "
                            "before saying whether the post is gone", code=exc.code,
                            message=exc.message, http_status=exc.http_status) from None
        except Permanent as exc:
            # Graph gives the same answer for a post it cannot load with this token; the
            # token published the post, so what it cannot find is gone.
            if exc.code == NO_SUCH_OBJECT and not isinstance(exc, CredentialsRejected):
                return Deleted(remote_id, already_gone=True)
            raise
        if not (isinstance(result, dict) and result.get("success") is True):
            raise Ambiguous("Facebook answered the deletion without saying it succeeded; "
                            "factpost asks again", code="no_success",
                            message=self._redact(json.dumps(result)[:500]))
        return Deleted(remote_id)

    def recent_posts(self, limit: int = 100, since: datetime | None = None, *,
                     after_id: str | None = None, replies: bool = True) -> list[RemotePost]:
        # Graph reads cost nothing and Page post ids are not ordered in time, so `after_id`
        # is not used; `since` stops the paging. A Page's feed holds no reply chains.
        posts: list[RemotePost] = []
        after: str | None = None
        while len(posts) < limit:
            cursor = {"after": after} if after else {}
            result = self._call(lambda c=cursor: self.graph.get_connections(
                self.page, "feed", fields="id,message,created_time,permalink_url",
                limit=min(limit - len(posts), 100), **c), creating=False)
            for item in result.get("data", []):
                created = item.get("created_time")
                posts.append(RemotePost(
                    str(item["id"]), item.get("message", ""),
                    datetime.strptime(created, "%Y-%m-%dT%H:%M:%S%z") if created else None,
                    item.get("permalink_url") or permalink(str(item["id"]))))
            paging = result.get("paging") or {}
            after = (paging.get("cursors") or {}).get("after") if paging.get("next") else None
            oldest = posts[-1].created_at if posts else None
            if not after or (since is not None and oldest is not None and oldest < since):
                break
        return posts[:limit]

    def check(self) -> AccountInfo:
        result = self._call(lambda: self.graph.get_object(self.page, fields="id,name"),
                            creating=False)
        return AccountInfo(str(result["id"]), self.page, result.get("name", ""))

    @property
    def rate_limit(self) -> RateLimitState | None:
        return self._rate_limit

    def _inspect(self, response: requests.Response, *args, **kwargs) -> None:
        self._rate_limit = usage_state(response.headers)
        if response.status_code >= 400:
            raise GraphHTTPError(response)

    def _call(self, request, *, creating: bool):
        import facebook
        import requests

        try:
            return request()
        except GraphHTTPError as exc:
            raise self._sort_http(exc.response, creating=creating) from None
        except facebook.GraphAPIError as exc:
            # A 2xx whose body holds an `error` object.
            raise self._sort_graph(exc.code, str(exc.message or exc), None,
                                   creating=creating, transient=False) from None
        except requests.RequestException as exc:
            raise sort_transport_error(exc, creating=creating, redact=self._redact,
                                       platform="Facebook") from None

    def _sort_http(self, response: requests.Response, *, creating: bool) -> PublishError:
        try:
            error = response.json().get("error") or {}
        except ValueError:
            error = {}
        return self._sort_graph(error.get("code"), error.get("message") or response.reason,
                                response.status_code, creating=creating,
                                transient=bool(error.get("is_transient")),
                                subcode=error.get("error_subcode"))

    def _sort_graph(self, code, message: str, status: int | None, *, creating: bool,
                    transient: bool, subcode=None) -> PublishError:
        message = self._redact(str(message))
        detail = f"{code}/{subcode}" if subcode else (str(code) if code is not None else None)
        common = {"code": detail or (str(status) if status else None), "message": message,
                  "http_status": status}
        if code in TOKEN_ERRORS:
            return CredentialsRejected("Facebook rejected the page token; renew it, then run "
                                       "'factpost accounts resume'", **common)
        if code in THROTTLE_ERRORS:
            state = self._rate_limit
            reset = (state.reset_at if state and state.reset_at
                     else datetime.now(UTC) + timedelta(hours=1))
            return RateLimited("Facebook is throttling this page; factpost will wait",
                               reset_at=reset, **common)
        if code == 506:
            return DuplicateContent("Facebook refused the post as a duplicate of a recent one",
                                    **common)
        if code == DEPRECATED_VERSION:
            # Meta names the version to move to; our own table may be older than Meta's.
            named = re.search(r"latest version: (v\d+\.\d+)", message)
            use = named.group(1) if named else versions.latest()
            return Permanent(f"Facebook refused Graph API {self.graph.version} as retired; "
                             f'set graph_version = "{use}" for this account in the config',
                             **common)
        if code == 368:
            return Permanent("Facebook blocked the post as possible misuse; check the page's "
                             "notifications before posting again", **common)
        if transient or code in (1, 2) or code is None or (status or 0) >= 500:
            if creating:
                return Ambiguous("Facebook reported an error; the post may be live, so "
                                 "factpost will check the page before trying again", **common)
            return Retryable("Facebook reported a temporary error; factpost will try again",
                             **common)
        return Permanent(f"Facebook rejected the post: {message}", **common)


def permalink(post_id: str) -> str:
    page, _, post = post_id.partition("_")
    if post:
        return f"https://www.facebook.com/{page}/posts/{post}"
    return f"https://www.facebook.com/{post_id}"


def usage_state(headers: Mapping[str, str]) -> RateLimitState | None:
    """Read X-App-Usage and X-Business-Use-Case-Usage (percentages of the allowance used)."""
    used, wait_minutes = 0.0, 0.0
    for name in ("x-app-usage", "x-page-usage", "x-ad-account-usage"):
        value = _json(headers.get(name))
        if isinstance(value, dict):
            used = max(used, *(float(v) for v in value.values()
                               if isinstance(v, int | float)), 0.0)
    buc = _json(headers.get("x-business-use-case-usage"))
    if isinstance(buc, dict):
        for entries in buc.values():
            for entry in entries if isinstance(entries, list) else []:
                used = max(used, *(float(entry.get(k, 0)) for k in
                                   ("call_count", "total_cputime", "total_time")))
                wait_minutes = max(wait_minutes,
                                   float(entry.get("estimated_time_to_regain_access", 0)))
    if used < 100 and wait_minutes <= 0:
        return None if used == 0 else RateLimitState(None, None)
    reset = datetime.now(UTC) + timedelta(minutes=wait_minutes or 60)
    return RateLimitState(0, reset)


def _json(value: str | None):
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


def publisher(account: Account, credentials: Mapping[str, str], *,
              session: requests.Session | None = None) -> FacebookPublisher:
    """The publisher of one Facebook Page (registry.py builds it)."""
    return FacebookPublisher(account, credentials, session=session)
