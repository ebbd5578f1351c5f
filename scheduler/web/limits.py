"""What a request may cost before anyone knows who sent it, and serving the app so.

`RequestGate` is the outermost layer of the app. Before any layer inside reads a byte of a
request's body it

1. picks the body limit of the route: a small one for the sign-in form (the only body anyone
   may send unsigned), `[web] max_body_kb` for every JSON or form request, and
   `[web] max_request_mb` only for a signed-in user's document upload;
2. refuses a body declared larger than that (`Content-Length`) with 413 at once;
3. asks who is calling (bearer token or session cookie) when the request carries a body to
   anything but the sign-in form, and refuses a stranger (401 for /api, to the sign-in page
   otherwise) without reading the body: an unsigned request costs a header parse, never a JSON
   or form parse (a 10 MB JSON body of `{},{},...` is 400 MB once parsed);
4. cuts a body off with 413 the moment it passes the limit while streaming (chunked, or lying
   about its length), and with 408 when it is not complete `[web] body_timeout_seconds` after
   its headers arrived, so a client that sends a byte at a time holds nothing for long.

A response sent before its request's body was read to the end closes the connection, so the
unread rest is never waited for. https://www.rfc-editor.org/rfc/rfc9110#name-413-content-too-large
https://www.rfc-editor.org/rfc/rfc9110#name-408-request-timeout

`server_config` gives uvicorn's settings: bounded headers, a short keep-alive, and the same
deadline on the headers themselves (`DeadlineH11Protocol`), which uvicorn does not have.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Collection, MutableMapping
from dataclasses import dataclass
from typing import Any

import h11
from starlette.requests import cookie_parser
from uvicorn.protocols.http.h11_impl import H11Protocol

from scheduler.web.i18n import LANGUAGE_COOKIE, gettext, language, negotiate

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: The sign-in form (name, password, two short tokens and a path) fits many times over.
PUBLIC_BODY_BYTES = 16 * 1024
#: Headers, all together, names and values (h11's own default for headers still arriving,
#: stated here so that it is a decision; the gate holds complete ones to it too: 431).
MAX_HEADER_BYTES = 16 * 1024
#: Seconds an idle keep-alive connection is kept open between requests (uvicorn's default).
KEEP_ALIVE_SECONDS = 5


@dataclass(frozen=True)
class BodyRules:
    """How much body each kind of route reads, and for how long.

    `public` paths (sign-in) take up to PUBLIC_BODY_BYTES from anyone; `uploads` (POST only)
    take up to `upload_bytes` from a signed-in user; everything else up to `body_bytes` from a
    signed-in user. A body must be complete `timeout_seconds` after its headers arrived."""

    body_bytes: int
    upload_bytes: int
    timeout_seconds: float
    public: Collection[str] = ()
    uploads: Collection[str] = ()

    def limit(self, method: str, path: str) -> int:
        if path in self.public:
            return PUBLIC_BODY_BYTES
        if method == "POST" and path in self.uploads:
            return self.upload_bytes
        return self.body_bytes


class _Refused(Exception):
    """The gate has cut this request off (and answered it with 413 or 408, unless the app had
    begun its own answer); whatever the app does next is moot."""


class RequestGate:
    """ASGI middleware: body limits by route, sign-in before any body is read, a deadline on
    the body (see the module docstring).

    `signed_in(scope)` says whether the request proves a user (no role or CSRF check: that
    stays the route's); `stranger(scope)` is the ASGI answer for one who does not."""

    def __init__(self, app: ASGIApp, *, rules: BodyRules,
                 signed_in: Callable[[Scope], Awaitable[bool]], stranger: ASGIApp) -> None:
        self.app = app
        self.rules = rules
        self.signed_in = signed_in
        self.stranger = stranger

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.rules.timeout_seconds
        path = scope.get("path", "")
        if sum(len(k) + len(v) for k, v in scope.get("headers", ())) > MAX_HEADER_BYTES:
            # h11 bounds only headers still arriving: a block that came in one read passes.
            with language(_browser_language(scope)):
                detail = gettext("the request headers are larger than the %(size)s KB this "
                                 "server accepts; send fewer or shorter headers (cookies "
                                 "included)", size=MAX_HEADER_BYTES // 1024)
            await _answer(send, 431, path, detail)
            return
        limit = self.rules.limit(scope["method"], path)
        declared = _header(scope, b"content-length")
        has_body = _header(scope, b"transfer-encoding") is not None or declared not in (None, b"0")
        size = _int(declared)
        if size is not None and size > limit:
            await _answer(send, 413, path, _too_large(limit, path, self.rules, scope))
            return
        if has_body and path not in self.rules.public and not await self.signed_in(scope):
            await self.stranger(scope, receive, _closing(send))
            return

        received = 0
        body_done = not has_body
        started = refused = False

        async def refuse(status: int, detail: str) -> None:
            nonlocal refused
            # Answer now, whatever the app makes of the error raised next (FastAPI turns a
            # failed body read into a 400): its own response is dropped. One already begun
            # is left unfinished, and the server closes the connection.
            if not started and not refused:
                await _answer(send, status, path, detail)
            refused = True
            raise _Refused()

        async def gated_receive() -> Message:
            nonlocal received, body_done
            if body_done:
                # After the body only a disconnect can come, which a streamed response waits
                # for as long as it streams: no deadline here.
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                await refuse(408, f"the request body did not arrive within "
                                  f"{self.rules.timeout_seconds:g} seconds "
                                  "([web] body_timeout_seconds); send it again")
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_done = not message.get("more_body", False)
                if received > limit:
                    await refuse(413, _too_large(limit, path, self.rules, scope))
            else:
                body_done = True
            return message

        async def gated_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
                if not body_done:
                    # The rest of the body is not wanted: the connection carries no more.
                    message = {**message, "headers": [*message.get("headers", ()),
                                                      (b"connection", b"close")]}
            await send(message)

        try:
            await self.app(scope, gated_receive, gated_send)
        except Exception:
            # Once refused, whatever the app raised (the cut-off read, or its wrapping in an
            # exception group or a 400) is a consequence, and the answer has been sent.
            if not refused:
                raise


def _closing(send: Send) -> Send:
    """`send`, closing the connection after the response (the body is left unread) and
    keeping the response out of caches (it is sent from outside the app's own headers)."""

    async def closing_send(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()),
                                              (b"cache-control", b"no-store"),
                                              (b"connection", b"close")]}
        await send(message)

    return closing_send


def _browser_language(scope: Scope) -> str:
    """The language of an answer given before anyone is known: the browser's (the cookie that
    signing in sets to the user's choice, else Accept-Language), never a database lookup."""
    cookie = _header(scope, b"cookie")
    chosen = cookie_parser(cookie.decode("latin-1")).get(LANGUAGE_COOKIE) if cookie else None
    accept = _header(scope, b"accept-language")
    return negotiate(chosen,
                     accept.decode("latin-1") if accept else None)


def _too_large(limit: int, path: str, rules: BodyRules, scope: Scope) -> str:
    shown = f"{limit / 1_048_576:.0f} MB" if limit >= 1_048_576 else f"{limit // 1024} KB"
    setting = ("" if path in rules.public else
               " ([web] max_request_mb)" if limit == rules.upload_bytes and path in rules.uploads
               else " ([web] max_body_kb)")
    with language(_browser_language(scope)):
        return gettext("the request is larger than the %(size)s this server accepts "
                       "here%(setting)s; send a smaller file or split it", size=shown,
                       setting=setting)


async def _answer(send: Send, status: int, path: str, detail: str) -> None:
    if path.startswith("/api"):
        body, kind = json.dumps({"detail": detail}).encode(), b"application/json"
    else:
        body, kind = detail.encode(), b"text/plain; charset=utf-8"
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", kind), (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        # The rest of the body is not read: the connection cannot carry another request.
        (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value
    return None


def _int(value: bytes | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None  # the server refuses a malformed length itself


class DeadlineH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a deadline on each request's headers.

    uvicorn times out an idle keep-alive connection, but not one whose request line and
    headers come a byte at a time ("slowloris"): its keep-alive timer is cancelled by any byte
    received and nothing else is armed. Here every wait for a request's headers (on a new
    connection, and after each response on a kept-alive one) must end within
    `header_timeout` seconds, or the client gets 408 and the connection is closed. uvicorn's
    `--timeout-request-start` is still unchecked in https://github.com/Kludex/uvicorn/issues/157
    (the same gap, reported as a scanner finding: https://github.com/xorbitsai/inference/pull/5213)."""

    header_timeout: float = 30.0

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._headers_due: asyncio.TimerHandle | None = None
        self._await_headers()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._headers_arrived()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._await_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        self._headers_arrived()
        super().connection_lost(exc)

    def _await_headers(self) -> None:
        self._headers_arrived()
        self._headers_due = self.loop.call_later(self.header_timeout, self._headers_late)

    def _headers_arrived(self) -> None:
        if getattr(self, "_headers_due", None) is not None:
            self._headers_due.cancel()
            self._headers_due = None

    def _headers_late(self) -> None:
        self._headers_due = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        if self.conn.our_state is h11.IDLE and self.conn.their_state is h11.IDLE and \
                not self.conn.trailing_data[0]:
            # Nothing of a request came at all: an idle connection, closed quietly.
            self.transport.close()
            return
        body = b"the request headers did not arrive in time; send the request again"
        self.transport.write(b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain\r\n"
                             b"content-length: " + str(len(body)).encode() +
                             b"\r\nconnection: close\r\n\r\n" + body)
        self.transport.close()


def server_config(app, *, host: str, port: int, log_level: str = "info",
                  header_timeout: float = 30.0, **options):
    """uvicorn's settings for factpost: proxy headers are believed only from the addresses the
    app itself is configured to trust (see create_app), never from uvicorn's default of
    127.0.0.1, which would let anything on the host pose as any client; headers are bounded in
    size (MAX_HEADER_BYTES) and time (`header_timeout` seconds)."""
    import uvicorn

    protocol = type("FactpostH11Protocol", (DeadlineH11Protocol,),
                    {"header_timeout": header_timeout})
    return uvicorn.Config(app, host=host, port=port, log_level=log_level, proxy_headers=False,
                          server_header=False, lifespan="off", http=protocol,
                          h11_max_incomplete_event_size=MAX_HEADER_BYTES,
                          timeout_keep_alive=KEEP_ALIVE_SECONDS, **options)


def run_server(app, sock, *, log_level: str = "info", header_timeout: float = 30.0) -> None:
    """Serve `app` on an already bound socket until interrupted."""
    import uvicorn

    host, port = sock.getsockname()[:2]
    uvicorn.Server(server_config(app, host=host, port=port, log_level=log_level,
                                 header_timeout=header_timeout)).run(sockets=[sock])
