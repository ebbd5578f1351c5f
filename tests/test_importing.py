"""Importing a document as a whole: planned first, then stored in one transaction, so an import
that fails anywhere after reading leaves the database as it was; its posts go into the
accounts' slots on the office's wall clock, whatever the clocks do in between."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import ADMIN, Office

from db.models import AuditEntry, Document, Post, Section
from posts.contacts import extract_contacts
from posts.factsheet import FactSheet
from posts.factsheet import Section as SheetSection
from posts.weight import find_urls
from scheduler.importing import (
    ImportReport,
    import_file,
    import_sheet,
    language_warnings,
    plan_import,
    store_import,
)
from scheduler.planning import Cost
from scheduler.platforms.billing import Estimate
from scheduler.reading import DocumentImportError, load_document, read_document
from tests.test_images import png

SHEET = """\
Joint Task Force Meridian

OUR MISSION
The task force keeps the sea lanes of the Meridian Strait open to lawful traffic.

OPERATIONS
Patrols run around the clock. The nearest ship answers within 30 minutes on average.

AID
Convoys delivered 40 tonnes of aid this week.
"""

CONFIG = """
[database]
url = "sqlite:///factpost.db"
[schedule]
timezone = "{timezone}"
[[accounts]]
name = "office-x"
platform = "x"
handle = "OfficeX"
api_url = "{url}"
slots = {x_slots}
{x_extra}
[[accounts]]
name = "office-fb"
platform = "facebook"
handle = "OfficeFB"
api_url = "{url}"
slots = {fb_slots}
"""


@pytest.fixture
def make_importer(make_office, emulator):
    def make(timezone: str = "Asia/Baghdad", x_slots: str = '["0 9 * * *"]',
             fb_slots: str = '["0 10 * * *"]', x_extra: str = "", extra: str = "") -> Office:
        """`x_extra` is TOML added to the X account; `extra` is added at the end: keys of the
        Facebook account, then tables."""
        return make_office(config_text=CONFIG.format(url=emulator.url, timezone=timezone,
                                                     x_slots=x_slots, fb_slots=fb_slots,
                                                     x_extra=x_extra) + extra)

    return make


@pytest.fixture
def sheet(tmp_path) -> Path:
    path = tmp_path / "meridian.txt"
    path.write_text(SHEET, encoding="utf-8")
    return path


def rows(office: Office) -> dict[str, int]:
    with office.store.reading() as s:
        return {table.__tablename__: s.query(table).count()
                for table in (Document, Section, Post, AuditEntry)}


def run_import(office: Office, path: Path, now: datetime):
    return import_file(path, store=office.store, config=office.config,
                       accounts=office.config.accounts, actor=ADMIN, now=now)


NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(("fb_slots", "problem"), [
    ("[]", "account 'office-fb' has no posting slots; add `slots` to it in the config or pass "
     "--at/--every"),
    # February 30th and April 31st never come: the account runs out of slots after planning
    # began.
    ('["0 9 30 2 *", "0 10 31 4 *"]', "account 'office-fb' has only 0 free posting slot(s) "
     "left in its `slots` (0 9 30 2 *, 0 10 31 4 *) for 3 post(s); add slots in the config or "
     "pass --at/--every"),
])
def test_an_import_that_cannot_be_planned_stores_no_document_section_or_post(
        make_importer, sheet, fb_slots, problem):
    office = make_importer(fb_slots=fb_slots)  # the X account (planned first) has its slots
    with pytest.raises(DocumentImportError, match=f"^{re.escape(problem)}$"):
        run_import(office, sheet, NOW)
    assert rows(office) == {"documents": 0, "sections": 0, "posts": 0, "audit_log": 0}


def test_the_same_import_goes_through_once_the_slots_are_there(make_importer, sheet):
    office = make_importer()
    report = run_import(office, sheet, NOW)
    assert report.created == 6
    assert rows(office) == {"documents": 1, "sections": 3, "posts": 6, "audit_log": 6}


NEW_YORK = ZoneInfo("America/New_York")
BAGHDAD = ZoneInfo("Asia/Baghdad")


@pytest.mark.parametrize(("now", "change"), [
    # New York's clocks go forward at 02:00 on 14 March 2027 and back on 7 November 2027.
    (datetime(2027, 3, 12, 18, 0, tzinfo=UTC), "spring"),
    (datetime(2027, 11, 5, 18, 0, tzinfo=UTC), "autumn"),
])
def test_imported_posts_keep_their_wall_clock_slot_across_a_clock_change(make_importer, sheet,
                                                                          now, change):
    office = make_importer(timezone="America/New_York")
    run_import(office, sheet, now)
    posts = sorted(office.store.history.search(), key=lambda p: p.scheduled_at)
    local = [(p.account, p.scheduled_at.astimezone(NEW_YORK)) for p in posts]
    first = now.astimezone(NEW_YORK).date()
    # Three sections a day apart: the day before the change, the day of it, the day after.
    assert [(a, f"{t:%Y-%m-%d %H:%M}") for a, t in local] == [
        (account, f"{first.replace(day=first.day + day):%Y-%m-%d} {hour}")
        for day in (1, 2, 3) for account, hour in (("office-x", "09:00"),
                                                   ("office-fb", "10:00"))]
    offsets = {t.utcoffset().total_seconds() / 3600 for _, t in local}
    assert offsets == {-5, -4}, change  # both sides of the change were planned


MARKDOWN = """\
# Joint Task Force Meridian

## Our mission
The task force keeps the sea lanes of the Meridian Strait open. Read [the charter](/charter).

![Map of the strait](map.png)

## Operations
Patrols run around the clock ([map](javascript:showMap())).

## Annex
"""



def documents_of(office: Office) -> list[tuple]:
    with office.store.reading() as s:
        return [(d.id, d.source_name, d.title, d.imported_by,
                 [(sec.heading, sec.text) for sec in d.sections])
                for d in s.query(Document).order_by(Document.id)]


def posts_of(office: Office) -> list[tuple]:
    return sorted((p.account, p.status, p.scheduled_at.astimezone(UTC), p.text)
                  for p in office.store.history.search())


def meridian_office(make_importer, tmp_path, *, cap: str):
    """An office whose Facebook Page posts in Arabic and whose X account has a monthly cap of
    `cap` USD, $0.015 of it already queued; and the Meridian sheet beside its map image."""
    office = make_importer(extra=f'language = "ar"\n[x]\nmonthly_spend_usd = {cap}\n')
    office.add("Queued for later.", at=NOW + timedelta(days=1))  # $0.015 of the cap
    path = tmp_path / "meridian.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    (tmp_path / "map.png").write_bytes(png())
    return office, path


def meridian_notes(path) -> tuple[str, ...]:
    """What importing the Meridian sheet at `path` notes: its javascript: link and its empty
    heading."""
    return (f"{path}: 1 link(s) with an address a reader of the post cannot follow "
            "(javascript:) kept as text without the address; link a web page (https://...), "
            "an e-mail address or a phone number instead",
            'not posted: the heading "Annex" has no text under it')


#: The warning for an English document imported for the Arabic page.
ENGLISH_FOR_ARABIC_PAGE = (
    "the document reads as English, but account 'office-fb' posts in Arabic (language = \"ar\" "
    "in the config); import it for an account in its language, or correct the account's "
    "language")


def test_an_import_reports_what_it_queued_when_at_what_cost_and_what_to_check(
        make_importer, tmp_path):
    office, path = meridian_office(make_importer, tmp_path, cap="0.22")
    start, every = NOW + timedelta(hours=1), timedelta(hours=2)
    report = import_file(path, store=office.store, config=office.config,
                         accounts=office.config.accounts, actor=ADMIN, now=NOW, at=start,
                         every=every, base_url="https://www.jtf-meridian.mil/")
    mission = ("Our mission\n\nThe task force keeps the sea lanes of the Meridian Strait open. "
               "Read the charter (https://www.jtf-meridian.mil/charter).")
    operations = "Operations\n\nPatrols run around the clock (map)."
    assert report == ImportReport(
        document="meridian.md", title="Joint Task Force Meridian", document_id=1, created=4,
        skipped_accounts=(), first_at=start, last_at=start + every, correction=None,
        applied=False, images_found=1, images_attached=0, image_notes=(),  # not asked for
        notes=meridian_notes(path),
        costs=(Cost("office-x", "X", Estimate(posts=2, with_links=1, micros=215_000)),),
        cap_warnings=(
            "X monthly cap: queueing these posts ($0.2150) takes office-x to $0.2300 this "
            "month, $0.0100 over the $0.2200 cap ($0.0000 spent or set aside, $0.0150 already "
            "queued); the posts past the cap wait until 2027-01-01 00:00 UTC, or raise [x] "
            "monthly_spend_usd",),
        language_warnings=(ENGLISH_FOR_ARABIC_PAGE,))
    assert documents_of(office) == [(1, "meridian.md", "Joint Task Force Meridian", "chief", [
        ("Our mission", "The task force keeps the sea lanes of the Meridian Strait open. Read "
         "the charter (https://www.jtf-meridian.mil/charter)."),
        ("Operations", "Patrols run around the clock (map).")])]
    assert [p for p in posts_of(office) if p[3] != "Queued for later."] == [
        ("office-fb", "queued", start, mission), ("office-fb", "queued", start + every, operations),
        ("office-x", "queued", start, mission), ("office-x", "queued", start + every, operations)]

    again = import_file(path, store=office.store, config=office.config,
                        accounts=office.config.accounts, actor=ADMIN, now=NOW, at=start,
                        every=every, base_url="https://www.jtf-meridian.mil/")
    assert again == replace(report, created=0, skipped_accounts=("office-fb", "office-x"),
                            first_at=None, last_at=None, costs=(), cap_warnings=())


def test_under_review_an_import_s_posts_wait_as_drafts(make_importer, sheet):
    office = make_importer(extra="[review]\nrequire_approval = true\n")
    run_import(office, sheet, NOW)
    assert [p.status for p in office.store.history.search()] == ["draft"] * 6


def test_the_office_s_own_import_limits_are_the_ones_that_hold(make_importer, sheet):
    office = make_importer(extra="[import]\nmax_sections = 2\n")
    with pytest.raises(DocumentImportError) as refused:
        run_import(office, sheet, NOW)
    assert str(refused.value) == (
        f"{sheet}: it has 3 sections, over the 2 one document may have; split it into several "
        "documents, or raise [import] max_sections in the config")
    assert rows(office) == {"documents": 0, "sections": 0, "posts": 0, "audit_log": 0}


def test_a_sheet_with_no_title_or_headings_is_judged_by_its_text_alone(make_importer):
    # Four Arabic letters and nothing else: not one Latin letter may be counted with them.
    office = make_importer(extra='language = "ar"\n')
    sheet = FactSheet(None, (SheetSection(None, ("شكرا",)),), extract_contacts([]))
    assert language_warnings(sheet, office.config.accounts) == (
        "the document reads as Arabic, but account 'office-x' posts in English "
        "(language = \"en\" in the config); import it for an account in its language, or "
        "correct the account's language",)


def test_a_changed_version_is_reported_then_replaces_the_earlier_posts_as_reported(
        make_importer, tmp_path):
    office, path = meridian_office(make_importer, tmp_path, cap="0.21")
    start, every = NOW + timedelta(hours=1), timedelta(hours=2)

    def run(**options):
        return import_file(path, store=office.store, config=office.config,
                           accounts=office.config.accounts, actor=ADMIN, now=NOW, at=start,
                           every=every, with_images=True,
                           base_url="https://www.jtf-meridian.mil/", **options)

    run()
    path.write_text(MARKDOWN.replace("Strait open.", "Strait open to lawful traffic.")
                    .replace("around the clock", "day and night"), encoding="utf-8")
    before = posts_of(office)
    shown = run()
    mission = ("Our mission\n\nThe task force keeps the sea lanes of the Meridian Strait open "
               "to lawful traffic. Read the charter (https://www.jtf-meridian.mil/charter).")
    operations = "Operations\n\nPatrols run day and night (map)."
    # Both posts of each account change (the old ones are posts 2 and 3, 4 and 5).
    assert shown.correction.supersede == (2, 3, 4, 5)
    assert [(p.account, p.scheduled_at, p.text) for p in shown.correction.posts] == [
        ("office-x", start, mission), ("office-x", start + every, operations),
        ("office-fb", start, mission), ("office-fb", start + every, operations)]
    reported = ImportReport(
        document="meridian.md", title="Joint Task Force Meridian", document_id=None,
        created=0, skipped_accounts=(), first_at=None, last_at=None, correction=None,
        applied=False, images_found=1, images_attached=0,
        image_notes=("images are attached on a first import only, not to a corrected "
                     "version",),
        notes=meridian_notes(path),
        costs=(Cost("office-x", "X", Estimate(posts=2, with_links=1, micros=215_000)),),
        # The posts the correction replaces are not counted as queued.
        cap_warnings=(
            "X monthly cap: queueing these posts ($0.2150) takes office-x to $0.2300 this "
            "month, $0.0200 over the $0.2100 cap ($0.0000 spent or set aside, $0.0150 already "
            "queued); the posts past the cap wait until 2027-01-01 00:00 UTC, or raise [x] "
            "monthly_spend_usd",),
        language_warnings=(ENGLISH_FOR_ARABIC_PAGE,))
    assert replace(shown, correction=None) == reported
    assert posts_of(office) == before

    done = run(replace=True)
    assert done.correction == shown.correction
    assert documents_of(office)[1] == (2, "meridian.md", "Joint Task Force Meridian", "chief", [
        ("Our mission", mission.split("\n\n", 1)[1]), ("Operations", operations.split("\n\n")[1])])
    assert replace(done, correction=None) == replace(
        reported, document_id=2, created=4, applied=True, first_at=start,
        last_at=start + every)
    assert [p for p in posts_of(office) if p[1] == "queued" and p[0] == "office-fb"] == [
        ("office-fb", "queued", start, mission),
        ("office-fb", "queued", start + every, operations)]


def import_for(office: Office, path: Path, *names: str, **options):
    return import_file(path, store=office.store, config=office.config,
                       accounts=[office.config.account(n) for n in names], actor=ADMIN,
                       now=NOW, **options)


#: The sheet with its title changed: its posts are the same.
RETITLED = SHEET.replace("Joint Task Force Meridian", "Joint Task Force Meridian (2027)")
#: The sheet with the text of one section changed.
CHANGED = SHEET.replace("40 tonnes", "45 tonnes")


def test_a_changed_version_for_an_account_without_posts_from_the_file_is_its_first_import(
        make_importer, sheet):
    office = make_importer()
    import_for(office, sheet, "office-x")
    x_posts = posts_of(office)
    sheet.write_text(CHANGED, encoding="utf-8")
    report = import_for(office, sheet, "office-fb")
    assert (report.correction, report.document_id, report.created) == (None, 2, 3)
    assert [p for p in posts_of(office) if p[0] == "office-x"] == x_posts


def test_a_changed_version_whose_posts_stay_the_same_stores_nothing_even_with_replace(
        make_importer, sheet):
    office = make_importer()
    run_import(office, sheet, NOW)
    before = rows(office)
    sheet.write_text(RETITLED, encoding="utf-8")
    report = import_for(office, sheet, "office-x", "office-fb", replace=True)
    assert not report.correction.changes_posts
    assert (report.applied, report.document_id, report.created) == (False, None, 0)
    assert rows(office) == before


def test_an_account_a_correction_left_as_it_was_is_done_with_the_new_version(make_importer,
                                                                              sheet):
    office = make_importer()
    import_for(office, sheet, "office-x")
    sheet.write_text(RETITLED, encoding="utf-8")
    # office-x's posts are the same, so stay under the first version; office-fb's are new.
    applied = import_for(office, sheet, "office-x", "office-fb", replace=True)
    assert (applied.applied, applied.created) == (True, 3)
    before = posts_of(office)
    again = import_for(office, sheet, "office-x", "office-fb")
    assert (again.created, again.skipped_accounts, again.first_at) == (
        0, ("office-fb", "office-x"), None)
    assert posts_of(office) == before


def test_an_account_whose_posts_from_a_document_were_all_cancelled_is_done_with_it(
        make_importer, sheet):
    office = make_importer()
    run_import(office, sheet, NOW)
    for post in office.store.history.search():
        if post.account == "office-fb":
            office.store.posts.cancel(post.id, actor=ADMIN, now=NOW)
    again = run_import(office, sheet, NOW)
    assert (again.created, again.skipped_accounts, again.first_at, again.last_at) == (
        0, ("office-fb", "office-x"), None, None)


def test_a_plan_stored_without_replace_is_only_reported_with_the_sheet_s_own_notes(
        make_importer, sheet):
    # The web's path: plan, show, then store. Without `notes`, the sheet's own are reported.
    office = make_importer()
    run_import(office, sheet, NOW)
    before = rows(office)
    sheet.write_text(CHANGED + "\nANNEX\n", encoding="utf-8")
    text, parsed = read_document(sheet)
    plan = plan_import(text, parsed, source_name=sheet.name, store=office.store,
                       config=office.config, accounts=office.config.accounts, now=NOW)
    assert plan.notes == parsed.notes == ('not posted: the heading "ANNEX" has no text under it',)
    assert (plan.planned, plan.image_notes) == ((), ())  # a correction's posts are its own
    report = store_import(plan, store=office.store, config=office.config, actor=ADMIN, now=NOW)
    assert (report.applied, report.created, report.notes) == (False, 0, plan.notes)
    assert report.correction.changes_posts and rows(office) == before


def test_a_parsed_sheet_imported_as_it_is_replaces_nothing_and_attaches_no_image_unasked(
        make_importer, tmp_path):
    office = make_importer()
    path = tmp_path / "meridian.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    (tmp_path / "map.png").write_bytes(png())

    def run():
        loaded = load_document(path, "https://www.jtf-meridian.mil/")
        return import_sheet(loaded.text, loaded.sheet, source_name=path.name,
                            store=office.store, config=office.config,
                            accounts=office.config.accounts, actor=ADMIN, now=NOW,
                            images=loaded.images)

    loaded = load_document(path, "https://www.jtf-meridian.mil/")
    plan = plan_import(loaded.text, loaded.sheet, source_name=path.name, store=office.store,
                       config=office.config, accounts=office.config.accounts, now=NOW,
                       images=loaded.images)
    assert (len(plan.planned), plan.images_found) == (4, 1)
    assert [p.media for p in plan.planned] == [None] * 4
    first = run()
    assert (first.created, first.images_found, first.images_attached) == (4, 1, 0)
    path.write_text(MARKDOWN.replace("around the clock", "day and night"), encoding="utf-8")
    changed = run()
    assert changed.correction.changes_posts and changed.image_notes == ()
    assert (changed.applied, changed.document_id, changed.created) == (False, None, 0)


def test_the_new_sections_of_a_changed_version_go_at_the_times_asked_for(make_importer,
                                                                          sheet):
    office = make_importer()
    import_for(office, sheet, "office-x", at=NOW, every=timedelta(hours=1))
    sheet.write_text(SHEET + "\nTRAINING\nPartner navies train with the crews every month.\n"
                     "\nPORTS\nThe ports of the strait stay open to trade.\n", encoding="utf-8")
    later, every = NOW + timedelta(days=2), timedelta(hours=3)
    report = import_for(office, sheet, "office-x", at=later, every=every)
    assert report.correction.previous_id == 1
    assert [(p.scheduled_at, p.text.split("\n")[0]) for p in report.correction.posts] == [
        (later, "TRAINING"), (later + every, "PORTS")]


def test_a_plan_stored_after_the_same_document_went_in_meanwhile_adds_nothing_and_says_so(
        make_importer, sheet):
    # The web plans, shows the plan, and stores it once confirmed: another import may come first.
    office = make_importer()
    text, parsed = read_document(sheet)
    plan = plan_import(text, parsed, source_name=sheet.name, store=office.store,
                       config=office.config, accounts=office.config.accounts, now=NOW)
    run_import(office, sheet, NOW)
    before = rows(office)
    report = store_import(plan, store=office.store, config=office.config, actor=ADMIN, now=NOW)
    assert (report.created, report.skipped_accounts) == (0, ("office-fb", "office-x"))
    assert rows(office) == before
LONG = ("Patrols run around the clock in all weather along the whole length of the strait. "
        "The nearest ship answers a call within thirty minutes on average, day or night. "
        "Aircraft fly two sorties a day over the approaches and report to the operations "
        "room. Every vessel in the strait is tracked by radar and by its own transponder.")


def test_an_import_reports_what_each_billing_account_s_posts_will_cost(make_importer,
                                                                       tmp_path):
    # X bills per post ($0.015, $0.200 with a link); Facebook does not. The Facebook account
    # comes first and has fewer posts (no thread), so the cost is X's own posts and only X's.
    path = tmp_path / "costs.txt"
    path.write_text(f"Joint Task Force Meridian\n\nOPERATIONS\n{LONG}\n\nAID\nConvoys "
                    "delivered 40 tonnes of aid: https://www.example.mil/aid\n", encoding="utf-8")
    office = make_importer()
    x, facebook = office.config.accounts
    report = import_file(path, store=office.store, config=office.config,
                         accounts=(facebook, x), actor=ADMIN, now=NOW)
    posts = office.store.history.search()
    assert sorted((p.account, p.thread_size) for p in posts if p.thread_position == 1) == [
        ("office-fb", 1), ("office-fb", 1), ("office-x", 1), ("office-x", 2)]
    assert report.costs == (Cost("office-x", "X", Estimate(posts=3, with_links=1,
                                                           micros=230_000)),)
    assert str(report.costs[0]) == "office-x on X: 3 posts, 1 with link: $0.2300"


def test_an_import_over_the_office_s_post_limit_is_refused_whole_and_one_at_it_goes_through(
        make_office, emulator, sheet):
    # Six posts: three for X, then three for Facebook, counted together.
    office = make_office(config_text=CONFIG.format(
        url=emulator.url, timezone="Asia/Baghdad", x_slots='["0 9 * * *"]',
        fb_slots='["0 10 * * *"]', x_extra="") + "[import]\nmax_posts = 5\n")
    with pytest.raises(DocumentImportError) as refused:
        run_import(office, sheet, NOW)
    assert str(refused.value) == (
        "this import would queue 6 posts or more, over the 5 one import may queue; import it "
        "for fewer accounts or split the document, or raise [import] max_posts in the config")
    assert rows(office) == {"documents": 0, "sections": 0, "posts": 0, "audit_log": 0}
    at_the_limit = replace(office.config, limits=replace(office.config.limits, posts=6))
    report = import_file(sheet, store=office.store, config=at_the_limit,
                         accounts=at_the_limit.accounts, actor=ADMIN, now=NOW)
    assert report.created == 6


def test_a_second_document_goes_into_the_slots_the_first_left_free(make_importer, sheet,
                                                                   tmp_path):
    office = make_importer()  # daily: X 09:00, Facebook 10:00, Baghdad time
    run_import(office, sheet, NOW)
    later = tmp_path / "later.txt"
    later.write_text("Joint Task Force Meridian\n\nPORTS\nThe two ports opened again today."
                     "\n\nSTAFF\nThe task force has 900 staff.\n", encoding="utf-8")
    run_import(office, later, NOW)
    posts = sorted(office.store.history.search(), key=lambda p: (p.account, p.scheduled_at))
    # (account, office time, the post's first line: its section's heading)
    assert [(p.account, f"{p.scheduled_at.astimezone(BAGHDAD):%m-%d %H:%M}",
             p.text.split("\n")[0]) for p in posts] == [
        ("office-fb", "12-01 10:00", "OUR MISSION"), ("office-fb", "12-02 10:00", "OPERATIONS"),
        ("office-fb", "12-03 10:00", "AID"), ("office-fb", "12-04 10:00", "PORTS"),
        ("office-fb", "12-05 10:00", "STAFF"),
        ("office-x", "12-01 09:00", "OUR MISSION"), ("office-x", "12-02 09:00", "OPERATIONS"),
        ("office-x", "12-03 09:00", "AID"), ("office-x", "12-04 09:00", "PORTS"),
        ("office-x", "12-05 09:00", "STAFF")]


def test_at_alone_puts_every_post_at_that_time_and_every_alone_spaces_them_from_now(
        make_importer, sheet):
    office = make_importer()
    x, facebook = office.config.accounts
    at = NOW + timedelta(hours=5)
    import_file(sheet, store=office.store, config=office.config, accounts=(x,), actor=ADMIN,
                now=NOW, at=at)
    import_file(sheet, store=office.store, config=office.config, accounts=(facebook,),
                actor=ADMIN, now=NOW, every=timedelta(hours=2))
    assert sorted((p.account, p.scheduled_at) for p in office.store.history.search()) == [
        ("office-fb", NOW), ("office-fb", NOW + timedelta(hours=2)),
        ("office-fb", NOW + timedelta(hours=4)), ("office-x", at), ("office-x", at),
        ("office-x", at)]


def test_each_account_s_posts_are_split_by_its_own_rules_with_its_hashtags(make_importer,
                                                                          sheet):
    office = make_importer(x_extra='hashtags = ["#Meridian"]')
    run_import(office, sheet, NOW)
    posts = sorted(office.store.history.search(), key=lambda p: (p.account, p.scheduled_at))
    sections = [("OUR MISSION", "The task force keeps the sea lanes of the Meridian Strait open "
                 "to lawful traffic."),
                ("OPERATIONS", "Patrols run around the clock. The nearest ship answers within "
                 "30 minutes on average."),
                ("AID", "Convoys delivered 40 tonnes of aid this week.")]
    assert [(p.account, p.text) for p in posts] == [
        ("office-fb", f"{heading}\n\n{body}") for heading, body in sections] + [
        ("office-x", f"{heading}\n\n{body} #Meridian") for heading, body in sections]


def test_an_account_with_links_in_the_first_part_gets_its_thread_s_links_there(make_importer,
                                                                              tmp_path):
    filler = "Patrols escorted merchant vessels through the strait without any incident. " * 3
    path = tmp_path / "reports.txt"
    path.write_text(
        "Joint Task Force Meridian\n\nREPORTS\nThe monthly patrol report is published on the "
        "task force website (https://www.jtf-meridian.mil/reports/2026-11). " + filler + "\n\n"
        "Read the full statement at www.jtf-meridian.mil/statement.pdf from the commander. "
        + filler + "\n", encoding="utf-8")
    office = make_importer(x_extra='links = "first-part"')
    run_import(office, path, NOW)
    thread = sorted((p for p in office.store.history.search() if p.account == "office-x"),
                    key=lambda p: p.thread_position)
    assert len(thread) > 1
    assert [[p.text[a:b] for a, b in find_urls(p.text)] for p in thread] == [
        ["https://www.jtf-meridian.mil/reports/2026-11", "www.jtf-meridian.mil/statement.pdf"]
    ] + [[]] * (len(thread) - 1)
