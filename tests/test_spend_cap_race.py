"""The monthly X spend cap holds under concurrency: several X accounts on one app, each
draining in its own thread, in several daemons at once, never spend past `monthly_spend_usd`.
A unit (a post, or a thread with its pair partner's) is admitted by reserving its estimated cost
in the same write transaction as its claim, against the spend and the reservations already
made, so no two claims can both take the last of the cap."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from conftest import AUTHOR, postgres_store
from terms_office import Clock, build_office

from posts.states import PostStatus as S

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
MONTH = (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
POST = 15_000  # micro-dollars: X's price of a post without a link
MORE_X = "".join(f"""
[[accounts]]
name = "office-x{n}"
platform = "x"
handle = "OfficeX{n}"
api_url = "{{url}}"
""" for n in range(2, 6))


@pytest.fixture(params=["sqlite", "postgresql"])
def office(request, tmp_path, monkeypatch):
    """Five X accounts on one X app, with a cap of $0.10 (six plain posts) a month."""
    office, emulator = build_office(tmp_path, monkeypatch, Clock(T0), accounts=MORE_X,
                                    shared_app=True, x_table="[x]\nmonthly_spend_usd = 0.10")
    if request.param == "postgresql":
        office.store.close()
        office.store = postgres_store()
    yield office
    office.close()
    emulator.stop()


def daemons(office, count: int):
    from scheduler.dispatch import Dispatcher
    from scheduler.platforms.registry import build_publisher

    made = []
    for n in range(count):
        publishers = {a.name: build_publisher(a) for a in office.config.accounts}
        made.append(Dispatcher(office.store, office.config, publishers, worker=f"daemon-{n}",
                               clock=lambda: office.clock.now, rng=random.Random(n)))
    office.dispatchers.extend(made)
    return made


def x_accounts(office) -> list[str]:
    return [a.name for a in office.config.accounts if a.platform == "x"]


def run_together(dispatchers, rounds: int = 3) -> None:
    with ThreadPoolExecutor(len(dispatchers)) as pool:
        for _ in range(rounds):
            list(pool.map(lambda d: d.tick(T0), dispatchers))


def spent(office, dispatcher) -> int:
    return office.store.spend.spent(dispatcher.apps["office-x"], since=MONTH[0],
                                    until=MONTH[1])


def test_accounts_and_daemons_racing_for_the_last_of_the_cap_never_pass_it(office):
    for name in x_accounts(office):
        for n in range(8):
            office.add(f"Update {n} from {name}.", account=name)
    racing = daemons(office, 3)
    run_together(racing)
    cap = office.config.billing_for("x").monthly_cap_micros
    published = [p for p in office.store.history.search() if p.status == S.PUBLISHED]
    assert spent(office, racing[0]) <= cap, (
        f"{spent(office, racing[0]) / cap:.0%} of the cap spent")
    assert sum(e["micros"] for e in office.emulator.bill()) <= cap
    # The cap is used, not left idle: as many posts as it pays for went out.
    assert len(published) == cap // POST
    waiting = [p for p in office.store.history.search() if p.status == S.QUEUED]
    assert all("waiting for the monthly X spend cap" in (p.last_error or "")
               for p in waiting if p.last_error)


def queue_thread(office, account: str, text: str) -> list[int]:
    from scheduler.compose import as_sheet
    from scheduler.planning import plan_posts

    planned = plan_posts(as_sheet(text), [office.config.account(account)],
                         config=office.config, store=office.store, now=T0, at=T0)
    outcome = office.store.documents.add(
        source_name=f"statement-{account}", content_hash=f"h-{account}", title=None,
        sections=[(None, text)], posts=planned, actor=AUTHOR, now=T0, status=S.QUEUED)
    return [p.id for p in office.store.documents.posts(outcome.document_id)]


def test_racing_threads_are_admitted_whole_or_wait_whole_within_the_cap(office):
    text = " ".join(f"Sentence {n} of a long statement about the convoy schedule this week."
                    for n in range(8))
    threads = [queue_thread(office, name, text) for name in x_accounts(office)]
    assert {len(t) for t in threads} == {2}  # $0.03 a thread: three fit under $0.10
    racing = daemons(office, 3)
    run_together(racing)
    cap = office.config.billing_for("x").monthly_cap_micros
    assert spent(office, racing[0]) <= cap
    statuses = [[office.store.history.get(i).status for i in t] for t in threads]
    assert sorted(statuses) == [[S.PUBLISHED] * 2] * 3 + [[S.QUEUED] * 2] * 2


def test_a_reservation_is_released_when_its_thread_fails(office):
    # $0.10 a month; a 6-part thread ($0.09) is admitted, then X refuses its first part: the
    # parts fail unsent, and what was set aside for them is free again for the next post.
    text = " ".join(f"Sentence {n} of a long statement about the convoy schedule this week."
                    for n in range(24))
    thread = queue_thread(office, "office-x", text)
    assert len(thread) == 6
    office.emulator.inject("refuse", platform="x")
    [dispatcher] = daemons(office, 1)
    dispatcher.tick(T0)
    assert {office.store.history.get(i).status for i in thread} == {S.FAILED}
    later = office.add("The next statement.", account="office-x2")
    dispatcher.tick(T0)
    assert office.store.history.get(later).status == S.PUBLISHED


class RealClock(Clock):
    def unix(self) -> float:
        return time.time()


@pytest.mark.slow
def test_two_daemon_processes_on_postgresql_never_spend_past_the_cap(tmp_path, monkeypatch):
    from conftest import POSTGRES_URL

    now = datetime.now(UTC)
    office, emulator = build_office(tmp_path, monkeypatch, RealClock(now), accounts=MORE_X,
                                    shared_app=True, x_table="[x]\nmonthly_spend_usd = 0.10")
    try:
        office.store.close()
        office.store = postgres_store()
        config = tmp_path / "postgres.toml"
        config.write_text(office.config_path.read_text(encoding="utf-8").replace(
            'url = "sqlite:///factpost.db"', f'url = "{POSTGRES_URL}"'), encoding="utf-8")
        for name in x_accounts(office):
            for n in range(8):
                office.add(f"Update {n} from {name}.", account=name,
                           at=now - timedelta(seconds=1))
        daemons = [subprocess.Popen([sys.executable, "-m", "scheduler", "--config", str(config),
                                     "run", "--until-idle"], env=dict(os.environ),
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                   for _ in range(2)]
        for daemon in daemons:
            _, err = daemon.communicate(timeout=180)
            assert daemon.returncode == 0, err
        start = datetime(now.year, now.month, 1, tzinfo=UTC)
        [(spent, _)] = office.store.spend.spent_by_app(since=start,
                                                       until=start + timedelta(days=32)).values()
        cap = office.config.billing_for("x").monthly_cap_micros
        assert spent <= cap, f"{spent / cap:.0%} of the cap spent"
        assert sum(e["micros"] for e in emulator.bill()) == spent
        published = [p for p in office.store.history.search() if p.status == S.PUBLISHED]
        assert len(published) == cap // POST
    finally:
        office.close()
        emulator.stop()


def test_a_unit_refused_while_others_held_the_cap_is_weighed_again_once_they_let_go(office):
    # A six-part thread is admitted on office-x ($0.09 of the $0.10 set aside): a post of
    # office-x2 ($0.015) does not fit beside it...
    text = " ".join(f"Sentence {n} of a long statement about the convoy schedule this week."
                    for n in range(24))
    thread = queue_thread(office, "office-x", text)  # six parts: $0.09 of the $0.10
    later = office.add("The next statement.", account="office-x2")
    [dispatcher] = daemons(office, 1)
    head = office.store.queue.claim_next("office-x", worker="daemon-0", now=T0,
                                         lease=timedelta(minutes=2), cap=dispatcher.cap.rules)
    assert head.id == thread[0]
    dispatcher.tick(T0)
    assert office.store.history.get(later).status == S.QUEUED
    assert "waiting for the monthly X spend cap" in office.store.history.get(later).last_error
    # ...until the thread fails unsent and gives back what was set aside for it.
    office.store.outcomes.failed(head.id, worker="daemon-0", reason="withdrawn", now=T0)
    dispatcher.tick(T0 + timedelta(minutes=1))
    assert office.store.history.get(later).status == S.QUEUED  # not weighed again yet
    dispatcher.tick(T0 + dispatcher.cap.RECHECK)
    assert office.store.history.get(later).status == S.PUBLISHED
