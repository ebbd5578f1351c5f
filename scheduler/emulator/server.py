"""`Emulator`: X and Facebook stand-ins on one loopback HTTP server, with inspection, limits
and fault injection for tests, the demo and `factpost emulator`.

Requests under /2/ are X API v2; /_emulator/ is the control API (control.py); everything else
is the Graph API. The real tweepy and facebook-sdk code paths work against it unmodified once
their host is re-pointed here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence

from scheduler.config import AccountConfig
from scheduler.emulator import control
from scheduler.emulator.faults import DEFAULT_SLOW_SECONDS, FaultPlan
from scheduler.emulator.graph_api import THROTTLES, GraphApi
from scheduler.emulator.messages import Request, Response
from scheduler.emulator.state import (
    DAY_SECONDS,
    Page,
    Window,
    World,
    XAccount,
    numeric_id,
)
from scheduler.emulator.transport import LoopbackServer
from scheduler.emulator.x_api import XApi


class Emulator:
    """Serves the emulated platforms; every inspection method returns a thread-safe snapshot."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, seed: int | None = None,
                 latency: float = 0.0, clock: Callable[[], float] = time.time) -> None:
        """`clock` (unix seconds) is the platforms' time: rate-limit windows, post times, the
        UTC day of read billing, which Graph versions are retired."""
        self.host = host
        self.port = port
        self.seed = seed
        self.latency = latency  # seconds added before every platform response
        self._world = World(clock)
        self._faults = FaultPlan(seed)
        self._stopping = threading.Event()
        self._x = XApi(self._world, self._faults, self._stopping.wait)
        self._graph = GraphApi(self._world, self._faults, self._stopping.wait)
        self._server: LoopbackServer | None = None
        self._thread: threading.Thread | None = None

    # Lifecycle -----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not listening yet; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Emulator:
        """Listen and serve from a daemon thread; returns self."""
        if self._thread is None:
            self._bind()
            assert self._server is not None
            self._thread = threading.Thread(target=self._server.serve_forever,
                                            kwargs={"poll_interval": 0.01},
                                            name="factpost-emulator", daemon=True)
            self._thread.start()
        return self

    def serve_forever(self, on_listening: Callable[[str], object] | None = None) -> None:
        """Listen and serve in the calling thread until interrupted; `on_listening` is called
        with the URL once the port is bound."""
        self._bind()
        assert self._server is not None
        if on_listening is not None:
            on_listening(self.url)
        try:
            self._server.serve_forever(poll_interval=0.2)
        finally:
            self._close()

    def stop(self) -> None:
        if self._server is None:
            return
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._close()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _bind(self) -> None:
        if self._server is None:
            self._stopping.clear()
            self._server = LoopbackServer((self.host, self.port), self.respond)

    def _close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            self._stopping.set()  # cut short any "slow" fault still sleeping
            server.close_connections()
            server.server_close()

    # Accounts ------------------------------------------------------------------------------
    def add_x_account(self, handle: str, *, consumer_key: str, consumer_secret: str,
                      access_token: str, access_token_secret: str, user_id: str | None = None,
                      name: str | None = None) -> str:
        """Register (or update the credentials of) an X account; returns its user id."""
        handle = handle.lstrip("@")
        with self._world.lock:
            existing = self._world.x_accounts.get(handle.lower())
            holder = self._world.x_by_token(access_token)
            if holder is not None and holder is not existing:
                raise ValueError(f"X account @{handle}: its access token is already registered "
                                 f"for @{holder.handle}; give each account its own token")
            user_id = user_id or (existing.user_id if existing
                                  else numeric_id("x:" + handle.lower(), 18))
            secrets = {"consumer_key": consumer_key, "consumer_secret": consumer_secret,
                       "access_token": access_token, "access_token_secret": access_token_secret}
            if existing is None:
                self._world.x_accounts[handle.lower()] = XAccount(
                    handle=handle, user_id=user_id, name=name or handle, **secrets)
            else:
                existing.user_id, existing.name = user_id, name or existing.name
                for key, value in secrets.items():
                    setattr(existing, key, value)
        return user_id

    def add_facebook_page(self, page_id: str, *, page_token: str, name: str | None = None,
                          username: str | None = None) -> None:
        """Register (or update the token of) a Page, reachable by id and by username."""
        if not page_id.isdigit():
            raise ValueError(f"Facebook page id {page_id!r} must be digits; pass the name as "
                             "username=")
        with self._world.lock:
            existing = self._world.pages.get(page_id)
            holder = self._world.page_by_token(page_token)
            if holder is not None and holder is not existing:
                raise ValueError(f"Facebook page {page_id}: its token is already registered for "
                                 f"page {holder.key}; give each page its own token")
            if existing is None:
                self._world.pages[page_id] = Page(page_id=page_id, token=page_token,
                                                  name=name or username or page_id,
                                                  username=username)
            else:
                existing.token = page_token
                existing.name = name or existing.name
                existing.username = username or existing.username

    def register_accounts(self, accounts: Iterable[AccountConfig],
                          environ: Mapping[str, str]) -> None:
        """Register each configured account with the credentials its publisher will read from
        `environ`. A Facebook handle that is not a page id is taken as the page's username."""
        for account in accounts:
            creds = account.credentials(environ)
            if account.platform == "x":
                self.add_x_account(account.handle, **creds)
            elif account.handle.isdigit():
                self.add_facebook_page(account.handle, page_token=creds["page_token"])
            else:
                page_id = numeric_id("facebook:" + account.handle.lower(), 15)
                self.add_facebook_page(page_id, page_token=creds["page_token"],
                                       username=account.handle)

    # Inspection ----------------------------------------------------------------------------
    def tweets(self, handle: str) -> list[dict]:
        """{"id", "text", "in_reply_to", "created_at", "media"} per tweet, oldest first; each
        media item is {"id", "mime_type", "alt_text", "size", "sha256"}."""
        with self._world.lock:
            return [t.snapshot() for t in self._x_account(handle).tweets]

    def image(self, image_id: str) -> dict:
        """An uploaded X media item or Graph photo: {"id", "mime_type", "alt_text", "size",
        "sha256", "content"}; the bytes are as the platform received them."""
        with self._world.lock:
            stored = self._world.images.get(image_id)
            if stored is None:
                raise KeyError(f"no image {image_id!r} was uploaded to the emulator")
            return {**stored.snapshot(), "content": stored.content}

    def page_posts(self, page: str) -> list[dict]:
        """{"id", "message", "created_time", "photo"} per post, oldest first; `page` is id or
        username; `photo` is None or {"id", "mime_type", "alt_text", "size", "sha256"}."""
        with self._world.lock:
            return [p.snapshot() for p in self._page(page).posts]

    def bill(self) -> list[dict]:
        """X's bill so far, oldest first (billing.py describes an entry)."""
        with self._world.lock:
            return [dict(entry) for entry in self._world.bill]

    @property
    def requests_log(self) -> list[dict]:
        """{"method", "path", "status", "auth_ok", "platform", "fault"} per platform request;
        status is None when the connection was dropped. Paths carry no query (no tokens)."""
        with self._world.lock:
            return [dict(entry) for entry in self._world.requests_log]

    def state(self) -> dict:
        """Every account's posts: {"x": {handle: [tweets]}, "facebook": {page: [posts]}}."""
        with self._world.lock:
            return {
                "x": {a.handle: [t.snapshot() for t in a.tweets]
                      for a in self._world.x_accounts.values()},
                "facebook": {p.key: [post.snapshot() for post in p.posts]
                             for p in self._world.pages.values()},
            }

    # Limits and faults ---------------------------------------------------------------------
    def set_x_limits(self, handle: str, *, window_limit: int, window_seconds: int = 900,
                     day_limit: int | None = None, app_day_limit: int | None = None) -> None:
        """Limit the account's POST /2/tweets per window, and per 24 hours (a legacy tier's
        per-user limit; X's pay-per-use terms have none); `app_day_limit` changes the 24-hour
        limit of every app (default 10,000, X's). Counters restart."""
        with self._world.lock:
            account = self._x_account(handle)
            account.post_window = Window(window_limit, window_seconds)
            account.post_day = Window(day_limit, DAY_SECONDS) if day_limit else None
            if app_day_limit is not None:
                self._world.app_day_limit = app_day_limit
                self._world.app_days.clear()

    def set_graph_limits(self, *, app_calls_per_hour: int, page_calls_per_hour: int) -> None:
        """Change the call allowances behind the Graph usage headers (defaults: 2,000 app
        calls and 4,800 calls per page an hour); counters restart."""
        with self._world.lock:
            self._world.graph_app_calls = Window(app_calls_per_hour, 3_600)
            for page in self._world.pages.values():
                page.calls = Window(page_calls_per_hour, 3_600)

    def set_graph_throttle(self, page: str, *, code: int | None) -> None:
        """Answer the page's next posts with throttling error `code` (4, 17, 32 or 613) until
        lifted with code=None."""
        if code is not None and code not in THROTTLES:
            raise ValueError(f"unknown Graph throttling code {code!r}; use one of "
                             f"{', '.join(map(str, THROTTLES))} (or None to lift it)")
        with self._world.lock:
            self._page(page).throttle_code = code

    def set_graph_block(self, page: str, blocked: bool = True) -> None:
        """Answer the page's posts with error 368 (blocked for misuse) until unblocked."""
        with self._world.lock:
            self._page(page).blocked = blocked

    def inject(self, fault: str, *, platform: str | None = None, count: int = 1,
               delay: float = 0.0) -> None:
        """Queue `count` faults for the next publishing requests (see faults.py)."""
        self._faults.inject(fault, platform=platform, count=count, delay=delay)

    def set_random_faults(self, rate: float, *, kinds: Sequence[str] | None = None,
                          delay: float = DEFAULT_SLOW_SECONDS) -> None:
        """Fail publishing requests at random with probability `rate`, seeded by `seed`."""
        self._faults.set_random(rate, kinds=kinds, delay=delay)

    def pending_faults(self) -> int:
        """Queued faults not yet played."""
        return self._faults.pending()

    @property
    def faults_injected(self) -> int:
        """Faults played on requests so far, queued and random alike."""
        return self._faults.played()

    @property
    def reject_duplicates(self) -> bool:
        """Whether identical text is refused (X 403, Graph 506), as the platforms do. Turn it
        off to let a test see duplicates that the platforms would otherwise hide."""
        return self._world.reject_duplicates

    @reject_duplicates.setter
    def reject_duplicates(self, value: bool) -> None:
        self._world.reject_duplicates = value

    @property
    def graph_regain_minutes(self) -> float:
        """How long a page stays throttled after an injected Graph throttling fault, as
        reported in X-Business-Use-Case-Usage's estimated_time_to_regain_access."""
        return self._world.graph_regain_minutes

    @graph_regain_minutes.setter
    def graph_regain_minutes(self, value: float) -> None:
        self._world.graph_regain_minutes = value

    def reset(self) -> None:
        """Forget posts, faults, throttles, counters and the request log; keep accounts."""
        self._faults.clear()
        with self._world.lock:
            self._world.clear_activity()

    # Serving -------------------------------------------------------------------------------
    def respond(self, request: Request) -> Response:
        if request.path.startswith("/_emulator/"):
            return control.handle(self, request)
        if self.latency:
            self._stopping.wait(self.latency)
        platform, api = ("x", self._x) if request.path.startswith("/2/") else ("facebook",
                                                                                self._graph)
        response = api.handle(request)
        with self._world.lock:
            self._world.requests_log.append({
                "method": request.method, "path": request.path,
                "status": None if response.drop else response.status,
                "auth_ok": response.auth_ok, "platform": platform, "fault": response.fault})
        return response

    def _x_account(self, handle: str) -> XAccount:
        account = self._world.x_account(handle)
        if account is None:
            raise KeyError(f"no X account {handle!r} is registered with the emulator")
        return account

    def _page(self, page: str) -> Page:
        found = self._world.page(page)
        if found is None:
            raise KeyError(f"no Facebook page {page!r} is registered with the emulator")
        return found
