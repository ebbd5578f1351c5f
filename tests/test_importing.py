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
from posts.weight import find_urls
from scheduler.importing import import_file
from scheduler.planning import Cost
from scheduler.platforms.billing import Estimate
from scheduler.reading import DocumentImportError

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
             fb_slots: str = '["0 10 * * *"]', x_extra: str = "") -> Office:
        return make_office(config_text=CONFIG.format(url=emulator.url, timezone=timezone,
                                                     x_slots=x_slots, fb_slots=fb_slots,
                                                     x_extra=x_extra))

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
