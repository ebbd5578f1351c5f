"""The part of a Bluesky PDS (and of the AppView it proxies to) that factpost uses, answered
the way the reference PDS answers it (https://github.com/bluesky-social/atproto, packages/pds).

    POST com.atproto.server.createSession    https://docs.bsky.app/docs/api/com-atproto-server-create-session
    POST com.atproto.server.refreshSession   https://docs.bsky.app/docs/api/com-atproto-server-refresh-session
    GET  com.atproto.identity.resolveHandle  https://docs.bsky.app/docs/api/com-atproto-identity-resolve-handle
    POST com.atproto.repo.uploadBlob         https://docs.bsky.app/docs/api/com-atproto-repo-upload-blob
    POST com.atproto.repo.createRecord       https://docs.bsky.app/docs/api/com-atproto-repo-create-record
    GET  com.atproto.repo.getRecord          https://docs.bsky.app/docs/api/com-atproto-repo-get-record
    POST com.atproto.repo.deleteRecord       https://docs.bsky.app/docs/api/com-atproto-repo-delete-record
    GET  app.bsky.feed.getAuthorFeed         https://docs.bsky.app/docs/api/app-bsky-feed-get-author-feed
    GET  app.bsky.actor.getProfile           https://docs.bsky.app/docs/api/app-bsky-actor-get-profile

Errors are XRPC bodies, {"error": name, "message": text}; a 500 says only "Internal Server
Error" (xrpc-server hides the details of 500s). Writes carry the RateLimit-* headers of the
account's write points (5,000 an hour, 35,000 a day, 3 a create,
https://docs.bsky.app/docs/advanced-guides/rate-limits); createSession is limited to 30 per 5
minutes per account. The AppView's feed is up to date at once here unless a test sets
`feed_lag_seconds`; Bluesky's lags the PDS by seconds, which the publisher does not rely on (it
reads the record at its own key).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Mapping

from emulator.bluesky_state import (
    COLLECTION,
    SESSIONS_PER_5_MINUTES,
    Account,
    b64url,
    cid_of,
    internal_error,
    invalid_record,
    tid,
    window_headers,
    xrpc_error,
)
from emulator.faults import FaultPlan, run_publish
from emulator.messages import Request, Response, json_response
from emulator.world import DAY_SECONDS, StoredImage, Window, World
from posts.media import sniff_image_type

PREFIX = "/xrpc/"
# The lexicons' bounds (lexicons/app/bsky/feed/post.json, embed/images.json).
MAX_GRAPHEMES, MAX_TEXT_BYTES, MAX_IMAGES, MAX_BLOB_BYTES = 300, 3_000, 4, 2_000_000
CREATE_POINTS = 3
ACCESS_SECONDS = 2 * 3_600  # the reference PDS's access tokens last two hours
TID = re.compile(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}")


class BlueskyDouble:
    """The emulated Bluesky PDS (emulator/doubles.py lists it)."""

    name = "bluesky"
    # Bluesky takes the same text twice: nothing in the PDS or the lexicon refuses a repeat.
    duplicates_refused = False

    def __init__(self, world: World, faults: FaultPlan, wait: Callable[[float], object]) -> None:
        self.world, self.faults, self.wait = world, faults, wait
        self.accounts: dict[str, Account] = {}
        self.blobs: dict[str, tuple[str, str | None, bytes]] = {}  # cid -> (did, type, bytes)
        self._serial = 0
        #: Seconds a new post takes to reach the author feed: Bluesky's AppView indexes what
        #: the PDS wrote a moment later; here nothing lags unless a test says so.
        self.feed_lag_seconds = 0.0

    def owns(self, request: Request) -> bool:
        return request.path.startswith((PREFIX + "com.atproto.", PREFIX + "app.bsky."))

    # Accounts and inspection ---------------------------------------------------------------

    def register(self, handle: str, credentials: Mapping[str, str]) -> None:
        digest = hashlib.sha256(f"bluesky:{handle.lower()}".encode()).digest()
        did = "did:plc:" + base64.b32encode(digest).decode("ascii").lower()[:24]
        with self.world.lock:
            existing = self.accounts.get(handle.lower())
            if existing is None:
                self.accounts[handle.lower()] = Account(handle, did, credentials["handle"],
                                                        credentials["app_password"])
            else:
                existing.login, existing.app_password = (credentials["handle"],
                                                         credentials["app_password"])

    def posts(self, handle: str) -> list[dict]:
        with self.world.lock:
            account = self._account(handle)
            return [{"id": r["uri"], "text": r["value"].get("text"),
                     "reply_to": ((r["value"].get("reply") or {}).get("parent") or {}).get("uri"),
                     "media": [self.world.images[c].snapshot() for c in r["images"]]}
                    for r in sorted(account.records.values(), key=lambda r: r["serial"])]

    def lift_limits(self, handle: str) -> None:
        self.set_limits(handle, points=10**9)

    def set_limits(self, handle: str, *, points: int, window_seconds: int = 3_600) -> None:
        """Give the account `points` write points per window of `window_seconds` (a day's
        allowance the same); counters restart. A short window makes a 429's reset near."""
        with self.world.lock:
            account = self._account(handle)
            account.hour = Window(points, window_seconds)
            account.day = Window(points, window_seconds)

    def expire_sessions(self, handle: str) -> None:
        """Let the account's access tokens lapse: the next request with one is answered 400
        ExpiredToken."""
        with self.world.lock:
            account = self._account(handle)
            account.expired |= account.tokens
            account.tokens.clear()

    def state_snapshot(self) -> dict:
        return {a.handle: self.posts(a.handle) for a in self.accounts.values()}

    def clear(self) -> None:
        with self.world.lock:
            self.blobs.clear()
            for account in self.accounts.values():
                account.records.clear()
                for window in (account.sessions, account.hour, account.day):
                    window.restart(self.world.clock())

    def _account(self, handle: str) -> Account:
        account = self.accounts.get(handle.lower())
        if account is None:
            raise KeyError(f"no Bluesky account {handle!r} is registered with the emulator")
        return account

    # Serving -------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        method = request.path[len(PREFIX):]
        if method == "com.atproto.server.createSession" and request.method == "POST":
            return self._create_session(request)
        if method == "com.atproto.server.refreshSession" and request.method == "POST":
            return self._refresh_session(request)
        routes = {
            ("GET", "com.atproto.identity.resolveHandle"): self._resolve_handle,
            ("POST", "com.atproto.repo.uploadBlob"): self._upload_blob,
            ("POST", "com.atproto.repo.createRecord"): self._create_record,
            ("GET", "com.atproto.repo.getRecord"): self._get_record,
            ("POST", "com.atproto.repo.deleteRecord"): self._delete_record,
            ("GET", "app.bsky.feed.getAuthorFeed"): self._author_feed,
            ("GET", "app.bsky.actor.getProfile"): self._profile,
        }
        route = routes.get((request.method, method))
        if route is None:
            return xrpc_error(501, "MethodNotImplemented", "Method Not Implemented")
        account, refusal = self._authenticate(request)
        if account is None:
            refusal.auth_ok = False
            return refusal
        if route in (self._create_record, self._delete_record):
            # Faults are played on writes, creates and deletes (faults.py). A refusal is the
            # PDS's 400 InvalidRequest for a write it will not make.
            response = run_publish(self.faults.take(self.name), lambda: route(account, request),
                                   unavailable=internal_error,
                                   rate_limited=lambda: self._limit_reached(account),
                                   refused=lambda: invalid_record("refused"), wait=self.wait)
        else:
            response = route(account, request)
        response.auth_ok = True
        return response

    def _authenticate(self, request: Request) -> tuple[Account | None, Response | None]:
        token = (request.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        if not token:
            return None, xrpc_error(401, "AuthMissing", "Authentication Required")
        # The reference PDS's answers to a lapsed token and to one it cannot verify
        # (packages/pds/src/auth-verifier.ts).
        with self.world.lock:
            for account in self.accounts.values():
                if token in account.tokens:
                    return account, None
                if token in account.expired:
                    return None, xrpc_error(400, "ExpiredToken", "Token has expired")
        return None, xrpc_error(400, "InvalidToken", "Token could not be verified")

    def _tokens(self, account: Account) -> dict:
        self._serial += 1
        now = int(self.world.clock())
        header = b64url({"typ": "at+jwt", "alg": "ES256K"})
        access = ".".join((header, b64url({
            "scope": "com.atproto.appPass", "sub": account.did, "iat": now,
            "exp": now + ACCESS_SECONDS, "aud": "did:web:pds.emulator",
            "jti": f"a{self._serial}"}), b64url(b"emulator-signature")))
        refresh = ".".join((header, b64url({
            "scope": "com.atproto.refresh", "sub": account.did, "iat": now,
            "exp": now + 90 * DAY_SECONDS, "jti": f"r{self._serial}"}),
            b64url(b"emulator-signature")))
        account.tokens.add(access)
        account.refresh_tokens.add(refresh)
        return {"did": account.did, "handle": account.handle, "accessJwt": access,
                "refreshJwt": refresh, "active": True}

    def _create_session(self, request: Request) -> Response:
        try:
            body = request.json()
        except ValueError:
            return xrpc_error(400, "InvalidRequest", "Invalid JSON body")
        identifier = str(body.get("identifier") or "")
        with self.world.lock:
            account = next((a for a in self.accounts.values()
                            if identifier in (a.login, a.handle, a.did)), None)
            if account is not None and account.sessions.exhausted(self.world.clock()):
                response = self._limited(account.sessions, SESSIONS_PER_5_MINUTES, 300)
                response.auth_ok = False
                return response
            if account is not None:
                account.sessions.hit(self.world.clock())
            if account is None or body.get("password") != account.app_password:
                response = xrpc_error(401, "AuthenticationRequired",
                                      "Invalid identifier or password")
                response.auth_ok = False
                return response
            response = json_response(200, self._tokens(account))
            response.headers.update(window_headers(account.sessions, self.world.clock()))
        response.auth_ok = True
        return response

    def _refresh_session(self, request: Request) -> Response:
        token = (request.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        with self.world.lock:
            account = next((a for a in self.accounts.values() if token in a.refresh_tokens),
                           None)
            if account is None:
                response = xrpc_error(400, "ExpiredToken", "Token has expired")
                response.auth_ok = False
                return response
            account.refresh_tokens.discard(token)  # a refresh token is used once
            response = json_response(200, self._tokens(account))
        response.auth_ok = True
        return response

    def _resolve_handle(self, account: Account, request: Request) -> Response:
        wanted = (request.query.get("handle") or "").lower()
        with self.world.lock:
            found = self.accounts.get(wanted)
        if found is None:
            return xrpc_error(400, "InvalidRequest", "Unable to resolve handle")
        return json_response(200, {"did": found.did})

    def _upload_blob(self, account: Account, request: Request) -> Response:
        content = request.body
        if len(content) > MAX_BLOB_BYTES:
            return xrpc_error(413, "PayloadTooLarge", "request entity too large")
        cid = cid_of(content, 0x55)
        # The PDS sniffs the type from the bytes; anything uploads, the record checks `accept`.
        mime = sniff_image_type(content) or request.content_type or "application/octet-stream"
        with self.world.lock:
            self.blobs[cid] = (account.did, mime, content)
        return json_response(200, {"blob": {"$type": "blob", "ref": {"$link": cid},
                                            "mimeType": mime, "size": len(content)}})

    def _create_record(self, account: Account, request: Request) -> Response:
        try:
            body = request.json()
        except ValueError:
            return xrpc_error(400, "InvalidRequest", "Invalid JSON body")
        record = body.get("record") or {}
        if body.get("repo") not in (account.did, account.handle):
            return xrpc_error(403, "AuthRequiredError", "Authentication Required")
        if body.get("collection") != COLLECTION or record.get("$type") != COLLECTION:
            return xrpc_error(400, "InvalidRequest", "Invalid collection")
        rkey = body.get("rkey")
        if rkey is not None and not TID.fullmatch(str(rkey)):
            return xrpc_error(400, "InvalidRequest",
                              f"Invalid record key for {COLLECTION}: must be a valid TID")
        problem = self._check_post(account, record)
        if problem is not None:
            return problem
        with self.world.lock:
            now = self.world.clock()
            if account.hour.exhausted(now) or account.day.exhausted(now):
                return self._limit_reached(account)
            if rkey is None:
                self._serial += 1
                rkey = tid(int(now * 1_000_000), self._serial)
            if rkey in account.records:
                return internal_error()
            if (self.world.refuses_duplicates(self.name, self.duplicates_refused)
                    and any(r["value"].get("text") == record.get("text")
                            for r in account.records.values())):
                # Bluesky never refuses repeated text; a test that turns refusal on gets the
                # named "record exists" error PDSes are adopting (409 RecordAlreadyExists in
                # https://github.com/ascorbic/cirrus/pull/160; atproto PR #4728).
                return xrpc_error(409, "RecordAlreadyExists", "Record already exists")
            account.hour.hit(now)
            for _ in range(CREATE_POINTS - 1):
                account.hour.hit(now)
            for _ in range(CREATE_POINTS):
                account.day.hit(now)
            uri = f"at://{account.did}/{COLLECTION}/{rkey}"
            cid = cid_of(json.dumps(record, sort_keys=True).encode("utf-8"), 0x71)
            images = self._keep_images(account, record)
            self._serial += 1
            account.records[rkey] = {"uri": uri, "cid": cid, "value": record,
                                     "images": images, "serial": self._serial,
                                     "indexed_at": self.world.now().isoformat(),
                                     "clock": now}
            response = json_response(200, {"uri": uri, "cid": cid, "validationStatus": "valid",
                                           "commit": {"cid": cid, "rev": rkey}})
            response.headers.update(self._write_headers(account, now))
        return response

    def _check_post(self, account: Account, record: dict) -> Response | None:
        import regex

        text = record.get("text")
        if not isinstance(text, str) or not isinstance(record.get("createdAt"), str):
            return invalid_record("Record must have the properties \"text\" and \"createdAt\"")
        if len(text.encode("utf-8")) > MAX_TEXT_BYTES:
            return invalid_record(f"Record/text must not be longer than {MAX_TEXT_BYTES} "
                                  "characters")
        if len(regex.findall(r"\X", text)) > MAX_GRAPHEMES:
            return invalid_record(f"Record/text must not be longer than {MAX_GRAPHEMES} "
                                  "graphemes")
        for facet in record.get("facets") or []:
            index = facet.get("index") or {}
            if not 0 <= index.get("byteStart", -1) <= index.get("byteEnd", -1) <= len(
                    text.encode("utf-8")):
                return invalid_record("Record/facets byte slice is out of range")
        embed = record.get("embed")
        if embed is not None:
            images = embed.get("images") or []
            if embed.get("$type") != "app.bsky.embed.images" or not 1 <= len(images) <= 4:
                return invalid_record("Record/embed must hold 1 to 4 images")
            with self.world.lock:
                for image in images:
                    cid = ((image.get("image") or {}).get("ref") or {}).get("$link")
                    blob = self.blobs.get(cid)
                    if blob is None or blob[0] != account.did:
                        return xrpc_error(400, "InvalidRequest", f"Could not find blob: {cid}")
                    if not (blob[1] or "").startswith("image/"):
                        return invalid_record(f"Record/embed/images/0/image mimeType "
                                              f"({blob[1]}) does not match accept image/*")
                    if not isinstance(image.get("alt"), str):
                        return invalid_record("Record/embed/images/0 must have the property "
                                              "\"alt\"")
        return None

    def _keep_images(self, account: Account, record: dict) -> list[str]:
        kept = []
        for image in (record.get("embed") or {}).get("images") or []:
            cid = image["image"]["ref"]["$link"]
            _, mime, content = self.blobs[cid]
            self.world.images[cid] = StoredImage(cid, account.did, mime, content, image["alt"])
            kept.append(cid)
        return kept

    def _get_record(self, account: Account, request: Request) -> Response:
        query = request.query
        with self.world.lock:
            owner = next((a for a in self.accounts.values()
                          if query.get("repo") in (a.did, a.handle)), None)
            found = owner.records.get(query.get("rkey", "")) if owner else None
            if found is None or query.get("collection") != COLLECTION:
                return xrpc_error(400, "RecordNotFound",
                                  f"Could not locate record: at://{query.get('repo')}/"
                                  f"{query.get('collection')}/{query.get('rkey')}")
            return json_response(200, {"uri": found["uri"], "cid": found["cid"],
                                       "value": found["value"]})

    def _delete_record(self, account: Account, request: Request) -> Response:
        # deleteRecord succeeds whether or not the record is there: it ensures the record's
        # absence (https://github.com/bluesky-social/atproto/pull/690).
        try:
            body = request.json()
        except ValueError:
            return xrpc_error(400, "InvalidRequest", "Invalid JSON body")
        if body.get("repo") not in (account.did, account.handle):
            return xrpc_error(403, "AuthRequiredError", "Authentication Required")
        with self.world.lock:
            if body.get("collection") == COLLECTION:
                account.records.pop(str(body.get("rkey")), None)
            rev = tid(int(self.world.clock() * 1_000_000), self._serial)
        return json_response(200, {"commit": {"cid": cid_of(rev.encode(), 0x71), "rev": rev}})

    def _author_feed(self, account: Account, request: Request) -> Response:
        query = request.query
        with self.world.lock:
            owner = next((a for a in self.accounts.values()
                          if query.get("actor") in (a.did, a.handle)), None)
            if owner is None:
                return xrpc_error(400, "InvalidRequest", "Profile not found")
            shown = self.world.clock() - self.feed_lag_seconds
            records = sorted((r for r in owner.records.values() if r["clock"] <= shown),
                             key=lambda r: r["serial"], reverse=True)
            if query.get("filter") == "posts_no_replies":
                records = [r for r in records if not r["value"].get("reply")]
            try:
                limit = int(query.get("limit") or 50)
            except ValueError:
                limit = 0
            if not 1 <= limit <= 100:
                return xrpc_error(400, "InvalidRequest", "limit must be from 1 to 100")
            start = int(query["cursor"]) if (query.get("cursor") or "").isdigit() else 0
            page = records[start:start + limit]
            feed = [{"post": self._post_view(owner, r)} for r in page]
        cursor = str(start + limit) if start + limit < len(records) else None
        return json_response(200, {"feed": feed, **({"cursor": cursor} if cursor else {})})

    def _post_view(self, owner: Account, stored: dict) -> dict:
        view = {"uri": stored["uri"], "cid": stored["cid"],
                "author": {"did": owner.did, "handle": owner.handle},
                "record": stored["value"], "indexedAt": stored["indexed_at"]}
        if stored["images"]:
            view["embed"] = {"$type": "app.bsky.embed.images#view", "images": [
                {"thumb": f"https://cdn.bsky.app/img/feed_thumbnail/plain/{owner.did}/{c}",
                 "fullsize": f"https://cdn.bsky.app/img/feed_fullsize/plain/{owner.did}/{c}",
                 "alt": self.world.images[c].alt_text or ""} for c in stored["images"]]}
        return view

    def _profile(self, account: Account, request: Request) -> Response:
        actor = request.query.get("actor")
        with self.world.lock:
            owner = next((a for a in self.accounts.values() if actor in (a.did, a.handle)),
                         None)
        if owner is None:
            return xrpc_error(400, "InvalidRequest", "Profile not found")
        return json_response(200, {"did": owner.did, "handle": owner.handle,
                                   "displayName": owner.handle})

    # Rate limits ---------------------------------------------------------------------------

    def _write_headers(self, account: Account, now: float) -> dict[str, str]:
        return window_headers(account.hour, now)

    def _limit_reached(self, account: Account) -> Response:
        with self.world.lock:
            now = self.world.clock()
            window = account.day if account.day.exhausted(now) else account.hour
            return self._limited(window, window.limit, window.seconds)

    def _limited(self, window: Window, limit: int, seconds: int) -> Response:
        now = self.world.clock()
        response = xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded")
        response.headers.update({"RateLimit-Limit": str(limit), "RateLimit-Remaining": "0",
                                 "RateLimit-Reset": str(max(window.reset_epoch(now),
                                                            int(now) + 1)),
                                 "RateLimit-Policy": f"{limit};w={seconds}"})
        return response
