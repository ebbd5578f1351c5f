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


def test_sigterm_finishes_the_post_in_hand_and_leaves_nothing_publishing(office):
    office.emulator.latency = 0.3
    ids = [office.add(f"Post {i} of many.") for i in range(40)]
    proc = factpost(office, "run")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not office.emulator.tweets("OfficeX"):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    started = time.monotonic()
    proc.communicate(timeout=15)
    assert time.monotonic() - started < 5
    assert proc.returncode == 0
    statuses = {office.store.history.get(i).status for i in ids}
    assert PostStatus.PUBLISHING not in statuses
    assert PostStatus.QUEUED in statuses  # it really stopped part-way
    published = office.store.history.search(HistoryFilter(status="published"))
    assert len(published) == len(office.emulator.tweets("OfficeX"))
