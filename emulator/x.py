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
(x_state.py), as X bills it. Reads and deletes are answered in x_reads.py.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping

from emulator.faults import FaultPlan, run_publish
from emulator.messages import FORM, Request, Response, json_response
from emulator.oauth import oauth_params, signature_matches
from emulator.world import DAY_SECONDS, StoredImage, Window, World, numeric_id
from emulator.x_pricing import MEDIA_METADATA, MEDIA_UPLOAD, create_operation
from emulator.x_reads import (
    INVALID_REQUEST,
    NOT_FOUND,
    PROBLEM,
    invalid_request,
    limited,
    not_found_error,
    problem,
    read,
    too_many_requests,
    unavailable,
    window_headers,
)
from emulator.x_state import GENEROUS_WINDOW, Tweet, XAccount, XState
from posts.media import sniff_image_type
from posts.weight import MAX_WEIGHTED_LENGTH, weighted_length

# Tweepy signs for its hard-coded host and a transport adapter may re-point the request here,
# so a signature is good if it verifies for the real hosts or for this server's own URL.
SIGNED_HOSTS = ("https://api.twitter.com", "https://api.x.com")
TOO_LONG = ("Your Tweet text is too long. For more information on how Twitter determines text "
            "length see https://github.com/twitter/twitter-text.")
DUPLICATE = "You are not allowed to create a Tweet with duplicate content."
REPLY_NOT_VISIBLE = "You attempted to reply to a Tweet that is deleted or not visible to you."
BAD_MEDIA_IDS = "Your media IDs are invalid."
# X's 403 for a post it will not take from this account, as a scheduler met it
# (https://github.com/joschan21/contentport/issues/49).
NOT_PERMITTED = "You are not permitted to perform this action."
# The one-request upload's documented `media_type` values (GIFs need the chunked upload).
UPLOAD_TYPES = ("image/jpeg", "image/bmp", "image/png", "image/webp", "image/pjpeg", "image/tiff")
UPLOAD_CATEGORIES = ("tweet_image", "dm_image", "subtitles")
MAX_IMAGE_BYTES = 5 * 1024 * 1024  # https://docs.x.com/x-api/media/introduction
MAX_ALT_TEXT = 1000
MEDIA_LIFETIME = 86_400  # seconds a media id stays usable, reported as expires_after_secs
ROUTES = (
    ("POST", re.compile(r"/2/tweets/?"), "POST /2/tweets"),
    ("POST", re.compile(r"/2/media/upload/?"), "POST /2/media/upload"),
    ("POST", re.compile(r"/2/media/metadata/?"), "POST /2/media/metadata"),
    ("DELETE", re.compile(r"/2/tweets/(\d{1,19})"), "DELETE /2/tweets/:id"),
    ("GET", re.compile(r"/2/tweets/(\d{1,19})"), "GET /2/tweets/:id"),
    ("GET", re.compile(r"/2/users/me"), "GET /2/users/me"),
    ("GET", re.compile(r"/2/users/(\d{1,19})/tweets"), "GET /2/users/:id/tweets"),
)


class XDouble:
    """The emulated X (emulator/doubles.py lists it)."""

    name = "x"
    # X refuses a post whose text repeats one of the account's recent posts, with a 403 and
    # DUPLICATE ("we currently reject tweets that have an exact string match to any tweet sent
    # recently", X's platform team on twitter-development-talk, 2009; listed as a 403 in
    # https://developer.x.com/en/support/x-api/error-troubleshooting and by schedulers, e.g.
    # https://www.postpeer.dev/errors/twitter).
    duplicates_refused = True

    def __init__(self, world: World, faults: FaultPlan, wait: Callable[[float], object]) -> None:
        self.world = world
        self.state = XState(world)
        self.faults = faults
        self.wait = wait

    def owns(self, request: Request) -> bool:
        return request.path.startswith("/2/")

    # Accounts and inspection ---------------------------------------------------------------
    def register(self, handle: str, credentials: Mapping[str, str]) -> None:
        """Accept an account's credentials as factpost holds them (its spec's fields)."""
        self.add_account(handle, **credentials)

    def add_account(self, handle: str, *, consumer_key: str, consumer_secret: str,
                    access_token: str, access_token_secret: str, user_id: str | None = None,
                    name: str | None = None) -> str:
        """Register (or update the credentials of) an X account; returns its user id."""
        handle = handle.lstrip("@")
        with self.world.lock:
            existing = self.state.accounts.get(handle.lower())
            holder = self.state.by_token(access_token)
            if holder is not None and holder is not existing:
                raise ValueError(f"X account @{handle}: its access token is already registered "
                                 f"for @{holder.handle}; give each account its own token")
            user_id = user_id or (existing.user_id if existing
                                  else numeric_id("x:" + handle.lower(), 18))
            secrets = {"consumer_key": consumer_key, "consumer_secret": consumer_secret,
                       "access_token": access_token, "access_token_secret": access_token_secret}
            if existing is None:
                self.state.accounts[handle.lower()] = XAccount(
                    handle=handle, user_id=user_id, name=name or handle, **secrets)
            else:
                existing.user_id, existing.name = user_id, name or existing.name
                for key, value in secrets.items():
                    setattr(existing, key, value)
        return user_id

    def tweets(self, handle: str) -> list[dict]:
        """{"id", "text", "in_reply_to", "created_at", "received_at", "media"} per tweet,
        oldest first. Hold no lock; raises KeyError for an unknown account."""
        with self.world.lock:
            return [t.snapshot() for t in self._account(handle).tweets]

    def posts(self, handle: str) -> list[dict]:
        """The account's posts in the emulator's common shape (doubles.py)."""
        return [{"id": t["id"], "text": t["text"], "reply_to": t["in_reply_to"],
                 "media": t["media"]} for t in self.tweets(handle)]

    def state_snapshot(self) -> dict:
        with self.world.lock:
            return {a.handle: [t.snapshot() for t in a.tweets]
                    for a in self.state.accounts.values()}

    def clear(self) -> None:
        with self.world.lock:
            self.state.clear()

    def set_limits(self, handle: str, *, window_limit: int, window_seconds: int = 900,
                   day_limit: int | None = None, app_day_limit: int | None = None) -> None:
        """Limit the account's POST /2/tweets per window, and per 24 hours (a legacy tier's
        per-user limit; X's pay-per-use terms have none); `app_day_limit` changes the 24-hour
        limit of every app (default 10,000, X's). Counters restart."""
        with self.world.lock:
            account = self._account(handle)
            account.post_window = Window(window_limit, window_seconds)
            account.post_day = Window(day_limit, DAY_SECONDS) if day_limit else None
            if app_day_limit is not None:
                self.state.app_day_limit = app_day_limit
                self.state.app_days.clear()

    def lift_limits(self, handle: str) -> None:
        self.set_limits(handle, window_limit=1_000_000)

    def _account(self, handle: str) -> XAccount:
        account = self.state.account(handle)
        if account is None:
            raise KeyError(f"no X account {handle!r} is registered with the emulator")
        return account

    # Serving -------------------------------------------------------------------------------
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
            response.headers.update(window_headers("x-rate-limit", Window(limit, seconds),
                                                   self.world.clock()))
            return response
        if endpoint == "POST /2/tweets":
            response = run_publish(self.faults.take(self.name),
                                   lambda: self._create(account, request),
                                   unavailable=unavailable,
                                   rate_limited=lambda: self._faked_limit(account),
                                   refused=lambda: problem(403, "Forbidden", NOT_PERMITTED),
                                   wait=self.wait)
        elif endpoint == "POST /2/media/upload":
            response = run_publish(self.faults.take(self.name),
                                   lambda: self._limited(account, endpoint,
                                                         lambda: self._upload(account, request)),
                                   unavailable=unavailable, rate_limited=too_many_requests,
                                   refused=lambda: problem(403, "Forbidden", NOT_PERMITTED),
                                   wait=self.wait)
        elif endpoint == "POST /2/media/metadata":
            response = self._limited(account, endpoint, lambda: self._metadata(account, request))
        elif endpoint == "DELETE /2/tweets/:id":
            # A delete changes the timeline as a create does, so it meets the same faults.
            response = run_publish(self.faults.take(self.name),
                                   lambda: read(self.state, account, endpoint, found.groups(),
                                                request),
                                   unavailable=unavailable, rate_limited=too_many_requests,
                                   refused=lambda: problem(403, "Forbidden", NOT_PERMITTED),
                                   wait=self.wait)
        else:
            response = read(self.state, account, endpoint, found.groups(), request)
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
            account = self.state.by_token(params.get("oauth_token", ""))
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
                                   self.state.app_day(account.consumer_key)) if w is not None]
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
        if (self.world.refuses_duplicates(self.name, self.duplicates_refused)
                and any(t.text == text for t in account.tweets)):
            return problem(403, "Forbidden", DUPLICATE)
        parent = self.state.find_tweet(reply_to) if reply_to else None
        if reply_to and parent is None:
            return problem(403, "Forbidden", REPLY_NOT_VISIBLE)
        tweet_id = self.state.next_snowflake()
        tweet = Tweet(id=tweet_id, text=text, author_id=account.user_id,
                      created_at=self.world.now(), in_reply_to=reply_to,
                      in_reply_to_user_id=parent[0].user_id if parent else None,
                      conversation_id=parent[1].conversation_id if parent else tweet_id,
                      media=media)
        for image in media:
            image.expires_at = float("inf")  # attached: it lives as long as the post
        account.tweets.append(tweet)
        self.state.charge(account, "POST /2/tweets", create_operation(text),
                          tweet_id=tweet_id)
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
        return limited(self.state, account, endpoint, handle)

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
        media_id = self.state.next_snowflake()
        self.world.images[media_id] = StoredImage(
            id=media_id, owner=account.user_id, mime_type=actual, content=content,
            expires_at=self.world.clock() + MEDIA_LIFETIME)
        self.state.charge(account, "POST /2/media/upload", MEDIA_UPLOAD)
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
        self.state.charge(account, "POST /2/media/metadata", MEDIA_METADATA)
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

    def _stamp(self, response: Response, account: XAccount, endpoint: str) -> None:
        with self.world.lock:
            now = self.world.clock()
            if endpoint == "POST /2/tweets":
                headers = {
                    **window_headers("x-rate-limit", account.post_window, now),
                    **window_headers("x-app-limit-24hour",
                                      self.state.app_day(account.consumer_key), now),
                }
                if account.post_day is not None:
                    headers.update(window_headers("x-user-limit-24hour", account.post_day,
                                                   now))
            else:
                headers = window_headers("x-rate-limit", account.read_window(endpoint), now)
        for name, value in headers.items():
            response.headers.setdefault(name, value)


