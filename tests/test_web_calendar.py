"""The Calendar (issue 15, point 3): a week from today or a month, across every account or one,
and a post moved to another free slot, by the keyboard's Move form (here) or by dragging it
(test_web_browser.py), with the checks an edit of its time has."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest
from conftest import add_users, page_csrf, sign_in

from posts.states import PostStatus

S = PostStatus
# Sunday 6 December 2026, 08:00 in Baghdad (UTC+3).
SUNDAY = datetime(2026, 12, 6, 5, 0, tzinfo=UTC)


@pytest.fixture
def office(make_office, serve):
    """Two accounts with daily slots (X 09:00 and 15:00, the Page 12:00) and a signed-in
    author, on Sunday morning."""
    office = make_office(extra="")
    add_users(office.store, chen="author")
    x, fb = office.config.accounts
    office.config = office.config.__class__(**{**office.config.__dict__, "accounts": (
        x.__class__(**{**x.__dict__, "slots": ("0 9 * * *", "0 15 * * *")}),
        fb.__class__(**{**fb.__dict__, "slots": ("0 12 * * *",)}))})
    office.client = sign_in(serve(office.config, office.store, clock=lambda: SUNDAY), "chen")
    return office


def entries(page: str) -> list[str]:
    return re.findall(r'<a class="entry (\w+)" href="/posts/(\d+)"', page)


def test_the_week_starts_today_so_a_sunday_shows_sundays_posts(office):
    today = office.add("Sunday's post", at=datetime(2026, 12, 6, 6, 0, tzinfo=UTC))
    page = office.client.get("/calendar").text
    assert "Calendar: 2026-12-06 to 2026-12-12" in page
    assert ("queued", str(today)) in entries(page)
    assert re.search(r'<h2>Sun 06 Dec <small>today</small></h2>', page)


def test_every_account_is_shown_unless_one_is_chosen(office):
    x = office.add("On X", account="office-x", at=datetime(2026, 12, 7, 6, 0, tzinfo=UTC))
    fb = office.add("On the Page", account="office-fb",
                    at=datetime(2026, 12, 7, 9, 0, tzinfo=UTC))
    everything = office.client.get("/calendar").text
    assert {str(x), str(fb)} <= {i for _, i in entries(everything)}
    assert '<span class="acct">office-fb</span>' in everything
    # Free slots of both accounts: X twice a day, the Page once (the 09:00 on Monday is taken).
    assert len(re.findall(r'data-account="office-x" href="/compose', everything)) == 2 * 7 - 1
    assert len(re.findall(r'data-account="office-fb" href="/compose', everything)) == 7 - 1
    only_x = office.client.get("/calendar", params={"account": "office-x"}).text
    assert {i for _, i in entries(only_x)} == {str(x)}
    assert 'data-account="office-fb"' not in only_x


def test_the_month_view_shows_the_whole_month_in_weekday_columns(office):
    late = office.add("New year's eve", at=datetime(2026, 12, 31, 6, 0, tzinfo=UTC))
    page = office.client.get("/calendar", params={"view": "month"}).text
    assert "Calendar: December 2026" in page
    assert page.count('<section class="day') == 31
    # 1 December 2026 is a Tuesday: one filler before it in a Monday-first grid.
    assert page.count('class="day filler"') == 1
    assert ("queued", str(late)) in entries(page)
    assert 'href="/calendar?view=month&amp;start=2027-01-01"' in page
    assert 'href="/calendar?view=month&amp;start=2026-11-01"' in page


def move(office, post_id: int, at: str, back: str = "/calendar?view=week&start=2026-12-06"):
    return office.client.post(f"/posts/{post_id}/move", data={
        "csrf": page_csrf(office.client, "/calendar"), "at": at, "back": back})


def test_a_post_moves_to_a_free_slot_by_its_move_form(office):
    post = office.add("Move me", at=datetime(2026, 12, 7, 6, 0, tzinfo=UTC))
    page = office.client.get("/calendar").text
    form = re.search(rf'<form method="post" action="/posts/{post}/move".*?</form>', page, re.S)
    slots = re.findall(r'<option value="([^"]+)">', form.group(0))
    assert "2026-12-08T15:00" in slots and "2026-12-07T09:00" not in slots  # its own slot
    moved = move(office, post, "2026-12-08T15:00")
    assert moved.status_code == 303
    assert moved.headers["location"] == "/calendar?view=week&start=2026-12-06"
    assert office.store.history.get(post).scheduled_at.replace(tzinfo=UTC) == datetime(
        2026, 12, 8, 12, 0, tzinfo=UTC)
    shown = office.client.get(moved.headers["location"]).text
    assert f"post {post} moved to 2026-12-08 15:00 UTC+03:00 (Asia/Baghdad)" in html.unescape(shown)
    trail = office.store.history.audit_trail(post)
    assert trail[-1].actor == "chen" and trail[-1].reason == "edited time"


def test_a_move_is_checked_as_an_edit_is(office):
    post = office.add("Move me", at=datetime(2026, 12, 7, 6, 0, tzinfo=UTC))
    past = move(office, post, "2026-12-05T09:00")
    assert past.status_code == 400 and "past" in html.unescape(past.text)
    assert office.dispatcher().tick(datetime(2026, 12, 7, 7, 0, tzinfo=UTC)).published == 1
    published = move(office, post, "2026-12-08T15:00")
    assert published.status_code == 409
    assert "only draft, queued, failed or needs_review posts" in html.unescape(published.text)
    assert office.store.history.get(post).status == S.PUBLISHED


def test_a_move_goes_back_only_to_the_calendar(office):
    post = office.add("Move me", at=datetime(2026, 12, 7, 6, 0, tzinfo=UTC))
    for back in ("https://evil.example/", "//evil.example/calendar", "/calendar//evil"):
        response = move(office, post, "2026-12-08T15:00", back=back)
        assert response.headers["location"] == "/calendar", back
