"""The web UI against an attacker's inputs, over real loopback HTTP: throttling that a forged
header cannot dodge, no server errors for odd ids, weeks and cursors, no stored script links,
no cached pages after sign-out, a docs page that works under the CSP and needs a login, no
reflected notices, no server paths in error pages, and CSV cells no spreadsheet runs."""

from __future__ import annotations

import csv
import html
import io
import re
import subprocess
import sys
import threading

import httpx
import pytest
from conftest import add_users, login_csrf, page_csrf, sign_in, token_for

from posts.states import PostStatus

S = PostStatus


# -- finding 8: throttling and forwarded headers ---------------------------------------------

@pytest.fixture
def served(make_office):
    """`factpost serve` itself, in a child process on a free port (its real uvicorn
    settings); returns (office, url)."""
    processes = []

    def start(extra: str = ""):
        office = make_office(extra=extra)
        add_users(office.store, chen="author")
        proc = subprocess.Popen([sys.executable, "-m", "scheduler", "--config",
                                 str(office.config_path), "serve", "--port", "0"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        processes.append(proc)
        for line in proc.stderr:
            found = re.search(r"serving on (http://\S+)", line)
            if found:
                threading.Thread(target=proc.stderr.read, daemon=True).start()
                url = found.group(1)
                while True:  # start-up: the port is bound, uvicorn is about to accept
                    try:
                        httpx.get(url + "/login", timeout=5)
                        return office, url
                    except httpx.TransportError:
                        continue
        raise AssertionError("factpost serve did not start")

    yield start
    for proc in processes:
        proc.terminate()
        proc.wait(timeout=30)


def guess(client: httpx.Client, headers: dict | None = None) -> int:
    return client.post("/login", data={"name": "chen", "password": "not the password",
                                       "csrf": login_csrf(client)},
                       headers=headers or {}).status_code


def test_a_forged_forwarded_for_header_does_not_dodge_sign_in_throttling(served):
    _office, url = served()
    client = httpx.Client(base_url=url, timeout=30)
    codes = [guess(client, {"X-Forwarded-For": f"203.0.113.{i}"}) for i in range(6)]
    assert codes == [401] * 5 + [429]


def test_a_configured_proxy_is_believed_about_the_client_address(served):
    _office, url = served("[web]\ntrusted_proxies = [\"127.0.0.1\"]\n")
    client = httpx.Client(base_url=url, timeout=30)
    for _ in range(5):
        assert guess(client, {"X-Forwarded-For": "198.51.100.7"}) == 401
    assert guess(client, {"X-Forwarded-For": "198.51.100.7"}) == 429
    # Another client behind the same proxy is someone else.
    assert guess(client, {"X-Forwarded-For": "198.51.100.8"}) == 401


# -- finding 9 -------------------------------------------------------------------------------

def test_odd_ids_weeks_and_cursors_are_answered_without_a_server_error(newsroom):
    client = sign_in(newsroom.url, "chen")
    for path in ("/posts/99999999999999999999", "/posts/2147483648", "/posts/0"):
        assert client.get(path).status_code == 404, path
    for week in ("0001-01-01", "9999-12-31", "0001-01-07", "2026-02-30", "x" * 5000):
        response = client.get("/calendar", params={"week": week})
        assert response.status_code == 400, week
        assert "week" in html.unescape(response.text)
    for cursor in ("garbage", "~", "2026-01-01~5", "2026-01-01T00:00:00+00:00~-1",
                   "2026-01-01T00:00:00+00:00~99999999999999999999",
                   "0001-01-01T00:00:00+14:00~1", "9999-12-31T23:59:59-14:00~1"):
        response = client.get("/history", params={"after": cursor})
        assert response.status_code == 400, cursor
        assert "the page link is damaged" in html.unescape(response.text)
        api = httpx.get(newsroom.url + "/api/posts", params={"after": cursor},
                        headers={"Authorization": f"Bearer {token_for(newsroom.store, 'chen')}"})
        assert api.status_code == 400, cursor
    for since in ("0001-01-01", "9999-12-31 23:59"):
        assert client.get("/history", params={"since": since}).status_code == 400


def test_a_link_that_would_run_script_is_never_stored_or_shown(newsroom):
    newsroom.emulator.inject("drop_after", platform="x")
    post_id = newsroom.add("In doubt.")
    dispatcher = newsroom.dispatcher()
    dispatcher.tick()
    with newsroom.store.session() as s:  # the timeline cannot be read: staff must settle it
        from sqlalchemy import update

        from db.models import Post

        s.execute(update(Post).where(Post.id == post_id).values(status=S.NEEDS_REVIEW,
                                                                  claimed_by=None))
    approver = sign_in(newsroom.url, "bashir")
    for link in ("javascript:alert(document.cookie)", "JaVaScRiPt:alert(1)",
                 "data:text/html,<script>alert(1)</script>", " javascript:alert(1)",
                 "//evil.example/x", "https://x.example/\njavascript:"):
        refused = approver.post(f"/posts/{post_id}/resolve", data={
            "csrf": page_csrf(approver), "remote_id": "1861", "remote_url": link})
        assert refused.status_code == 400, link
        assert "is not a web address" in html.unescape(refused.text)
    assert newsroom.store.history.get(post_id).status == S.NEEDS_REVIEW
    ok = approver.post(f"/posts/{post_id}/resolve", data={
        "csrf": page_csrf(approver), "remote_id": "1861",
        "remote_url": "https://x.com/OfficeX/status/1861"})
    assert ok.status_code == 303
    assert 'href="https://x.com/OfficeX/status/1861"' in approver.get(f"/posts/{post_id}").text


def test_signed_in_pages_are_never_cached(newsroom):
    client = sign_in(newsroom.url, "chen")
    for path in ("/", "/history", "/history.csv", "/status", "/api/queue"):
        response = client.get(path)
        assert response.headers["cache-control"] == "no-store", path
    client.post("/logout", data={"csrf": page_csrf(client)})
    assert client.get("/history").status_code == 303


def test_the_api_reference_needs_a_login_and_works_under_the_csp(newsroom):
    anonymous = httpx.Client(base_url=newsroom.url, timeout=30)
    assert anonymous.get("/api/docs").status_code == 303
    assert anonymous.get("/api/openapi.json").status_code == 401
    client = sign_in(newsroom.url, "chen")
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    csp = docs.headers["content-security-policy"]
    assert "script-src" not in csp and "'unsafe-inline'" not in csp
    assert "<script>" not in docs.text and "cdn.jsdelivr.net" not in docs.text
    assert "POST /api/posts/{post_id}/approve" in html.unescape(docs.text)
    assert client.get("/api/openapi.json").json()["info"]["title"] == "factpost"


def test_a_notice_in_the_address_is_never_shown(newsroom):
    client = sign_in(newsroom.url, "chen")
    bait = "Your session expired: call +1 555 0100 to sign in again"
    for path in ("/", "/history", "/status", "/compose", "/login"):
        assert bait not in client.get(path, params={"notice": bait}).text, path
    assert bait not in httpx.get(newsroom.url + "/login", params={"notice": bait}).text


def test_error_pages_do_not_show_where_the_server_keeps_its_files(newsroom):
    client = sign_in(newsroom.url, "chen")
    folder = str(newsroom.config_path.parent)
    page = client.get("/calendar", params={"account": "no-such-account"})
    assert page.status_code == 400
    assert "no account named 'no-such-account'" in html.unescape(page.text)
    assert folder not in page.text and "config.toml" in page.text
    api = httpx.get(newsroom.url + "/api/queue", params={"account": "nope"}, headers={
        "Authorization": f"Bearer {token_for(newsroom.store, 'chen')}"})
    assert api.status_code == 400 and folder not in api.text


# -- finding 5: CSV formula injection --------------------------------------------------------

FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"click\")", "+1+cmd|' /C calc'!A0",
            "-2+3", "@SUM(1,2)", "\t=1+1", "\r=1+1"]


def test_the_history_export_neutralises_every_cell_that_starts_like_a_formula(make_office,
                                                                              serve):
    office = make_office()
    add_users(office.store, chen="author")
    url = serve(office.config, office.store)
    for text in FORMULAS:
        office.add(text)
    with office.store.session() as s:  # other columns carry outside text too
        from sqlalchemy import update

        from db.models import Post

        s.execute(update(Post).values(last_error="=cmd()", remote_url="@evil"))
    rows = list(csv.DictReader(io.StringIO(sign_in(url, "chen").get("/history.csv").text)))
    assert sorted(r["text"] for r in rows) == sorted("'" + t for t in FORMULAS)
    for row in rows:
        for value in row.values():
            assert not value or value[0] not in "=+-@\t\r", row
    assert {r["last_error"] for r in rows} == {"'=cmd()"}


def test_the_command_line_csv_export_neutralises_formulas_too(office):
    from click.testing import CliRunner

    from scheduler.cli import cli

    for text in FORMULAS:
        office.add(text)
    result = CliRunner().invoke(cli, ["--config", str(office.config_path), "history", "--csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert len(rows) == len(FORMULAS)
    for row in rows:
        for value in row.values():
            assert not value or value[0] not in "=+-@\t\r", row
    assert {r["text"] for r in rows} >= {"'-2+3", "'@SUM(1,2)"}
    # --json keeps the text as written: it is data, not a spreadsheet.
    as_json = CliRunner().invoke(cli, ["--config", str(office.config_path), "history",
                                       "--json"])
    assert "\"-2+3\"" in as_json.output


# -- sign-in before any body, when the database cannot say who is signed in -------------------

def test_a_body_while_the_database_is_down_is_answered_503_unread(make_office, serve,
                                                                   monkeypatch):
    from sqlalchemy.exc import OperationalError

    office = make_office()
    add_users(office.store, chen="author")
    token = token_for(office.store, "chen")
    url = serve(office.config, office.store)

    def down(*args, **kwargs):
        raise OperationalError("SELECT", {}, Exception("database or disk is full"))

    monkeypatch.setattr(office.store.users, "token_user", down)
    monkeypatch.setattr(office.store.users, "session_user", down)
    api = httpx.post(url + "/api/preview", json={"account": "office-x", "text": "x"},
                     headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert api.status_code == 503
    assert api.json()["detail"].startswith("factpost.db: the disk is full")
    page = httpx.post(url + "/compose", data={"text": "x"}, timeout=30,
                      cookies={"factpost_session": "some session"})
    assert page.status_code == 503
    assert page.headers["connection"] == "close"
    assert page.text.startswith("factpost.db: the disk is full")
    # A page asked for with a session: the error page itself asks nobody who is signed in.
    history = httpx.get(url + "/history", cookies={"factpost_session": "some session"},
                        timeout=30)
    assert history.status_code == 503
    assert "factpost.db: the disk is full" in html.unescape(history.text)
