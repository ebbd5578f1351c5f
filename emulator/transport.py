"""The HTTP plumbing under the emulator: a threading server with HTTP/1.1 keep-alive that
turns each exchange into a `Request` for a `respond` function, and can hang up on purpose."""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import traceback
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from emulator.messages import Request, Response, json_response


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], respond: Callable[[Request], Response]) -> None:
        self.respond = respond
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, Handler)

    def track(self, connection: socket.socket, *, open_: bool) -> None:
        with self._connections_lock:
            (self._connections.add if open_ else self._connections.discard)(connection)

    def handle_error(self, request: object, client_address: object) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a client hung up mid-request (a killed daemon): nothing to report
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Hang up on kept-alive clients, whose handler threads would otherwise wait on."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "factpost-emulator"
    sys_version = ""
    timeout = 60  # an idle kept-alive connection is closed after this long
    disable_nagle_algorithm = True  # headers and body go out separately; no 40 ms stalls
    server: LoopbackServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, open_=True)

    def finish(self) -> None:
        self.server.track(self.connection, open_=False)
        super().finish()

    def do_request(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if len(body) < length:  # the client died mid-request; a server would not act on it
            self.close_connection = True
            return
        request = Request(self.command, self.path, self.headers, body)
        try:
            response = self.server.respond(request)
        except Exception:  # a bug in the emulator must reach the client as a 500, not a hang-up
            traceback.print_exc(file=sys.stderr)
            response = json_response(500, {"error": "emulator internal error; see its stderr"})
        if response.drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(response.body)
        except OSError:  # the client gave up first (a timeout during a "slow" fault)
            self.close_connection = True

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = do_request

    def log_message(self, format: str, *args: object) -> None:
        # Query strings carry Graph access tokens; the request log keeps paths only.
        pass
