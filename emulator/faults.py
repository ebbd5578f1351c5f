"""Faults the emulator can play on publishing requests (X `POST /2/tweets` and
`POST /2/media/upload`, Graph `POST /{page}/feed` and `POST /{page}/photos`, and whatever
creates a post on any other emulated platform) and on deletes (X `DELETE /2/tweets/:id`,
Graph `DELETE /{page-post-id}`): queued ones first, then random ones at a
seeded rate. A post with an image meets the fault on its upload first. Each platform answers a
fault in its own documented shapes.

    error_before       503 (X) / 500 code 1 (Graph), nothing stored
    commit_then_error  stored (or deleted), then the same 503 / 500
    drop_before        connection closed without a response, nothing stored
    drop_after         stored (or deleted), then the connection closed without a response
    slow               a pause of `delay` seconds (default 5), then handled normally
    html_error         502 with a proxy's HTML page, nothing stored
    rate_limit         429 with exhausted x-rate-limit-* headers (X) / code 32 (Graph)
    refuse             the platform's refusal of the post itself (X 403, Graph 368), nothing
                       stored

A post-commit fault ("commit_then_error", "drop_after") replaces whatever the request would
have answered, so the client never learns the outcome. Random faults are drawn from
`random.Random(seed)` one request at a time, so a seed replays the same faults for the same
sequence of requests.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from emulator.messages import Response, html_response

FAULT_KINDS = ("error_before", "commit_then_error", "drop_before", "drop_after", "slow",
               "html_error", "rate_limit", "refuse")
DEFAULT_SLOW_SECONDS = 5.0
# Random faults leave out "slow" unless asked for (a 5-second pause is rarely what a test
# wants) and "refuse" (a post refused for good is a failure to report, not a fault to ride out).
DEFAULT_RANDOM_KINDS = tuple(k for k in FAULT_KINDS if k not in ("slow", "refuse"))
AFTER_COMMIT = ("commit_then_error", "drop_after")

PROXY_PAGE = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
)


class FaultError(ValueError):
    """A fault asked for that cannot be played; the message says which value and why."""


@dataclass(frozen=True)
class Fault:
    kind: str
    delay: float = 0.0


class FaultPlan:
    """Thread-safe queue of faults plus an optional seeded random rate."""

    def __init__(self, seed: int | None = None, platforms: Sequence[str] = ()) -> None:
        self._seed = seed
        #: The platforms the emulator serves: faults may be aimed at one of them.
        self.platforms = tuple(platforms)
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._queue: list[tuple[str | None, Fault]] = []
        self._rate = 0.0
        self._kinds: tuple[str, ...] = DEFAULT_RANDOM_KINDS
        self._random_delay = DEFAULT_SLOW_SECONDS
        self._played = 0

    def inject(self, kind: str, *, platform: str | None = None, count: int = 1,
               delay: float = 0.0) -> None:
        """Queue `count` faults of `kind` for the next publishing requests to `platform`
        (any platform when None). `delay` pauses before the fault; "slow" defaults to 5 s."""
        _check_kind(kind)
        if platform is not None and platform not in self.platforms:
            raise FaultError(f"unknown platform {platform!r}; use one of "
                             f"{', '.join(self.platforms)}")
        if not isinstance(count, int) or count < 1:
            raise FaultError(f"fault count must be a whole number >= 1, not {count!r}")
        delay = _check_delay(delay)
        if kind == "slow" and delay == 0:
            delay = DEFAULT_SLOW_SECONDS
        with self._lock:
            self._queue.extend([(platform, Fault(kind, delay))] * count)

    def set_random(self, rate: float, *, kinds: Sequence[str] | None = None,
                   delay: float = DEFAULT_SLOW_SECONDS) -> None:
        """Give every publishing request without a queued fault a `rate` chance of one of
        `kinds` (default: every kind but "slow"); `delay` is the pause of a random "slow"."""
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise FaultError(f"random fault rate must be a number from 0 to 1, not {rate!r}")
        chosen = tuple(kinds) if kinds is not None else DEFAULT_RANDOM_KINDS
        if not chosen:
            raise FaultError("give at least one fault kind, or leave kinds out for all of them")
        for kind in chosen:
            _check_kind(kind)
        with self._lock:
            self._rate = float(rate)
            self._kinds = chosen
            self._random_delay = _check_delay(delay)

    def take(self, platform: str) -> Fault | None:
        """The fault for the next publishing request to `platform`, if any; consumes it."""
        with self._lock:
            for i, (wanted, fault) in enumerate(self._queue):
                if wanted in (None, platform):
                    del self._queue[i]
                    self._played += 1
                    return fault
            if self._rate > 0 and self._rng.random() < self._rate:
                kind = self._rng.choice(self._kinds)
                self._played += 1
                return Fault(kind, self._random_delay if kind == "slow" else 0.0)
        return None

    def played(self) -> int:
        """How many faults have been handed to requests since the last clear()."""
        with self._lock:
            return self._played

    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def clear(self) -> None:
        """Forget queued faults and the random rate; the seed starts over."""
        with self._lock:
            self._queue.clear()
            self._rate = 0.0
            self._kinds = DEFAULT_RANDOM_KINDS
            self._rng = random.Random(self._seed)
            self._played = 0


def run_publish(fault: Fault | None, handle: Callable[[], Response], *,
                unavailable: Callable[[], Response], rate_limited: Callable[[], Response],
                wait: Callable[[float], object],
                refused: Callable[[], Response] | None = None) -> Response:
    """Answer a publishing request, playing `fault` around the real handler `handle`; the
    platform's own answers for an outage, a rate limit and a refusal are the callables."""
    if fault is None:
        return handle()
    if fault.delay:
        wait(fault.delay)
    if fault.kind == "slow":
        response = handle()
    elif fault.kind == "error_before":
        response = unavailable()
    elif fault.kind == "drop_before":
        response = Response.dropped()
    elif fault.kind == "html_error":
        response = html_response(502, PROXY_PAGE)
    elif fault.kind == "rate_limit":
        response = rate_limited()
    elif fault.kind == "refuse":
        if refused is None:
            raise ValueError("this request cannot be refused; aim the fault at a post")
        response = refused()
    else:
        handle()
        response = unavailable() if fault.kind == "commit_then_error" else Response.dropped()
    response.fault = fault.kind
    return response


def _check_kind(kind: str) -> None:
    if kind not in FAULT_KINDS:
        raise FaultError(f"unknown fault {kind!r}; use one of {', '.join(FAULT_KINDS)}")


def _check_delay(delay: float) -> float:
    if isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
        raise FaultError(f"fault delay must be a number of seconds >= 0, not {delay!r}")
    return float(delay)
