"""The newsroom web UI over real loopback HTTP: sign-in, sessions, CSRF, roles, the two-person
rule, escaping, import, history paging and export, calendar and status."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from conftest import (
    AUTHOR,
    OPERATOR,
    PASSWORD,
    add_users,
    approve_form,
    login_csrf,
    page_csrf,
    sign_in,
    token_for,
)

from db.store import HistoryFilter
from posts.states import PostStatus
from scheduler.demo import sample_factsheet

S = PostStatus


def compose(client, text: str, account: str = "office-x", at: str = "") -> httpx.Response:
    return client.post("/compose", data={"csrf": page_csrf(client), "account": account,
                                         "text": text, "when": "at", "at": at})


def posted_id(response: httpx.Response) -> int:
    assert response.status_code == 303, response.text
    return int(re.search(r"/posts/(\d+)", response.headers["location"]).group(1))


# -- signing in ------------------------------------------------------------------------------

def test_pages_need_a_signed_in_user_and_come_back_after_sign_in(newsroom):
    client = httpx.Client(base_url=newsroom.url)
    response = client.get("/history?status=queued")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/history%3Fstatus%3Dqueued"
    signed = client.post("/login", data={"name": "chen", "password": PASSWORD,
                                         "csrf": login_csrf(client),
                                         "next": "/history?status=queued"})
    assert signed.headers["location"] == "/history?status=queued"
    assert client.get("/history?status=queued").status_code == 200


def test_the_session_cookie_is_httponly_and_samesite_lax(newsroom):
    client = httpx.Client(base_url=newsroom.url)
    response = client.post("/login", data={"name": "chen", "password": PASSWORD,
                                           "csrf": login_csrf(client)})
    cookie = response.headers["set-cookie"]
    assert "factpost_session=" in cookie
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # [web] secure_cookies is off in this office


def test_secure_cookies_are_marked_secure_when_configured(make_office, serve):
    office = make_office(extra="[web]\nsecure_cookies = true\n")
    add_users(office.store, chen="author")
    client = httpx.Client(base_url=serve(office.config, office.store))
    response = client.post("/login", data={"name": "chen", "password": PASSWORD,
                                           "csrf": login_csrf(client)})
    assert "Secure" in response.headers["set-cookie"]


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(newsroom):
    client = httpx.Client(base_url=newsroom.url)
    for name in ("chen", "nobody"):
        response = client.post("/login", data={"name": name, "password": "wrong password!",
                                               "csrf": login_csrf(client)})
        assert response.status_code == 401
        assert "wrong name or password" in response.text
        assert "factpost_session" not in response.headers.get("set-cookie", "")


def test_the_sign_in_form_needs_its_own_csrf_token(newsroom):
    response = httpx.post(newsroom.url + "/login",
                          data={"name": "chen", "password": PASSWORD, "csrf": "forged"})
    assert response.status_code == 403
    assert "factpost_session" not in response.headers.get("set-cookie", "")


def test_five_failures_lock_out_that_user_from_that_address_even_after_a_restart(
        newsroom, serve):
    client = httpx.Client(base_url=newsroom.url)
    for _ in range(5):
        assert client.post("/login", data={"name": "chen", "password": "guess " * 3,
                                           "csrf": login_csrf(client)}).status_code == 401
    # A fresh server on the same database: the count lives in the database, not in memory.
    restarted = httpx.Client(base_url=serve(newsroom.config, newsroom.store))
    refused = restarted.post("/login", data={"name": "chen", "password": PASSWORD,
                                             "csrf": login_csrf(restarted)})
    assert refused.status_code == 429
    assert "too many failed sign-ins for 'chen'" in html.unescape(refused.text)
    assert "wait 15 minutes" in refused.text
    assert sign_in(newsroom.url, "bashir")  # other users are not affected


def test_failures_from_one_address_do_not_lock_the_user_out_from_another(newsroom):
    # Someone guessing chen's password from 127.0.0.2 (any 127/8 source reaches the server
    # on loopback) must not keep chen, at 127.0.0.1, from signing in: the count is per name
    # and address.
    guesser = httpx.Client(base_url=newsroom.url, timeout=30,
                           transport=httpx.HTTPTransport(local_address="127.0.0.2"))
    for _ in range(5):
        assert guesser.post("/login", data={"name": "chen", "password": "guess " * 3,
                                            "csrf": login_csrf(guesser)}).status_code == 401
    locked = guesser.post("/login", data={"name": "chen", "password": PASSWORD,
                                          "csrf": login_csrf(guesser)})
    assert locked.status_code == 429  # the guesser's address is locked out, right password or not
    assert sign_in(newsroom.url, "chen")  # from 127.0.0.1


def test_failures_older_than_the_window_no_longer_count(make_office, serve):
    office = make_office(extra="")
    add_users(office.store, chen="author")
    clock = {"now": datetime.now(UTC)}
    client = httpx.Client(base_url=serve(office.config, office.store,
                                         clock=lambda: clock["now"]))
    for _ in range(5):
        client.post("/login", data={"name": "chen", "password": "guess " * 3,
                                    "csrf": login_csrf(client)})
    clock["now"] += timedelta(minutes=16)
    assert client.post("/login", data={"name": "chen", "password": PASSWORD,
                                       "csrf": login_csrf(client)}).status_code == 303


def test_signing_out_ends_the_session_on_the_server(newsroom):
    client = sign_in(newsroom.url, "chen")
    stolen = dict(client.cookies)
    assert client.post("/logout", data={"csrf": page_csrf(client)}).status_code == 303
    replay = httpx.Client(base_url=newsroom.url, cookies=stolen)
    assert replay.get("/").status_code == 303


def test_a_disabled_user_is_signed_out_and_cannot_sign_in(newsroom):
    client = sign_in(newsroom.url, "chen")
    newsroom.store.users.update_user("chen", disabled=True, actor=OPERATOR,
                                          now=datetime.now(UTC))
    assert client.get("/").status_code == 303
    with pytest.raises(AssertionError, match="sign-in as chen failed: 401"):
        sign_in(newsroom.url, "chen")


def test_only_hashes_of_passwords_and_session_tokens_are_stored(newsroom):
    client = sign_in(newsroom.url, "chen")
    token = client.cookies["factpost_session"]
    dump = "\n".join(newsroom.store.engine.raw_connection().iterdump()) \
        if newsroom.store.engine.dialect.name == "sqlite" else ""
    assert PASSWORD not in dump and token not in dump
    assert "$argon2id$" in dump


# -- CSRF and roles --------------------------------------------------------------------------

def test_a_form_without_the_session_csrf_token_changes_nothing(newsroom):
    client = sign_in(newsroom.url, "chen")
    response = client.post("/compose", data={"csrf": "forged", "account": "office-x",
                                             "text": "forged post", "when": "at"})
    assert response.status_code == 403
    assert "Form expired" in response.text
    assert newsroom.store.history.search() == []


def test_an_author_cannot_approve_and_an_approver_cannot_manage_users(newsroom):
    author = sign_in(newsroom.url, "chen")
    post_id = posted_id(compose(author, "Briefing at ten."))
    assert author.get("/approvals").status_code == 403
    refused = author.post(f"/posts/{post_id}/approve", data={
        "csrf": page_csrf(author), "version": newsroom.store.posts.versions([post_id])[post_id]})
    assert refused.status_code == 403
    assert newsroom.store.history.get(post_id).status == S.DRAFT
    approver = sign_in(newsroom.url, "bashir")
    assert approver.get("/users").status_code == 403
    assert sign_in(newsroom.url, "amira").get("/users").status_code == 200


def test_nobody_approves_their_own_post_under_the_two_person_rule(newsroom):
    approver = sign_in(newsroom.url, "bashir")
    own = posted_id(compose(approver, "Written by the approver."))
    response = approver.post(f"/posts/{own}/approve", data={
        "csrf": page_csrf(approver), "version": newsroom.store.posts.versions([own])[own]})
    assert response.status_code == 409
    assert "another approver must approve it" in response.text
    assert newsroom.store.history.get(own).status == S.DRAFT
    admin = sign_in(newsroom.url, "amira")
    assert admin.post(f"/posts/{own}/approve",
                      data=approve_form(admin, own)).status_code == 303
    assert newsroom.store.history.get(own).approved_by == "amira"


def test_editing_an_approved_post_returns_it_to_draft(newsroom):
    author, approver = sign_in(newsroom.url, "chen"), sign_in(newsroom.url, "bashir")
    post_id = posted_id(compose(author, "Original wording."))
    approver.post(f"/posts/{post_id}/approve", data=approve_form(approver, post_id))
    assert newsroom.store.history.get(post_id).status == S.QUEUED
    author.post(f"/posts/{post_id}/edit", data={"csrf": page_csrf(author),
                                               "text": "Changed wording.", "at": ""})
    post = newsroom.store.history.get(post_id)
    assert (post.status, post.text, post.approved_by) == (S.DRAFT, "Changed wording.", None)


def test_rejecting_a_draft_cancels_it_with_the_reason_in_the_audit_trail(newsroom):
    author, approver = sign_in(newsroom.url, "chen"), sign_in(newsroom.url, "bashir")
    post_id = posted_id(compose(author, "Premature announcement."))
    approver.post(f"/posts/{post_id}/reject", data={"csrf": page_csrf(approver),
                                                   "reason": "not cleared yet"})
    assert newsroom.store.history.get(post_id).status == S.CANCELLED
    assert newsroom.store.history.audit_trail(post_id)[-1].reason == "rejected: not cleared yet"


# -- what pages show -------------------------------------------------------------------------

def test_post_text_is_shown_as_text_and_right_to_left_text_gets_its_direction(newsroom):
    client = sign_in(newsroom.url, "chen")
    hostile = posted_id(compose(client, "<script>alert('x')</script> & <b>bold</b>"))
    arabic = posted_id(compose(client, "قوة المهام المشتركة تفتح الممرات البحرية."))
    page = client.get(f"/posts/{hostile}").text
    assert "<script>alert" not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in page
    assert re.search(r'<div class="post-text" dir="auto">قوة المهام',
                     client.get(f"/posts/{arabic}").text)
    queue = client.get("/").text
    assert "<script>alert" not in queue and 'dir="auto">قوة المهام' in queue


def test_compose_over_the_x_limit_queues_a_thread_split_like_an_import(newsroom):
    client = sign_in(newsroom.url, "chen")
    text = " ".join(f"Sentence number {i} of a long statement." for i in range(20))
    first = newsroom.store.history.get(posted_id(compose(client, text)))
    parts = newsroom.store.history.thread_of(first)
    assert [p.thread_position for p in parts] == list(range(1, len(parts) + 1))
    assert len(parts) > 1 and all(p.status == S.DRAFT for p in parts)
    assert [p.parent_id for p in parts[1:]] == [p.id for p in parts[:-1]]  # a reply chain
    preview = client.post("/api/preview", json={"account": "office-x", "text": text},
                          headers={"X-CSRF-Token": page_csrf(client)}).json()
    assert [part["text"] for part in preview["parts"]] == [p.text for p in parts]
    # The post's page links every part of its thread.
    page = client.get(f"/posts/{first.id}").text
    assert all(f'href="/posts/{p.id}"' in page for p in parts[1:])


def test_a_second_long_thread_by_the_same_person_is_queued_too(newsroom):
    # Composed text once went through the fact-sheet importer under the name "composed by
    # <person>", so a second thread by the same person for the same account looked like a
    # changed version of the first and was refused as "this exact text was already composed".
    client = sign_in(newsroom.url, "chen")
    first_text = " ".join(f"Sentence number {i} of a long statement." for i in range(20))
    second_text = " ".join(f"Convoy {i} reached the harbour at dawn today." for i in range(20))
    first = newsroom.store.history.get(posted_id(compose(client, first_text)))
    second = newsroom.store.history.get(posted_id(compose(client, second_text)))
    threads = [newsroom.store.history.thread_of(p) for p in (first, second)]
    assert all(len(thread) > 1 for thread in threads)
    assert {p.id for p in threads[0]}.isdisjoint(p.id for p in threads[1])
    assert all(p.document_id is None for thread in threads for p in thread)
    assert threads[1][0].text.startswith("Convoy 0 reached the harbour")
    # The API composes the same way (and `post add` too: tests/test_cli.py).
    token = token_for(newsroom.store, "chen")
    third = httpx.post(f"{newsroom.url}/api/posts", headers={"Authorization": f"Bearer {token}"},
                       json={"account": "office-x", "text": f"{first_text} Once more.",
                             "at": "now"})
    assert third.status_code == 201, third.text
    assert len(third.json()["posts"]) > 1


def test_import_shows_snippets_for_review_and_writes_nothing_until_confirmed(newsroom):
    client = sign_in(newsroom.url, "chen")
    csrf = page_csrf(client)
    review = client.post("/import/review", data={"csrf": csrf, "schedule": "spaced",
                                                 "account": ["office-x", "office-fb"],
                                                 "at": "", "every": "0s"},
                         files={"file": ("meridian.txt", sample_factsheet().encode())})
    assert review.status_code == 200
    assert "OPERATIONS" in review.text and review.text.count('class="snippet"') > 4
    # The contact footer is listed as left out of the posts, not dropped silently.
    assert "not posted, taken for contact details" in html.unescape(review.text)
    assert newsroom.store.history.search() == []
    token = re.search(r'name="review" value="([^"]+)"', review.text).group(1)
    done = client.post("/import", data={"csrf": csrf, "review": token})
    assert done.status_code == 303
    shown = client.get(done.headers["location"])
    assert re.search(r'class="notice"[^>]*>meridian.txt: \d+ posts drafts awaiting approval[^<]*<',
                     shown.text), shown.text
    assert "drafts awaiting approval" not in client.get("/").text  # said once
    posts = newsroom.store.history.search()
    assert {p.account for p in posts} == {"office-x", "office-fb"}
    assert review.text.count('class="snippet"') == len(posts)
    assert {p.status for p in posts} == {S.DRAFT}


def test_a_bad_upload_gets_one_clear_line_and_nothing_is_stored(newsroom):
    client = sign_in(newsroom.url, "chen")
    response = client.post("/import/review", data={"csrf": page_csrf(client),
                                                   "account": "office-x"},
                           files={"file": ("photo.txt", b"\x89PNG\r\n\x1a\n" + bytes(300))})
    assert response.status_code == 400
    assert re.search(r'class="error" role="alert">photo.txt: [^<]+</p>', response.text)
    assert newsroom.store.history.search() == []


def test_history_pages_by_key_through_every_post_once_newest_first(newsroom):
    now = datetime.now(UTC)
    ids = [newsroom.add(f"post {i}", at=now + timedelta(minutes=i % 7)) for i in range(120)]
    client = sign_in(newsroom.url, "chen")
    seen, link = [], "/history"
    while link:
        page = client.get(link).text
        seen += [int(i) for i in re.findall(r'<td data-label="#"><a href="/posts/(\d+)">', page)]
        found = re.search(r'<a href="([^"]+)" rel="next">', page)
        link = found.group(1).replace("&amp;", "&") if found else None
    expected = [p.id for p in newsroom.store.history.search(HistoryFilter())]
    assert seen == expected and sorted(seen) == sorted(ids)


def test_history_filters_by_account_status_and_text(newsroom):
    newsroom.add("Convoy reached the port.")
    newsroom.add("Convoy delayed by weather.", account="office-fb")
    newsroom.add("Clinic opened.")
    client = sign_in(newsroom.url, "chen")
    page = client.get("/history", params={"account": "office-x", "q": "convoy",
                                          "status": "queued"}).text
    assert "Convoy reached the port." in page
    assert "delayed" not in page and "Clinic" not in page
    words = client.get("/history", params={"q": "PORT convoy"}).text
    assert "Convoy reached the port." in words and "delayed" not in words
    refused = client.get("/history", params={"q": "***"})
    assert refused.status_code == 400
    assert "search &#39;***&#39; has no letters or digits to look for" in refused.text
    export = client.get("/history.csv", params={"q": "-"})
    assert export.status_code == 400 and "has no letters or digits" in export.text


def test_history_exports_every_matching_post_as_csv(newsroom):
    from db.documents import PlannedPost

    # More than two of the export's 500-row batches, stored in one import (as a long sheet
    # is) rather than by 1,203 separate adds and approvals, which took a minute.
    now = datetime.now(UTC)
    newsroom.store.documents.add(
        source_name="export.txt", content_hash="export", title=None, sections=[],
        posts=[PlannedPost(account="office-x", platform="x", text=f"export {i}",
                           scheduled_at=now + timedelta(days=1)) for i in range(1203)],
        actor=AUTHOR, now=now, status=PostStatus.DRAFT)
    newsroom.add("other words")
    client = sign_in(newsroom.url, "chen")
    response = client.get("/history.csv", params={"q": "export"})
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 1203 and len({r["id"] for r in rows}) == 1203
    assert rows[0]["text"].startswith("export")


def test_the_calendar_shows_posts_and_free_slots_in_the_office_timezone(make_office, serve):
    office = make_office(extra="")
    add_users(office.store, chen="author")
    # Tuesday 1 December 2026, 08:00 in Baghdad; office-x gets daily 09:00 and 15:00 slots.
    config = office.config.__class__(**{**office.config.__dict__, "accounts": (
        office.config.accounts[0].__class__(**{**office.config.accounts[0].__dict__,
                                               "slots": ("0 9 * * *", "0 15 * * *")}),)})
    now = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
    taken = office.add("Taken slot", at=datetime(2026, 12, 1, 6, 0, tzinfo=UTC))
    client = sign_in(serve(config, office.store, clock=lambda: now), "chen")
    page = client.get("/calendar", params={"account": "office-x"}).text
    assert "Calendar: 2026-12-01 to 2026-12-07" in page  # seven days from today
    assert f'href="/posts/{taken}"' in page and "<time>09:00</time>" in page
    free = re.findall(r'at=(2026-12-\d\dT\d\d:\d\d)"', page)
    # 1 Dec 15:00, then two a day to Monday 7 Dec; 1 Dec 09:00 is taken.
    assert free[0] == "2026-12-01T15:00" and "2026-12-01T09:00" not in free
    assert len(free) == 1 + 2 * 6


def test_the_calendar_and_queue_tell_the_two_slots_of_a_repeated_hour_apart(make_office, serve):
    # New York, the night the clocks go back: a daily 01:30 slot comes twice on 7 November.
    office = make_office(extra="")
    add_users(office.store, chen="author")
    account = office.config.accounts[0].__class__(**{**office.config.accounts[0].__dict__,
                                                     "slots": ("30 1 * * *",)})
    config = office.config.__class__(**{**office.config.__dict__, "accounts": (account,),
                                        "timezone": ZoneInfo("America/New_York")})
    now = datetime(2027, 11, 5, 12, 0, tzinfo=UTC)
    first = office.add("First 01:30", at=datetime(2027, 11, 7, 5, 30, tzinfo=UTC))
    client = sign_in(serve(config, office.store, clock=lambda: now), "chen")
    page = client.get("/calendar", params={"account": "office-x", "week": "2027-11-07"}).text
    assert f'href="/posts/{first}"' in page
    assert "<time>01:30 EDT</time>" in page and "<time>01:30 EST</time>" in page  # the free one
    assert "<time>01:30</time>" in page  # 8 November: once only, no zone needed
    for listing in ("/", "/history"):
        assert "2027-11-07 01:30 EDT" in client.get(listing).text
    # The free EST slot's link, and the compose form it opens (its time as staff type it),
    # keep the offset, so the post goes in the second 01:30, not the first.
    link = re.search(r'href="(/compose\?[^"]*at=2027-11-07T01:30-05:00)"', page).group(1)
    form = client.get(link.replace("&amp;", "&")).text
    assert 'type="text" name="at" value="2027-11-07 01:30-05:00"' in form
    second = posted_id(compose(client, "In the second 01:30", at="2027-11-07 01:30-05:00"))
    assert office.store.history.get(second).scheduled_at == datetime(2027, 11, 7, 6, 30,
                                                                      tzinfo=UTC)
    # Its edit form shows the offset too: saving it unchanged keeps the second 01:30.
    edit = client.get(f"/posts/{second}").text
    assert 'value="2027-11-07 01:30-05:00"' in edit


def test_status_shows_the_cli_figures_and_an_admin_pauses_and_resumes(newsroom):
    newsroom.add("waiting")
    admin = sign_in(newsroom.url, "amira")
    page = admin.get("/status").text
    assert "not running" in page and "queued 1" in page
    admin.post("/accounts/office-x/pause", data={"csrf": page_csrf(admin),
                                                 "reason": "tokens rotated"})
    assert newsroom.store.accounts.state("office-x").paused
    assert "tokens rotated" in admin.get("/status").text
    author = sign_in(newsroom.url, "chen")
    assert author.post("/accounts/office-x/resume",
                       data={"csrf": page_csrf(author)}).status_code == 403
    admin.post("/accounts/office-x/resume", data={"csrf": page_csrf(admin)})
    assert not newsroom.store.accounts.state("office-x").paused


def test_an_admin_adds_a_user_who_can_then_sign_in(newsroom):
    admin = sign_in(newsroom.url, "amira")
    short = admin.post("/users", data={"csrf": page_csrf(admin), "name": "dana",
                                       "role": "author", "password": "short"})
    assert short.status_code == 400 and "use at least 10" in short.text
    admin.post("/users", data={"csrf": page_csrf(admin), "name": "dana", "role": "approver",
                               "password": "a long enough password"})
    assert sign_in(newsroom.url, "dana", "a long enough password").get(
        "/approvals").status_code == 200


def test_every_page_renders_for_every_role(newsroom):
    newsroom.add("something queued")
    for name in ("amira", "bashir", "chen"):
        client = sign_in(newsroom.url, name)
        for path in ("/", "/calendar", "/compose", "/import", "/history", "/status",
                     "/posts/1"):
            assert client.get(path).status_code == 200, (name, path)
