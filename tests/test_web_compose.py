"""Compose once, publish to several accounts (issue 15, point 2), over real HTTP: the Compose
page and POST /api/posts make one post (or thread) per account chosen, each from the shared
text or its own variant, with an image checked by each platform's rules, all stored in one
transaction or none; a post's edit box leaves a thread part's numbering out and the server
adds it back. Published through the emulator by the daemon's tick."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import httpx
import pytest
from conftest import page_csrf, sign_in, token_for
from test_images import ALT, WEBP, png

from posts.states import PostStatus

S = PostStatus
BAGHDAD = ZoneInfo("Asia/Baghdad")  # the test office's zone (conftest.OFFICE_CONFIG)


def later() -> str:
    """A time an hour from now in the office's zone, as staff type it (24-hour)."""
    return (datetime.now(BAGHDAD) + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")


def post_compose(client: httpx.Client, accounts: list[str], text: str, *,
                 variants: dict[str, str] | None = None, image: bytes | None = None,
                 alt: str = "", when: str = "at", at: str = "") -> httpx.Response:
    data = {"csrf": page_csrf(client, "/compose"), "account": accounts, "text": text,
            "when": when, "at": at or later(), "alt_text": alt}
    for name, variant in (variants or {}).items():
        data[f"variant:{name}"] = variant
    files = {"image": ("picture.png", image, "application/octet-stream")} if image else None
    if files is None:  # a multipart body without a file, as a browser sends the form
        files = {"image": ("", b"", "application/octet-stream")}
    return client.post("/compose", data=data, files=files)


def test_one_compose_queues_x_and_facebook_with_the_image_and_both_are_published(desk):
    client = sign_in(desk.url, "chen")
    image = png(4, 4)
    text = "The harbour reopens to commercial shipping at noon. " * 7  # over 280: an X thread
    response = post_compose(client, ["office-x", "office-fb"], text.strip(), image=image,
                            alt=ALT)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/"  # the queue, where both accounts' posts are
    queue = client.get("/").text
    assert re.search(r"office-x: 2-part thread queued at [^;]+; office-fb: post queued at",
                     unescape(queue))
    posts = desk.store.history.search()
    by_account = {a: sorted((p for p in posts if p.account == a), key=lambda p: p.id)
                  for a in ("office-x", "office-fb")}
    assert len(by_account["office-x"]) == 2  # X threads the long text...
    assert len(by_account["office-fb"]) == 1  # ...Facebook takes it whole
    assert {p.status for p in posts} == {S.QUEUED}
    assert len({p.scheduled_at for p in posts}) == 1  # the chosen time, for both

    report = desk.dispatcher().tick(datetime.now(UTC) + timedelta(hours=2))
    assert report.published == 3
    tweets = desk.emulator.tweets("OfficeX")
    page = desk.emulator.posts("facebook", "OfficeFB")
    assert [t["media"][0]["alt_text"] for t in tweets if t["media"]] == [ALT]
    assert tweets[0]["media"] and not tweets[1]["media"]  # the image goes with the first part
    assert [p["media"][0]["alt_text"] for p in page] == [ALT]


def test_a_variant_edited_for_one_account_is_what_that_account_posts(desk):
    client = sign_in(desk.url, "chen")
    response = post_compose(client, ["office-x", "office-fb"], "Shared wording.",
                            variants={"office-fb": "Facebook's own, longer wording.",
                                      "office-x": ""})
    assert response.status_code == 303, response.text
    texts = {p.account: p.text for p in desk.store.history.search()}
    assert texts == {"office-x": "Shared wording.",
                     "office-fb": "Facebook's own, longer wording."}


def test_a_refusal_for_one_account_is_one_line_naming_it_and_nothing_is_stored(desk):
    client = sign_in(desk.url, "chen")
    # X takes WEBP images; Facebook does not (scheduler/platforms/facebook.py).
    response = post_compose(client, ["office-x", "office-fb"], "With a WEBP image.",
                            image=WEBP, alt=ALT)
    assert response.status_code == 400
    error = re.search(r'<p class="error" role="alert">([^<]*)</p>', response.text).group(1)
    assert error.startswith("office-fb: ") and "WEBP" in error and "\n" not in error
    assert "choose the image again" in error
    # What was typed comes back, both accounts still chosen.
    assert "With a WEBP image." in response.text
    assert re.findall(r'value="([^"]+)" data-platform="[^"]+" checked', response.text) == [
        "office-x", "office-fb"]
    assert desk.store.history.search() == []

    # Too long for Facebook is never the case here, so refuse by the thread limit on X.
    long = ("A sentence of about sixty characters, repeated many times. " * 400).strip()
    response = post_compose(client, ["office-fb", "office-x"], "Short.",
                            variants={"office-x": long})
    assert response.status_code == 400
    assert re.search(r'role="alert">office-x: the text would be a \d+-part thread',
                     response.text)
    assert desk.store.history.search() == []


def test_an_image_without_alt_text_is_refused(desk):
    client = sign_in(desk.url, "chen")
    response = post_compose(client, ["office-x"], "Picture.", image=png(), alt="  ")
    assert response.status_code == 400
    assert "alt text is required" in response.text
    assert desk.store.history.search() == []


def test_each_account_goes_into_its_own_next_free_slot(desk):
    client = sign_in(desk.url, "chen")
    first = post_compose(client, ["office-x", "office-x-ar"], "Slot one.", when="slot",
                         variants={"office-x-ar": "الفتحة الأولى."})
    assert first.status_code == 303, first.text
    second = post_compose(client, ["office-x"], "Slot two.", when="slot")
    assert second.status_code == 303, second.text
    times = {p.text: p.scheduled_at for p in desk.store.history.search()}
    # Each account's own first free slot: the two accounts share 09:00/15:00 slots but not
    # their taken ones, so the second English post takes the English account's next slot.
    assert times["Slot one."] == times["الفتحة الأولى."]
    assert times["Slot two."] > times["Slot one."]
    # Facebook has no slots: one clear line naming it.
    none = post_compose(client, ["office-fb"], "No slot.", when="slot")
    assert none.status_code == 400
    assert "account 'office-fb' has no posting slots; pick a time" in unescape(none.text)


def test_the_compose_page_offers_the_english_arabic_pair_where_the_config_has_one(desk):
    client = sign_in(desk.url, "chen")
    page = client.get("/compose").text
    pairs = re.findall(r'data-pair="([^"]+)"', page)
    assert pairs == ["office-x office-x-ar"]  # Facebook has no Arabic account
    # The link works without script too: the page opens with both chosen.
    href = re.search(r'href="(/compose\?[^"]+)" data-pair', page).group(1)
    chosen = client.get(href.replace("&amp;", "&")).text
    assert re.findall(r'value="([^"]+)" data-platform="x" checked', chosen) == [
        "office-x", "office-x-ar"]


def test_editing_a_thread_part_hides_its_numbering_and_saving_adds_it_back(desk):
    client = sign_in(desk.url, "chen")
    text = "The harbour reopens to commercial shipping at noon. " * 7
    assert post_compose(client, ["office-x"], text.strip()).status_code == 303
    first, second = sorted(desk.store.history.search(), key=lambda p: p.id)
    assert first.text.endswith(" 1/2")
    page = client.get(f"/posts/{first.id}").text
    box = re.search(r'<textarea name="text" id="edit-text"[^>]*>([^<]*)</textarea>', page)
    assert box.group(1) == first.text.removesuffix(" 1/2")
    # The counter's preview counts the numbering the save adds back.
    token = token_for(desk.store, "chen")
    auth = {"Authorization": f"Bearer {token}"}
    preview = httpx.post(f"{desk.url}/api/preview", headers=auth,
                         json={"post": first.id, "text": "Shorter now."}).json()
    assert preview["parts"][0]["text"] == "Shorter now. 1/2"
    assert preview["length"] == len("Shorter now. 1/2") and preview["fits"]
    saved = client.post(f"/posts/{first.id}/edit", data={
        "csrf": page_csrf(client, f"/posts/{first.id}"), "text": "Shorter now.", "at": ""})
    assert saved.status_code == 303
    assert desk.store.history.get(first.id).text == "Shorter now. 1/2"
    # Typed with its numbering (an old habit, or the API), it is not doubled.
    client.post(f"/posts/{second.id}/edit", data={
        "csrf": page_csrf(client, f"/posts/{second.id}"), "text": "Second. 2/2", "at": ""})
    assert desk.store.history.get(second.id).text == "Second. 2/2"


def test_the_api_composes_for_several_accounts_with_variants_and_an_image(desk):
    token = token_for(desk.store, "chen")
    auth = {"Authorization": f"Bearer {token}"}
    image = base64.b64encode(png(3, 3)).decode()
    response = httpx.post(f"{desk.url}/api/posts", headers=auth, json={
        "accounts": ["office-x", "office-fb"], "text": "From the API.",
        "variants": {"office-fb": "From the API, for Facebook."}, "at": "+1h",
        "image": image, "alt_text": ALT})
    assert response.status_code == 201, response.text
    posts = response.json()["posts"]
    assert {(p["account"], p["text"]) for p in posts} == {
        ("office-x", "From the API."), ("office-fb", "From the API, for Facebook.")}
    report = desk.dispatcher().tick(datetime.now(UTC) + timedelta(hours=2))
    assert report.published == 2
    assert desk.emulator.posts("facebook", "OfficeFB")[0]["media"][0]["alt_text"] == ALT

    # One refused: nothing stored, one line naming the account.
    before = len(desk.store.history.search())
    refused = httpx.post(f"{desk.url}/api/posts", headers=auth, json={
        "accounts": ["office-x", "office-fb"], "text": "WEBP again.", "at": "+1h",
        "image": base64.b64encode(WEBP).decode(), "alt_text": ALT})
    assert refused.status_code == 400
    assert refused.json()["detail"].startswith("office-fb: ")
    assert len(desk.store.history.search()) == before
    both = httpx.post(f"{desk.url}/api/posts", headers=auth, json={
        "account": "office-x", "accounts": ["office-fb"], "text": "Which?"})
    assert both.status_code == 400 and "either `account` or `accounts`" in both.text
    stray = httpx.post(f"{desk.url}/api/posts", headers=auth, json={
        "accounts": ["office-x"], "text": "Hi.", "variants": {"office-fb": "Stray."}})
    assert stray.status_code == 400 and "office-fb" in stray.json()["detail"]
    # The schema documents it.
    schema = httpx.get(f"{desk.url}/api/openapi.json", headers=auth).json()
    fields = schema["components"]["schemas"]["NewPost"]["properties"]
    assert {"accounts", "variants", "image", "alt_text"} <= set(fields)


def test_the_store_adds_every_accounts_thread_or_none_on_each_database(store):
    """One transaction for all accounts: the second thread fails in the database (a post with
    no time breaks NOT NULL) after the first was written, and neither is kept."""
    from sqlalchemy.exc import IntegrityError

    from db.store import ComposedThread
    from posts.states import Actor

    now = datetime.now(UTC)
    actor = Actor("chen", "author")
    good = ComposedThread(account="office-x", platform="x", texts=("One 1/2", "Two 2/2"),
                          scheduled_at=now + timedelta(hours=1))
    broken = ComposedThread(account="office-fb", platform="facebook", texts=("Three",),
                            scheduled_at=None)
    with pytest.raises(IntegrityError):
        store.posts.add_threads([good, broken], actor=actor, now=now, status=S.QUEUED)
    assert store.history.search() == []
    [x, fb] = store.posts.add_threads([good, ComposedThread("office-fb", "facebook",
                                                            ("Three",), now)],
                                      actor=actor, now=now, status=S.QUEUED)
    assert [p.thread_position for p in x] == [1, 2] and x[1].parent_id == x[0].id
    assert [p.account for p in fb] == ["office-fb"]


# The time field (issue 15 point 4): 24-hour office time, typed as on every other page.

def test_the_compose_time_is_typed_as_24_hour_office_time_with_its_zone(desk):
    client = sign_in(desk.url, "chen")
    day = (datetime.now(BAGHDAD) + timedelta(days=7)).date()
    # Opened from the calendar's free slot (its form value), the field shows it as typed.
    page = client.get("/compose", params={"account": "office-x", "at": f"{day}T15:00"}).text
    [field] = re.findall(r'<input [^>]*name="at"[^>]*>', page)
    assert 'type="text"' in field and f'value="{day} 15:00"' in field
    assert 'aria-label="Time (Asia/Baghdad, 24-hour)"' in field
    assert "(Asia/Baghdad, 24-hour; empty = now)" in page
    assert "datetime-local" not in page

    # Another locale's way of writing a time is one line saying how to write it, with what
    # was typed kept; nothing is stored.
    refused = post_compose(client, ["office-x"], "Not yet.", at=f"{day:%m/%d/%Y} 3:00 PM")
    assert refused.status_code == 400
    error = unescape(re.search(r'role="alert">([^<]*)</p>', refused.text).group(1))
    assert error == (f"cannot read time '{day:%m/%d/%Y} 3:00 PM'; write 'now', '+2h' or "
                     "'2026-12-01 09:00' (office timezone)")
    assert f'value="{day:%m/%d/%Y} 3:00 PM"' in refused.text
    assert desk.store.history.search() == []

    # What is typed is office time (UTC+3).
    done = post_compose(client, ["office-x"], "At three.", at=f"{day} 15:00")
    assert done.status_code == 303, done.text
    [post] = desk.store.history.search()
    assert post.scheduled_at == datetime(day.year, day.month, day.day, 12, 0, tzinfo=UTC)


# English/Arabic pairs (issue 15 point 2): a compose for both accounts of a pair links the two
# posts as partners exactly as a pair import does (tests/test_pairs.py), so approval, edits and
# the daemon treat them the same; nothing else is linked.

ARABIC = "يفتح الميناء أمام الشحن التجاري ظهراً."


def by_account(store) -> dict[str, list]:
    out: dict[str, list] = {}
    for post in sorted(store.history.search(), key=lambda p: p.id):
        out.setdefault(post.account, []).append(post)
    return out


def test_a_compose_for_the_english_arabic_pair_links_the_two_posts_both_ways(desk):
    client = sign_in(desk.url, "chen")
    response = post_compose(client, ["office-x", "office-x-ar", "office-fb"],
                            "The harbour reopens at noon.", variants={"office-x-ar": ARABIC})
    assert response.status_code == 303, response.text
    posts = by_account(desk.store)
    [en], [ar], [fb] = posts["office-x"], posts["office-x-ar"], posts["office-fb"]
    assert (en.pair_id, ar.pair_id) == (ar.id, en.id)
    assert en.id < ar.id  # the English post leads, as in an import
    assert fb.pair_id is None  # Facebook has no Arabic account: no pair
    # The same record an import leaves: a create row each, nothing else.
    assert [e.action for e in desk.store.history.audit_trail(ar.id)] == ["create"]

    # Both go, the English side first: the Arabic one is claimed only once its leader is out
    # (in the same tick or the next, as the accounts' drains meet).
    dispatcher, later = desk.dispatcher(), datetime.now(UTC) + timedelta(hours=2)
    assert sum(dispatcher.tick(later).published for _ in range(3)) == 3
    assert [t["text"] for t in desk.emulator.tweets("OfficeXAr")] == [ARABIC]
    rows = {p.account: {e.action: e.id for e in desk.store.history.audit_trail(p.id)}
            for p in (en, ar)}
    assert rows["office-x"]["publish"] < rows["office-x-ar"]["claim"]


def test_a_pair_shares_the_english_account_s_next_free_slot(desk):
    client = sign_in(desk.url, "chen")
    # The Arabic account's 09:00 is taken already; the English one's is free.
    assert post_compose(client, ["office-x-ar"], ARABIC, when="slot").status_code == 303
    response = post_compose(client, ["office-x", "office-x-ar"], "Pair.", when="slot",
                            variants={"office-x-ar": "زوج."})
    assert response.status_code == 303, response.text
    en = next(p for p in desk.store.history.search() if p.text == "Pair.")
    ar = desk.store.history.get(en.pair_id)
    assert ar.text == "زوج." and ar.scheduled_at == en.scheduled_at
    alone = next(p for p in desk.store.history.search() if p.text == ARABIC)
    assert alone.scheduled_at == en.scheduled_at and alone.pair_id is None


def test_threads_of_different_lengths_are_linked_at_their_first_parts_only(desk):
    client = sign_in(desk.url, "chen")
    long = ("The harbour reopens to commercial shipping at noon. " * 7).strip()
    response = post_compose(client, ["office-x", "office-x-ar"], long,
                            variants={"office-x-ar": ARABIC})
    assert response.status_code == 303, response.text
    posts = by_account(desk.store)
    assert [p.thread_position for p in posts["office-x"]] == [1, 2]
    [ar] = posts["office-x-ar"]
    assert [p.pair_id for p in posts["office-x"]] == [ar.id, None]
    assert ar.pair_id == posts["office-x"][0].id


def test_only_a_compose_for_both_accounts_of_a_pair_links_posts(desk):
    client = sign_in(desk.url, "chen")
    assert post_compose(client, ["office-x", "office-fb"], "Not a pair.").status_code == 303
    assert post_compose(client, ["office-x"], "English alone.").status_code == 303
    assert post_compose(client, ["office-x-ar"], ARABIC).status_code == 303
    assert [p.pair_id for p in desk.store.history.search()] == [None] * 4


def test_the_api_links_a_pair_with_the_english_side_leading_whatever_the_order(desk):
    auth = {"Authorization": f"Bearer {token_for(desk.store, 'chen')}"}
    response = httpx.post(f"{desk.url}/api/posts", headers=auth, json={
        "accounts": ["office-x-ar", "office-x"], "text": "From the API.",
        "variants": {"office-x-ar": ARABIC}, "at": "+1h"})
    assert response.status_code == 201, response.text
    # Answered in the order asked...
    assert [p["account"] for p in response.json()["posts"]] == ["office-x-ar", "office-x"]
    # ...stored English first, so the English post leads the pair.
    [en], [ar] = by_account(desk.store)["office-x"], by_account(desk.store)["office-x-ar"]
    assert en.id < ar.id and (en.pair_id, ar.pair_id) == (ar.id, en.id)


@pytest.fixture
def pair_newsroom(make_office, serve, emulator):
    """An office under review (two-person rule) with an English and an Arabic X account and
    its web UI: bashir (approver), chen (author)."""
    from conftest import ARABIC_X, OFFICE_CONFIG, REVIEW, add_users

    office = make_office(config_text=(OFFICE_CONFIG + ARABIC_X).format(
        url=emulator.url, database="sqlite:///factpost.db", max_attempts=5, poll=0.2,
        lease=120, timeout=5.0, budget=1000, extra=REVIEW))
    add_users(office.store, bashir="approver", chen="author")
    office.url = serve(office.config, office.store)
    return office


def test_approving_one_side_of_a_composed_pair_approves_its_partner(pair_newsroom):
    from conftest import approve_form

    office = pair_newsroom
    author = sign_in(office.url, "chen")
    response = post_compose(author, ["office-x", "office-x-ar"], "Cleared together.",
                            variants={"office-x-ar": ARABIC})
    assert response.status_code == 303, response.text
    [en], [ar] = by_account(office.store)["office-x"], by_account(office.store)["office-x-ar"]
    assert {en.status, ar.status} == {S.DRAFT}
    approver = sign_in(office.url, "bashir")
    done = approver.post(f"/posts/{en.id}/approve", data=approve_form(approver, en.id))
    assert done.status_code == 303
    assert office.store.history.get(ar.id).status == S.QUEUED
    assert office.store.history.audit_trail(ar.id)[-1].reason.startswith(
        f"approved with its pair partner, post {en.id}")

    # An edit to one side takes the approval from both, as for an imported pair.
    edited = author.post(f"/posts/{ar.id}/edit", data={
        "csrf": page_csrf(author, f"/posts/{ar.id}"), "text": "نص معدل.", "at": ""})
    assert edited.status_code == 303
    assert {office.store.history.get(p.id).status for p in (en, ar)} == {S.DRAFT}


def test_the_store_links_parts_sharing_a_pair_key_or_stores_nothing_on_each_database(store):
    from db.errors import StoreError
    from db.store import ComposedThread
    from posts.states import Actor

    now = datetime.now(UTC)
    actor = Actor("chen", "author")
    at = now + timedelta(hours=1)
    en = ComposedThread("office-x", "x", ("One 1/2", "Two 2/2"), at, pair_keys=("k", None))
    ar = ComposedThread("office-fb", "facebook", ("واحد",), at, pair_keys=("k",))
    [[one, two], [partner]] = store.posts.add_threads([en, ar], actor=actor, now=now,
                                                      status=S.QUEUED)
    assert store.history.get(one.id).pair_id == partner.id
    assert store.history.get(partner.id).pair_id == one.id
    assert store.history.get(two.id).pair_id is None
    alone = ComposedThread("office-x", "x", ("Alone",), at, pair_keys=("j",))
    with pytest.raises(StoreError, match="pair 'j' has 1 post"):
        store.posts.add_threads([alone], actor=actor, now=now, status=S.QUEUED)
    assert len(store.history.search()) == 3
