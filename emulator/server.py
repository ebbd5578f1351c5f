"""`Emulator`: the emulated platforms on one loopback HTTP server, with inspection, limits and
fault injection for tests, the demo and `factpost emulator`.

Each request goes to the first platform double (doubles.py) that owns its path; /_emulator/ is
the control API (control.py). The real client libraries work against it unmodified once their
host is re-pointed here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol

from emulator import control
from emulator.doubles import DOUBLES, Double
from emulator.facebook import GraphDouble
from emulator.faults import DEFAULT_SLOW_SECONDS, FaultPlan
from emulator.messages import Request, Response, json_response
from emulator.transport import LoopbackServer
from emulator.world import World
from emulator.x import XDouble


class Configured(Protocol):
    """A configured account as the emulator needs it (factpost's AccountConfig is one)."""

    platform: str
    handle: str

    def credentials(self, environ: Mapping[str, str]) -> Mapping[str, str]: ...


class Emulator:
    """Serves the emulated platforms; every inspection method returns a thread-safe snapshot."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, seed: int | None = None,
                 latency: float = 0.0, clock: Callable[[], float] = time.time,
                 doubles: Sequence[type[Double]] = DOUBLES) -> None:
        """`clock` (unix seconds) is the platforms' time: rate-limit windows, post times, the
        UTC day of read billing, which Graph versions are retired. `doubles` are the platforms
        served, in routing order."""
        self.host = host
        self.port = port
        self.seed = seed
        self.latency = latency  # seconds added before every platform response
        self._world = World(clock)
        self._faults = FaultPlan(seed, platforms=[d.name for d in doubles])
        self._stopping = threading.Event()
        self.doubles: dict[str, Double] = {
            d.name: d(self._world, self._faults, self._stopping.wait) for d in doubles}
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
    def double(self, platform: str) -> Double:
        """The double serving `platform`; KeyError when none does."""
        try:
            return self.doubles[platform]
        except KeyError:
            raise KeyError(f"the emulator serves no platform {platform!r}; it serves "
                           f"{', '.join(self.doubles)}") from None

    def register_accounts(self, accounts: Iterable[Configured],
                          environ: Mapping[str, str]) -> None:
        """Register each configured account with the credentials its publisher will read from
        `environ`."""
        for account in accounts:
            self.double(account.platform).register(account.handle,
                                                   account.credentials(environ))

    def add_x_account(self, handle: str, **credentials) -> str:
        """Register (or update) an X account (x.py `XDouble.add_account`); its user id."""
        return self._x.add_account(handle, **credentials)

    def add_facebook_page(self, page_id: str, *, page_token: str, name: str | None = None,
                          username: str | None = None) -> None:
        """Register (or update the token of) a Page, reachable by id and by username."""
        self._graph.add_page(page_id, page_token=page_token, name=name, username=username)

    # Inspection ----------------------------------------------------------------------------
    def posts(self, platform: str, handle: str) -> list[dict]:
        """An account's posts, oldest first, in the shape every double gives (doubles.py)."""
        return self.double(platform).posts(handle)

    def tweets(self, handle: str) -> list[dict]:
        """{"id", "text", "in_reply_to", "created_at", "media"} per tweet, oldest first; each
        media item is {"id", "mime_type", "alt_text", "size", "sha256"}."""
        return self._x.tweets(handle)

    def page_posts(self, page: str) -> list[dict]:
        """{"id", "message", "created_time", "photo"} per post, oldest first; `page` is id or
        username; `photo` is None or {"id", "mime_type", "alt_text", "size", "sha256"}."""
        return self._graph.page_posts(page)

    def image(self, image_id: str) -> dict:
        """An uploaded image: {"id", "mime_type", "alt_text", "size", "sha256", "content"};
        the bytes are as the platform received them."""
        with self._world.lock:
            stored = self._world.images.get(image_id)
            if stored is None:
                raise KeyError(f"no image {image_id!r} was uploaded to the emulator")
            return {**stored.snapshot(), "content": stored.content}

    def bill(self) -> list[dict]:
        """The bill so far of the platforms that bill per request, oldest first (X's:
        x_state.py describes an entry)."""
        with self._world.lock:
            return [dict(entry) for entry in self._world.bill]

    @property
    def requests_log(self) -> list[dict]:
        """{"method", "path", "status", "auth_ok", "platform", "fault"} per platform request;
        status is None when the connection was dropped. Paths carry no query (no tokens)."""
        with self._world.lock:
            return [dict(entry) for entry in self._world.requests_log]

    def state(self) -> dict:
        """Every account's posts, per platform: {"x": {handle: [tweets]}, "facebook": {page:
        [posts]}}."""
        return {name: double.state_snapshot() for name, double in self.doubles.items()}

    # Limits and faults ---------------------------------------------------------------------
    def lift_limits(self, platform: str, handle: str) -> None:
        """Let one account post as often as a test likes (doubles.py)."""
        self.double(platform).lift_limits(handle)

    def set_x_limits(self, handle: str, **limits) -> None:
        """X's posting limits for one account (x.py `XDouble.set_limits`)."""
        self._x.set_limits(handle, **limits)

    def set_graph_limits(self, *, app_calls_per_hour: int, page_calls_per_hour: int) -> None:
        """The call allowances behind the Graph usage headers (facebook.py)."""
        self._graph.set_limits(app_calls_per_hour=app_calls_per_hour,
                               page_calls_per_hour=page_calls_per_hour)

    def set_graph_throttle(self, page: str, *, code: int | None) -> None:
        """Answer the page's next posts with throttling error `code` (4, 17, 32 or 613) until
        lifted with code=None."""
        self._graph.set_throttle(page, code=code)

    def set_graph_block(self, page: str, blocked: bool = True) -> None:
        """Answer the page's posts with error 368 (blocked for misuse) until unblocked."""
        self._graph.set_block(page, blocked)

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

    def refuse_duplicates(self, refuse: bool = True, *, platform: str | None = None) -> None:
        """Refuse (X 403, Graph 506) or accept a post whose text repeats one of the account's,
        on `platform` or on every platform. Left alone, each does what the platform does: X
        refuses a repeat, Facebook accepts it. A test that relies on a refusal says so here;
        one that must see every duplicate turns refusal off."""
        for name in [platform] if platform else self.doubles:
            if name not in self.doubles:
                raise ValueError(f"no emulated platform {name!r}; there are "
                                 f"{', '.join(self.doubles)}")
            self._world.duplicate_refusal[name] = refuse

    def refuses_duplicates(self, platform: str) -> bool:
        """Whether `platform` refuses a repeated text now (see `refuse_duplicates`)."""
        double = self.doubles[platform]
        return self._world.refuses_duplicates(platform, double.duplicates_refused)

    @property
    def graph_regain_minutes(self) -> float:
        """How long a page stays throttled after an injected Graph throttling fault, as
        reported in X-Business-Use-Case-Usage's estimated_time_to_regain_access."""
        return self._graph.regain_minutes

    @graph_regain_minutes.setter
    def graph_regain_minutes(self, value: float) -> None:
        self._graph.regain_minutes = value

    def omit_x_entities(self, omit: bool = True) -> None:
        """Make X's reads give t.co links without the `entities` that say where they lead (an
        older API shape, a proxy that strips fields); off by default, as X gives them."""
        with self._world.lock:
            self._x.state.omit_entities = omit

    def reset(self) -> None:
        """Forget posts, faults, throttles, counters and the request log; keep accounts."""
        self._faults.clear()
        with self._world.lock:
            for double in self.doubles.values():
                double.clear()
            self._world.clear_activity()

    # Serving -------------------------------------------------------------------------------
    def respond(self, request: Request) -> Response:
        if request.path.startswith("/_emulator/"):
            return control.handle(self, request)
        if self.latency:
            self._stopping.wait(self.latency)
        double = next((d for d in self.doubles.values() if d.owns(request)), None)
        if double is None:
            return json_response(404, {"error": f"no emulated platform serves {request.path}"})
        response = double.handle(request)
        with self._world.lock:
            self._world.requests_log.append({
                "method": request.method, "path": request.path,
                "status": None if response.drop else response.status,
                "auth_ok": response.auth_ok, "platform": double.name, "fault": response.fault})
        return response

    @property
    def _x(self) -> XDouble:
        return self.double("x")  # type: ignore[return-value]

    @property
    def _graph(self) -> GraphDouble:
        return self.double("facebook")  # type: ignore[return-value]
