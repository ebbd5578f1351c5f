"""WCAG 2.1 AA in a real browser: axe-core (npm, node_modules/axe-core) run on every page of the
newsroom UI in the states that show forms, notices and errors, in every interface language; and
every main action done with the keyboard alone.

axe-core finds what a machine can find (labels, names, contrast, landmarks, heading order,
duplicate ids, table headers); the keyboard test covers what it cannot: that Tab reaches each
action in a sane order, that focus is visible, and that Enter and Space do the job.

One Chromium serves the whole module; each test signs in once per language and visits each
page once in that context.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from chromium import launched
from conftest import OFFICE_CONFIG, PASSWORD, REVIEW, add_users

from posts.states import Actor, PostStatus

ROOT = Path(__file__).resolve().parent.parent
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
#: WCAG 2.0 and 2.1, levels A and AA (what Section 508 asks for), and axe's best practices,
#: which hold the rules those tags leave out: heading order, one main landmark, content inside
#: landmarks, a level-one heading, unique landmark names.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
#: The interface languages every page is checked in: a new one is one entry here (`sign_in`
#: chooses it; the tests find controls by form, name and value, never by their words).
LANGUAGES = ["en", "ar"]
DESKTOP = {"width": 1280, "height": 900}
#: An iPhone 14: every page is checked again at this width, where the layout changes most.
PHONE = {"width": 390, "height": 844}
S = PostStatus


@pytest.fixture(scope="module")
def browser():
    with launched() as chromium:
        yield chromium


@pytest.fixture
def axe() -> Path:
    if not AXE.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{AXE} is missing; CI must run `npm ci` (make test does)")
        pytest.skip(f"{AXE} is missing; run `npm ci` to run the accessibility tests")
    return AXE


def sign_in(page, base: str, name: str, language: str) -> None:
    """Sign `name` in on `page` and set the interface to `language`."""
    page.goto(base + "/login")
    page.locator('input[name="name"]').fill(name)
    page.locator('input[name="password"]').fill(PASSWORD)
    page.locator('form[action="/login"] button[type="submit"]').click()
    page.wait_for_url(base + "/")
    if language != "en":
        # The header's language switch (branch i18n): one button per other language.
        page.locator(f'form[action="/language"] button[value="{language}"]').click()
        page.wait_for_function("lang => document.documentElement.lang === lang", arg=language)


def violations(page, axe: Path) -> list[str]:
    """axe-core's violations of AXE_TAGS on the page as it stands, one line per element:
    rule (impact): element: what is wrong <help page>."""
    if not page.evaluate("() => 'axe' in window"):
        page.add_script_tag(path=str(axe))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " resultTypes: ['violations']})", AXE_TAGS)
    return [f"{v['id']} ({v['impact']}): {' '.join(map(str, node['target']))}: {v['help']} "
            f"<{v['helpUrl']}>"
            for v in result["violations"] for node in v["nodes"]]


def positive_tabindex(page) -> list[str]:
    """Elements that jump the Tab order (tabindex above 0): focus order must follow the page."""
    return [f"positive tabindex: {html}" for html in page.evaluate(
        "() => [...document.querySelectorAll('[tabindex]')].filter(e => e.tabIndex > 0)"
        ".map(e => e.outerHTML.slice(0, 120))")]


def posts_in_every_state(newsroom) -> dict[str, int]:
    """Posts in the states a post's page shows differently (published, failed, needs_review,
    retracted, queued, draft, and a draft thread), by state name: {"published": id, ...}."""
    from scheduler.retraction import retract

    now = datetime.now(UTC)
    later = now + timedelta(days=1)
    chen = Actor("chen", "author")
    office = newsroom
    published = office.add("Published: the corridor is open again #Meridian")
    withdrawn = office.add("Published in error")
    office.emulator.inject("refuse", platform="facebook")
    failed = office.add("Refused by the platform", account="office-fb")
    office.dispatcher().tick(datetime.now(UTC))
    # X refuses a repeat of live words; whether the repeat went out is for a person to say.
    office.emulator.refuse_duplicates(platform="x")
    in_doubt = office.add("Published: the corridor is open again #Meridian")
    office.dispatcher().tick(datetime.now(UTC))
    retract(office.store, office.config, Actor("amira", "admin"), withdrawn,
            reason="factual-error", note="the wrong corridor", now=datetime.now(UTC))
    queued = office.add("Queued for tomorrow", at=later)
    draft = office.store.posts.add(account="office-x", platform="x", text="A draft for review",
                                   scheduled_at=later, actor=chen, now=now, status=S.DRAFT).id
    office.store.posts.add_thread(account="office-x", platform="x",
                                  texts=["A thread, part one", "Part two"],
                                  scheduled_at=later, actor=chen, now=now, status=S.DRAFT)
    states = {p.id: p.status for p in office.store.history.search()}
    chosen = {"published": published, "failed": failed, "needs_review": in_doubt,
              "retracted": withdrawn, "queued": queued, "draft": draft}
    assert {name: states[post_id] for name, post_id in chosen.items()} == {
        name: S(name) for name in chosen}
    return chosen


FACTSHEET = """MARITIME CORRIDOR REOPENED

THE CORRIDOR
Joint Task Force Meridian reopened the maritime corridor to commercial shipping today.

WHAT COMES NEXT
Patrols continue along the route through the winter.
"""


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_has_no_wcag_21_aa_violation(newsroom, browser, axe, language):
    """Every page once, in the states that show forms, notices and errors, checked at desktop
    width and again at a phone's (the same visit, the window narrowed: no second load); the
    failure lists every violation with its rule, impact, element and help page."""
    from playwright.sync_api import expect

    base = newsroom.url
    posts = posts_in_every_state(newsroom)
    # The app's Content-Security-Policy forbids inline scripts, axe's injection among them.
    context = browser.new_context(viewport=DESKTOP, bypass_csp=True)
    page = context.new_page()
    found: dict[str, list[str]] = {}

    def check(name: str) -> None:
        page.wait_for_load_state("load")
        problems = violations(page, axe) + positive_tabindex(page)
        page.set_viewport_size(PHONE)
        problems += [f"at {PHONE['width']} px: {line}" for line in violations(page, axe)]
        page.set_viewport_size(DESKTOP)
        if problems:
            found[name] = problems

    page.goto(base + "/login")
    check("login")
    page.locator('input[name="name"]').fill("amira")
    page.locator('input[name="password"]').fill("not the password")
    page.locator('form[action="/login"] button[type="submit"]').click()
    expect(page.get_by_role("alert")).to_be_visible()
    check("login, refused")

    sign_in(page, base, "amira", language)
    for name, path in {
            "queue": "/", "history": "/history",
            "history, nothing found": "/history?q=nothing-has-this-word",
            "calendar, week": "/calendar", "calendar, month": "/calendar?view=month",
            "compose": "/compose", "import": "/import", "approvals": "/approvals",
            "users": "/users", "status": "/status", "api docs": "/api/docs",
            "error page": "/posts/999999",
            **{f"post, {state}": f"/posts/{post_id}" for state, post_id in posts.items()}}.items():
        page.goto(base + path)
        check(name)

    # A notice after an action, and an alert after a refused one.
    draft, queued = posts["draft"], posts["queued"]
    page.goto(base + f"/posts/{draft}")
    page.locator(f'form[action="/posts/{draft}/approve"] button').click()
    expect(page.get_by_role("status")).to_be_visible()
    check("post, approved (notice)")
    page.goto(base + "/")
    page.locator('button[name="action"][value="cancel"]').click()
    expect(page.get_by_role("alert")).to_be_visible()
    check("queue, bulk action refused (alert)")
    page.locator(f'input[name="post"][value^="{queued}:"]').check()
    page.locator('input[name="schedule"][value="spaced"]').check()
    page.locator('input[name="every"]').fill("1h")
    page.locator('button[name="action"][value="reschedule"]').click()
    expect(page.get_by_role("status")).to_be_visible()
    check("queue, bulk results (notice)")
    page.goto(base + "/compose")
    page.locator('#compose button[type="submit"]').click()
    expect(page.get_by_role("alert")).to_be_visible()
    check("compose, refused")
    page.locator('#compose input[name="account"][value="office-x"]').check()
    page.locator('#compose input[name="account"][value="office-fb"]').check()
    page.locator("#compose-text").fill("A post for both " * 30)
    expect(page.locator('[data-preview="office-x"] li')).to_have_count(2)
    check("compose, live counters and thread preview")
    page.goto(base + "/users")
    page.locator('form[action="/users"] input[name="name"]').fill("dana")
    page.locator('form[action="/users"] input[name="password"]').fill("short")
    page.locator('form[action="/users"] button[type="submit"]').click()
    expect(page.get_by_role("alert")).to_be_visible()
    check("users, refused")

    # Import: a refusal, the review, the notice after queueing, the correction review.
    review = page.locator('form[action="/import/review"] button[type="submit"]')
    confirm = page.locator('form[action="/import"] button[type="submit"]')

    def upload(text: str) -> None:
        page.goto(base + "/import")
        page.locator('textarea[name="text"]').fill(text)
        page.locator('input[name="name"]').fill("corridor.txt")
        page.locator('input[name="schedule"][value="spaced"]').check()
        page.locator('input[name="every"]').fill("1h")
        review.click()
        expect(confirm).to_be_visible()

    page.goto(base + "/import")
    review.click()
    expect(page.get_by_role("alert")).to_be_visible()
    check("import, refused")
    upload(FACTSHEET)
    check("import review")
    confirm.click()
    expect(page.get_by_role("status")).to_be_visible()
    check("import, queued (notice)")
    upload(FACTSHEET.replace("today", "this morning"))
    expect(page.locator("ul.changes").first).to_be_visible()
    check("import, correction review")
    context.close()

    report = "\n".join(f"{name}:\n  " + "\n  ".join(lines) for name, lines in found.items())
    assert not found, f"accessibility violations ({language}):\n{report}"


# -- the keyboard alone -----------------------------------------------------------------------

#: What has keyboard focus: tag, name and whether a focus ring is drawn and the element shows.
FOCUSED = """() => {
  const e = document.activeElement, style = getComputedStyle(e), box = e.getBoundingClientRect();
  const name = (e.getAttribute('aria-label') || e.innerText || e.value || e.name || '').trim();
  return {tag: e.tagName.toLowerCase(), name: name.slice(0, 60),
          ring: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
          shown: box.width > 0 && box.height > 0};
}"""


def tab_to(page, selector: str, limit: int = 120) -> list[str]:
    """Press Tab until the element matching `selector` has focus, and return the stops passed
    on the way. Fails if it is never reached, or if a stop shows no focus ring or is hidden."""
    stops: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        where = f"{focused['tag']} {focused['name']!r}"
        assert focused["shown"], f"Tab stopped on an element that cannot be seen: {where}"
        assert focused["ring"], f"no visible focus ring on {where} (after {stops})"
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return stops
        stops.append(where)
    raise AssertionError(f"Tab never reached {selector}; it passed {stops}")


@pytest.fixture
def slotted_newsroom(make_office, serve, emulator):
    """The newsroom (review, two-person rule; amira admin, chen author) with office-x posting
    at 09:00 and 15:00 office time, so the calendar offers free slots to move a post to."""
    text = OFFICE_CONFIG.format(url=emulator.url, database="sqlite:///factpost.db",
                                max_attempts=5, poll=0.2, lease=120, timeout=5.0, budget=1000,
                                extra=REVIEW)
    office = make_office(config_text=text.replace(
        'handle = "OfficeX"\n', 'handle = "OfficeX"\nslots = ["0 9 * * *", "0 15 * * *"]\n'))
    add_users(office.store, amira="admin", chen="author")
    office.url = serve(office.config, office.store)
    return office


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_main_actions_work_with_the_keyboard_alone(slotted_newsroom, browser, language):
    """Skip link first, then Tab/Enter/Space only: approve a draft, cancel a post, move one
    on the calendar to another slot, and compose one. Every stop on the way shows a focus
    ring; no mouse click and no script-set value is used."""
    from playwright.sync_api import expect

    office = slotted_newsroom
    base = office.url
    now = datetime.now(UTC)
    chen = Actor("chen", "author")
    tomorrow = now + timedelta(days=1)
    draft = office.store.posts.add(account="office-x", platform="x", text="Approve me",
                                   scheduled_at=tomorrow, actor=chen, now=now,
                                   status=S.DRAFT).id
    doomed = office.add("Cancel me", at=tomorrow)
    moved = office.add("Move me", at=tomorrow)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, base, "amira", language)

    # The skip link is the first stop, and it moves focus into the main content.
    page.goto(base + "/")
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.closest('main') !== null"), (
        "the Tab after the skip link left the main content")

    # Approve: Tab to the button, Enter.
    page.goto(base + f"/posts/{draft}")
    tab_to(page, f'form[action="/posts/{draft}/approve"] button')
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_be_visible()
    assert office.store.history.get(draft).status == S.QUEUED

    # Cancel: Tab to the reason, type it, Tab to the button, Space.
    page.goto(base + f"/posts/{doomed}")
    tab_to(page, f'form[action="/posts/{doomed}/cancel"] input[name="reason"]')
    page.keyboard.type("plans changed")
    page.keyboard.press("Tab")
    expect(page.locator(f'form[action="/posts/{doomed}/cancel"] button')).to_be_focused()
    page.keyboard.press("Space")
    expect(page.get_by_role("status")).to_be_visible()
    assert office.store.history.get(doomed).status == S.CANCELLED

    # Move on the calendar: the keyboard alternative to dragging, a Move disclosure per post.
    page.goto(base + "/calendar")
    tab_to(page, f'[data-post="{moved}"] summary')
    page.keyboard.press("Enter")
    select = page.locator(f'#move-{moved} select[name="at"]')
    tab_to(page, f'#move-{moved} select[name="at"]')
    first_choice = select.input_value()
    page.keyboard.press("ArrowDown")
    chosen = select.input_value()
    assert chosen != first_choice, "the arrow keys do not change the slot"
    page.keyboard.press("Tab")
    expect(page.locator(f"#move-{moved} button")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_be_visible()
    at = office.store.history.get(moved).scheduled_at.replace(tzinfo=UTC)
    assert at.astimezone(office.config.timezone).strftime("%Y-%m-%dT%H:%M") == chosen[:16]

    # Compose: Space ticks the account, type the text, Enter on the button sends it.
    page.goto(base + "/compose")
    tab_to(page, 'input[name="account"][value="office-x"]')
    page.keyboard.press("Space")
    tab_to(page, "#compose-text")
    page.keyboard.type("Written without a mouse")
    tab_to(page, '#compose button[type="submit"]')
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_be_visible()
    texts = {p.text: p.status for p in office.store.history.search() if p.account == "office-x"}
    assert texts.get("Written without a mouse") == S.DRAFT
    context.close()
