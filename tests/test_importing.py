"""Importing a document as a whole: planned first, then stored in one transaction, so an import
that fails anywhere after reading leaves the database as it was; its posts go into the
accounts' slots on the office's wall clock, whatever the clocks do in between."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import ADMIN, Office

from db.models import AuditEntry, Document, Post, Section
from scheduler.importing import import_file
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
             fb_slots: str = '["0 10 * * *"]') -> Office:
        return make_office(config_text=CONFIG.format(url=emulator.url, timezone=timezone,
                                                     x_slots=x_slots, fb_slots=fb_slots))

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
    ("[]", "'office-fb' has no posting slots"),
    # February 30th never comes: the account runs out of slots after planning began.
    ('["0 9 30 2 *"]', "'office-fb' has only 0 free posting slot(s)"),
])
def test_an_import_that_cannot_be_planned_stores_no_document_section_or_post(
        make_importer, sheet, fb_slots, problem):
    office = make_importer(fb_slots=fb_slots)  # the X account (planned first) has its slots
    with pytest.raises(DocumentImportError, match=re.escape(problem)):
        run_import(office, sheet, NOW)
    assert rows(office) == {"documents": 0, "sections": 0, "posts": 0, "audit_log": 0}


def test_the_same_import_goes_through_once_the_slots_are_there(make_importer, sheet):
    office = make_importer()
    report = run_import(office, sheet, NOW)
    assert report.created == 6
    assert rows(office) == {"documents": 1, "sections": 3, "posts": 6, "audit_log": 6}


NEW_YORK = ZoneInfo("America/New_York")


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
