"""The Queue and the History (issue 15, point 4): a live link to each published post, the
menu marking the page shown, times with their zone, time fields read as 24-hour office time
whatever the browser's locale, and bulk cancel / approve / reschedule of the posts ticked,
each through the store's own action, ending in one notice. Over real loopback HTTP; the
browser side (select all, phones) is in test_web_browser.py."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from conftest import REVIEW, add_users, page_csrf, sign_in

from posts.states import Actor, PostStatus

S = PostStatus
# Sunday 6 December 2026, 08:00 in Baghdad (UTC+3).
SUNDAY = datetime(2026, 12, 6, 5, 0, tzinfo=UTC)
MONDAY_9 = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)  # 09:00 in Baghdad
CHEN = Actor("chen", "author")
BASHIR = Actor("bashir", "approver")


@pytest.fixture
def office(make_office, serve):
    """An office under review (two-person rule) on Sunday morning; X posts at 09:00 and
    15:00, the Page at 12:00; amira (admin), bashir (approver), chen (author)."""
    office = make_office(extra=REVIEW)
    add_users(office.store, amira="admin", bashir="approver", chen="author")
    x, fb = office.config.accounts
    office.config = office.config.__class__(**{**office.config.__dict__, "accounts": (
        x.__class__(**{**x.__dict__, "slots": ("0 9 * * *", "0 15 * * *")}),
        fb.__class__(**{**fb.__dict__, "slots": ("0 12 * * *",)}))})
    office.url = serve(office.config, office.store, clock=lambda: SUNDAY)
    return office


def draft(office, text: str, at: datetime, account: str = "office-x", by: Actor = CHEN) -> int:
    platform = office.config.account(account).platform
    return office.store.posts.add(account=account, platform=platform, text=text,
                                  scheduled_at=at, actor=by, now=SUNDAY, status=S.DRAFT).id


def boxes(page: str) -> dict[int, str]:
    """The bulk boxes a list offers: post id -> the "ID:VERSION" value it sends."""
    return {int(v.split(":")[0]): v for v in
            re.findall(r'<input type="checkbox" name="post" value="([^"]+)"', page)}


def bulk(client, action: str, values, back: str = "/", **fields):
    response = client.post("/bulk", data={"csrf": page_csrf(client), "action": action,
                                           "post": list(values), "back": back, **fields})
    assert response.status_code == 303, response.text
    return response


def shown(client, response) -> tuple[str | None, str | None]:
    """(notice, alert) on the page a bulk action leads to."""
    page = client.get(response.headers["location"]).text
    notice = re.search(r'<p class="notice" role="status">(.*?)</p>', page, re.S)
    alert = re.search(r'<p class="error" role="alert">(.*?)</p>', page, re.S)
    return (html.unescape(notice.group(1)) if notice else None,
            html.unescape(alert.group(1)) if alert else None)


def status(office, post_id: int) -> PostStatus:
    return office.store.history.get(post_id).status


# -- menu, links, times ----------------------------------------------------------------------

def test_the_menu_marks_the_page_it_leads_to_and_no_other(office):
    client = sign_in(office.url, "bashir")
    post_id = office.add("A post", at=MONDAY_9)
    for path, href in (("/", "/"), ("/history?status=queued", "/history"),
                       ("/calendar?view=month", "/calendar"), ("/approvals", "/approvals"),
                       ("/status", "/status")):
        page = client.get(path).text
        assert re.findall(r'<a href="([^"]+)" aria-current="page">', page) == [href], path
    assert 'aria-current="page">' not in client.get(f"/posts/{post_id}").text.split("</nav>")[0]


def test_history_links_each_published_post_to_the_platform(office):
    client = sign_in(office.url, "chen")
    out = office.add("Published on X", at=SUNDAY)
    waiting = office.add("Still queued", at=MONDAY_9)
    assert office.dispatcher().tick(SUNDAY + timedelta(minutes=1)).published == 1
    url = office.store.history.get(out).remote_url
    assert url.startswith("https://x.com/OfficeX/status/")
    page = client.get("/history").text
    row = {int(i): r for i, r in re.findall(
        r'<td data-label="#"><a href="/posts/(\d+)">.*?</td>(.*?)</tr>', page, re.S)}
    assert f'<a class="live" href="{url}" rel="noopener noreferrer" target="_blank">' in row[out]
    assert 'class="live"' not in row[waiting]


def test_every_time_in_the_lists_and_on_a_post_carries_its_zone(office):
    client = sign_in(office.url, "chen")
    post_id = office.add("Monday morning", at=MONDAY_9)
    for path in ("/", "/history"):
        times = re.findall(r'<td class="when" data-label="When">([^<]*)</td>', client.get(path)
                           .text)
        assert times == ["2026-12-07 09:00 UTC+03:00"], path
    page = client.get(f"/posts/{post_id}").text
    assert "<dt>Scheduled</dt><dd>2026-12-07 09:00 UTC+03:00</dd>" in page
    trail = re.findall(r'<td data-label="When">([^<]*)</td>', page)
    assert trail and all(t.endswith(" UTC+03:00") for t in trail)


def test_time_fields_are_24_hour_office_time_whatever_the_browsers_locale(office):
    client = sign_in(office.url, "chen")
    post_id = office.add("Monday morning", at=MONDAY_9)
    fields = {}
    for path in ("/", "/history", f"/posts/{post_id}", "/import", "/compose"):
        page = client.get(path).text
        # A date or datetime-local input shows the browser's format (12-hour in some locales).
        assert 'type="date' not in page and "datetime-local" not in page, path
        for tag in re.findall(r'<input [^>]*name="(?:at|since|until)"[^>]*>', page, re.S):
            fields[(path, re.search(r'name="(\w+)"', tag).group(1))] = tag
    assert set(fields) == {("/", "at"), ("/history", "at"), ("/history", "since"),
                           ("/history", "until"),
                           (f"/posts/{post_id}", "at"), ("/import", "at"), ("/compose", "at")}
    for tag in fields.values():
        assert 'type="text"' in tag
        assert re.search(r'placeholder="2026-12-01( 09:00)?"', tag)
        pattern = html.unescape(re.search(r'pattern="([^"]+)"', tag).group(1))
        # The browser anchors a pattern; fullmatch does the same here.
        for typed in ("2026-12-01 09:00", "2026-12-01", "2027-11-07T01:30-05:00", "now",
                      "+2h"):
            assert re.fullmatch(pattern, typed), (pattern, typed)
        for typed in ("12/01/2026 9:00 AM", "tomorrow"):
            assert not re.fullmatch(pattern, typed)
    assert 'value="2026-12-07 09:00"' in fields[(f"/posts/{post_id}", "at")]
    # What is typed is office time (UTC+3), read by parse_time.
    response = client.post(f"/posts/{post_id}/edit", data={
        "csrf": page_csrf(client), "text": "", "at": "2026-12-08 15:00"})
    assert response.status_code == 303
    assert office.store.history.get(post_id).scheduled_at.replace(tzinfo=UTC) == datetime(
        2026, 12, 8, 12, 0, tzinfo=UTC)
    other = office.add("Thursday", at=datetime(2026, 12, 10, 6, 0, tzinfo=UTC))
    page = client.get("/history", params={"since": "2026-12-08", "until": "2026-12-09"}).text
    assert f'href="/posts/{post_id}"' in page and f'href="/posts/{other}"' not in page
    bad = client.get("/history", params={"since": "12/08/2026"})
    assert bad.status_code == 400 and "2026-12-01 09:00" in html.unescape(bad.text)


# -- bulk actions ----------------------------------------------------------------------------

def test_bulk_cancel_cancels_every_ticked_post_and_says_so_once(office):
    client = sign_in(office.url, "chen")
    ids = [office.add(f"Post {n}", at=MONDAY_9 + timedelta(hours=n)) for n in range(3)]
    offered = boxes(client.get("/").text)
    assert set(offered) == set(ids)
    response = bulk(client, "cancel", [offered[ids[0]], offered[ids[2]]], reason="withdrawn")
    assert response.headers["location"] == "/"
    notice, alert = shown(client, response)
    assert notice == f"Cancelled 2 post(s): post {ids[0]}, post {ids[2]}." and alert is None
    assert [status(office, i) for i in ids] == [S.CANCELLED, S.QUEUED, S.CANCELLED]
    assert office.store.history.audit_trail(ids[0])[-1].reason == "withdrawn"


def test_bulk_cancel_changes_nothing_when_a_ticked_post_is_already_out(office):
    client = sign_in(office.url, "chen")
    out = office.add("Published", at=SUNDAY)
    office.dispatcher().tick(SUNDAY + timedelta(minutes=1))
    waiting = office.add("Queued", at=MONDAY_9)
    history = client.get("/history").text
    assert set(boxes(history)) == {waiting}  # a published post offers no box
    response = bulk(client, "cancel", [f"{out}:", boxes(history)[waiting]],
                    back="/history?status=queued")
    assert response.headers["location"] == "/history?status=queued"
    notice, alert = shown(client, response)
    assert notice is None
    assert alert == f"Nothing was cancelled. post {out}: it is published."
    assert (status(office, out), status(office, waiting)) == (S.PUBLISHED, S.QUEUED)


def test_bulk_approve_is_all_or_none_at_the_version_each_post_was_shown(office):
    mine = draft(office, "Bashir's own draft", MONDAY_9, by=BASHIR)
    first = draft(office, "Chen's first", MONDAY_9 + timedelta(hours=1))
    second = draft(office, "Chen's second", MONDAY_9 + timedelta(hours=2), account="office-fb")
    client = sign_in(office.url, "bashir")
    offered = boxes(client.get("/").text)
    assert set(offered) == {mine, first, second}
    # His own draft among them (two-person rule): nothing is approved.
    notice, alert = shown(client, bulk(client, "approve", offered.values()))
    assert notice is None and alert.startswith("Nothing was approved.")
    assert "bashir" in alert
    assert {status(office, i) for i in (mine, first, second)} == {S.DRAFT}
    # Chen edits one after the page was shown: the version no longer matches, none goes.
    office.store.posts.edit(second, actor=CHEN, now=SUNDAY, text="Chen's second, edited")
    notice, alert = shown(client, bulk(client, "approve", [offered[first], offered[second]]))
    assert alert == f"Nothing was approved. post {second} changed since you opened it; " \
                    "review it again."
    assert status(office, first) == S.DRAFT
    fresh = boxes(client.get("/").text)
    notice, alert = shown(client, bulk(client, "approve", [fresh[first], fresh[second]]))
    assert notice == f"Approved 2 post(s): post {first}, post {second}." and alert is None
    assert (status(office, first), status(office, second)) == (S.QUEUED, S.QUEUED)


def test_an_author_is_offered_no_approval_and_a_forged_one_is_refused(office):
    post_id = draft(office, "Chen's draft", MONDAY_9, by=Actor("someone", "author"))
    client = sign_in(office.url, "chen")
    page = client.get("/").text
    assert 'value="reschedule"' in page and 'value="cancel"' in page
    assert 'value="approve"' not in page
    notice, alert = shown(client, bulk(client, "approve", boxes(page).values()))
    assert notice is None and alert.startswith("Nothing was approved.")
    assert status(office, post_id) == S.DRAFT


def test_bulk_reschedule_puts_each_accounts_posts_in_its_next_free_slots(office):
    client = sign_in(office.url, "chen")
    monday_x = office.add("X on Monday", at=MONDAY_9)
    tuesday_x = office.add("X on Tuesday", at=MONDAY_9 + timedelta(days=1))
    monday_fb = office.add("Page on Monday", account="office-fb",
                           at=MONDAY_9 + timedelta(hours=3))
    offered = boxes(client.get("/").text)
    notice, alert = shown(client, bulk(client, "reschedule", offered.values(),
                                       schedule="slots"))
    # Sunday 08:00 now: X's 09:00 and 15:00 today are free, and so is the Page's 12:00.
    moved = {i: office.store.history.get(i).scheduled_at.replace(tzinfo=UTC)
             for i in (monday_x, tuesday_x, monday_fb)}
    assert moved == {monday_x: datetime(2026, 12, 6, 6, 0, tzinfo=UTC),
                     tuesday_x: datetime(2026, 12, 6, 12, 0, tzinfo=UTC),
                     monday_fb: datetime(2026, 12, 6, 9, 0, tzinfo=UTC)}
    assert alert is None
    assert notice.startswith("Rescheduled 3 post(s):")
    assert f"post {tuesday_x} to 2026-12-06 15:00 UTC+03:00" in notice


def test_bulk_reschedule_spaces_posts_from_a_chosen_time_moving_a_thread_whole(office):
    client = sign_in(office.url, "chen")
    thread = office.store.posts.add_thread(account="office-x", platform="x",
                                           texts=["Part one", "Part two"],
                                           scheduled_at=MONDAY_9, actor=CHEN, now=SUNDAY,
                                           status=S.DRAFT)
    single = draft(office, "Later on X", MONDAY_9 + timedelta(days=1))
    page_post = draft(office, "On the Page", MONDAY_9, account="office-fb")
    offered = boxes(client.get("/").text)
    ticked = [offered[thread[1].id], offered[single], offered[page_post]]  # part two only

    for at, every, why in (("2026-12-01 10:00", "30m", "is in the past"),
                           ("2026-12-10 10:00", "soon", "cannot read duration"),
                           ("10/12/2026 10:00", "30m", "cannot read time")):
        notice, alert = shown(client, bulk(client, "reschedule", ticked, schedule="spaced",
                                           at=at, every=every))
        assert notice is None and why in alert
        assert office.store.history.get(single).scheduled_at.replace(tzinfo=UTC) == \
            MONDAY_9 + timedelta(days=1)

    notice, alert = shown(client, bulk(client, "reschedule", ticked, schedule="spaced",
                                       at="2026-12-10 10:00", every="30m"))
    assert alert is None and notice.startswith("Rescheduled 4 post(s):")
    at = {p.id: p.scheduled_at.replace(tzinfo=UTC) for p in office.store.history.search()}
    ten = datetime(2026, 12, 10, 7, 0, tzinfo=UTC)  # 10:00 in Baghdad
    assert at == {thread[0].id: ten, thread[1].id: ten, single: ten + timedelta(minutes=30),
                  page_post: ten}


def test_a_bulk_form_goes_back_only_to_its_own_list(office):
    client = sign_in(office.url, "chen")
    post_id = office.add("A post", at=MONDAY_9)
    value = boxes(client.get("/").text)[post_id]
    for back, expected in (("/history?status=queued&q=a", "/history?status=queued&q=a"),
                           ("https://elsewhere.example/", "/"), ("//elsewhere.example", "/"),
                           ("/history//elsewhere", "/")):
        assert bulk(client, "bogus", [value], back=back).headers["location"] == expected
    notice, alert = shown(client, bulk(client, "cancel", []))
    assert notice is None and alert == "Nothing selected: tick the posts to cancel first."
    assert status(office, post_id) == S.QUEUED
