"""The daemon as an operator runs it: a separate process publishing through the emulator,
stopping cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from db.models import Attempt
from db.store import HistoryFilter
from posts.states import PostStatus

pytestmark = pytest.mark.slow


def factpost(office, *args, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "scheduler", "--config",
                             str(office.config_path), *args],
                            env=dict(os.environ), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def test_the_daemon_process_publishes_everything_due_and_exits_when_idle(office):
    soon = datetime.now(UTC) + timedelta(seconds=1)
    ids = [office.add(f"Scheduled post {i}.", at=soon) for i in range(3)]
    ids.append(office.add("Page post.", account="office-fb"))
    proc = factpost(office, "run", "--until-idle")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "published 4" in out
    posts = [office.store.history.get(i) for i in ids]
    assert all(p.status == PostStatus.PUBLISHED for p in posts)
    assert [t["text"] for t in office.emulator.tweets("OfficeX")] == [
        "Scheduled post 0.", "Scheduled post 1.", "Scheduled post 2."]
    assert all(p.published_at >= soon for p in posts[:3])  # not before their time
    sent = [r for r in office.emulator.requests_log if r["method"] == "POST"]
    assert len(sent) == 4 and all(r["auth_ok"] for r in sent)  # signed OAuth 1.0a / page token
    [worker] = office.store.workers.all()
    assert worker.stopped_at is not None


def in_flight(office) -> list[int]:
    """Posts whose attempt is recorded and not yet answered: the request is out."""
    with office.store.reading() as s:
        return list(s.scalars(select(Attempt.post_id).where(Attempt.outcome.is_(None))))


def test_sigterm_finishes_the_post_in_hand_and_leaves_nothing_publishing(office):
    office.emulator.latency = 0.5  # every answer takes this long: a send is caught in flight
    ids = [office.add(f"Post {i} of many.") for i in range(40)]
    proc = factpost(office, "run")
    deadline = time.monotonic() + 60
    while not (in_hand := in_flight(office)):
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail(f"no post was in flight within 60 s: {proc.communicate()[1][-2000:]}")
        time.sleep(0.02)
    sent_before = len(office.emulator.tweets("OfficeX"))
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)  # a hang fails here
    assert proc.returncode == 0, err
    # The post in hand went out and was recorded; nothing after it was started.
    assert [office.store.history.get(i).status for i in in_hand] == [PostStatus.PUBLISHED]
    tweets = [t["text"] for t in office.emulator.tweets("OfficeX")]
    assert office.store.history.get(in_hand[0]).text in tweets
    assert len(tweets) <= sent_before + 1
    statuses = {office.store.history.get(i).status for i in ids}
    assert PostStatus.PUBLISHING not in statuses
    assert PostStatus.QUEUED in statuses  # it really stopped part-way
    published = office.store.history.search(HistoryFilter(status="published"))
    assert len(published) == len(tweets)


def test_a_post_falling_due_just_after_a_run_goes_out_in_that_run(office, monkeypatch):
    """The job is run again no sooner than RUN_GAP after it ends (APScheduler runs one at a
    time), so a post due within that gap is waited for in the run itself: rescheduled, it
    waited for the gap on top, which made most of the latency from due time to request.
    The gap is widened here so that the run surely ends before the post is due."""
    from scheduler import daemon as module

    monkeypatch.setattr(module, "RUN_GAP", timedelta(seconds=3))
    daemon = module.Daemon(office.dispatcher(), office.store, poll_seconds=5)
    office.add("Due a moment from now.", at=datetime.now(UTC) + timedelta(seconds=1.5))
    daemon._tick()
    assert daemon.total.published == 1
    daemon.dispatcher.shutdown()
