"""The control API, for an emulator running in another process:

    POST /_emulator/faults     {"fault": kind, "count": n, "platform": name, "delay": seconds}
                               or  {"random_rate": r, "kinds": [...]}
    GET  /_emulator/state      {platform: {account: [posts]}}, e.g. {"x": {handle: [tweets]}}
    GET  /_emulator/requests   {"requests": [...]}, the request log
    GET  /_emulator/bill       {"bill": [...], "micros": total}, X's bill (billing.py)
    POST /_emulator/reset      forget posts, faults, throttles, counters and the log
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from emulator.faults import FaultError
from emulator.messages import Request, Response, json_response


class Controlled(Protocol):
    """What the control API drives (server.py's `Emulator`)."""

    requests_log: list[dict]

    def state(self) -> dict: ...

    def bill(self) -> list[dict]: ...

    def reset(self) -> None: ...

    def inject(self, fault: str, *, platform: str | None = None, count: int = 1,
               delay: float = 0.0) -> None: ...

    def set_random_faults(self, rate: float, *, kinds: Sequence[str] | None = None,
                          delay: float = ...) -> None: ...

    def pending_faults(self) -> int: ...

FAULT_KEYS = {"fault", "count", "platform", "delay"}
RANDOM_KEYS = {"random_rate", "kinds", "delay"}
USAGE = ("use GET /_emulator/state, GET /_emulator/requests, GET /_emulator/bill, "
         "POST /_emulator/faults or POST /_emulator/reset")


def handle(emulator: Controlled, request: Request) -> Response:
    route = (request.method, request.path.rstrip("/"))
    if route == ("GET", "/_emulator/state"):
        return json_response(200, emulator.state())
    if route == ("GET", "/_emulator/requests"):
        return json_response(200, {"requests": emulator.requests_log})
    if route == ("GET", "/_emulator/bill"):
        bill = emulator.bill()
        return json_response(200, {"bill": bill, "micros": sum(e["micros"] for e in bill)})
    if route == ("POST", "/_emulator/reset"):
        emulator.reset()
        return json_response(200, {"reset": True})
    if route == ("POST", "/_emulator/faults"):
        return _faults(emulator, request)
    return json_response(404, {"error": f"unknown control request; {USAGE}"})


def _faults(emulator: Controlled, request: Request) -> Response:
    try:
        body = request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return _bad('send a JSON object such as {"fault": "drop_after", "count": 1}')
    try:
        if "random_rate" in body:
            if extra := set(body) - RANDOM_KEYS:
                return _bad(f"unknown key(s) {sorted(extra)}; use {sorted(RANDOM_KEYS)}")
            kinds = body.get("kinds")
            if kinds is not None and not isinstance(kinds, list):
                return _bad('"kinds" must be a list of fault names')
            emulator.set_random_faults(body["random_rate"], kinds=kinds,
                                       **({"delay": body["delay"]} if "delay" in body else {}))
        elif "fault" in body:
            if extra := set(body) - FAULT_KEYS:
                return _bad(f"unknown key(s) {sorted(extra)}; use {sorted(FAULT_KEYS)}")
            emulator.inject(body["fault"], platform=body.get("platform"),
                            count=body.get("count", 1), delay=body.get("delay", 0.0))
        else:
            return _bad('give "fault" (queue faults) or "random_rate" (random faults)')
    except FaultError as exc:
        return _bad(str(exc))
    return json_response(200, {"queued": emulator.pending_faults()})


def _bad(message: str) -> Response:
    return json_response(400, {"error": message})
