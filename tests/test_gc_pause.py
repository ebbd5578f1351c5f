"""The cyclic garbage collector is paused for a bulk job (an import, a preview) and left as it
was found afterwards, however the jobs nest, overlap in threads or fail."""

from __future__ import annotations

import gc
import re
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from conftest import page_csrf, sign_in

import posts.split
import scheduler.cli.documents
import scheduler.importing
import scheduler.web.imports
from posts.states import OPERATOR, Actor
from scheduler import gc_pause
from scheduler.cli import cli
from scheduler.gc_pause import gc_paused

SHEET = """\
Joint Task Force Meridian

OUR MISSION
The task force keeps the sea lanes of the Meridian Strait open to lawful traffic.
"""


@pytest.fixture(autouse=True)
def collector_restored():
    """Each test starts with the collector enabled and no job inside, and ends the same way,
    whatever it did, so that a failing test cannot leave the rest of the run without one."""
    assert gc_pause._users == 0
    gc.enable()
    yield
    gc.enable()
    assert gc_pause._users == 0


def test_the_collector_is_off_inside_and_on_again_after():
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_the_caller_disabled_stays_disabled():
    gc.disable()
    with gc_paused():
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_nested_jobs_enable_it_only_when_the_outermost_leaves():
    with gc_paused():
        with gc_paused():
            pass
        assert not gc.isenabled()  # the outer job is still running
    assert gc.isenabled()


def test_an_exception_inside_restores_it_and_goes_on_up():
    with pytest.raises(RuntimeError, match="the job failed"), gc_paused(), gc_paused():
        raise RuntimeError("the job failed")
    assert gc.isenabled()


def test_overlapping_jobs_in_two_threads_enable_it_only_when_the_last_leaves():
    # First in, first out: thread A enters, then B; A leaves while B is still inside.
    a_inside, b_inside, a_left, b_may_leave = (threading.Event() for _ in range(4))
    seen = {}

    def a():
        with gc_paused():
            a_inside.set()
            b_inside.wait(5)
        a_left.set()

    def b():
        a_inside.wait(5)
        with gc_paused():
            b_inside.set()
            a_left.wait(5)
            seen["after A left, B still inside"] = gc.isenabled()
            b_may_leave.wait(5)

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    a_left.wait(5)
    b_may_leave.set()
    for t in threads:
        t.join(5)
    assert seen == {"after A left, B still inside": False}
    assert gc.isenabled()


class _SlowSwitches:
    """The gc module, but each switch hands the interpreter to another thread first: where
    two threads could interleave between reading and setting the collector's state, they do."""

    def __getattr__(self, name):
        real = getattr(gc, name)

        def switch(*args):
            time.sleep(0)
            return real(*args)

        return switch


def test_many_threads_entering_and_leaving_at_once_never_see_it_on_and_leave_it_on(
        monkeypatch):
    monkeypatch.setattr(gc_pause, "gc", _SlowSwitches())
    enabled_inside = []
    start = threading.Barrier(8)

    def jobs():
        start.wait(5)
        for _ in range(200):
            with gc_paused():
                enabled_inside.append(gc.isenabled())

    threads = [threading.Thread(target=jobs) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert enabled_inside == [False] * 8 * 200
    assert gc.isenabled()


def _recording_while(module, name, monkeypatch) -> list[bool]:
    """Wrap `module.name` so that each call records whether the collector was enabled."""
    seen: list[bool] = []
    real = getattr(module, name)

    def recording(*args, **kwargs):
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, recording)
    return seen


def test_an_import_plans_and_stores_with_the_collector_paused_once_the_file_is_read(
        office, tmp_path, monkeypatch):
    # Reading is left to the collector: a PDF or Word reader's garbage in cycles must not pile
    # up until the end of a hostile file.
    read = _recording_while(scheduler.importing, "load_document", monkeypatch)
    stored = _recording_while(scheduler.importing, "store_import", monkeypatch)
    path = tmp_path / "sheet.txt"
    path.write_text(SHEET, encoding="utf-8")
    now = datetime(2026, 12, 1, 9, tzinfo=UTC)
    report = scheduler.importing.import_file(
        path, store=office.store, config=office.config, accounts=office.config.accounts,
        actor=Actor("importer", OPERATOR), now=now, at=now, every=timedelta(minutes=1))
    assert report.created > 0
    assert (read, stored) == ([True], [False])
    assert gc.isenabled()


def test_preview_splits_with_the_collector_paused_once_the_file_is_read(tmp_path,
                                                                         monkeypatch):
    monkeypatch.chdir(tmp_path)
    read = _recording_while(scheduler.cli.documents, "load_document", monkeypatch)
    split = _recording_while(posts.split, "split_section", monkeypatch)
    (tmp_path / "sheet.txt").write_text(SHEET, encoding="utf-8")
    result = CliRunner().invoke(cli, ["preview", "sheet.txt"])
    assert result.exit_code == 0, result.output
    assert "OUR MISSION" in result.output
    assert read == [True]
    assert split and not any(split)
    assert gc.isenabled()


def test_the_web_plans_and_queues_an_import_with_the_collector_paused_once_it_is_read(
        newsroom, monkeypatch):
    read = _recording_while(scheduler.web.imports, "parse_with_images", monkeypatch)
    planned = _recording_while(scheduler.web.imports, "_plan", monkeypatch)
    stored = _recording_while(scheduler.web.imports, "store_import", monkeypatch)
    client = sign_in(newsroom.url, "chen")
    form = {"csrf": page_csrf(client, "/import"), "account": ["office-x", "office-fb"],
            "schedule": "spaced", "at": "", "every": "0s"}
    page = client.post("/import/review", data=form,
                       files={"file": ("sheet.txt", SHEET.encode("utf-8"))})
    assert page.status_code == 200, page.text
    token = re.search(r'name="review" value="([^"]+)"', page.text).group(1)
    done = client.post("/import", data={"csrf": page_csrf(client), "review": token})
    assert done.status_code == 303, done.text
    assert newsroom.store.history.search()  # queued (as drafts, under review)
    assert (read, stored) == ([True], [False])
    assert planned and not any(planned)
    assert gc.isenabled()
