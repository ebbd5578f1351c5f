"""PostgreSQL as the shared store: every command works on a PostgreSQL URL, several daemons
share one database without sending anything twice (even when one is killed), and a post queued
for now wakes the daemons at once instead of waiting for their next poll.

These run against the real server (127.0.0.1:5432, or FACTPOST_TEST_POSTGRES_URL); outside CI
they are skipped with the reason when no server answers.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import POSTGRES_URL, postgres_store, token_for
from sqlalchemy import select, text

from db.models import Attempt
from db.notify import DueListener
from db.store import HistoryFilter
from posts.states import Actor, PostStatus
from scheduler.cli import cli

SAMPLE = Path(__file__).parents[1] / "posts" / "samples" / "factsheet.txt"


@pytest.fixture
def pg_office(make_office):
    """An office on an empty, migrated PostgreSQL database."""

    def make(**options):
        postgres_store().close()
        return make_office(database=POSTGRES_URL, **options)

    return make


def factpost(config_path: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "scheduler", "--config", str(config_path),
                             *args], env=dict(os.environ), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def test_every_command_works_on_a_postgresql_url(pg_office, cli_as):
    office = pg_office()
    cli_as(office.store, "press-officer", "admin")
    config = ["--config", str(office.config_path)]

    def run(*args: str) -> str:
        result = CliRunner().invoke(cli, [*config, *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    run("init")
    assert "posts queued" in run("import", str(SAMPLE), "--at", "now", "--every", "0s")
    assert "already imported" in run("import", str(SAMPLE))
    queued = json.loads(run("queue", "--json"))
    first = queued[0]["id"]
    run("post", "edit", str(first), "--text", "Edited on PostgreSQL.")
    run("post", "cancel", str(queued[-1]["id"]), "--reason", "not this one")
    run("accounts", "pause", "office-fb", "--reason", "checking the page")
    run("run", "--until-idle")
    run("accounts", "resume", "office-fb")
    run("run", "--until-idle")

    history = json.loads(run("history", "--json"))
    assert Counter(p["status"] for p in history) == {"published": len(queued) - 1,
                                                     "cancelled": 1}
    assert json.loads(run("history", "--search", "Edited on", "--json"))[0]["id"] == first
    # An edit of a thread part keeps its place in the thread: its numbering is added back.
    edited = office.store.history.get(first)
    numbering = (f" {edited.thread_position}/{edited.thread_size}"
                 if edited.thread_size > 1 else "")
    assert f"Edited on PostgreSQL.{numbering}" in [t["text"]
                                                   for t in office.emulator.tweets("OfficeX")]
    status = json.loads(run("status", "--json"))
    assert status["posts"]["published"] == len(queued) - 1
    assert "published" in run("post", "show", str(first))


def test_queueing_a_post_notifies_listeners_and_a_draft_does_not(pg_office):
    office = pg_office()
    woken = threading.Event()
    listener = DueListener(office.store.engine, woken.set).start()
    try:
        wait_for(listener.listening.is_set, 10, "the listener to connect")
        now = datetime.now(UTC)
        office.store.posts.add(account="office-x", platform="x", text="A draft.",
                               scheduled_at=now, actor=Actor("t", "admin"), now=now,
                               status=PostStatus.DRAFT)
        assert not woken.wait(1.0)
        office.add("Queued for now.")
        assert woken.wait(10)
    finally:
        listener.stop()


def test_a_post_queued_for_now_wakes_an_idle_daemon_long_before_its_next_poll(pg_office):
    office = pg_office(poll=600)
    daemon = factpost(office.config_path, "run")
    try:
        # Idle: it has ticked once (its heartbeat is in) and is listening. Only this
        # database's listeners count: other test workers' daemons listen on their own.
        def listening() -> bool:
            with office.store.engine.connect() as c:
                return bool(c.scalar(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN factpost_due'"
                    " AND datname = current_database()")))
        wait_for(lambda: office.store.workers.all() and listening(), 30, "the daemon to start")
        post_id = office.add("Breaking: queued for now.")
        wait_for(lambda: office.store.history.get(post_id).status == PostStatus.PUBLISHED, 30,
                 "the post to be published (the next poll is 600 s away)")
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=30)
    assert daemon.returncode == 0, err
    assert [t["text"] for t in office.emulator.tweets("OfficeX")] == ["Breaking: queued for now."]


POSTS = 300


@pytest.mark.slow
def test_three_daemons_share_the_queue_and_take_over_from_one_that_is_killed(pg_office):
    office = pg_office(lease=3, timeout=1, max_attempts=100)
    office.emulator.latency = 0.05
    office.emulator.refuse_duplicates(False)  # a second copy must show, not be refused
    office.emulator.set_x_limits("OfficeX", window_limit=1_000_000, window_seconds=1)
    now = datetime.now(UTC)
    texts = {office.add(f"Shared queue post {i}.", account=("office-x", "office-fb")[i % 2],
                        at=now - timedelta(seconds=1)): f"Shared queue post {i}."
             for i in range(POSTS)}

    def on_emulator() -> list[str]:
        return ([t["text"] for t in office.emulator.tweets("OfficeX")]
                + [p["message"] for p in office.emulator.page_posts("OfficeFB")])

    daemons = [factpost(office.config_path, "run", "--until-idle") for _ in range(3)]
    try:
        # Kill one while it is busy: it holds claims whose leases must expire and be taken
        # over.
        wait_for(lambda: len(on_emulator()) >= POSTS // 4, 120, "a quarter of the posts")
        daemons[0].send_signal(signal.SIGKILL)
        for daemon in daemons:
            _, err = daemon.communicate(timeout=300)
            assert daemon.returncode in (0, -signal.SIGKILL), err
    finally:
        for daemon in daemons:
            if daemon.poll() is None:
                daemon.kill()
    assert daemons[0].returncode == -signal.SIGKILL

    copies = Counter(on_emulator())
    assert sorted(copies) == sorted(texts.values())  # nothing lost
    assert set(copies.values()) == {1}  # nothing twice
    history = office.store.history.search(HistoryFilter())
    assert all(p.status == PostStatus.PUBLISHED for p in history)
    with office.store.session() as s:
        by_worker = Counter(s.scalars(select(Attempt.worker).where(
            Attempt.outcome == "published")))
    pids = {f":{d.pid}" for d in daemons}
    assert {w[w.rindex(":"):] for w in by_worker} == pids  # all three did work
    # Three processes, one killed mid-commit perhaps, each committing its own audit rows:
    # the trail is still one unbroken chain (db/audit.py's head lock).
    assert office.store.records.verify().rows >= 3 * POSTS


def test_the_web_ui_and_its_api_work_on_postgresql(pg_office, serve):
    import httpx
    from conftest import REVIEW, sign_in

    office = pg_office(extra=REVIEW)
    config = ["--config", str(office.config_path)]
    for name, role in (("amira", "author"), ("bashir", "approver")):
        added = CliRunner().invoke(cli, [*config, "user", "add", name, "--role", role],
                                   input="correct horse battery\n", catch_exceptions=False)
        assert added.exit_code == 0, added.output
    url = serve(office.config, office.store)
    browser = sign_in(url, "amira")
    assert "Queue" in browser.get("/").text
    now = datetime.now(UTC)
    token = token_for(office.store, "bashir")
    approver = httpx.Client(base_url=url + "/api", timeout=30,
                            headers={"Authorization": f"Bearer {token}"})
    office.store.posts.add(account="office-x", platform="x", text="Queued from the web.",
                           scheduled_at=now, actor=Actor("amira", "author"), now=now,
                           status=PostStatus.DRAFT)
    [draft] = approver.get("/posts", params={"status": "draft"}).json()["posts"]
    version = approver.get(f"/posts/{draft['id']}").json()["version"]
    assert approver.post(f"/posts/{draft['id']}/approve",
                         json={"version": version}).json()["status"] == "queued"
    assert [p["text"] for p in approver.get("/queue").json()] == ["Queued from the web."]
    assert "Queued from the web." in browser.get("/history", params={"q": "web"}).text
    assert "Queued from the web." not in browser.get("/history", params={"q": "harbour"}).text


# -- the test database itself ---------------------------------------------------------------

def add_post(store, text_: str) -> int:
    now = datetime.now(UTC)
    return store.posts.add(account="office-x", platform="x", text=text_, scheduled_at=now,
                           actor=Actor("tester", "author"), now=now,
                           status=PostStatus.QUEUED).id


def test_each_postgresql_test_gets_the_migrated_database_back_without_the_last_one_s_rows():
    # postgres_store() empties a database it migrated before instead of migrating it again:
    # rows go, sequences start again, the rows the migrations wrote stay as they wrote them.
    from db import migrate
    from db.models import AuditChainHead

    first = postgres_store()
    with first.reading() as s:
        seeded = [(h.id, h.seq, h.row_hash) for h in s.scalars(select(AuditChainHead))]
    assert seeded == [(1, 0, "0" * 64)]
    assert add_post(first, "Left by an earlier test.") == 1
    assert add_post(first, "And another.") == 2
    first.close()

    second = postgres_store()
    try:
        assert migrate.is_current(second.engine)
        assert second.history.search() == []
        with second.reading() as s:
            assert [(h.id, h.seq, h.row_hash)
                    for h in s.scalars(select(AuditChainHead))] == seeded
            assert s.execute(text("SELECT count(*) FROM audit_log")).scalar_one() == 0
        assert add_post(second, "The next test's first post.") == 1
    finally:
        second.close()


def test_a_schema_changed_by_a_test_is_dropped_and_migrated_again():
    store = postgres_store()
    with store.engine.begin() as c:
        c.execute(text("ALTER TABLE posts ADD COLUMN left_behind integer"))
    store.close()
    store = postgres_store()
    try:
        with store.engine.connect() as c:
            assert c.execute(text(
                "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public' "
                "AND column_name = 'left_behind'")).scalar_one() == 0
        assert add_post(store, "On a schema the migrations made.") == 1
    finally:
        store.close()
    bare = postgres_store(migrated=False)  # what the migration tests start from
    try:
        with bare.engine.connect() as c:
            assert c.execute(text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
                             ).scalar_one() == 0
    finally:
        bare.close()
