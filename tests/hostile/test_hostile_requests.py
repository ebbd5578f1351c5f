"""Hostile requests to a real `factpost serve` process: bodies too large are refused with 413
before anyone is signed in and before anything is parsed, and bombs uploaded to the Import page
are refused like on the command line; the server's peak memory (VmHWM) stays under
PEAK_LIMIT_MB throughout."""

from __future__ import annotations

import select
import socket
import time
from urllib.parse import urlsplit

import pytest
from bombs import GB, MB, docx_bomb, docx_dense_xml, docx_odd_member, pdf_repeated_page
from support import PEAK_LIMIT_MB, measured_server, peak_mb  # noqa: F401 (a fixture)


def connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    return socket.create_connection((parts.hostname, parts.port), timeout=30)


def status_of(sock: socket.socket) -> int:
    """The status code of the response on `sock` (read up to the end of its status line)."""
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise AssertionError(f"the connection closed without an answer: {data!r}")
        data += chunk
    return int(data.split(b" ", 2)[1])


def declared(url: str, path: str, size: int, content_type: str) -> int:
    """Announce a body of `size` bytes, send none of it, and read the answer."""
    with connect(url) as sock:
        sock.sendall((f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n"
                      f"Content-Length: {size}\r\n\r\n").encode())
        return status_of(sock)


def streamed(url: str, path: str, chunks) -> tuple[int, int]:
    """Send a chunked body from the generator `chunks` until the server answers; returns the
    status and how many bytes went out before it did."""
    sent = 0
    with connect(url) as sock:
        sock.sendall((f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n").encode())
        for chunk in chunks:
            if select.select([sock], [], [], 0)[0]:
                break  # the answer is there
            try:
                sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        return status_of(sock), sent


def test_a_huge_body_is_refused_at_once_before_sign_in_and_parsing(measured_server):  # noqa: F811
    _office, url, pid = measured_server
    started = time.monotonic()
    # 500 MB of JSON to the API without a token; 3 GB of "form" to the sign-in page.
    assert declared(url, "/api/preview", 500 * MB, "application/json") == 413
    assert declared(url, "/login", 3 * GB,
                    "multipart/form-data; boundary=----factpost") == 413
    assert time.monotonic() - started < 30  # nothing was waited for; not a timing assertion

    def lazily():  # a body that never ends, made as it is sent
        yield b'{"account": "office-x", "text": "'
        while True:
            yield b"x" * MB

    status, sent = streamed(url, "/api/preview", lazily())
    assert status == 413
    assert sent < 64 * MB  # cut off near the 11 MB limit, not read to the end
    assert peak_mb(pid) < PEAK_LIMIT_MB, f"server peak {peak_mb(pid):.0f} MB"


def test_a_body_just_under_the_limit_is_still_read(measured_server):  # noqa: F811
    import httpx

    _office, url, _pid = measured_server
    response = httpx.post(url + "/api/preview", content=b"{" + b" " * (10 * MB) + b"}",
                          headers={"Content-Type": "application/json"}, timeout=60)
    assert response.status_code == 401  # read through, then asked who is calling


@pytest.mark.parametrize(("name", "says"), [
    ("image.docx", "unpacks to more than 64 MB"),
    ("whitespace.docx", "over the 8 MB one part of a Word document may"),
    ("paragraphs.docx", "more than 100,000 elements"),
    ("pages.pdf", "more than 100 pages"),
    ("encrypted.docx", "is encrypted (password-protected)"),
    ("bzip2.docx", "is compressed with bzip2, which Word never writes"),
])
def test_bombs_uploaded_to_the_import_page_are_refused_with_bounded_memory(
        measured_server, name, says):  # noqa: F811
    import html

    from conftest import page_csrf, sign_in

    builds = {"image.docx": lambda: docx_bomb("image"),
              "whitespace.docx": lambda: docx_bomb("whitespace"),
              "paragraphs.docx": docx_dense_xml,
              "pages.pdf": lambda: pdf_repeated_page([10, 10, 10, 10]),
              "encrypted.docx": lambda: docx_odd_member("encrypted"),
              "bzip2.docx": lambda: docx_odd_member("bzip2")}
    office, url, pid = measured_server
    client = sign_in(url, "amira")
    response = client.post("/import/review", data={"csrf": page_csrf(client),
                                                   "account": ["office-x"], "schedule": "slots"},
                           files={"file": (name, builds[name]())}, timeout=120)
    assert response.status_code == 400
    assert f"{name}: " in html.unescape(response.text) and says in html.unescape(response.text)
    assert office.store.history.search() == []
    assert peak_mb(pid) < PEAK_LIMIT_MB, f"server peak {peak_mb(pid):.0f} MB"
