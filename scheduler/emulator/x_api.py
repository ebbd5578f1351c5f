"""The part of the X API v2 that factpost uses, answered the way X answers it.

    POST   /2/tweets                https://docs.x.com/x-api/posts/create-post
    POST   /2/media/upload          https://docs.x.com/x-api/media/upload-media
    POST   /2/media/metadata        https://docs.x.com/x-api/media/create-media-metadata
    DELETE /2/tweets/:id            https://docs.x.com/x-api/posts/delete-post
    GET    /2/tweets/:id            https://docs.x.com/x-api/posts/get-post-by-id
    GET    /2/users/me              https://docs.x.com/x-api/users/get-my-user
    GET    /2/users/:id/tweets      https://docs.x.com/x-api/users/get-posts

Every request is signed with OAuth 1.0a user context. Error bodies are RFC 7807 problems, as X
sends them; every response carries the x-rate-limit-* headers of its endpoint, and
POST /2/tweets also the app's 24-hour allowance (and a user's, where a test sets a legacy
tier's). Posting follows X's pay-per-use limits, and every billable request goes on the bill
(billing.py), as X bills it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import json
import re
from collections.abc import Callable
from datetime import datetime

from posts.media import sniff_image_type
from posts.weight import X_MAX_WEIGHT, find_urls, weighted_length
from scheduler.emulator.billing import charge
from scheduler.emulator.faults import FaultPlan, run_publish
from scheduler.emulator.messages import FORM, Request, Response, json_response
from scheduler.emulator.oauth import oauth_params, signature_matches
from scheduler.emulator.state import (
    GENEROUS_WINDOW,
    StoredImage,
    Tweet,
    Window,
    World,
    XAccount,
    x_time,
)
from scheduler.publishers.x_terms import (
    MEDIA_METADATA,
    MEDIA_UPLOAD,
    POST_DELETE,
    POST_READ,
    USER_READ,
    create_operation,
)

MAX_WEIGHTED_LENGTH = X_MAX_WEIGHT
# Tweepy signs for its hard-coded host and a transport adapter may re-point the request here,
# so a signature is good if it verifies for the real hosts or for this server's own URL.
SIGNED_HOSTS = ("https://api.twitter.com", "https://api.x.com")
PROBLEM = "application/problem+json; charset=utf-8"
INVALID_REQUEST = "https://api.twitter.com/2/problems/invalid-request"
NOT_FOUND = "https://api.twitter.com/2/problems/resource-not-found"
TOO_LONG = ("Your Tweet text is too long. For more information on how Twitter determines text "
            "length see https://github.com/twitter/twitter-text.")
DUPLICATE = "You are not allowed to create a Tweet with duplicate content."
REPLY_NOT_VISIBLE = "You attempted to reply to a Tweet that is deleted or not visible to you."
BAD_MEDIA_IDS = "Your media IDs are invalid."
# The one-request upload's documented `media_type` values (GIFs need the chunked upload).
UPLOAD_TYPES = ("image/jpeg", "image/bmp", "image/png", "image/webp", "image/pjpeg", "image/tiff")
UPLOAD_CATEGORIES = ("tweet_image", "dm_image", "subtitles")
MAX_IMAGE_BYTES = 5 * 1024 * 1024  # https://docs.x.com/x-api/media/introduction
MAX_ALT_TEXT = 1000
MEDIA_LIFETIME = 86_400  # seconds a media id stays usable, reported as expires_after_secs
TWEET_FIELDS = (
    "article", "attachments", "author_id", "card_uri", "community_id", "context_annotations",
    "conversation_id", "created_at", "display_text_range", "edit_controls",
    "edit_history_tweet_ids", "entities", "geo", "id", "in_reply_to_user_id", "lang",
    "media_metadata", "non_public_metrics", "note_tweet", "organic_metrics",
    "possibly_sensitive", "promoted_metrics", "public_metrics", "referenced_tweets",
    "reply_settings", "scopes", "source", "text", "withheld",
)
ROUTES = (
    ("POST", re.compile(r"/2/tweets/?"), "POST /2/tweets"),
    ("POST", re.compile(r"/2/media/upload/?"), "POST /2/media/upload"),
    ("POST", re.compile(r"/2/media/metadata/?"), "POST /2/media/metadata"),
    ("DELETE", re.compile(r"/2/tweets/(\d{1,19})"), "DELETE /2/tweets/:id"),
    ("GET", re.compile(r"/2/tweets/(\d{1,19})"), "GET /2/tweets/:id"),
    ("GET", re.compile(r"/2/users/me"), "GET /2/users/me"),
    ("GET", re.compile(r"/2/users/(\d{1,19})/tweets"), "GET /2/users/:id/tweets"),
)


def problem(status: int, title: str, detail: str, *, type_: str = "about:blank",
            **extra) -> Response:
    payload = {"title": title, "detail": detail, "type": type_, "status": status, **extra}
    return json_response(status, payload, content_type=PROBLEM)


def invalid_request(errors: list[dict]) -> Response:
    return json_response(400, {"errors": errors, "title": "Invalid Request",
                               "detail": "One or more parameters to your request was invalid.",
                               "type": INVALID_REQUEST}, content_type=PROBLEM)


def not_found_error(kind: str, value: str) -> dict:
    return {"value": value, "detail": f"Could not find {kind} with id: [{value}].",
            "title": "Not Found Error", "resource_type": kind, "parameter": "id",
            "resource_id": value, "type": NOT_FOUND}


def too_many_requests() -> Response:
    return problem(429, "Too Many Requests", "Too Many Requests")


def unavailable() -> Response:
    return problem(503, "Service Unavailable", "Service Unavailable")


class XApi:
    def __init__(self, world: World, faults: FaultPlan, wait: Callable[[float], object]) -> None:
        self.world = world
        self.faults = faults
        self.wait = wait

    def handle(self, request: Request) -> Response:
        match = next(((endpoint, m) for method, pattern, endpoint in ROUTES
                      if method == request.method and (m := pattern.fullmatch(request.path))),
                     None)
        if match is None:
            return problem(404, "Not Found Error", f"Could not find {request.path}",
                           type_=NOT_FOUND)
        endpoint, found = match
        account = self._authenticate(request)
        if account is None:
            response = problem(401, "Unauthorized", "Unauthorized")
            response.auth_ok = False
            limit, seconds = GENEROUS_WINDOW
            response.headers.update(_window_headers("x-rate-limit", Window(limit, seconds),
                                                    self.world.clock()))
            return response
        if endpoint == "POST /2/tweets":
            response = run_publish(self.faults.take("x"), lambda: self._create(account, request),
                                   unavailable=unavailable,
                                   rate_limited=lambda: self._faked_limit(account),
                                   wait=self.wait)
        elif endpoint == "POST /2/media/upload":
            response = run_publish(self.faults.take("x"),
                                   lambda: self._limited(account, endpoint,
                                                         lambda: self._upload(account, request)),
                                   unavailable=unavailable,
                                   rate_limited=too_many_requests, wait=self.wait)
        elif endpoint == "POST /2/media/metadata":
            response = self._limited(account, endpoint, lambda: self._metadata(account, request))
        else:
            response = self._other(account, endpoint, found.groups(), request)
        if response.fault != "html_error":  # a proxy's page carries no X headers
            self._stamp(response, account, endpoint)
        response.auth_ok = True
        return response

    def _authenticate(self, request: Request) -> XAccount | None:
        authorization = request.headers.get("Authorization") or ""
        params = oauth_params(authorization)
        if not params:
            return None
        with self.world.lock:
            account = self.world.x_by_token(params.get("oauth_token", ""))
            if account is None or account.consumer_key != params.get("oauth_consumer_key"):
                return None
            secrets = account.consumer_secret, account.access_token_secret
        urls = [request.own_url()] + [host + request.target for host in SIGNED_HOSTS]
        form = request.body.decode("utf-8", "replace") if request.content_type == FORM else None
        ok = signature_matches(method=request.method, urls=urls, query=request.query_string,
                               form_body=form, authorization=authorization,
                               consumer_secret=secrets[0], token_secret=secrets[1])
        return account if ok else None

    # Publishing ----------------------------------------------------------------------------
    def _create(self, account: XAccount, request: Request) -> Response:
        with self.world.lock:
            now = self.world.clock()
            windows = [w for w in (account.post_window, account.post_day,
                                   self.world.app_day(account.consumer_key)) if w is not None]
            if any(w.exhausted(now) for w in windows):
                return too_many_requests()
            for window in windows:
                window.hit(now)
            return self._validated_create(account, request)

    def _validated_create(self, account: XAccount, request: Request) -> Response:
        try:
            body = request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return invalid_request([{"message": "Request body must be a JSON object."}])
        reply_to, text = None, body.get("text")
        if "reply" in body:
            reply = body["reply"]
            if not isinstance(reply, dict) or "in_reply_to_tweet_id" not in reply:
                return invalid_request([{
                    "parameters": {"$.reply": [json.dumps(reply)]},
                    "message": "$.reply.in_reply_to_tweet_id: is missing but it is required"}])
            reply_to = reply["in_reply_to_tweet_id"]
            if not isinstance(reply_to, str) or not re.fullmatch(r"[0-9]{1,19}", reply_to):
                return invalid_request([{
                    "parameters": {"reply.in_reply_to_tweet_id": [str(reply_to)]},
                    "message": "$.reply.in_reply_to_tweet_id: does not match the regex "
                               "^[0-9]{1,19}$"}])
        if not isinstance(text, str) or not text.strip():
            return invalid_request([{"parameters": {"text": [str(text or "")]},
                                     "message": "Tweet text must not be empty."}])
        if weighted_length(text) > MAX_WEIGHTED_LENGTH:
            return invalid_request([{"message": TOO_LONG}])
        media = self._attached_media(account, body)
        if isinstance(media, Response):
            return media
        if self.world.reject_duplicates and any(t.text == text for t in account.tweets):
            return problem(403, "Forbidden", DUPLICATE)
        parent = self.world.find_tweet(reply_to) if reply_to else None
        if reply_to and parent is None:
            return problem(403, "Forbidden", REPLY_NOT_VISIBLE)
        tweet_id = self.world.next_snowflake()
        tweet = Tweet(id=tweet_id, text=text, author_id=account.user_id,
                      created_at=self.world.now(), in_reply_to=reply_to,
                      in_reply_to_user_id=parent[0].user_id if parent else None,
                      conversation_id=parent[1].conversation_id if parent else tweet_id,
                      media=media)
        for image in media:
            image.expires_at = float("inf")  # attached: it lives as long as the post
        account.tweets.append(tweet)
        charge(self.world, account, "POST /2/tweets", create_operation(text), tweet_id=tweet_id)
        return json_response(201, {"data": {"id": tweet_id, "text": text,
                                             "edit_history_tweet_ids": [tweet_id]}})

    def _attached_media(self, account: XAccount, body: dict) -> list[StoredImage] | Response:
        if "media" not in body:
            return []
        ids = body["media"].get("media_ids") if isinstance(body["media"], dict) else None
        if (not isinstance(ids, list) or not 1 <= len(ids) <= 4
                or not all(isinstance(i, str) and re.fullmatch(r"[0-9]{1,19}", i) for i in ids)):
            return invalid_request([{"parameters": {"media.media_ids": [json.dumps(ids)]},
                                     "message": "$.media.media_ids: must be 1 to 4 numeric "
                                                "strings"}])
        now = self.world.clock()
        found = [self.world.images.get(i) for i in ids]
        if any(m is None or m.owner != account.user_id or m.expires_at < now for m in found):
            return invalid_request([{"parameters": {"media.media_ids": ids},
                                     "message": BAD_MEDIA_IDS}])
        return found

    # Media ---------------------------------------------------------------------------------
    def _limited(self, account: XAccount, endpoint: str, handle: Callable[[], Response]
                 ) -> Response:
        with self.world.lock:
            now = self.world.clock()
            window = account.read_window(endpoint)
            if window.exhausted(now):
                return too_many_requests()
            window.hit(now)
            return handle()

    def _upload(self, account: XAccount, request: Request) -> Response:
        if request.content_type == "multipart/form-data":
            fields = request.form
            part = request.files.get("media")
            content = part.content if part else None
        else:
            try:
                fields = request.json()
            except ValueError:
                fields = None
            if not isinstance(fields, dict):
                return invalid_request([{"message": "Request body must be a JSON object."}])
            try:
                content = (base64.b64decode(fields["media"], validate=True)
                           if isinstance(fields.get("media"), str) else None)
            except (binascii.Error, ValueError):
                return invalid_request([{"parameters": {"media": ["<binary>"]},
                                         "message": "$.media: is not valid base64"}])
        category, declared = fields.get("media_category"), fields.get("media_type")
        if not content:
            return invalid_request([{"message": "$.media: is missing but it is required"}])
        if category not in UPLOAD_CATEGORIES:
            return invalid_request([{"parameters": {"media_category": [str(category)]},
                                     "message": "$.media_category: does not have a value in "
                                                f"the enumeration {list(UPLOAD_CATEGORIES)}"}])
        if declared is not None and declared not in UPLOAD_TYPES:
            return invalid_request([{"parameters": {"media_type": [str(declared)]},
                                     "message": "$.media_type: does not have a value in the "
                                                f"enumeration {list(UPLOAD_TYPES)}"}])
        actual = sniff_image_type(content)
        if actual is None or actual not in UPLOAD_TYPES or declared not in (None, actual):
            return invalid_request([{"message": "media type unrecognized."}])
        if len(content) > MAX_IMAGE_BYTES:
            return invalid_request([{"message": "File size exceeds 5242880 bytes."}])
        media_id = self.world.next_snowflake()
        self.world.images[media_id] = StoredImage(
            id=media_id, owner=account.user_id, mime_type=actual, content=content,
            expires_at=self.world.clock() + MEDIA_LIFETIME)
        charge(self.world, account, "POST /2/media/upload", MEDIA_UPLOAD)
        return json_response(200, {"data": {
            "id": media_id, "media_key": f"3_{media_id}", "size": len(content),
            "expires_after_secs": MEDIA_LIFETIME,
            "image": {"image_type": actual}}})

    def _metadata(self, account: XAccount, request: Request) -> Response:
        try:
            body = request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("id"), str):
            return invalid_request([{"message": "$.id: is missing but it is required"}])
        image = self.world.images.get(body["id"])
        if image is None or image.owner != account.user_id:
            return json_response(400, {"errors": [not_found_error("media", body["id"])],
                                       "title": "Invalid Request", "type": INVALID_REQUEST},
                                 content_type=PROBLEM)
        alt = ((body.get("metadata") or {}).get("alt_text") or {}).get("text")
        if not isinstance(alt, str) or len(alt) > MAX_ALT_TEXT:
            return invalid_request([{"parameters": {"metadata.alt_text.text": [str(alt)[:50]]},
                                     "message": f"$.metadata.alt_text.text: must be a string "
                                                f"of at most {MAX_ALT_TEXT} characters"}])
        image.alt_text = alt
        charge(self.world, account, "POST /2/media/metadata", MEDIA_METADATA)
        return json_response(200, {"data": {"id": image.id, "associated_metadata": {
            "alt_text": {"text": alt}}}})

    def _faked_limit(self, account: XAccount) -> Response:
        response = too_many_requests()
        with self.world.lock:
            now = self.world.clock()
            window = account.post_window
            response.headers.update({
                "x-rate-limit-limit": str(window.limit), "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": str(max(window.reset_epoch(now), int(now) + 1))})
        return response

    # Reading and deleting ------------------------------------------------------------------
    def _other(self, account: XAccount, endpoint: str, args: tuple[str, ...],
              request: Request) -> Response:
        with self.world.lock:
            now = self.world.clock()
            window = account.read_window(endpoint)
            if window.exhausted(now):
                return too_many_requests()
            window.hit(now)
            if endpoint == "GET /2/users/me":
                charge(self.world, account, endpoint, USER_READ,
                       resources=[f"user:{account.user_id}"])
                return json_response(200, {"data": {"id": account.user_id, "name": account.name,
                                                    "username": account.handle}})
            if endpoint == "GET /2/users/:id/tweets":
                return self._timeline(account, args[0], request)
            if endpoint == "GET /2/tweets/:id":
                return self._lookup(account, args[0], request)
            return self._delete(account, args[0])

    def _timeline(self, reader: XAccount, user_id: str, request: Request) -> Response:
        owner = self.world.x_by_id(user_id)
        if owner is None:
            return json_response(200, {"errors": [not_found_error("user", user_id)]})
        fields = _tweet_fields(request)
        if isinstance(fields, Response):
            return fields
        raw_max = request.query.get("max_results", "10")
        if not raw_max.isdigit() or not 5 <= int(raw_max) <= 100:
            return invalid_request([{
                "parameters": {"max_results": [raw_max]},
                "message": f"The `max_results` query parameter value [{raw_max}] is not "
                           "between 5 and 100"}])
        tweets = sorted(owner.tweets, key=lambda t: int(t.id), reverse=True)
        for name, keep in (("since_id", lambda t, v: int(t.id) > v),
                           ("until_id", lambda t, v: int(t.id) < v)):
            if name in request.query:
                bound = _int_param(request.query[name])
                if bound is None:
                    return _bad_param(name, request.query[name])
                tweets = [t for t in tweets if keep(t, bound)]
        # start_time is inclusive, end_time exclusive, both to the second
        # (https://docs.x.com/x-api/users/get-posts).
        for name, keep_time in (("start_time", lambda t, v: t.created_at >= v),
                                ("end_time", lambda t, v: t.created_at < v)):
            if name in request.query:
                moment = _time_param(request.query[name])
                if moment is None:
                    return _bad_param(name, request.query[name])
                tweets = [t for t in tweets if keep_time(t, moment)]
        token = request.query.get("pagination_token")
        if token is not None:
            try:
                after = int(token, 36)
            except ValueError:
                return _bad_param("pagination_token", token)
            tweets = [t for t in tweets if int(t.id) < after]
        page = tweets[:int(raw_max)]
        if not page:
            return json_response(200, {"meta": {"result_count": 0}})
        charge(self.world, reader, "GET /2/users/:id/tweets", POST_READ,
               resources=[f"post:{t.id}" for t in page])
        meta = {"result_count": len(page), "newest_id": page[0].id, "oldest_id": page[-1].id}
        if len(tweets) > len(page):
            meta["next_token"] = _base36(int(page[-1].id))
        return json_response(200, {"data": [_render(t, fields) for t in page], "meta": meta})

    def _lookup(self, reader: XAccount, tweet_id: str, request: Request) -> Response:
        fields = _tweet_fields(request)
        if isinstance(fields, Response):
            return fields
        found = self.world.find_tweet(tweet_id)
        if found is None:
            return json_response(200, {"errors": [not_found_error("tweet", tweet_id)]})
        charge(self.world, reader, "GET /2/tweets/:id", POST_READ, resources=[f"post:{tweet_id}"])
        return json_response(200, {"data": _render(found[1], fields)})

    def _delete(self, account: XAccount, tweet_id: str) -> Response:
        found = self.world.find_tweet(tweet_id)
        if found is None:
            return json_response(200, {"data": {"deleted": False}})
        if found[0] is not account:
            return problem(403, "Forbidden", "You are not allowed to delete this Tweet.")
        account.tweets.remove(found[1])
        charge(self.world, account, "DELETE /2/tweets/:id", POST_DELETE, tweet_id=tweet_id)
        return json_response(200, {"data": {"deleted": True}})

    def _stamp(self, response: Response, account: XAccount, endpoint: str) -> None:
        with self.world.lock:
            now = self.world.clock()
            if endpoint == "POST /2/tweets":
                headers = {
                    **_window_headers("x-rate-limit", account.post_window, now),
                    **_window_headers("x-app-limit-24hour",
                                      self.world.app_day(account.consumer_key), now),
                }
                if account.post_day is not None:
                    headers.update(_window_headers("x-user-limit-24hour", account.post_day,
                                                   now))
            else:
                headers = _window_headers("x-rate-limit", account.read_window(endpoint), now)
        for name, value in headers.items():
            response.headers.setdefault(name, value)


def _window_headers(prefix: str, window: Window, now: float) -> dict[str, str]:
    return {f"{prefix}-limit": str(window.limit),
            f"{prefix}-remaining": str(window.remaining(now)),
            f"{prefix}-reset": str(window.reset_epoch(now))}


def _tweet_fields(request: Request) -> set[str] | Response:
    raw = request.query.get("tweet.fields", "")
    wanted = {f for f in raw.split(",") if f}
    unknown = sorted(wanted - set(TWEET_FIELDS))
    if unknown:
        return invalid_request([{
            "parameters": {"tweet.fields": [unknown[0]]},
            "message": f"The `tweet.fields` query parameter value [{unknown[0]}] is not one of "
                       f"[{','.join(TWEET_FIELDS)}]"}])
    return wanted


def returned_text(tweet: Tweet) -> str:
    """A post's text as X's reads give it back, not as it was sent: every link twitter-text
    finds (with or without a scheme) replaced by a t.co link
    (https://docs.x.com/fundamentals/counting-characters, "URLs"), a t.co link to the attached
    image appended, and "&", "<", ">" escaped as HTML entities
    (https://github.com/tweepy/tweepy/issues/1080)."""
    text, out, at = tweet.text, [], 0
    for n, (start, end) in enumerate(find_urls(text)):
        out += [text[at:start], _tco(tweet.id, str(n))]
        at = end
    out.append(text[at:])
    if tweet.media:
        out.append(" " + _tco(tweet.id, "media"))
    return html.escape("".join(out), quote=False)


def _tco(tweet_id: str, what: str) -> str:
    # t.co paths are ten letters and digits (twitter-text's validTcoUrl accepts only those).
    number = int.from_bytes(hashlib.sha256(f"{tweet_id}/{what}".encode()).digest()[:8], "big")
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    path = ""
    for _ in range(10):
        number, digit = divmod(number, 62)
        path += alphabet[digit]
    return "https://t.co/" + path


def _render(tweet: Tweet, fields: set[str]) -> dict:
    out: dict = {"id": tweet.id, "text": returned_text(tweet),
                 "edit_history_tweet_ids": [tweet.id]}
    if "created_at" in fields:
        out["created_at"] = x_time(tweet.created_at)
    if "author_id" in fields:
        out["author_id"] = tweet.author_id
    if "conversation_id" in fields:
        out["conversation_id"] = tweet.conversation_id
    if "attachments" in fields and tweet.media:
        out["attachments"] = {"media_keys": [f"3_{m.id}" for m in tweet.media]}
    if tweet.in_reply_to:
        if "in_reply_to_user_id" in fields and tweet.in_reply_to_user_id:
            out["in_reply_to_user_id"] = tweet.in_reply_to_user_id
        if "referenced_tweets" in fields:
            out["referenced_tweets"] = [{"type": "replied_to", "id": tweet.in_reply_to}]
    return out


def _time_param(value: str) -> datetime | None:
    """An ISO 8601 / RFC 3339 time as X takes it (YYYY-MM-DDTHH:mm:ssZ), or None."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _int_param(value: str) -> int | None:
    return int(value) if re.fullmatch(r"[0-9]{1,19}", value) else None


def _bad_param(name: str, value: str) -> Response:
    return invalid_request([{"parameters": {name: [value]},
                             "message": f"The `{name}` query parameter value [{value}] is not "
                                        "valid"}])


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while number:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
    return out or "0"
