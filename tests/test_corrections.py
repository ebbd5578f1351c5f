"""Corrections: importing a changed version of a fact sheet shows, per account, which posts
changed, which are new and which were already published (and where); --replace supersedes the
unpublished ones in one transaction and never touches a published post."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import T0
from sqlalchemy import text

from db.errors import NotEditable
from posts.corrections import Change, NewSnippet, OldPost, diff_snippets
from posts.states import Actor
from scheduler.cli import cli
from scheduler.config import load_config
from scheduler.corrections import plan_correction
from scheduler.importing import import_file
from scheduler.reading import read_document

V1 = """\
FIELD OFFICE FACT SHEET

OUR MISSION
The office supports partner forces in the region. It was formed in 2024.

CIVIL AFFAIRS
Teams repaired 12 schools and 4 clinics this year.

OPEN DAYS
Crews host open days every quarter.
"""

V2 = """\
FIELD OFFICE FACT SHEET

OUR MISSION
The office supports partner forces in the region. It was formed in 2023.

CIVIL AFFAIRS
Teams repaired 12 schools and 4 clinics this year.

TRAINING
Partner navies train with the crews every month.
"""

CONFIG = """
[database]
url = "sqlite:///unused.db"
[[accounts]]
name = "office-x"
platform = "x"
handle = "OfficeX"
[[accounts]]
name = "office-fb"
platform = "facebook"
handle = "OfficeFB"
"""


# --- the diff, as a pure function -----------------------------------------------------------

def old(id_: int, heading: str, text_: str, status: str = "queued", part: int = 1) -> OldPost:
    return OldPost(id_, (heading, 1, part), text_, status, f"https://x.example/{id_}")


def new(heading: str, text_: str, part: int = 1) -> NewSnippet:
    return NewSnippet((heading, 1, part), text_)


def test_snippets_are_unchanged_changed_new_or_removed():
    posts = [old(1, "A", "a"), old(2, "B", "b"), old(3, "C", "c")]
    changes = diff_snippets(posts, [new("A", "a"), new("B", "b2"), new("D", "d")])
    assert [(c.kind, c.old and c.old.id, c.new and c.new.text) for c in changes] == [
        ("unchanged", 1, "a"), ("changed", 2, "b2"), ("new", None, "d"), ("removed", 3, None)]


def test_a_section_that_moved_or_was_renamed_with_the_same_text_is_unchanged():
    changes = diff_snippets([old(1, "A", "text")], [new("Renamed", "text")])
    assert [c.kind for c in changes] == ["unchanged"]


def test_a_changed_or_removed_post_that_is_out_of_our_hands_is_only_reported():
    for status in ("published", "publishing", "needs_review"):
        assert Change("changed", old(1, "A", "a", status), new("A", "b")).out_of_reach
        assert Change("removed", old(1, "A", "a", status)).out_of_reach
    for status in ("draft", "queued", "failed"):
        assert not Change("changed", old(1, "A", "a", status), new("A", "b")).out_of_reach
    assert not Change("unchanged", old(1, "A", "a", "published"), new("A", "a")).out_of_reach


# --- through the store ----------------------------------------------------------------------

@pytest.fixture
def office(store, write_config, tmp_path):
    config = load_config(write_config(CONFIG))
    sheet = tmp_path / "sheet.txt"

    def run(content: str, replace: bool = False):
        sheet.write_text(content, encoding="utf-8")
        return import_file(sheet, store=store, config=config, accounts=config.accounts,
                           actor=Actor("officer", "admin"), now=T0, at=T0 + timedelta(hours=1),
                           every=timedelta(hours=1), replace=replace)

    run.store, run.config, run.sheet = store, config, sheet
    return run


def snapshot(store) -> list:
    with store.engine.connect() as c:
        return [list(c.execute(text(f"SELECT * FROM {table} ORDER BY id")))
                for table in ("documents", "sections", "posts", "audit_log")]


def kinds(report, account: str) -> list[tuple[str, str | None]]:
    return [(c.kind, (c.new or c.old).text.split("\n")[0])
            for c in report.correction.changes[account]]


def publish_first_post(store, account: str = "office-x"):
    post = store.queue.claim_next(account, worker="w", now=T0 + timedelta(days=1),
                                  lease=timedelta(minutes=5))
    return store.outcomes.published(post.id, worker="w", remote_id="r1",
                                    remote_url=f"https://x.example/{account}/r1", now=T0)


def test_a_changed_version_is_reported_per_account_and_nothing_is_stored(office):
    assert office(V1).created == 6
    before = snapshot(office.store)
    report = office(V2)
    assert report.correction is not None and not report.applied and report.created == 0
    for account in ("office-x", "office-fb"):
        assert kinds(report, account) == [
            ("changed", "OUR MISSION"), ("unchanged", "CIVIL AFFAIRS"), ("new", "TRAINING"),
            ("removed", "OPEN DAYS")]
    assert snapshot(office.store) == before


def test_replace_cancels_superseded_posts_with_an_audit_entry_and_queues_the_new(office):
    office(V1)
    report = office(V2, replace=True)
    assert report.applied and report.created == 4  # per account: mission, training
    live = {(p.account, p.text.split("\n")[0]): p for p in office.store.history.upcoming()}
    assert sorted(h for _a, h in live) == sorted(["OUR MISSION", "CIVIL AFFAIRS", "TRAINING"] * 2)
    assert "formed in 2023" in live["office-x", "OUR MISSION"].text
    assert live["office-x", "CIVIL AFFAIRS"].document_id == 1  # kept, not re-created
    cancelled = [p for p in office.store.history.search() if p.status == "cancelled"]
    assert len(cancelled) == 4  # per account: the old mission and open days posts
    for post in cancelled:
        entry = office.store.history.audit_trail(post.id)[-1]
        assert (entry.action, entry.reason) == ("supersede",
                                                f"superseded by document {report.document_id}")


def test_published_posts_are_listed_with_account_and_link_and_never_touched(office):
    office(V1)
    published = publish_first_post(office.store)
    assert published.text.startswith("OUR MISSION")
    report = office(V2)
    [(account, change)] = report.correction.out_of_reach
    assert (account, change.kind, change.old.id) == ("office-x", "changed", published.id)
    assert change.old.remote_url == "https://x.example/office-x/r1"
    assert published.id not in report.correction.supersede
    office(V2, replace=True)
    after = office.store.history.get(published.id)
    assert (after.status, after.text) == ("published", published.text)
    queued_x = [p.text for p in office.store.history.upcoming("office-x")]
    assert not any("formed in 2023" in t for t in queued_x)  # a correction is for staff to post


def test_replace_is_all_or_nothing_when_a_post_left_the_queue_meanwhile(office):
    office(V1)
    office.sheet.write_text(V2, encoding="utf-8")
    _text2, sheet2 = read_document(office.sheet)
    correction = plan_correction(sheet2, office.config.accounts,
                                 office.store.documents.live_posts_from_source("sheet.txt"),
                                 previous_id=1, config=office.config, store=office.store,
                                 now=T0, at=T0, every=timedelta(0))
    publish_first_post(office.store)  # the daemon got to a post the correction supersedes
    before = snapshot(office.store)
    with pytest.raises(NotEditable, match="can no longer be replaced"):
        office.store.documents.correct(
            source_name="sheet.txt", content_hash="v2", title=sheet2.title,
            sections=[(s.heading, s.text) for s in sheet2.sections],
            supersede=correction.supersede, posts=correction.posts,
            relinks=correction.relinks, actor=Actor("officer", "admin"), now=T0, status="queued")
    assert snapshot(office.store) == before


def test_reimporting_identical_content_adds_nothing_before_and_after_a_correction(office):
    office(V1)
    again = office(V1)
    assert again.created == 0 and again.correction is None
    office(V2, replace=True)
    before = snapshot(office.store)
    assert office(V2).created == 0 and office(V2, replace=True).created == 0
    assert snapshot(office.store) == before


def test_kept_thread_parts_follow_the_new_first_part(office):
    long = " ".join(f"Sentence number {n} about the patrols in the strait." for n in range(12))
    office(f"TITLE\n\nPATROLS\n{long}\n")
    thread = [p for p in office.store.history.upcoming("office-x")]
    assert len(thread) > 2 and all(p.thread_size == len(thread) for p in thread)
    fixed = long.replace("number 0 ", "number X ")  # same length: the same split
    report = office(f"TITLE\n\nPATROLS\n{fixed}\n", replace=True)
    x_changes = [c.kind for c in report.correction.changes["office-x"]]
    assert x_changes == ["changed"] + ["unchanged"] * (len(thread) - 1)
    first = next(p for p in office.store.history.upcoming("office-x") if p.thread_position == 1)
    second = next(p for p in office.store.history.upcoming("office-x") if p.thread_position == 2)
    assert "number X" in first.text and first.document_id == 2
    assert second.parent_id == first.id
    assert office.store.history.audit_trail(second.id)[-1].action == "relink"


# --- on the command line --------------------------------------------------------------------

CLI_CONFIG = """
[database]
url = "sqlite:///factpost.db"
[schedule]
timezone = "Asia/Baghdad"
[[accounts]]
name = "office-x"
platform = "x"
handle = "OfficeX"
api_url = "http://127.0.0.1:9"
slots = ["0 9 * * mon-fri"]
"""


def test_cli_reports_a_changed_version_then_replaces_it(write_config, tmp_path: Path,
                                                        monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_config(CLI_CONFIG)
    runner = CliRunner()
    assert runner.invoke(cli, ["init"]).exit_code == 0
    sheet = tmp_path / "sheet.md"
    sheet.write_text("# " + V1.replace("\n\n", "\n\n## "), "utf-8")
    assert runner.invoke(cli, ["import", str(sheet)]).exit_code == 0
    sheet.write_text("# " + V2.replace("\n\n", "\n\n## "), "utf-8")
    shown = runner.invoke(cli, ["import", str(sheet)])
    assert shown.exit_code == 1
    assert "changed   post 1 (queued)" in shown.output and "new       'TRAINING" in shown.output
    assert "removed   post 3 (queued)" in shown.output
    assert f"run 'factpost import {sheet} --replace'" in shown.output
    replaced = runner.invoke(cli, ["import", str(sheet), "--replace"])
    assert replaced.exit_code == 0, replaced.output
    assert "2 superseded posts cancelled, 2 posts queued" in replaced.output
    queue = json.loads(runner.invoke(cli, ["queue", "--json"]).output)
    assert sorted(p["text"].split("\n")[0] for p in queue) == [
        "CIVIL AFFAIRS", "OUR MISSION", "TRAINING"]
