"""Adding a platform is one module plus one registry line, and the whole publisher contract
comes with it. This test module is that module for a made-up platform, "Stub": it opens with
its spec and holds its publisher, exactly as scheduler/platforms/x.py does, and its emulator
double, as emulator/x.py does. The `case` fixture below is the registry line
(scheduler/platforms/registry.py `MODULES`, and emulator/doubles.py `DOUBLES`), made only for
the tests here; then every test of tests/platform_contract.py runs against Stub, and so do the
config, compose and the dispatcher, none of which names a platform.
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest
import requests
from platform_contract import *  # noqa: F403  (the suite)
from platform_contract import Case, one_account_office

from emulator.doubles import DOUBLES
from emulator.messages import Request, Response, json_response
from emulator.world import StoredImage
from posts.media import JPEG, MB, PNG, Media, MediaRules, sniff_image_type
from posts.split import TextRules
from scheduler.platforms import registry
from scheduler.platforms.base import (
    Account,
    AccountInfo,
    Ambiguous,
    Budget,
    CredentialsRejected,
    DuplicateContent,
    Permanent,
    Published,
    PublishError,
    RateLimited,
    RateLimitState,
    RemotePost,
    Retryable,
)
from scheduler.platforms.http import Redactor, api_session, sort_transport_error
from scheduler.platforms.spec import PlatformSpec

# -- the platform module: its spec, then its publisher ------------------------------------------

DEFAULT_BASE = "https://api.stub.example"

SPEC = PlatformSpec(
    name="stub",
    title="Stub",
    docs="https://stub.example/docs",
    text=TextRules(limit=120, measure=len, unit="characters", threads=True,
                   numbering=" ({position}/{size})"),
    media=MediaRules(types=(JPEG, PNG), max_bytes=1 * MB, max_alt_chars=500),
    credentials=("TOKEN",),
    handle="the Stub handle",
    api_url=DEFAULT_BASE,
    budget=lambda options: Budget(300, 3_600),
)


class StubPublisher:
    platform = SPEC.name

    def __init__(self, account: Account, credentials: Mapping[str, str], *,
                 session: requests.Session | None = None) -> None:
        self.account_name = account.name
        self.handle = account.handle
        self._redact = Redactor(credentials.values())
        self._session = session or api_session(account, DEFAULT_BASE)
        self._session.headers["Authorization"] = f"Bearer {credentials['token']}"
        self._rate_limit: RateLimitState | None = None

    def publish(self, text: str, *, reply_to: str | None = None,
                media: Media | None = None, key: str | None = None) -> Published:
        body: dict = {"text": text, "reply_to": reply_to}
        if media is not None:
            body["image"] = {"data": base64.b64encode(media.content).decode("ascii"),
                             "alt": media.alt_text}
        post = self._call("POST", "/stub/posts", creating=True, json=body)
        return Published(post["id"], f"https://stub.example/{self.handle}/{post['id']}")

    def recent_posts(self, limit: int = 100, since: datetime | None = None, *,
                     after_id: str | None = None, replies: bool = True) -> list[RemotePost]:
        posts: list[RemotePost] = []
        before = None
        while len(posts) < limit:
            page = self._call("GET", "/stub/posts", creating=False,
                              params={"limit": min(100, limit - len(posts)), "before": before})
            posts += [RemotePost(p["id"], p["text"], datetime.fromisoformat(p["created_at"]),
                                 f"https://stub.example/{self.handle}/{p['id']}", p["reply_to"])
                      for p in page["posts"]]
            before = page.get("next")
            if not before or (since and posts and posts[-1].created_at < since):
                break
        return posts[:limit]

    def check(self) -> AccountInfo:
        me = self._call("GET", "/stub/me", creating=False)
        return AccountInfo(me["id"], me["handle"], me["name"])

    @property
    def rate_limit(self) -> RateLimitState | None:
        return self._rate_limit

    def _call(self, method: str, path: str, *, creating: bool, **kwargs) -> dict:
        try:
            response = self._session.request(method, DEFAULT_BASE + path, **kwargs)
        except requests.RequestException as exc:
            raise sort_transport_error(exc, creating=creating, redact=self._redact,
                                       platform=SPEC.title) from None
        if "X-RateLimit-Remaining" in response.headers:
            self._rate_limit = RateLimitState(
                int(response.headers["X-RateLimit-Remaining"]),
                datetime.fromtimestamp(int(response.headers["X-RateLimit-Reset"]), UTC))
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.ok and isinstance(body, dict):
            return body
        raise self._sort(response.status_code, body, creating=creating)

    def _sort(self, status: int, body, *, creating: bool) -> PublishError:
        detail = self._redact(str((body or {}).get("error") if isinstance(body, dict) else
                                  f"HTTP {status}"))
        common = {"code": str(status), "message": detail, "http_status": status}
        if status == 401:
            return CredentialsRejected("Stub rejected the token", **common)
        if status == 429:
            return RateLimited("Stub's limit is reached", reset_at=datetime.now(UTC)
                               + timedelta(seconds=60), **common)
        if status == 409:
            return DuplicateContent("Stub refused the post as a duplicate", **common)
        if 400 <= status < 500:
            return Permanent(f"Stub refused the post: {detail}", **common)
        if creating:
            return Ambiguous("Stub reported an error; the post may be live", **common)
        return Retryable("Stub reported an error; factpost will try again", **common)


def publisher(account: Account, credentials: Mapping[str, str], *,
              session: requests.Session | None = None) -> StubPublisher:
    return StubPublisher(account, credentials, session=session)


# -- its emulator double ------------------------------------------------------------------------

class StubDouble:
    """Stub's API as Stub documents it, on the emulator (emulator/doubles.py `Double`)."""

    name = "stub"
    duplicates_refused = True

    def __init__(self, world, faults, wait) -> None:
        self.world, self.faults, self.wait = world, faults, wait
        self.accounts: dict[str, dict] = {}

    def owns(self, request: Request) -> bool:
        return request.path.startswith("/stub/")

    def register(self, handle: str, credentials: Mapping[str, str]) -> None:
        with self.world.lock:
            self.accounts[handle] = {"token": credentials["token"], "posts": []}

    def handle(self, request: Request) -> Response:
        token = (request.headers.get("Authorization") or "").removeprefix("Bearer ")
        with self.world.lock:
            handle = next((h for h, a in self.accounts.items() if a["token"] == token), None)
        if handle is None:
            response = json_response(401, {"error": "unknown token"})
        elif (request.method, request.path) == ("POST", "/stub/posts"):
            response = self.faults_around(lambda: self._create(handle, request))
        elif (request.method, request.path) == ("GET", "/stub/posts"):
            response = self._list(handle, request.query)
        elif (request.method, request.path) == ("GET", "/stub/me"):
            response = json_response(200, {"id": "u-" + handle, "handle": handle,
                                           "name": handle})
        else:
            response = json_response(404, {"error": "no such endpoint"})
        response.auth_ok = handle is not None
        response.headers.update({"X-RateLimit-Remaining": "99",
                                 "X-RateLimit-Reset": str(int(self.world.clock()) + 60)})
        return response

    def faults_around(self, create) -> Response:
        from emulator.faults import run_publish

        return run_publish(self.faults.take(self.name), create,
                           unavailable=lambda: json_response(503, {"error": "unavailable"}),
                           rate_limited=lambda: json_response(429, {"error": "slow down"}),
                           refused=lambda: json_response(403, {"error": "not allowed"}),
                           wait=self.wait)

    def _create(self, handle: str, request: Request) -> Response:
        body = json.loads(request.body or b"{}")
        with self.world.lock:
            posts = self.accounts[handle]["posts"]
            if len(body.get("text") or "") > SPEC.text.limit:
                return json_response(422, {"error": "text too long"})
            if (self.world.refuses_duplicates(self.name, self.duplicates_refused)
                    and any(p["text"] == body["text"] for p in posts)):
                return json_response(409, {"error": "duplicate"})
            media = []
            if body.get("image"):
                content = base64.b64decode(body["image"]["data"])
                if sniff_image_type(content) is None:
                    return json_response(422, {"error": "not an image"})
                image = StoredImage(f"img-{len(self.world.images) + 1}", handle,
                                    sniff_image_type(content), content, body["image"]["alt"])
                self.world.images[image.id] = image
                media.append(image)
            post = {"id": str(len(posts) + 1), "text": body["text"],
                    "reply_to": body.get("reply_to"), "media": media,
                    "created_at": self.world.now().isoformat()}
            posts.append(post)
        return json_response(201, {"id": post["id"]})

    def _list(self, handle: str, query: Mapping[str, str]) -> Response:
        with self.world.lock:
            posts = list(reversed(self.accounts[handle]["posts"]))
        if query.get("before"):
            posts = [p for p in posts if int(p["id"]) < int(query["before"])]
        page = posts[:int(query.get("limit") or 100)]
        shown = [{k: v for k, v in p.items() if k != "media"} for p in page]
        more = len(posts) > len(page)
        return json_response(200, {"posts": shown, "next": page[-1]["id"] if more else None})

    def posts(self, handle: str) -> list[dict]:
        with self.world.lock:
            return [{"id": p["id"], "text": p["text"], "reply_to": p["reply_to"],
                     "media": [m.snapshot() for m in p["media"]]}
                    for p in self.accounts[handle]["posts"]]

    def lift_limits(self, handle: str) -> None:
        return None

    def state_snapshot(self) -> dict:
        return {h: self.posts(h) for h in self.accounts}

    def clear(self) -> None:
        for account in self.accounts.values():
            account["posts"].clear()


# -- the registry line, for these tests only ----------------------------------------------------

@pytest.fixture
def case(monkeypatch) -> Case:
    from emulator import Emulator

    module = sys.modules[__name__]
    monkeypatch.setattr(registry, "MODULES", (*registry.MODULES, module))
    with Emulator(port=0, seed=7, doubles=(StubDouble, *DOUBLES)) as emulator:
        yield Case(module, emulator)


# -- and what comes with it, beyond the contract ------------------------------------------------

def test_the_config_takes_the_platform_with_its_own_credentials_and_budget(case, tmp_path):
    from scheduler.config import load_config

    path = tmp_path / "config.toml"
    path.write_text('[[accounts]]\nname = "office-stub"\nplatform = "stub"\n'
                    'handle = "OfficeStub"\n', encoding="utf-8")
    [account] = load_config(path).accounts
    assert (account.api_url, account.budget) == (DEFAULT_BASE, Budget(300, 3_600))
    assert account.credential_names() == ("FACTPOST_OFFICE_STUB_TOKEN",)


def test_compose_splits_by_its_rules_and_the_daemon_publishes_the_thread(case, tmp_path,
                                                                         monkeypatch):
    from posts.states import Actor
    from scheduler.compose import compose, preview
    from scheduler.dispatch import Dispatcher

    config, account, store = one_account_office(
        case, tmp_path, monkeypatch, name="office-stub", platform="stub", handle="OfficeStub")
    text = " ".join(f"Sentence {i} of the statement." for i in range(10))
    shown = preview(text, account, config)
    assert shown.threads and len(shown.parts) > 1 and shown.unit == "characters"
    now = datetime.now(UTC)
    posts = compose(store, config, Actor("tester", "author"), account, text,
                    when=now - timedelta(seconds=1), now=now)
    assert [p.text for p in posts] == [p.text for p in shown.parts]
    assert posts[-1].text.endswith(f" ({len(posts)}/{len(posts)})")
    dispatcher = Dispatcher(store, config, {account.name: registry.build_publisher(account)},
                            worker="test-worker")
    try:
        assert dispatcher.tick(now).published == len(posts)
    finally:
        dispatcher.shutdown()
        store.close()
    sent = case.posts()
    assert [p["text"] for p in sent] == [p.text for p in posts]
    assert [p["reply_to"] for p in sent[1:]] == [p["id"] for p in sent[:-1]]
