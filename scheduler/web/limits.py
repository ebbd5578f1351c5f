"""Refusing oversized requests before anything reads them, and serving the app so.

`BodyLimit` is the outermost layer of the app: a request that declares a body over the limit
(`Content-Length`) gets 413 before authentication, form or JSON parsing; one that streams
(chunked, or lying about its length) is cut off with 413 the moment it passes the limit. No
layer inside ever holds more than the limit, and the multipart parser never spools a huge
upload to disk. https://www.rfc-editor.org/rfc/rfc9110#name-413-content-too-large
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class _TooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: at most `max_bytes` of request body, else 413 (one JSON line for /api,
    a short text page otherwise) and the connection is closed."""

    def __init__(self, app, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, send)
            return
        received = 0
        started = refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Answer now, whatever the app makes of the error below (FastAPI turns a
                    # failed body read into a 400): its own response is dropped.
                    if not started and not refused:
                        refused = True
                        await self._refuse(scope, send)
                    raise _TooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            # Once refused, whatever the app raised (the cut-off read, or its wrapping in an
            # exception group or a 400) is a consequence, and the 413 has been sent.
            if not refused:
                raise

    async def _refuse(self, scope: Scope, send: Send) -> None:
        limit = f"{self.max_bytes / 1_048_576:.0f} MB"
        detail = (f"the request is larger than the {limit} this server accepts "
                  "([web] max_request_mb); send a smaller file or split it")
        if scope.get("path", "").startswith("/api"):
            body, kind = json.dumps({"detail": detail}).encode(), b"application/json"
        else:
            body, kind = detail.encode(), b"text/plain; charset=utf-8"
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", kind), (b"content-length", str(len(body)).encode()),
            # The rest of the body is not read: the connection cannot carry another request.
            (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length itself
    return None


def server_config(app, *, host: str, port: int, log_level: str = "info", **options):
    """uvicorn's settings for factpost: proxy headers are believed only from the addresses the
    app itself is configured to trust (see create_app), never from uvicorn's default of
    127.0.0.1, which would let anything on the host pose as any client."""
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, log_level=log_level, proxy_headers=False,
                          server_header=False, lifespan="off", **options)


def run_server(app, sock, *, log_level: str = "info") -> None:
    """Serve `app` on an already bound socket until interrupted."""
    import uvicorn

    host, port = sock.getsockname()[:2]
    uvicorn.Server(server_config(app, host=host, port=port, log_level=log_level)).run(
        sockets=[sock])
