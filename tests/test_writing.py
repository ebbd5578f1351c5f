"""The daemon's write transaction (db/database.py `Database.writing`): SQLAlchemy Core without
an ORM Session, one a post, with a Session joined only for the steps that load rows; and the
connection an account thread holds while it drains (`Database.holding`)."""

from __future__ import annotations

import contextlib
import threading
import time
from datetime import timedelta

import pytest
from conftest import T0
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, InvalidRequestError

from db import audit, database
from db.accounts import hold_in
from db.models import Attempt, AuditEntry, Post
from db.store import Store
from db.transitions import PostRef
from posts.states import DAEMON, Action, Actor, PostStatus

S = PostStatus
DAEMON_ACTOR = Actor("daemon-1", DAEMON)


def add(store: Store, text: str = "hello") -> int:
    return store.posts.add(account="office-x", platform="x", text=text, scheduled_at=T0,
                           actor=Actor("tester", "admin"), now=T0, status=S.QUEUED).id


def claim_in(store: Store, tx, post_id: int) -> bool:
    """The claim's own move, as db/queue.py makes it: a PostRef through the transition
    function, its audit row held back until commit."""
    return store.queue.transitions.move(
        tx, PostRef(post_id, "office-x", S.QUEUED), Action.CLAIM, DAEMON_ACTOR, T0,
        S.PUBLISHING, values={"claimed_by": "daemon-1", "lease_until": T0})


def trail(store: Store) -> list[tuple]:
    with store.reading() as s:
        return s.execute(select(AuditEntry.post_id, AuditEntry.action, AuditEntry.seq)
                         .order_by(AuditEntry.seq)).all()


def chain_checks_out(store: Store) -> int:
    with store.reading() as s:
        return audit.verify(s).rows


def test_a_core_transaction_commits_its_moves_with_their_audit_rows_chained(store):
    first, second = add(store, "one"), add(store, "two")
    with store.db.writing() as tx:
        assert claim_in(store, tx, first) and claim_in(store, tx, second)
    assert [store.history.get(p).status for p in (first, second)] == [S.PUBLISHING] * 2
    assert [row[:2] for row in trail(store)][-2:] == [(first, "claim"), (second, "claim")]
    assert chain_checks_out(store) == len(trail(store))


def test_a_core_transaction_that_fails_leaves_nothing_behind(store):
    post = add(store)
    before = trail(store)
    with pytest.raises(RuntimeError), store.db.writing() as tx:
        claim_in(store, tx, post)
        raise RuntimeError("the step after the move failed")
    assert store.history.get(post).status == S.QUEUED
    assert trail(store) == before
    # The next transaction starts clean: nothing held back from the failed one is written.
    with store.db.writing() as tx:
        assert claim_in(store, tx, post)
    assert len(trail(store)) == len(before) + 1
    assert chain_checks_out(store) == len(before) + 1


def test_a_step_that_needs_the_orm_joins_the_same_transaction_and_is_flushed_at_commit(store):
    post = add(store)
    with store.db.writing() as tx:
        claim_in(store, tx, post)  # held back in the transaction's info
        # A budget used up holds the account (db/queue.py): an ORM change with no audit row.
        hold_in(tx.orm, "office-x", until=T0 + timedelta(hours=1), reason="budget used up")
        # A Session step sees what the Core steps wrote before it, in the same transaction.
        assert tx.orm.get(Post, post).status == S.PUBLISHING
        # And writes audit rows of its own: chained with the held-back one, in order.
        loaded = tx.orm.get(Post, post)
        store.queue.transitions.move(tx.orm, loaded, Action.RELEASE, DAEMON_ACTOR, T0, S.QUEUED,
                                     "released")
    assert store.accounts.state("office-x").held_reason == "budget used up"
    assert store.history.get(post).status == S.QUEUED
    assert [row[1] for row in trail(store)][-2:] == ["claim", "release"]
    assert chain_checks_out(store) == len(trail(store))


def test_an_orm_step_that_fails_rolls_back_the_core_steps_before_it(store):
    post = add(store)
    before = trail(store)
    with pytest.raises(Exception), store.db.writing() as tx:  # noqa: B017 (the driver's own)
        claim_in(store, tx, post)
        tx.orm.execute(text("SELECT * FROM no_such_table"))
    assert store.history.get(post).status == S.QUEUED
    assert trail(store) == before


def checkouts(store: Store) -> list:
    """Every connection checked out of the store's pool from now on."""
    seen: list = []
    event.listen(store.engine, "checkout", lambda *args: seen.append(args[0]))
    return seen


def test_an_account_thread_holding_a_connection_checks_out_one_for_all_its_transactions(
        store):
    posts = [add(store, f"post {i}") for i in range(3)]
    seen = checkouts(store)
    with store.holding():
        for post in posts:
            with store.db.writing() as tx:
                claim_in(store, tx, post)
    assert len(seen) == 1
    seen.clear()
    # Without holding, each transaction checks one out (and PostgreSQL pings it).
    for _ in range(2):
        with store.db.writing():
            pass
    assert len(seen) == 2


def test_a_held_connection_whose_transaction_failed_serves_the_next_one(store):
    post = add(store)
    with store.holding():
        with pytest.raises(Exception), store.db.writing() as tx:  # noqa: B017
            tx.connection.execute(text("SELECT * FROM no_such_table"))
        with store.db.writing() as tx:
            assert claim_in(store, tx, post)
    assert store.history.get(post).status == S.PUBLISHING


def test_no_more_threads_hold_connections_than_the_pool_keeps(store):
    # Held connections stay out of the pool; past its size a thread checks one out per
    # transaction instead, so other threads never wait for a connection.
    size = store.engine.pool.size()
    entered, release = threading.Barrier(size + 3), threading.Event()
    held: list[bool] = []
    lock = threading.Lock()

    def drain() -> None:
        with store.holding():
            with lock:
                held.append(getattr(store.db._held, "connection", None) is not None)
            entered.wait(timeout=30)
            release.wait(timeout=30)
            with store.db.writing() as tx:  # works either way
                tx.connection.execute(select(func.count()).select_from(Post))

    threads = [threading.Thread(target=drain) for _ in range(size + 2)]
    for thread in threads:
        thread.start()
    entered.wait(timeout=30)
    release.set()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(held) == [False, False] + [True] * size
    # And the slots are given back: a thread holds one again afterwards.
    with store.holding():
        assert store.db._held.connection is not None


def test_a_held_connection_the_server_dropped_fails_one_transaction_and_the_next_reconnects(
        store):
    if store.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL: a server that ends the session")
    post = add(store)
    with store.holding():
        with store.db.writing() as tx:
            pid = tx.connection.execute(text("SELECT pg_backend_pid()")).scalar()
        with store.engine.connect() as admin:  # an operator's restart, a failover
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(DBAPIError) as lost, store.db.writing() as tx:
            claim_in(store, tx, post)
        assert lost.value.connection_invalidated
        with store.db.writing() as tx:
            assert claim_in(store, tx, post)
    assert store.history.get(post).status == S.PUBLISHING
    assert chain_checks_out(store) == len(trail(store))


def server_has(store: Store, pid: int) -> bool:
    """Whether PostgreSQL still has the session of backend `pid` (read afresh: the server's
    activity view stays as first read within a transaction)."""
    with store.engine.connect() as admin:
        return bool(admin.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :p"),
                                  {"p": pid}).scalar())


def test_a_held_connection_the_server_closed_while_it_idled_is_replaced_before_the_next(
        store):
    """A server or proxy that closes idle sessions (PostgreSQL's idle_session_timeout, a
    pooler's or firewall's idle timeout) closes a held connection while a request goes out
    between two transactions. A checkout's ping would have replaced it; a held one idle that
    long is pinged too, so the transaction does not fail as if the database were down (the
    daemon would back off for every post after the first of each drain)."""
    if store.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL: a server that ends idle sessions")
    post = add(store)
    with store.holding():
        with store.db.writing() as tx:
            tx.connection.execute(text("SET idle_session_timeout = '100ms'"))
            pid = tx.connection.execute(text("SELECT pg_backend_pid()")).scalar()
        idle = time.monotonic()
        while server_has(store, pid):  # until the server has closed it
            time.sleep(0.02)
        # A slow request (a timeline read, an image upload) after the server closed it.
        time.sleep(max(0.0, database.PING_AFTER + 0.05 - (time.monotonic() - idle)))
        with store.db.writing() as tx:
            assert claim_in(store, tx, post)
    assert store.history.get(post).status == S.PUBLISHING
    assert chain_checks_out(store) == len(trail(store))


def test_after_its_orm_step_s_failed_flush_a_core_transaction_s_statements_are_refused(store):
    """As a Session's are (tests/test_prepared.py): the failed flush rolled the whole
    transaction back (the Session joined it "rollback_only"), and a statement a later step ran
    on it anyway would run outside any transaction: committed at once on SQLite, left in the
    driver's own transaction on PostgreSQL and committed with the held connection's next."""
    post = add(store)
    with store.holding():
        # The transaction's end refuses too: its Session was rolled back.
        with contextlib.suppress(InvalidRequestError), store.db.writing() as tx:
            tx.orm.add(Attempt(post_id=999_999, worker="no such post", started_at=T0))
            with pytest.raises(IntegrityError):
                tx.orm.flush()
            with pytest.raises(InvalidRequestError):
                claim_in(store, tx, post)
        with store.db.writing():
            pass  # the held connection's next transaction
    assert store.history.get(post).status == S.QUEUED
    assert chain_checks_out(store) == len(trail(store))
