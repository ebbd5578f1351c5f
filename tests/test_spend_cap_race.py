"""The monthly X spend cap holds under concurrency: several X accounts on one app, each
draining in its own thread, in several daemons at once, never spend past `monthly_spend_usd`.
A unit (a post, or a thread with its pair partner's) is admitted by reserving its estimated cost
in the same write transaction as its claim, against the spend and the reservations already
made, so no two claims can both take the last of the cap."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from conftest import AUTHOR, postgres_store
from terms_office import Clock, build_office

from db import migrate
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
        migrate.upgrade(office.store.engine)
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
