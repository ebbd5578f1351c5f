"""The part of the Facebook Graph API that factpost uses, answered the way Graph answers it.

    GET    /{page}                      also /me with a Page token
    GET    /{page}/feed (posts, published_posts)
    POST   /{page}/feed                 https://developers.facebook.com/docs/graph-api/reference/page/feed
    POST   /{page}/photos               https://developers.facebook.com/docs/graph-api/reference/page/photos
    GET    /{page-post-id}
    DELETE /{page-post-id}

Paths carry a version prefix (/v25.0/...). A version Meta has retired (by the emulator's clock
and Meta's table, graph_versions.py) is refused as Meta refuses it: HTTP 400, code 2635 (as
reported in https://github.com/mobolic/facebook-sdk/issues/527); a number Meta never released
is an unknown path
component, code 2500 (as reported in https://github.com/arsduo/koala/issues/611 for a
mistyped version). An unversioned call is answered by the oldest version still available
(https://developers.facebook.com/docs/graph-api/guides/versioning). Every answer says which
version served it in `facebook-api-version`. The token comes from `access_token` (query or
form) or an `Authorization: Bearer|OAuth` header. Errors use Graph's envelope and codes
(https://developers.facebook.com/docs/graph-api/guides/error-handling); every response carries
X-App-Usage, and X-Business-Use-Case-Usage for the page concerned
(https://developers.facebook.com/docs/graph-api/overview/rate-limiting).

A deleted post is gone from the feed and from reads; deleting it again is refused as Graph
refuses any object it cannot find: HTTP 400, code 100, subcode 33.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
from collections.abc import Callable, Mapping
from urllib.parse import unquote, urlencode

from emulator import graph_versions
from emulator.facebook_state import Page, PagePost, Pages, graph_time
from emulator.faults import FaultPlan, run_publish
from emulator.messages import Request, Response, json_response
from emulator.world import StoredImage, Window, World, numeric_id
from posts.media import GIF, JPEG, PNG, sniff_image_type

VERSION_PREFIX = re.compile(r"/v\d+\.\d+(?=/|$)")
POST_ID = re.compile(r"(\d+)_(\d+)")
FEED_EDGES = ("feed", "posts", "published_posts")
GRAPH_JSON = "application/json; charset=UTF-8"
# Graph answers every throttle with HTTP 400 and one of these codes; 4 is app-wide, the others
# concern the user, the page or one API. (#4 is also marked transient.)
THROTTLES = {
    4: "(#4) Application request limit reached",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    613: "(#613) Calls to this api have exceeded the rate limit.",
}
BAD_TOKEN = "Invalid OAuth access token - Cannot parse access token"
DEPRECATED_VERSION = 2635
PAGE_FIELDS = ("id", "name", "username", "link", "category", "fan_count", "about")
POST_FIELDS = ("id", "message", "created_time", "updated_time", "permalink_url", "link",
               "is_published", "from")
DEFAULT_POST_FIELDS = "created_time,message,id"
MINUTES_TO_REGAIN = 5
# Of the formats Graph takes (https://developers.facebook.com/docs/graph-api/photo-uploads/),
# those factpost can recognise; the hard size limit third-party tools report.
PHOTO_TYPES = (JPEG, PNG, GIF)
MAX_PHOTO_BYTES = 10 * 1024 * 1024


class GraphDouble:
    """The emulated Graph API for Facebook Pages (emulator/doubles.py lists it). It answers
    every path no other platform owns, as Graph's paths have no prefix of their own."""

    name = "facebook"
    # A Page takes the same message again: the publishing guide documents no refusal of a
    # repeat (https://developers.facebook.com/docs/pages/publishing), and a retried photo post
    # went out seven times in 2025 (https://github.com/arsduo/koala/issues/699). Error 506
    # ("Duplicate status message") is what Graph answered for a repeat in 2012
    # (https://github.com/facebook-csharp-sdk/facebook-csharp-sdk/issues/119); the emulator
    # plays it when a test turns refusal on.
    duplicates_refused = False

    def __init__(self, world: World, faults: FaultPlan, wait: Callable[[float], object]) -> None:
        self.world = world
        self.faults = faults
        self.wait = wait
        self.state = Pages(world)
        # How long an injected throttle lasts; tests use fractions of a minute.
        self.regain_minutes = 5.0
        self._traces = itertools.count(1)

    def owns(self, request: Request) -> bool:
        return True

    # Pages and inspection ------------------------------------------------------------------
    def register(self, handle: str, credentials: Mapping[str, str]) -> None:
        """Accept a Page's token as factpost holds it; a handle that is not a page id is taken
        as the page's username."""
        if handle.isdigit():
            self.add_page(handle, page_token=credentials["page_token"])
        else:
            self.add_page(numeric_id("facebook:" + handle.lower(), 15),
                          page_token=credentials["page_token"], username=handle)

    def add_page(self, page_id: str, *, page_token: str, name: str | None = None,
                 username: str | None = None) -> None:
        """Register (or update the token of) a Page, reachable by id and by username."""
        with self.world.lock:
            self.state.add(page_id, page_token=page_token, name=name, username=username)

    def page_posts(self, page: str) -> list[dict]:
        """{"id", "message", "created_time", "received_at", "photo"} per post, oldest first;
        `page` is id or username. Raises KeyError for an unknown page."""
        with self.world.lock:
            return [p.snapshot() for p in self.find_page(page).posts]

    def posts(self, handle: str) -> list[dict]:
        """The page's posts in the emulator's common shape (doubles.py)."""
        return [{"id": p["id"], "text": p["message"], "reply_to": None,
                 "media": [p["photo"]] if p["photo"] else []} for p in self.page_posts(handle)]

    def state_snapshot(self) -> dict:
        with self.world.lock:
            return {p.key: [post.snapshot() for post in p.posts]
                    for p in self.state.pages.values()}

    def clear(self) -> None:
        with self.world.lock:
            self.state.clear()

    def lift_limits(self, handle: str) -> None:
        """Graph has no posting window to lift; its usage headers only report."""

    def set_limits(self, *, app_calls_per_hour: int, page_calls_per_hour: int) -> None:
        """Change the call allowances behind the usage headers (defaults: 2,000 app calls and
        4,800 calls per page an hour); counters restart."""
        with self.world.lock:
            self.state.app_calls = Window(app_calls_per_hour, 3_600)
            for page in self.state.pages.values():
                page.calls = Window(page_calls_per_hour, 3_600)

    def set_throttle(self, page: str, *, code: int | None) -> None:
        """Answer the page's next posts with throttling error `code` (4, 17, 32 or 613) until
        lifted with code=None."""
        if code is not None and code not in THROTTLES:
            raise ValueError(f"unknown Graph throttling code {code!r}; use one of "
                             f"{', '.join(map(str, THROTTLES))} (or None to lift it)")
        with self.world.lock:
            self.find_page(page).throttle_code = code

    def set_block(self, page: str, blocked: bool = True) -> None:
        """Answer the page's posts with error 368 (blocked for misuse) until unblocked."""
        with self.world.lock:
            self.find_page(page).blocked = blocked

    def find_page(self, ref: str) -> Page:
        found = self.state.find(ref)
        if found is None:
            raise KeyError(f"no Facebook page {ref!r} is registered with the emulator")
        return found

    # Serving -------------------------------------------------------------------------------

    def error(self, status: int, code: int, message: str, *, type_: str = "OAuthException",
              subcode: int | None = None, transient: bool | None = None) -> Response:
        body: dict = {"message": message, "type": type_, "code": code}
        if subcode is not None:
            body["error_subcode"] = subcode
        if transient is not None:
            body["is_transient"] = transient
        digest = hashlib.sha1(str(next(self._traces)).encode()).digest()
        body["fbtrace_id"] = "A" + base64.urlsafe_b64encode(digest).decode()[:22]
        return json_response(status, {"error": body}, content_type=GRAPH_JSON)

    def ok(self, payload: dict) -> Response:
        return json_response(200, payload, content_type=GRAPH_JSON)

    def handle(self, request: Request) -> Response:
        prefix = VERSION_PREFIX.match(request.path)
        version = prefix.group(0) if prefix else ""
        parts = [unquote(p) for p in request.path[len(version):].split("/") if p]
        params = {**request.query, **request.form}
        token = params.get("access_token") or _header_token(request)
        with self.world.lock:
            token_page = self.state.by_token(token) if token else None
            today = self.world.today()
        served = version.lstrip("/") or graph_versions.oldest_available(today)
        refusal = self._version_refusal(served, request.path, today)
        if refusal is not None:
            response = refusal
        elif not token:
            response = self.error(400, 104, "An access token is required to request this "
                                            "resource.")
        elif token_page is None:
            response = self.error(400, 190, BAD_TOKEN)
            response.headers["WWW-Authenticate"] = (
                f'OAuth "Facebook Platform" "invalid_token" "{BAD_TOKEN}"')
        else:
            response = self._route(request.method, parts, params, token_page, version, request)
        response.auth_ok = token_page is not None
        if response.fault != "html_error":  # a proxy's page carries no Graph headers
            self._stamp(response, self._target_page(parts) or token_page)
            if refusal is None:
                response.headers["facebook-api-version"] = served
        return response

    def _version_refusal(self, version: str, path: str, today) -> Response | None:
        if not graph_versions.released(version):
            return self.error(400, 2500, f"Unknown path components: {path}")
        if graph_versions.retired(version, today):
            return self.error(400, DEPRECATED_VERSION, "(#2635) You are calling a deprecated "
                              "version of the Graph API. Please update to the latest version: "
                              f"{graph_versions.latest()}.")
        return None

    def _route(self, method: str, parts: list[str], params: dict[str, str], token_page: Page,
               version: str, request: Request | None = None) -> Response:
        if len(parts) == 1 and method == "DELETE" and POST_ID.fullmatch(parts[0]):
            # A delete changes the feed as a create does, so it meets the same faults.
            return run_publish(self.faults.take(self.name),
                               lambda: self._post_object(method, parts[0], params, token_page),
                               unavailable=self._unavailable,
                               rate_limited=lambda: self._throttled(32, token_page),
                               refused=lambda: self.error(403, 200, "(#200) Permissions error"),
                               wait=self.wait)
        if len(parts) == 1 and method == "GET" and POST_ID.fullmatch(parts[0]):
            return self._post_object(method, parts[0], params, token_page)
        if len(parts) == 1 and method == "GET":
            page = token_page if parts[0] == "me" else self._resolve(parts[0], "get")
            return page if isinstance(page, Response) else self._page_object(page, params)
        if len(parts) == 2 and (method, parts[1]) == ("POST", "photos"):
            page = token_page if parts[0] == "me" else self._resolve(parts[0], "post")
            if isinstance(page, Response):
                return page
            if page is not token_page:
                return self.error(403, 200, "(#200) Permissions error")
            files = request.files if request is not None else {}
            return run_publish(self.faults.take(self.name),
                               lambda: self._publish_photo(page, params, files),
                               unavailable=self._unavailable,
                               rate_limited=lambda: self._throttled(32, page),
                               refused=self._abusive, wait=self.wait)
        if len(parts) == 2 and (method, parts[1]) in ({("POST", "feed")}
                                                      | {("GET", e) for e in FEED_EDGES}):
            page = token_page if parts[0] == "me" else self._resolve(parts[0], method.lower())
            if isinstance(page, Response):
                return page
            if method == "GET":
                return self._feed(page, params, version)
            if page is not token_page:
                return self.error(403, 200, "(#200) If posting to a page, requires both "
                                  "pages_read_engagement and pages_manage_posts as an admin "
                                  "with sufficient administrative permission")
            return run_publish(self.faults.take(self.name), lambda: self._publish(page, params),
                               unavailable=self._unavailable,
                               rate_limited=lambda: self._throttled(32, page),
                               refused=self._abusive, wait=self.wait)
        return self.error(400, 2500, "Unknown path components: /" + "/".join(parts))

    def _resolve(self, ref: str, verb: str) -> Page | Response:
        with self.world.lock:
            page = self.state.find(ref)
        if page is not None:
            return page
        if ref.isdigit():
            return self._no_such_object(ref, verb)
        return self.error(404, 803, f"(#803) Some of the aliases you requested do not exist: {ref}")

    def _no_such_object(self, ref: str, verb: str) -> Response:
        return self.error(
            400, 100, f"Unsupported {verb} request. Object with ID '{ref}' does not exist, cannot "
            "be loaded due to missing permissions, or does not support this operation. Please "
            "read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
            type_="GraphMethodException", subcode=33)

    def _target_page(self, parts: list[str]) -> Page | None:
        if not parts or parts[0] == "me":
            return None
        ref = parts[0].split("_", 1)[0] if POST_ID.fullmatch(parts[0]) else parts[0]
        with self.world.lock:
            return self.state.find(ref)

    # Publishing ----------------------------------------------------------------------------
    def _publish(self, page: Page, params: dict[str, str]) -> Response:
        with self.world.lock:
            if page.blocked:
                return self._abusive()
            if page.throttle_code is not None:
                return self._throttled(page.throttle_code)
            message, link = params.get("message", ""), params.get("link") or None
            if not message.strip() and not link:
                return self.error(400, 100, "(#100) Missing message or attachment")
            if (message and self.world.refuses_duplicates(self.name, self.duplicates_refused)
                    and any(p.message == message for p in page.posts)):
                return self.error(400, 506, "(#506) Duplicate status message")
            post = PagePost(id=f"{page.page_id}_{self.state.next_post_id()}", message=message,
                            created_time=self.world.now(), link=link)
            page.posts.append(post)
            return self.ok({"id": post.id})

    def _publish_photo(self, page: Page, params: dict[str, str], files: dict) -> Response:
        with self.world.lock:
            if page.blocked:
                return self._abusive()
            if page.throttle_code is not None:
                return self._throttled(page.throttle_code)
            upload = files.get("source")
            if upload is None or not upload.content:
                return self.error(400, 324, "(#324) Requires upload file",
                                  type_="OAuthException")
            mime = sniff_image_type(upload.content)
            if mime not in PHOTO_TYPES:
                return self.error(400, 324, "(#324) Missing or invalid image file")
            if len(upload.content) > MAX_PHOTO_BYTES:
                return self.error(400, 100, "(#100) The image file is too large")
            photo_id = self.state.next_post_id()
            photo = StoredImage(id=photo_id, owner=page.page_id, mime_type=mime,
                                content=upload.content,
                                alt_text=params.get("alt_text_custom") or None)
            self.world.images[photo_id] = photo
            message = params.get("caption") or params.get("message") or ""
            post = PagePost(id=f"{page.page_id}_{self.state.next_post_id()}", message=message,
                            created_time=self.world.now(), photo=photo)
            page.posts.append(post)
            return self.ok({"id": photo_id, "post_id": post.id})

    def _abusive(self) -> Response:
        return self.error(400, 368, "(#368) The action attempted has been deemed abusive or "
                          "is otherwise disallowed")

    def _unavailable(self) -> Response:
        return self.error(500, 1, "An unknown error occurred", transient=True)

    def _throttled(self, code: int, page: Page | None = None) -> Response:
        if page is not None:
            with self.world.lock:
                page.throttled_until = (self.world.clock()
                                        + self.regain_minutes * 60)
        return self.error(400, code, THROTTLES[code], transient=True if code == 4 else None)

    # Reading -------------------------------------------------------------------------------
    def _page_object(self, page: Page, params: dict[str, str]) -> Response:
        wanted = _fields(params.get("fields") or "id,name")
        unknown = [f for f in wanted if f not in PAGE_FIELDS]
        if unknown:
            return self._no_such_field(unknown[0], "Page")
        values = {"id": page.page_id, "name": page.name, "username": page.username,
                  "link": f"https://www.facebook.com/{page.username or page.page_id}",
                  "category": "Government organization", "fan_count": 0, "about": None}
        return self.ok({f: values[f] for f in wanted if values[f] is not None})

    def _feed(self, page: Page, params: dict[str, str], version: str) -> Response:
        wanted = _fields(params.get("fields") or DEFAULT_POST_FIELDS)
        unknown = [f for f in wanted if f not in POST_FIELDS]
        if unknown:
            return self._no_such_field(unknown[0], "PagePost")
        raw_limit = params.get("limit", "25")
        limit = min(max(int(raw_limit), 1), 100) if raw_limit.isdigit() else 25
        with self.world.lock:
            posts = list(reversed(page.posts))
        if params.get("after"):
            after = _decode_cursor(params["after"])
            index = next((i for i, p in enumerate(posts) if p.id == after), None)
            posts = posts[index + 1:] if index is not None else []
        shown = posts[:limit]
        body: dict = {"data": [_render_post(p, wanted, page) for p in shown]}
        if shown:
            paging: dict = {"cursors": {"before": _encode_cursor(shown[0].id),
                                        "after": _encode_cursor(shown[-1].id)}}
            if len(posts) > limit:
                # The real `next` URL carries the token; facebook-sdk's get_all_connections
                # relies on finding it there.
                query = {"access_token": params.get("access_token", ""),
                         "fields": ",".join(wanted), "limit": str(limit),
                         "after": paging["cursors"]["after"]}
                paging["next"] = (f"https://graph.facebook.com{version}/{page.page_id}/feed?"
                                  + urlencode(query))
            body["paging"] = paging
        return self.ok(body)

    def _post_object(self, method: str, post_id: str, params: dict[str, str],
                     token_page: Page) -> Response:
        with self.world.lock:
            page = self.state.find(post_id.split("_", 1)[0])
            post = next((p for p in page.posts if p.id == post_id), None) if page else None
            if post is None:
                return self._no_such_object(post_id, method.lower())
            if method == "DELETE":
                if page is not token_page:
                    return self.error(403, 200, "(#200) Permissions error")
                page.posts.remove(post)
                return self.ok({"success": True})
        wanted = _fields(params.get("fields") or DEFAULT_POST_FIELDS)
        unknown = [f for f in wanted if f not in POST_FIELDS]
        if unknown:
            return self._no_such_field(unknown[0], "PagePost")
        return self.ok(_render_post(post, wanted, page))

    def _no_such_field(self, field: str, node: str) -> Response:
        return self.error(400, 100, f"(#100) Tried accessing nonexisting field ({field}) on "
                                    f"node type ({node})")

    # Usage headers -------------------------------------------------------------------------
    def _stamp(self, response: Response, page: Page | None) -> None:
        with self.world.lock:
            now = self.world.clock()
            app = self.state.app_calls
            app.hit(now)
            app_pct = min(100, (app.limit - app.remaining(now)) * 100 // app.limit)
            if any(p.throttle_code == 4 for p in self.state.pages.values()):
                app_pct = 100
            response.headers["X-App-Usage"] = json.dumps(_usage(app_pct))
            if page is None:
                return
            page.calls.hit(now)
            pct = min(100, (page.calls.limit - page.calls.remaining(now)) * 100
                      // page.calls.limit)
            fault_wait = max(0.0, page.throttled_until - now) / 60
            throttled = page.throttle_code is not None or page.blocked or fault_wait > 0
            regain = round(fault_wait, 2) if fault_wait else MINUTES_TO_REGAIN
            usage = {"type": "pages", **_usage(100 if throttled else pct),
                     "estimated_time_to_regain_access": regain if throttled else 0}
            response.headers["X-Business-Use-Case-Usage"] = json.dumps({page.page_id: [usage]})


def _usage(pct: int) -> dict[str, int]:
    return {"call_count": pct, "total_cputime": pct // 4, "total_time": pct // 2}


def _fields(raw: str) -> list[str]:
    return [f.strip() for f in raw.split(",") if f.strip()]


def _render_post(post: PagePost, wanted: list[str], page: Page) -> dict:
    values = {"id": post.id, "message": post.message or None,
              "created_time": graph_time(post.created_time),
              "updated_time": graph_time(post.created_time),
              "permalink_url": post.permalink_url, "link": post.link, "is_published": True,
              "from": {"name": page.name, "id": page.page_id}}
    return {f: values[f] for f in wanted if values[f] is not None}


def _header_token(request: Request) -> str | None:
    scheme, _, value = (request.headers.get("Authorization") or "").partition(" ")
    return value.strip() or None if scheme.lower() in ("bearer", "oauth") else None


def _encode_cursor(post_id: str) -> str:
    return base64.urlsafe_b64encode(post_id.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return ""
