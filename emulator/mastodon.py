"""The part of the Mastodon API that factpost uses, answered the way a Mastodon instance answers.

    GET    /api/v2/instance                 https://docs.joinmastodon.org/methods/instance/#v2
    GET    /api/v1/accounts/verify_credentials
                                            https://docs.joinmastodon.org/methods/accounts/#verify_credentials
    GET    /api/v1/accounts/:id/statuses    https://docs.joinmastodon.org/methods/accounts/#statuses
    POST   /api/v2/media                    https://docs.joinmastodon.org/methods/media/#v2
    POST   /api/v1/statuses                 https://docs.joinmastodon.org/methods/statuses/#create
    GET    /api/v1/statuses/:id             https://docs.joinmastodon.org/methods/statuses/#get
    DELETE /api/v1/statuses/:id             https://docs.joinmastodon.org/methods/statuses/#delete

A token is an `Authorization: Bearer` header; a wrong one is answered 401 as Doorkeeper does.
Errors are {"error": "..."} with Mastodon's statuses and messages
(https://docs.joinmastodon.org/entities/Error/, app/controllers/api/base_controller.rb). A
status made with an `Idempotency-Key` is remembered for an hour: the same key again answers
the same status. Every authenticated answer carries X-RateLimit-Limit/-Remaining/-Reset (an
ISO 8601 time), from the statuses family (300 per 3 hours) on a create and the per-token API
limit (300 per 5 minutes) on the rest (https://docs.joinmastodon.org/api/rate-limits/). Mastodon
never refuses a status for repeating another, so neither does this double.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode

from emulator import mastodon_state as ms
from emulator.faults import FaultPlan, run_publish
from emulator.messages import Request, Response, json_response
from emulator.world import StoredImage, Window, World, numeric_id
from posts.media import sniff_image_type

BAD_TOKEN = "The access token is invalid"
NOT_FOUND = "Record not found"
NOT_ALLOWED = "This action is not allowed"
UNAVAILABLE = "There was a temporary problem serving your request, please try again"
TOO_MANY = "Too many requests"
STATUS = re.compile(r"/api/v1/statuses/(\d+)/?")
ACCOUNT_STATUSES = re.compile(r"/api/v1/accounts/(\d+)/statuses/?")
VISIBILITIES = ("public", "unlisted", "private", "direct")


class MastodonDouble:
    """The emulated Mastodon instance (emulator/doubles.py lists it)."""

    name = "mastodon"
    # Mastodon takes the same text twice (its documentation names no refusal; the
    # Idempotency-Key is the client's way to avoid a second copy), and has no refusal to play.
    duplicates_refused = False
    refusal_exists = False

    def __init__(self, world: World, faults: FaultPlan, wait: Callable[[float], object]) -> None:
        self.world, self.faults, self.wait = world, faults, wait
        self.accounts: dict[str, ms.MastodonAccount] = {}
        self.ids = ms.Snowflake()
        self.max_characters = ms.MAX_CHARACTERS
        self.url_characters = ms.URL_CHARACTERS
        # How long an injected rate_limit fault holds the account (tests use a second).
        self.throttle_seconds = 300.0

    def owns(self, request: Request) -> bool:
        return request.path.startswith(("/api/v1/", "/api/v2/"))

    # Accounts and inspection ---------------------------------------------------------------
    def register(self, handle: str, credentials: Mapping[str, str]) -> None:
        with self.world.lock:
            account = self.accounts.get(handle)
            if account is None:
                self.accounts[handle] = ms.MastodonAccount(
                    numeric_id("mastodon:" + handle.lower(), 18), handle,
                    credentials["access_token"])
            else:
                account.token = credentials["access_token"]

    def set_limits(self, *, max_characters: int | None = None,
                   url_characters: int | None = None) -> None:
        """The instance's own status limits, as /api/v2/instance reports and creates enforce."""
        with self.world.lock:
            self.max_characters = max_characters or self.max_characters
            self.url_characters = url_characters or self.url_characters

    def posts(self, handle: str) -> list[dict]:
        with self.world.lock:
            return [{"id": s.id, "text": s.text, "reply_to": s.in_reply_to_id,
                     "media": [m.snapshot() for m in s.media]}
                    for s in self.accounts[handle].statuses if not s.deleted]

    def statuses(self, handle: str) -> list[dict]:
        """The account's statuses as the API renders them, oldest first."""
        with self.world.lock:
            account = self.accounts[handle]
            return [self._render(s, account, "emulator") for s in account.statuses
                    if not s.deleted]

    def lift_limits(self, handle: str) -> None:
        with self.world.lock:
            account = self.accounts[handle]
            account.statuses_window = Window(10**9, ms.STATUSES_PERIOD)
            account.api_window = Window(10**9, ms.API_PERIOD)

    def state_snapshot(self) -> dict:
        return {h: self.statuses(h) for h in self.accounts}

    def clear(self) -> None:
        with self.world.lock:
            for account in self.accounts.values():
                account.statuses.clear()
                account.keys.clear()
                account.pending.clear()
                account.statuses_window = Window(ms.STATUSES_LIMIT, ms.STATUSES_PERIOD)
                account.api_window = Window(ms.API_LIMIT, ms.API_PERIOD)
                account.throttled_until = 0.0

    # Serving -------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        domain = request.headers.get("Host") or "localhost"
        if (request.method, path) == ("GET", "/api/v2/instance"):
            return self._instance(domain)
        token = (request.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        with self.world.lock:
            account = next((a for a in self.accounts.values() if a.token == token), None)
        if account is None:
            response = json_response(401, {"error": BAD_TOKEN}, headers={
                "WWW-Authenticate": 'Bearer realm="Doorkeeper", error="invalid_token", '
                                    f'error_description="{BAD_TOKEN}"'})
            response.auth_ok = False
            return response
        if request.method == "DELETE" and STATUS.fullmatch(path):
            # A delete changes the timeline as a create does, so it meets the same faults.
            status_id = STATUS.fullmatch(path).group(1)
            response = run_publish(
                self.faults.take(self.name),
                lambda: self._one(account, status_id, "DELETE", domain),
                unavailable=lambda: json_response(503, {"error": UNAVAILABLE}),
                rate_limited=lambda: self._throttle(account), wait=self.wait,
                refused=lambda: json_response(403, {"error": NOT_ALLOWED}))
        elif (request.method, path) == ("POST", "/api/v1/statuses"):
            response = run_publish(
                self.faults.take(self.name), lambda: self._create(account, request, domain),
                unavailable=lambda: json_response(503, {"error": UNAVAILABLE}),
                rate_limited=lambda: self._throttle(account), wait=self.wait,
                refused=lambda: json_response(403, {"error": NOT_ALLOWED}))
        else:
            response = self._read(account, request, path, domain)
            if response.status != 429:
                self._stamp(response, account.api_window)
        response.auth_ok = True
        return response

    def _read(self, account: ms.MastodonAccount, request: Request, path: str,
              domain: str) -> Response:
        with self.world.lock:
            now = self.world.clock()
            if account.api_window.exhausted(now):
                return self._too_many(account.api_window, now)
            account.api_window.hit(now)
        if (request.method, path) == ("GET", "/api/v1/accounts/verify_credentials"):
            return json_response(200, {**self._account(account, domain),
                                       "source": {"privacy": "public", "language": None}})
        if (request.method, path) == ("POST", "/api/v2/media"):
            return self._upload(account, request, domain)
        if (match := ACCOUNT_STATUSES.fullmatch(path)) and request.method == "GET":
            return self._list(match.group(1), request, domain)
        if (match := STATUS.fullmatch(path)) and request.method in ("GET", "DELETE"):
            return self._one(account, match.group(1), request.method, domain)
        return json_response(404, {"error": NOT_FOUND})

    def _instance(self, domain: str) -> Response:
        with self.world.lock:
            statuses = {"max_characters": self.max_characters, "max_media_attachments":
                        ms.MAX_MEDIA, "characters_reserved_per_url": self.url_characters}
        return json_response(200, {
            "domain": domain, "title": "factpost emulator", "version": "4.3.0",
            "source_url": "https://github.com/mastodon/mastodon",
            "api_versions": {"mastodon": 2},
            "configuration": {
                "urls": {"streaming": f"wss://{domain}"},
                "statuses": statuses,
                "media_attachments": {"supported_mime_types": list(ms.IMAGE_TYPES),
                                      "image_size_limit": ms.IMAGE_SIZE_LIMIT,
                                      "description_limit": ms.DESCRIPTION_LIMIT},
            },
            "registrations": {"enabled": False, "approval_required": True},
        })

    # Creating ------------------------------------------------------------------------------
    def _create(self, account: ms.MastodonAccount, request: Request, domain: str) -> Response:
        params = _params(request)
        key = request.headers.get("Idempotency-Key")
        with self.world.lock:
            now = self.world.clock()
            if key and key in account.keys and account.keys[key][1] > now:
                # PostStatusService#idempotency_duplicate: the status the key made, again.
                known = next((s for s in account.statuses if s.id == account.keys[key][0]),
                             None)
                if known is not None:
                    return self._stamped(200, self._render(known, account, domain),
                                         account.statuses_window)
            if account.throttled_until > now:
                return self._too_many(account.statuses_window, now, account.throttled_until)
            if account.statuses_window.exhausted(now):
                return self._too_many(account.statuses_window, now)
            text = params.get("status") or ""
            media_ids = params.get("media_ids[]") or params.get("media_ids") or []
            if len(media_ids) > ms.MAX_MEDIA:
                return json_response(422, {"error": "Validation failed: You cannot attach more "
                                                    "than 4 files."})
            media = [account.pending[i] for i in media_ids if i in account.pending]
            if not text.strip() and not media:
                return json_response(422, {"error": "Validation failed: Text can't be blank"})
            if ms.status_length(text, self.url_characters) > self.max_characters:
                return json_response(422, {"error": "Validation failed: Text character limit "
                                                    f"of {self.max_characters} exceeded"})
            reply_to = params.get("in_reply_to_id") or None
            if reply_to and not any(s.id == reply_to and not s.deleted
                                    for a in self.accounts.values() for s in a.statuses):
                return json_response(404, {"error": NOT_FOUND})
            visibility = params.get("visibility") or "public"
            if visibility not in VISIBILITIES:
                return json_response(422, {"error": "Validation failed: Visibility is not "
                                                    "included in the list"})
            content, mentions = ms.format_status(text, domain)
            status = ms.Status(self.ids.next(now), text, content, mentions, self.world.now(),
                               reply_to, visibility, params.get("language") or None, media)
            for image in media:
                account.pending.pop(image.id, None)
            account.statuses.append(status)
            account.statuses_window.hit(now)
            if key:
                account.keys[key] = (status.id, now + ms.IDEMPOTENCY_SECONDS)
            return self._stamped(200, self._render(status, account, domain),
                                 account.statuses_window)

    def _upload(self, account: ms.MastodonAccount, request: Request, domain: str) -> Response:
        upload = request.files.get("file")
        description = request.form.get("description") or None
        content = upload.content if upload else b""
        kind = sniff_image_type(content)
        if upload is None:
            return json_response(422, {"error": "Validation failed: File can't be blank"})
        if kind not in ms.IMAGE_TYPES:
            return json_response(422, {"error": "Validation failed: File content type is "
                                                "invalid, File is invalid"})
        if len(content) > ms.IMAGE_SIZE_LIMIT:
            return json_response(422, {"error": "Validation failed: File file size must be "
                                                "less than 16 MB"})
        if description and len(description) > ms.DESCRIPTION_LIMIT:
            return json_response(422, {"error": "Validation failed: Description is too long "
                                                "(maximum is 1500 characters)"})
        with self.world.lock:
            image = StoredImage(self.ids.next(self.world.clock()), account.id, kind, content,
                                description)
            self.world.images[image.id] = image
            account.pending[image.id] = image
        # Images are processed before the answer: 200 with its URL (202 is for video/audio).
        return json_response(200, _attachment(image, domain))

    # Reading -------------------------------------------------------------------------------
    def _list(self, account_id: str, request: Request, domain: str) -> Response:
        query = request.query
        with self.world.lock:
            owner = next((a for a in self.accounts.values() if a.id == account_id), None)
            if owner is None:
                return json_response(404, {"error": NOT_FOUND})
            found = [s for s in reversed(owner.statuses) if not s.deleted]
        if query.get("exclude_replies") in ("1", "true"):
            found = [s for s in found if s.in_reply_to_id is None]
        for bound, keep in (("max_id", lambda s, b: int(s.id) < b),
                            ("since_id", lambda s, b: int(s.id) > b),
                            ("min_id", lambda s, b: int(s.id) > b)):
            if query.get(bound, "").isdigit():
                found = [s for s in found if keep(s, int(query[bound]))]
        limit = min(int(query["limit"]) if query.get("limit", "").isdigit() else 20, 40)
        page = found[:limit]
        with self.world.lock:
            body = [self._render(s, owner, domain) for s in page]
        headers = {}
        if page:
            kept = {k: v for k, v in query.items()
                    if k in ("limit", "exclude_replies", "exclude_reblogs", "only_media")}
            base = f"https://{domain}/api/v1/accounts/{account_id}/statuses?"
            headers["Link"] = (f'<{base}{urlencode({**kept, "max_id": page[-1].id})}>; '
                               f'rel="next", <{base}{urlencode({**kept, "min_id": page[0].id})}'
                               '>; rel="prev"')
        return json_response(200, body, headers=headers)

    def _one(self, account: ms.MastodonAccount, status_id: str, method: str,
             domain: str) -> Response:
        with self.world.lock:
            for owner in self.accounts.values():
                status = next((s for s in owner.statuses if s.id == status_id
                               and not s.deleted), None)
                if status is None:
                    continue
                if method == "GET":
                    return json_response(200, self._render(status, owner, domain))
                if owner is not account:
                    return json_response(404, {"error": NOT_FOUND})
                status.deleted = True
                # The deleted status comes back with its source `text`, for redrafting.
                return json_response(200, {**self._render(status, owner, domain),
                                           "text": status.text})
        return json_response(404, {"error": NOT_FOUND})

    # Shapes --------------------------------------------------------------------------------
    def _account(self, account: ms.MastodonAccount, domain: str) -> dict:
        return {"id": account.id, "username": account.username, "acct": account.username,
                "display_name": account.username, "locked": False, "bot": False,
                "url": f"https://{domain}/@{account.username}",
                "created_at": "2024-01-01T00:00:00.000Z",
                "statuses_count": sum(not s.deleted for s in account.statuses)}

    def _render(self, status: ms.Status, account: ms.MastodonAccount, domain: str) -> dict:
        parent = next((a.id for a in self.accounts.values() for s in a.statuses
                       if s.id == status.in_reply_to_id), None) if status.in_reply_to_id else None
        return {
            "id": status.id, "created_at": ms.iso(status.created_at),
            "in_reply_to_id": status.in_reply_to_id, "in_reply_to_account_id": parent,
            "sensitive": False, "spoiler_text": "", "visibility": status.visibility,
            "language": status.language,
            "uri": f"https://{domain}/users/{account.username}/statuses/{status.id}",
            "url": f"https://{domain}/@{account.username}/{status.id}",
            "replies_count": 0, "reblogs_count": 0, "favourites_count": 0, "edited_at": None,
            "content": status.content, "reblog": None,
            "application": {"name": "factpost", "website": None},
            "account": self._account(account, domain),
            "media_attachments": [_attachment(m, domain) for m in status.media],
            "mentions": status.mentions, "tags": [], "emojis": [], "card": None, "poll": None,
        }

    def _stamp(self, response: Response, window: Window) -> None:
        now = self.world.clock()
        with self.world.lock:
            response.headers.update(_window_headers(window, now))

    def _stamped(self, status: int, body: dict, window: Window) -> Response:
        response = json_response(status, body)
        response.headers.update(_window_headers(window, self.world.clock()))
        return response

    def _too_many(self, window: Window, now: float, until: float | None = None) -> Response:
        """429 until `until` (an injected throttle), else until the window reopens."""
        reset = max(until if until is not None else window.reset_epoch(now), now + 1)
        return json_response(429, {"error": TOO_MANY}, headers={
            "X-RateLimit-Limit": str(window.limit), "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": _iso_epoch(reset)})

    def _throttle(self, account: ms.MastodonAccount) -> Response:
        with self.world.lock:
            now = self.world.clock()
            account.throttled_until = now + self.throttle_seconds
            return self._too_many(account.statuses_window, now, account.throttled_until)


def _params(request: Request) -> dict:
    """The create's parameters, form-encoded (arrays as `key[]`, repeated) or JSON."""
    if request.content_type == "application/json":
        try:
            data = request.json()
        except ValueError:
            return {}
        return {k: ([str(x) for x in v] if isinstance(v, list) else
                    (str(v) if v is not None else None)) for k, v in data.items()}
    pairs = parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)
    params: dict = {}
    for key, value in pairs:
        if key.endswith("[]"):
            params.setdefault(key, []).append(value)
        else:
            params[key] = value
    return params


def _attachment(image: StoredImage, domain: str) -> dict:
    extension = image.mime_type.rpartition("/")[2]
    url = f"https://{domain}/system/media_attachments/files/{image.id}/original.{extension}"
    return {"id": image.id, "type": "image", "url": url, "preview_url": url,
            "remote_url": None, "description": image.alt_text, "blurhash": None,
            "meta": {"original": {"size": f"{len(image.content)} bytes"}}}


def _window_headers(window: Window, now: float) -> dict[str, str]:
    return {"X-RateLimit-Limit": str(window.limit),
            "X-RateLimit-Remaining": str(window.remaining(now)),
            "X-RateLimit-Reset": _iso_epoch(window.reset_epoch(now))}


def _iso_epoch(epoch: float) -> str:
    # RateLimitHeaders: the reset as ISO 8601 with microseconds.
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="microseconds")

