"""A new user's whole loop in a real browser (Debian's Chromium driven by Playwright): sign in,
import the sample fact sheet, approve it, find it in the calendar, publish it through the
emulator, and read it back in the history.

The README's screenshots come from the last test here, which runs only when
$FACTPOST_SCREENSHOTS names a folder (`make screenshots` sets it to docs/screenshots): the
other tests take none, so the normal run pays nothing for them.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import pytest
from chromium import launched
from conftest import PASSWORD, add_users

from posts.states import Actor, PostStatus

S = PostStatus


@pytest.fixture
def browser():
    with launched() as chromium:
        yield chromium


def sign_in(page, base: str, name: str, language: str = "en") -> None:
    """Sign `name` in on `page` (controls found by form and name, so in any language) and
    set the interface to `language`."""
    page.goto(base + "/login")
    page.locator('input[name="name"]').fill(name)
    page.locator('input[name="password"]').fill(PASSWORD)
    page.locator('form[action="/login"] button[type="submit"]').click()
    page.wait_for_url(base + "/")
    if page.evaluate("() => document.documentElement.lang") != language:
        page.locator(f'form[action="/language"] button[value="{language}"]').click()
        page.wait_for_function("lang => document.documentElement.lang === lang", arg=language)


def test_import_approve_publish_and_review_in_the_browser(newsroom, browser, tmp_path):
    from playwright.sync_api import expect

    base = newsroom.url
    sheet = tmp_path / "meridian-factsheet.txt"
    sheet.write_text(resources.files("posts").joinpath("samples/factsheet.txt")
                     .read_text("utf-8"), encoding="utf-8")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(base + "/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))

    # The author imports the sample fact sheet for both accounts, to go out now.
    sign_in(page, base, "chen")
    page.get_by_role("link", name="Import").click()
    page.get_by_label("Upload a fact sheet").set_input_files(sheet)
    page.get_by_label("From").check()
    page.locator('input[name="every"]').fill("0s")
    page.get_by_role("button", name="Review").click()
    expect(page.get_by_role("heading", name="OPERATIONS").first).to_be_visible()
    snippets = page.locator("article.snippet").count()
    assert snippets > 4
    assert newsroom.store.history.search() == []  # reviewing writes nothing
    page.get_by_role("button", name=re.compile("Queue these posts")).click()
    expect(page.locator(".notice")).to_contain_text(f"{snippets} posts drafts awaiting")
    expect(page.locator(".badge.draft").first).to_be_visible()

    # The author may not approve; an approver does, all at once.
    assert page.get_by_role("link", name="Approvals").count() == 0
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, base, "bashir")
    page.get_by_role("link", name="Approvals").click()
    expect(page.locator('input[name="post"]')).to_have_count(snippets)
    page.get_by_label("Select all").check()
    page.get_by_role("button", name="Approve selected").click()
    expect(page.locator(".notice")).to_have_text(f"approved {snippets} post(s)")
    assert {p.status for p in newsroom.store.history.search()} == {S.QUEUED}

    # The calendar shows this week's posts; a click opens one.
    page.get_by_role("link", name="Calendar").click()
    entries = page.locator("a.entry.queued")
    expect(entries.first).to_be_visible()
    assert entries.count() == len(newsroom.store.history.search())  # every account's
    entries.first.click()
    expect(page.locator("h1")).to_contain_text("queued")

    # The daemon's tick publishes everything through the emulator.
    report = newsroom.dispatcher().tick(datetime.now(UTC))
    assert report.published == snippets

    page.get_by_role("link", name="History").click()
    page.get_by_label("Status").select_option("published")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("table.posts tbody tr")).to_have_count(snippets)
    first_x = min(p.id for p in newsroom.store.history.search() if p.account == "office-x")
    page.locator(f'table.posts a[href="/posts/{first_x}"]').first.click()
    link = page.locator("dd a[href^='https://x.com/']")
    tweet_ids = {t["id"] for t in newsroom.emulator.tweets("OfficeX")}
    assert link.get_attribute("href").rsplit("/", 1)[-1] in tweet_ids
    expect(page.get_by_role("heading", name="Attempts")).to_be_visible()
    expect(page.locator("td", has_text="published").first).to_be_visible()

    assert errors == []
    context.close()


def test_compose_counts_live_and_shows_arabic_right_to_left(newsroom, browser):
    from playwright.sync_api import expect

    base = newsroom.url
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, base, "chen")
    page.get_by_role("link", name="Compose").click()
    page.get_by_label("office-x (X, English)").check()
    box = page.locator("#compose-text")
    box.fill("字" * 141)
    counter = page.locator('[data-counter="office-x"]')
    expect(counter).to_contain_text("282 / 280 weighted characters")
    expect(counter).to_contain_text("2-part thread")
    expect(page.locator('[data-preview="office-x"] li')).to_have_count(2)
    arabic = "أعلنت قوة المهام المشتركة ميريديان إعادة فتح الممر البحري أمام السفن التجارية."
    box.fill(arabic)
    expect(counter).to_contain_text(f"{len(arabic)} / 280")
    page.get_by_role("radio", name=re.compile("^At")).check()
    page.get_by_role("button", name=re.compile("draft")).click()
    text = page.locator(".post-text")
    expect(text).to_have_text(arabic)
    # dir="auto" makes the browser lay Arabic out right to left.
    assert text.evaluate("e => getComputedStyle(e).direction") == "rtl"
    page.goto(base + "/status")
    context.close()


def test_a_word_file_and_a_pdf_are_imported_in_the_browser_and_published(newsroom, browser,
                                                                         tmp_path):
    from playwright.sync_api import expect
    from sample_documents import docx_bytes, pdf_bytes, sample_blocks

    base = newsroom.url
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, base, "chen")
    reviewed = 0
    for name, data in (("meridian.docx", docx_bytes(sample_blocks())),
                       ("meridian-ar.pdf", pdf_bytes(sample_blocks("factsheet_ar.txt")))):
        path = tmp_path / name
        path.write_bytes(data)
        page.goto(base + "/import")
        page.get_by_label("Upload a fact sheet").set_input_files(path)
        page.get_by_label("From").check()
        page.locator('input[name="every"]').fill("0s")
        page.get_by_role("button", name="Review").click()
        expect(page.get_by_role("heading", name=re.compile("^Review"))).to_be_visible()
        count = page.locator("article.snippet").count()
        assert count > 2
        reviewed += count
        page.get_by_role("button", name=re.compile("Queue these posts")).click()
        expect(page.locator(".notice")).to_contain_text(f"{name}: {count} posts drafts")
    assert errors == []
    context.close()

    posts = newsroom.store.history.search()
    assert len(posts) == reviewed

    ids = [p.id for p in posts]
    newsroom.store.posts.approve(ids, seen=newsroom.store.posts.versions(ids),
                                 actor=Actor("bashir", "approver"), now=datetime.now(UTC))
    report = newsroom.dispatcher().tick(datetime.now(UTC))
    assert report.published == reviewed
    sent = {t["text"] for t in newsroom.emulator.tweets("OfficeX")}
    assert {p.text for p in newsroom.store.history.search() if p.account == "office-x"} <= sent


def test_a_post_is_moved_on_the_calendar_by_dragging_or_by_keyboard(make_office, serve,
                                                                    browser):
    from conftest import add_users
    from playwright.sync_api import expect

    office = make_office(extra="")
    add_users(office.store, chen="author")
    x = office.config.accounts[0]
    config = office.config.__class__(**{**office.config.__dict__, "accounts": (
        x.__class__(**{**x.__dict__, "slots": ("0 9 * * *", "0 15 * * *")}),)})
    sunday = datetime(2026, 12, 6, 5, 0, tzinfo=UTC)  # 08:00 in Baghdad
    base = serve(config, office.store, clock=lambda: sunday)
    dragged = office.add("Drag me", at=datetime(2026, 12, 7, 6, 0, tzinfo=UTC))
    typed = office.add("Move me by keyboard", at=datetime(2026, 12, 8, 6, 0, tzinfo=UTC))
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, base, "chen")
    page.goto(base + "/calendar")

    # A drag onto Wednesday's 15:00 slot.
    page.locator(f'[data-post="{dragged}"]').drag_to(
        page.locator('[data-slot="2026-12-09T15:00"]'))
    expect(page.locator(".notice")).to_contain_text(f"post {dragged} moved to 2026-12-09 15:00")
    assert office.store.history.get(dragged).scheduled_at.replace(tzinfo=UTC) == datetime(
        2026, 12, 9, 12, 0, tzinfo=UTC)

    # The keyboard alone: Tab to the post's Move, open it, choose a slot, send.
    page.locator(f"#move-{typed}").evaluate("form => form.closest('details').open = false")
    summary = page.locator(f'[data-post="{typed}"] summary')
    summary.focus()
    page.keyboard.press("Enter")
    select = page.locator(f'#move-{typed} select[name="at"]')
    select.focus()
    select.select_option("2026-12-10T09:00")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator(".notice")).to_contain_text(f"post {typed} moved to 2026-12-10 09:00")
    assert office.store.history.get(typed).scheduled_at.replace(tzinfo=UTC) == datetime(
        2026, 12, 10, 6, 0, tzinfo=UTC)

    page.goto(base + "/calendar?view=month")
    expect(page.get_by_role("heading", name="Calendar: December 2026")).to_be_visible()
    context.close()


PHONE = {"width": 390, "height": 844}
#: The interface languages; right to left moves what sticks out to the other side.
LANGUAGES = ["en", "ar"]
LONG_URL = ("https://www.defense.example.mil/News/Releases/Release/Article/4012345/"
            "joint-task-force-meridian-reopens-the-maritime-corridor-to-commercial-shipping-"
            "after-the-mine-clearance-operation-" + "x" * 120)
ARABIC = ("أعلنت قوة المهام المشتركة ميريديان إعادة فتح الممر البحري أمام السفن التجارية "
          "بعد انتهاء عمليات إزالة الألغام #Meridian " * 3)


#: Elements that stick out past either edge of the window (right to left, they stick out on the
#: left), innermost first.
OVERFLOWING = """() => {
  const out = e => { const box = e.getBoundingClientRect();
                     return box.right > innerWidth + 0.5 || box.left < -0.5; };
  return [...document.querySelectorAll("body *")].filter(out)
    .filter(e => ![...e.children].some(out)).slice(0, 5).map(e => e.outerHTML.slice(0, 120));
}"""


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_page_scrolls_sideways_on_a_phone(newsroom, browser, tmp_path, language):
    """Every page at 390 x 844 (an iPhone 14) with real content, in every interface language
    (a right-to-left page overflows to the left, which scrollWidth does not count): long post
    text, Arabic, unbroken long URLs, a published post, a thread, every table (as stacked
    cards). A page that overflows is kept as a screenshot in the test's folder."""
    from playwright.sync_api import expect

    from scheduler.demo import sample_factsheet

    now = datetime.now(UTC)
    chen = Actor("chen", "author")
    office = newsroom
    published = office.add(f"Out now: {LONG_URL}")
    office.dispatcher().tick(datetime.now(UTC))
    later = now + timedelta(days=1)
    queued = office.add(f"Read the whole release at {LONG_URL} " + "word " * 40, at=later)
    arabic = office.store.posts.add(account="office-fb", platform="facebook", text=ARABIC,
                                    scheduled_at=later, actor=chen, now=now,
                                    status=S.DRAFT).id
    thread = office.store.posts.add_thread(account="office-x", platform="x",
                                           texts=["A thread, part one " + LONG_URL,
                                                  "Part two " + ARABIC[:200]],
                                           scheduled_at=later, actor=chen, now=now,
                                           status=S.DRAFT)
    office.store.posts.cancel(office.add("Withdrawn", at=later), actor=chen, now=now,
                              reason=f"superseded by {LONG_URL}")
    assert office.store.history.get(published).status == S.PUBLISHED

    # The browser's language picks the sign-in page's (Accept-Language).
    context = browser.new_context(viewport=PHONE, locale=language)
    page = context.new_page()
    wide: dict[str, tuple[int, list[str]]] = {}

    def check(name: str) -> None:
        page.wait_for_load_state("load")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"] or page.evaluate(OVERFLOWING):
            # The elements that stick out, innermost first, to say what to fix.
            wide[name] = (width, page.evaluate(OVERFLOWING))
            page.screenshot(path=tmp_path / f"{name}.{language}.phone.png", full_page=True)

    page.goto(office.url + "/login")
    assert page.evaluate("() => document.documentElement.lang") == language
    check("login")
    sign_in(page, office.url, "amira", language)
    pages = {"queue": "/", "calendar": "/calendar", "calendar-month": "/calendar?view=month",
             "compose": "/compose", "import": "/import", "approvals": "/approvals",
             "history": "/history", "history-search": "/history?q=meridian&status=draft",
             "status": "/status", "users": "/users", "api": "/api/docs",
             "post-published": f"/posts/{published}", "post-queued": f"/posts/{queued}",
             "post-arabic": f"/posts/{arabic}", "post-thread": f"/posts/{thread[1].id}",
             "not-found": "/posts/999999"}
    for name, path in pages.items():
        page.goto(office.url + path)
        check(name)
    # The cards carry their column's name where the table's head is hidden.
    page.goto(office.url + "/history")
    label = page.locator("table.posts td.when[data-label]").first
    assert label.evaluate("td => getComputedStyle(td, '::before').content") == (
        f'"{label.get_attribute("data-label")}"')
    expect(page.locator("table.posts thead")).to_be_hidden()

    # The import review, with a pasted document holding a long link and Arabic.
    page.goto(office.url + "/import")
    page.locator('textarea[name="text"]').fill(sample_factsheet() + f"\n\nLINKS\n{LONG_URL}"
                                               f"\n\nعربي\n{ARABIC}\n")
    page.locator('input[name="schedule"][value="spaced"]').check()
    page.locator('input[name="every"]').fill("1h")
    page.locator('form[action="/import/review"] button[type="submit"]').click()
    expect(page.locator('form[action="/import"] button[type="submit"]')).to_be_visible()
    check("import-review")

    assert wide == {}, f"pages wider than {PHONE['width']} px ({language}): {wide}"
    context.close()


def test_select_all_ticks_every_post_of_the_queue_and_one_action_moves_them(newsroom, browser):
    from playwright.sync_api import expect

    now = datetime.now(UTC)
    later = now + timedelta(days=2)
    ids = [newsroom.add(f"Post {n}", at=later + timedelta(hours=n)) for n in range(3)]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, newsroom.url, "chen")
    expect(page.get_by_role("link", name="Queue")).to_have_attribute("aria-current", "page")
    page.get_by_label("Select all").check()
    expect(page.locator('input[name="post"]:checked')).to_have_count(3)
    page.get_by_label("Why (optional)").fill("plans changed")
    page.get_by_role("button", name="Cancel selected").click()
    expect(page.locator(".notice")).to_have_text(
        "Cancelled 3 post(s): " + ", ".join(f"post {i}" for i in ids) + ".")
    assert {newsroom.store.history.get(i).status for i in ids} == {S.CANCELLED}

    # The browser itself refuses a time written in another locale's way: the pattern is valid.
    page.goto(newsroom.url + "/history")
    since = page.locator('input[name="since"]')
    for typed, wrong in (("12/01/2026", True), ("2026-12-01", False), ("1 Dec 2026", True)):
        since.fill(typed)
        assert since.evaluate("e => e.validity.patternMismatch") is wrong, typed


def test_compose_to_x_and_facebook_with_an_image_in_the_browser_and_publish(
        make_office, serve, browser, tmp_path):
    """Issue 15, point 2: one text, two accounts, each with its own counter and preview, one
    variant edited apart, an image with alt text; published through the emulator."""
    from playwright.sync_api import expect
    from test_images import ALT, png

    office = make_office()
    add_users(office.store, chen="author")
    base = serve(office.config, office.store)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, base, "chen")
    page.goto(base + "/compose")
    page.get_by_label("office-x (X, English)").check()
    page.get_by_label("office-fb (Facebook, English)").check()
    shared = page.locator("#compose-text")
    text = "The harbour reopens to commercial shipping at noon. " * 7  # 2 parts on X
    shared.fill(text)
    expect(page.locator('[data-counter="office-x"]')).to_contain_text("2-part thread")
    expect(page.locator('[data-preview="office-x"] li')).to_have_count(2)
    expect(page.locator('[data-counter="office-fb"]')).to_contain_text(
        f"Facebook: {len(text.strip())} / 63206")
    expect(page.locator('[data-preview="office-fb"] li')).to_have_count(1)
    # Facebook gets its own wording; the shared text changes after, and only X follows it.
    facebook = page.get_by_label("Text for office-fb (Facebook)")
    facebook.fill("Facebook's own wording: the harbour reopens at noon.")
    shared.fill(text + "Berths 1 to 4 first.")
    expect(page.get_by_label("Text for office-x (X)")).to_have_value(text + "Berths 1 to 4 first.")
    expect(facebook).to_have_value("Facebook's own wording: the harbour reopens at noon.")
    expect(page.locator('[data-preview="office-fb"] li')).to_contain_text("own wording")
    image = tmp_path / "harbour.png"
    image.write_bytes(png(8, 8))
    page.get_by_label(re.compile("^Image file")).set_input_files(image)
    page.get_by_label(re.compile("^Alt text")).fill(ALT)
    page.get_by_role("radio", name=re.compile("^At")).check()
    page.get_by_role("button", name="Queue").click()
    notice = page.locator(".notice")
    expect(notice).to_contain_text("office-x: 2-part thread queued")
    expect(notice).to_contain_text("office-fb: post queued")
    assert errors == []

    report = office.dispatcher().tick(datetime.now(UTC) + timedelta(minutes=1))
    assert report.published == 3
    tweets = office.emulator.tweets("OfficeX")
    assert [t["media"][0]["alt_text"] for t in tweets if t["media"]] == [ALT]
    [fb] = office.emulator.posts("facebook", "OfficeFB")
    assert fb["text"] == "Facebook's own wording: the harbour reopens at noon."
    assert fb["media"][0]["alt_text"] == ALT

    # The edit box of a queued thread part counts live and leaves the numbering out.
    office.store.posts.add_thread(account="office-x", platform="x", texts=["One. 1/2", "Two. 2/2"],
                                  scheduled_at=datetime.now(UTC) + timedelta(hours=1),
                                  actor=Actor("chen", "author"), now=datetime.now(UTC),
                                  status=S.QUEUED)
    first = min(p.id for p in office.store.history.upcoming() if p.text == "One. 1/2")
    page.goto(f"{base}/posts/{first}")
    box = page.locator("#edit-text")
    expect(box).to_have_value("One.")
    expect(page.locator("#edit-counter")).to_contain_text("X: 8 / 280")
    box.fill("One, longer.")
    expect(page.locator("#edit-counter")).to_contain_text("X: 16 / 280")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".post-text")).to_have_text("One, longer. 1/2")
    context.close()


def test_one_click_chooses_the_english_arabic_pair_and_keeps_the_text(desk, browser):
    """The pair link chooses both accounts of the platform's pair in place (nothing typed is
    lost) and shows each one's post; the Arabic variant is edited apart."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    sign_in(page, desk.url, "chen")
    page.goto(desk.url + "/compose")
    page.locator("#compose-text").fill("Ports reopen at noon.")
    page.get_by_role("link", name="English + Arabic on X").click()
    expect(page.get_by_label("office-x (X, English)")).to_be_checked()
    expect(page.get_by_label("office-x-ar (X, Arabic)")).to_be_checked()
    expect(page.get_by_label("office-fb (Facebook, English)")).not_to_be_checked()
    assert page.url == desk.url + "/compose"
    expect(page.locator("#compose-text")).to_have_value("Ports reopen at noon.")
    expect(page.locator('.variant[data-account="office-fb"]')).to_be_hidden()
    arabic = page.get_by_label("Text for office-x-ar (X)")
    arabic.fill("تفتح الموانئ عند الظهر.")
    expect(page.locator('[data-counter="office-x-ar"]')).to_contain_text("X: 23 / 280")
    expect(page.locator('[data-counter="office-x"]')).to_contain_text("X: 21 / 280")
    # Nothing of the form reaches past a phone's width (a fieldset once widened it to 414 px;
    # the page around it, header and footer, is the phone layout's own work, point 5).
    wide = page.evaluate("""[...document.querySelectorAll('#compose, #compose *')]
        .filter(e => e.getBoundingClientRect().right > 390).map(e => e.tagName)""")
    assert wide == []
    context.close()


# -- the Arabic interface (issue 15, point 6) --------------------------------------------------

# The box of `word` inside the first element matching `selector`, as the browser laid it out.
WORD_BOX = """([selector, word]) => {
  const root = document.querySelector(selector);
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const at = node.data.indexOf(word);
    if (at < 0) continue;
    const range = document.createRange();
    range.setStart(node, at);
    range.setEnd(node, at + word.length);
    const box = range.getBoundingClientRect();
    return {left: box.left, right: box.right};
  }
  return null;
}"""


def word_box(page, selector: str, word: str) -> dict:
    box = page.evaluate(WORD_BOX, [selector, word])
    assert box is not None, f"{word!r} not in {selector}"
    return box


def test_the_arabic_interface_mirrors_the_page_and_isolates_mixed_text(newsroom, browser):
    from playwright.sync_api import expect

    base = newsroom.url
    arabic = newsroom.add("افتتاح الجسر #NewBridge اليوم")
    english = newsroom.add("Bridge opens today #NewBridge")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, base, "chen")

    # On an English page, Arabic post text still reads right to left, its hashtag in place:
    # the first word at the right, the hashtag left of it.
    row = f'a[href="/posts/{arabic}"][dir="auto"]'
    assert word_box(page, row, "افتتاح")["left"] > word_box(page, row, "#NewBridge")["right"]

    page.get_by_role("button", name="العربية").click()
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("html")).to_have_attribute("lang", "ar")
    expect(page.get_by_role("heading", level=1)).to_have_text("قائمة النشر")

    # English post text on the Arabic page reads left to right.
    row = f'a[href="/posts/{english}"][dir="auto"]'
    assert word_box(page, row, "Bridge")["right"] < word_box(page, row, "#NewBridge")["left"]
    # A time stays "date time zone" from left to right, not mirrored into "zone time date".
    when = f"tr:has(a[href='/posts/{english}']) td.when"
    stamp = page.locator(when).inner_text().split()
    assert word_box(page, when, stamp[0])["right"] < word_box(page, when, stamp[1])["left"]

    for path in ("/", "/history", "/calendar", "/compose", "/import", "/status",
                 f"/posts/{english}"):
        page.goto(base + path)
        heading = page.get_by_role("heading", level=1)
        assert heading.evaluate("e => getComputedStyle(e).direction") == "rtl", path
        assert heading.evaluate("e => getComputedStyle(e).textAlign") in ("start", "right")
        # Right-aligned: its words end at the heading's right edge, far from its left one.
        words = page.evaluate("""() => {
          const h = document.querySelector("h1"), r = document.createRange();
          r.selectNodeContents(h);
          const text = r.getBoundingClientRect(), box = h.getBoundingClientRect();
          return {gapRight: box.right - text.right, gapLeft: text.left - box.left};
        }""")
        assert words["gapRight"] < 2 and words["gapLeft"] > 100, (path, words)
        # The menu mirrors too: its first link (Queue) is the rightmost.
        links = page.locator("header nav a")
        assert links.first.bounding_box()["x"] > links.last.bounding_box()["x"], path

    # The Compose counter speaks Arabic as well (its words come with the page).
    page.goto(base + "/compose")
    page.locator('input[name="account"][value="office-x"]').check()
    page.locator("#compose-text").fill("نص قصير")
    expect(page.locator('[data-counter="office-x"]')).to_contain_text("7 / 280 حرفًا موزونًا")


@pytest.mark.parametrize("locale", ["en-US", "de-DE"])
def test_the_compose_time_is_the_same_24_hour_office_time_in_every_locale(desk, browser,
                                                                          locale):
    """Issue 15, point 4: the compose page's time field reads and shows office time as
    "2026-12-01 15:00" whatever the browser's language and zone (a datetime-local field shows
    "12/01/2026, 03:00 PM" in en-US and "01.12.2026, 15:00" in de-DE)."""
    from zoneinfo import ZoneInfo

    from playwright.sync_api import expect

    office = ZoneInfo("Asia/Baghdad")
    day = (datetime.now(office) + timedelta(days=7)).date()
    # The browser's own zone differs from the office's: the time typed is the office's.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale=locale,
                                  timezone_id="America/Los_Angeles")
    page = context.new_page()
    sign_in(page, desk.url, "chen")
    # As the calendar's free-slot link opens it.
    page.goto(f"{desk.url}/compose?account=office-x&at={day}T15:00")
    field = page.get_by_label("Time (Asia/Baghdad, 24-hour)")
    expect(field).to_have_value(f"{day} 15:00")
    assert field.evaluate("e => e.type") == "text"
    expect(page.get_by_role("radio", name=re.compile("^At"))).to_be_checked()
    for typed, wrong in ((f"{day:%m/%d/%Y}, 03:00 PM", True), (f"{day:%d.%m.%Y}, 15:00", True),
                         (f"{day} 16:30", False)):
        field.fill(typed)
        assert field.evaluate("e => e.validity.patternMismatch") is wrong, typed
    page.locator("#compose-text").fill(f"Typed in {locale}.")
    page.get_by_role("button", name="Queue").click()
    expect(page.locator(".post-text")).to_have_text(f"Typed in {locale}.")
    [post] = desk.store.history.search()
    assert post.scheduled_at == datetime(day.year, day.month, day.day, 13, 30, tzinfo=UTC)
    context.close()


# -- the README's screenshots (issue 15, point 9) -----------------------------------------------

SCREENSHOTS = os.environ.get("FACTPOST_SCREENSHOTS")
#: The window sizes each page is shown at: viewport shots, not whole pages, to keep them small.
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": PHONE}
#: Posts of both languages, as the office writes them.
SAMPLE_POSTS = {
    "office-x": ["Joint Task Force Meridian reopened the maritime corridor to commercial "
                 "shipping today. #Meridian",
                 "Patrols continue along the route through the winter."],
    "office-fb": ["The corridor reopens to commercial shipping after the mine clearance "
                  "operation. Berths 1 to 4 first."],
    "office-x-ar": ["أعلنت قوة المهام المشتركة ميريديان إعادة فتح الممر البحري أمام السفن "
                    "التجارية اليوم. #Meridian",
                    "تستمر الدوريات على طول الطريق خلال فصل الشتاء."],
}


@pytest.fixture
def gallery(make_office, serve, emulator):
    """The newsroom (review, two-person rule) with the Arabic X account too, holding posts
    published, queued over the coming days, and drafts waiting for approval."""
    from conftest import ARABIC_X, OFFICE_CONFIG, REVIEW

    text = (OFFICE_CONFIG + ARABIC_X).format(
        url=emulator.url, database="sqlite:///factpost.db", max_attempts=5, poll=0.2,
        lease=120, timeout=5.0, budget=1000, extra=REVIEW)
    office = make_office(config_text=text)
    add_users(office.store, amira="admin", bashir="approver", chen="author")
    office.url = serve(office.config, office.store)
    now = datetime.now(UTC)
    chen = Actor("chen", "author")
    office.published = [office.add(texts[0], account) for account, texts in SAMPLE_POSTS.items()]
    office.dispatcher().tick(now)
    for day, (account, texts) in enumerate(SAMPLE_POSTS.items(), start=1):
        for hour, words in enumerate(texts):
            office.add(words, account, at=now + timedelta(days=day, hours=hour))
            office.store.posts.add(account=account, platform=office.config.account(account)
                                   .platform, text=f"{words} (draft)", actor=chen, now=now,
                                   scheduled_at=now + timedelta(days=day + 1, hours=hour),
                                   status=S.DRAFT)
    return office


@pytest.mark.skipif(not SCREENSHOTS, reason="screenshots are taken by `make screenshots` "
                    "(FACTPOST_SCREENSHOTS names their folder)")
@pytest.mark.parametrize("language", LANGUAGES)
def test_screenshots_of_every_page(gallery, browser, language):
    """docs/screenshots/<page>.<language>.<desktop|phone>.png: each page visited once and
    shot at both sizes (the window resized in place)."""
    from playwright.sync_api import expect

    from scheduler.demo import sample_factsheet

    folder = Path(SCREENSHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    base = gallery.url
    context = browser.new_context(viewport=SIZES["desktop"], locale=language)
    page = context.new_page()

    def shoot(name: str) -> None:
        page.wait_for_load_state("load")
        for size, viewport in SIZES.items():
            page.set_viewport_size(viewport)
            page.screenshot(path=folder / f"{name}.{language}.{size}.png")
        page.set_viewport_size(SIZES["desktop"])

    page.goto(base + "/login")
    shoot("login")
    sign_in(page, base, "amira", language)
    for name, path in {"queue": "/", "calendar": "/calendar", "approvals": "/approvals",
                       "history": "/history", "post": f"/posts/{gallery.published[-1]}",
                       "status": "/status"}.items():
        page.goto(base + path)
        shoot(name)

    page.goto(base + "/compose")
    page.locator('#compose input[name="account"][value="office-x"]').check()
    page.locator('#compose input[name="account"][value="office-x-ar"]').check()
    # Long enough for a two-part thread on X, to show the preview.
    page.locator("#compose-text").fill(" ".join(SAMPLE_POSTS["office-x"]) + (
        " Berths 1 to 4 open first; the rest follow within the week, once the harbour master"
        " has inspected each of them. Ships should call the port office first."))
    page.locator('textarea[data-variant="office-x-ar"]').fill(SAMPLE_POSTS["office-x-ar"][0])
    expect(page.locator('[data-preview="office-x"] li')).to_have_count(2)
    shoot("compose")

    page.goto(base + "/import")
    sheet = sample_factsheet("factsheet_ar.txt" if language == "ar" else "factsheet.txt")
    page.locator('textarea[name="text"]').fill(sheet)
    page.locator('input[name="name"]').fill(f"meridian-{language}.txt")
    # Each sheet to the accounts of its language: no language warning in the picture.
    for account in gallery.config.accounts:
        box = page.locator(f'form[action="/import/review"] input[name="account"]'
                           f'[value="{account.name}"]')
        box.set_checked(account.language == language)
    page.locator('input[name="schedule"][value="spaced"]').check()
    page.locator('input[name="every"]').fill("1h")
    shoot("import")
    page.locator('form[action="/import/review"] button[type="submit"]').click()
    expect(page.locator('form[action="/import"] button[type="submit"]')).to_be_visible()
    shoot("import-review")
    context.close()
