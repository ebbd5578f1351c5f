"""Taking a TCP port for `factpost serve` and `factpost emulator`, or saying in one line why not.

The socket is bound before any server starts, so a busy port is reported as such instead of a
server announcing that it started and then failing.
"""

from __future__ import annotations

import errno
import socket

from posts.errors import FactpostError


class PortUnavailable(FactpostError):
    """The address and port cannot be listened on; the message says which and why."""


def listen_error(host: str, port: int, exc: OSError) -> PortUnavailable:
    """The one-line error for a failed bind of (host, port)."""
    reason = exc.strerror or str(exc)
    if exc.errno == errno.EADDRINUSE:
        fix = "another program is listening there; stop it or choose another --port"
    elif exc.errno == errno.EACCES:
        fix = "ports below 1024 need privileges; choose a port above 1024"
    elif exc.errno in (errno.EADDRNOTAVAIL, getattr(errno, "EAFNOSUPPORT", -1)):
        fix = "this machine has no such address; use 127.0.0.1 or one of its own addresses"
    else:
        fix = "check --host and --port"
    return PortUnavailable(f"cannot listen on {host}:{port} ({reason}); {fix}")


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on (host, port). Raises `PortUnavailable`."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise PortUnavailable(f"cannot listen on {host}:{port} ({exc.strerror}); check "
                              "--host") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise listen_error(host, port, exc) from None
    return sock
