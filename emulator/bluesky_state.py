"""The Bluesky double's accounts and the XRPC shapes it answers with (emulator/bluesky.py)."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field

from emulator.messages import Response, json_response
from emulator.world import DAY_SECONDS, Window

COLLECTION = "app.bsky.feed.post"
WRITE_POINTS_HOUR, WRITE_POINTS_DAY = 5_000, 35_000
SESSIONS_PER_5_MINUTES = 30
TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"


def xrpc_error(status: int, error: str, message: str) -> Response:
    return json_response(status, {"error": error, "message": message})


def internal_error() -> Response:
    # Every unmapped failure, a create at a record key already taken among them
    # (https://github.com/bluesky-social/atproto/issues/3718, indigo#873).
    return xrpc_error(500, "InternalServerError", "Internal Server Error")


def invalid_record(detail: str) -> Response:
    # prepare.ts: InvalidRecordError("Invalid app.bsky.feed.post record: ...") becomes a 400
    # InvalidRequest in createRecord.ts.
    return xrpc_error(400, "InvalidRequest", f"Invalid {COLLECTION} record: {detail}")


def cid_of(data: bytes, codec: int) -> str:
    """A CIDv1 (sha2-256) of `data` as the PDS writes it: base32, "b" first."""
    raw = bytes([0x01, codec, 0x12, 0x20]) + hashlib.sha256(data).digest()
    return "b" + base64.b32encode(raw).decode("ascii").lower().rstrip("=")


def b64url(data: dict | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


@dataclass
class Account:
    handle: str
    did: str
    login: str
    app_password: str
    records: dict[str, dict] = field(default_factory=dict)  # rkey -> stored record
    tokens: set[str] = field(default_factory=set)
    expired: set[str] = field(default_factory=set)
    refresh_tokens: set[str] = field(default_factory=set)
    sessions: Window = field(default_factory=lambda: Window(SESSIONS_PER_5_MINUTES, 300))
    hour: Window = field(default_factory=lambda: Window(WRITE_POINTS_HOUR, 3_600))
    day: Window = field(default_factory=lambda: Window(WRITE_POINTS_DAY, DAY_SECONDS))


def window_headers(window: Window, now: float) -> dict[str, str]:
    # What xrpc-server's rate limiter sets on each limited route (rate-limiter-http.ts).
    return {"RateLimit-Limit": str(window.limit), "RateLimit-Remaining": str(window.remaining(now)),
            "RateLimit-Reset": str(window.reset_epoch(now)),
            "RateLimit-Policy": f"{window.limit};w={window.seconds}"}


def tid(micros: int, clock: int) -> str:
    """A TID as a PDS makes one for a record without a chosen key (atproto.com/specs/tid)."""
    value = ((micros & ((1 << 53) - 1)) << 10) | (clock & 1023)
    return "".join(TID_ALPHABET[(value >> (60 - 5 * i)) & 31] for i in range(13))
