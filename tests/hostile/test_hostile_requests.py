"""Hostile requests to a real `factpost serve` process: nobody's body is read before they are
signed in (but the sign-in form's, which is tiny); bodies too large for their route are refused
with 413 before they are parsed; bombs uploaded to the Import page are refused like on the
command line; the server's peak memory (VmHWM) stays under PEAK_LIMIT_MB throughout."""

from __future__ import annotations

import contextlib
import json
import select
import socket
import time
from urllib.parse import urlsplit

import pytest
from bombs import GB, MB, docx_bomb, docx_dense_xml, docx_odd_member, pdf_repeated_page
from conftest import token_for
from support import (  # noqa: F401 (fixtures)
    PEAK_LIMIT_MB,
    measured_server,
    peak_mb,
    start_server,
)


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


def streamed(url: str, path: str, chunks, header: str = "",
             content_type: str = "application/json") -> tuple[int, int]:
    """Send a chunked body from the generator `chunks` (with one more `header` line) until the
    server answers; returns the status and how many bytes went out before it did."""
    sent = 0
    with connect(url) as sock:
        sock.sendall((f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n"
                      + (f"{header}\r\n" if header else "") +
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
    office, url, pid = measured_server
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

    # The sign-in form's is cut off at 16 KB; a stranger's anywhere else is not read at all;
    # a signed-in user's is cut off at the JSON limit.
    status, sent = streamed(url, "/login", lazily(),
                            content_type="application/x-www-form-urlencoded")
    assert status == 413
    assert sent < 16 * MB
    status, sent = streamed(url, "/api/preview", lazily())
    assert status == 401
    assert sent < 16 * MB  # what the socket buffers took before the answer was seen
    token = token_for(office.store, "amira")
    status, sent = streamed(url, "/api/preview", lazily(), f"Authorization: Bearer {token}")
    assert status == 413
    assert sent < 16 * MB  # cut off near the 1 MB limit, not read to the end
    assert peak_mb(pid) < PEAK_LIMIT_MB, f"server peak {peak_mb(pid):.0f} MB"


def empty_objects(size: int) -> bytes:
    """A JSON body of about `size` bytes that costs the most to parse: `{}` after `{}`, each a
    Python dict (about 64 bytes) for every 3 bytes sent."""
    return b'{"account": "office-x", "text": [' + b"{}," * (size // 3 - 20) + b"{}]}"


def test_a_stranger_s_json_or_form_is_never_read_or_parsed(measured_server):  # noqa: F811
    import httpx

    _office, url, pid = measured_server
    before = peak_mb(pid)
    body = empty_objects(11 * MB - 4096)  # just under [web] max_request_mb
    declared = httpx.post(url + "/api/preview", content=body, timeout=60,
                          headers={"Content-Type": "application/json"})
    assert declared.status_code == 413  # over the JSON limit: refused from its length alone

    def endless_objects():  # the same, chunked and without end
        yield b'{"account": "office-x", "text": ['
        while True:
            yield b"{}," * (MB // 3)

    for credentials in ({}, {"Authorization": "Bearer fp_forged"},
                        {"Cookie": "factpost_session=forged"}):
        line = "".join(f"{name}: {value}" for name, value in credentials.items())
        assert streamed(url, "/api/preview", endless_objects(), line)[0] == 401
        response = httpx.post(url + "/api/preview", content=empty_objects(MB - 4096),
                              timeout=60,
                              headers={"Content-Type": "application/json", **credentials})
        assert response.status_code == 401, response.text
        assert response.headers["connection"] == "close"  # the rest is not waited for
    assert "unknown, expired or revoked API token" in httpx.post(
        url + "/api/preview", content=b"{}", headers={"Authorization": "Bearer fp_forged"},
        timeout=60).json()["detail"]
    # Pages: to the sign-in page, before a form or an upload is read.
    for path, size, kind in (
            ("/compose", MB - 4096, "application/x-www-form-urlencoded"),
            ("/import/review", 10 * MB, "multipart/form-data; boundary=----factpost")):
        response = httpx.post(url + path, content=b"x" * size, headers={"Content-Type": kind},
                              timeout=60)
        assert response.status_code == 303
        assert response.headers["location"] == f"/login?next={path}"
    grew = peak_mb(pid) - before
    print(f"server peak {before:.0f} MB before, {peak_mb(pid):.0f} MB after")
    assert grew < 40, f"a stranger's bodies cost the server {grew:.0f} MB"


def test_a_signed_in_user_s_json_is_capped_small(measured_server):  # noqa: F811
    import httpx

    office, url, pid = measured_server
    headers = {"Authorization": f"Bearer {token_for(office.store, 'amira')}",
               "Content-Type": "application/json"}
    before = peak_mb(pid)
    refused = httpx.post(url + "/api/preview", content=empty_objects(2 * MB), headers=headers,
                         timeout=60)
    assert refused.status_code == 413
    assert refused.json()["detail"] == (
        "the request is larger than the 1 MB this server accepts here ([web] max_body_kb); "
        "send a smaller file or split it")
    worst = httpx.post(url + "/api/preview", content=empty_objects(MB - 4096),
                       headers=headers, timeout=60)
    assert worst.status_code == 422  # read, parsed and refused by its schema
    print(f"server peak {before:.0f} MB before, {peak_mb(pid):.0f} MB after a 1 MB JSON body")
    assert peak_mb(pid) - before < 100
    assert httpx.post(url + "/api/preview", json={"account": "office-x", "text": "Hello."},
                      headers=headers, timeout=60).json()["fits"] is True
    # The longest text the API takes (70,000 characters), in the costliest spelling (each
    # emoji escaped as two \uXXXX), still fits the default limit.
    longest = json.dumps({"account": "office-x", "text": "\U0001F600" * 70_000}).encode()
    assert len(longest) > 800_000
    assert httpx.post(url + "/api/preview", content=longest, headers=headers,
                      timeout=120).status_code != 413


def test_the_sign_in_form_takes_only_a_small_body(measured_server):  # noqa: F811
    import httpx
    from conftest import login_csrf

    _office, url, _pid = measured_server
    client = httpx.Client(base_url=url, timeout=30)
    response = client.post("/login", data={"name": "amira", "password": "p" * (64 * 1024),
                                           "csrf": login_csrf(client)})
    assert response.status_code == 413
    assert response.text.startswith("the request is larger than the 16 KB this server "
                                    "accepts here;")


def test_a_signed_in_upload_just_under_the_limit_is_still_read(measured_server):  # noqa: F811
    from conftest import page_csrf, sign_in

    _office, url, _pid = measured_server
    client = sign_in(url, "amira")
    response = client.post("/import/review", data={"csrf": page_csrf(client),
                                                   "account": ["office-x"], "schedule": "slots"},
                           files={"file": ("big.txt", b"word " * (2 * MB + 100_000))},
                           timeout=120)
    assert response.status_code == 400  # read through, then refused as a document
    assert "big.txt: 10.0 MB is too large for a fact sheet (limit 10 MB)" in response.text


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


@pytest.mark.parametrize(("size", "status"), [
    (20 * 1024, 431),  # arrives in one read: the gate refuses it
    (MB, 400),  # too long while still arriving: h11 refuses it (uvicorn answers 400)
])
def test_headers_over_16_kb_are_refused(measured_server, size, status):  # noqa: F811
    _office, url, _pid = measured_server
    with connect(url) as sock:
        # The server may answer and close before all of it went out.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(b"GET /login HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * size +
                         b"\r\n\r\n")
        assert status_of(sock) == status
