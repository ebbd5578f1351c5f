"""The daemon's hot path (issue 17): one write transaction per published post, the outcome of
each post durable before the next request goes out, and posting budgets read from counts kept
as posts are published instead of from the posts of the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select, text

from db import migrate
from db.engine import READ_ONLY
from db.models import PublishCount
from db.queue import Budget
from db.store import Store
from posts.states import PostStatus as S
from tests.conftest import T0
from tests.test_store import published_at


def now() -> datetime:
    return datetime.now(UTC)


class Watching:
    """A publisher (the real one, over HTTP to the emulator) that, as each request is about to
    go out, reads what another connection sees committed."""

    def __init__(self, publisher, store: Store, account: str) -> None:
        self._publisher, self._store, self._account = publisher, store, account
        self.seen: list[tuple[str, dict[str, str]]] = []

    def __getattr__(self, name):
        return getattr(self._publisher, name)

    def publish(self, post_text, **kwargs):
        with self._store.reading() as s:
            statuses = dict(s.execute(text("SELECT text, status FROM posts WHERE account = :a"),
                                      {"a": self._account}).all())
        self.seen.append((post_text, statuses))
        return self._publisher.publish(post_text, **kwargs)


def test_each_outcome_is_committed_before_the_next_request_goes_out(office):
    texts = [f"In order, part {i}." for i in range(6)]
    for t in texts:
        office.add(t, account="office-fb")
    onlooker = Store.open(office.config.database_url)  # its own engine: sees commits only
    publishers = office.publishers()
    watching = Watching(publishers["office-fb"], onlooker, "office-fb")
    publishers["office-fb"] = watching
    from scheduler.dispatch import Dispatcher

    report = Dispatcher(office.store, office.config, publishers, worker="w").tick(now())
    onlooker.close()
    assert report.published == 6
    for k, (sent, statuses) in enumerate(watching.seen):
        assert sent == texts[k]
        # Every post sent before this one is published, by a committed transaction.
        assert [statuses[t] for t in texts[:k]] == [S.PUBLISHED] * k
        assert statuses[sent] == S.PUBLISHING  # claimed, with its attempt, before sending
    assert all(office.store.history.get(i).status == S.PUBLISHED
               for i in range(1, 7))


def test_a_published_post_costs_one_write_transaction_and_no_read(office):
    for i in range(20):
        office.add(f"Counted post {i}.", account="office-fb")
    dispatcher = office.dispatcher()
    commits = {"writes": 0, "reads": 0}

    def on_commit(conn) -> None:
        commits["reads" if conn.get_execution_options().get(READ_ONLY) else "writes"] += 1

    event.listen(office.store.engine, "commit", on_commit)
    try:
        report = dispatcher.tick(now())
    finally:
        event.remove(office.store.engine, "commit", on_commit)
    assert report.published == 20
    # Per account and tick: the look for expired leases, and the last outcome alone.
    assert commits["writes"] <= 20 + 2 * len(office.config.accounts), commits
    assert commits["reads"] <= 2 * len(office.config.accounts), commits


def count_work(office, work) -> dict[str, int]:
    """Statements (BEGIN and COMMIT aside) and write transactions committed during `work()`."""
    counts = {"statements": 0, "writes": 0}

    def on_execute(conn, _cursor, statement, *_args) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT")):
            counts["statements"] += 1

    def on_commit(conn) -> None:
        if not conn.get_execution_options().get(READ_ONLY):
            counts["writes"] += 1

    event.listen(office.store.engine, "before_cursor_execute", on_execute)
    event.listen(office.store.engine, "commit", on_commit)
    try:
        work()
    finally:
        event.remove(office.store.engine, "before_cursor_execute", on_execute)
        event.remove(office.store.engine, "commit", on_commit)
    return counts


def test_an_x_post_s_pending_charge_commits_with_its_claim(office):
    for i in range(20):
        office.add(f"Billed post {i}.", account="office-x")
    dispatcher = office.dispatcher()
    reports = []
    counts = count_work(office, lambda: reports.append(dispatcher.tick(now())))
    assert reports[0].published == 20
    # No transaction of its own for the charge written before each create.
    assert counts["writes"] <= 20 + 2 * len(office.config.accounts), counts
    charges = office.store.spend.charges(account="office-x")
    creates = [c for c in charges if c.purpose == "publish"]
    assert len(creates) == 20
    assert {c.state for c in creates} == {"charged"}  # each claim's charge was the one used
    assert len({c.post_id for c in creates}) == 20


def test_a_published_post_costs_a_bounded_number_of_statements(office):
    for i in range(20):
        office.add(f"Counted post {i}.", account="office-fb")
        office.add(f"Counted X post {i}.", account="office-x")
    dispatcher = office.dispatcher()
    counts = count_work(office, lambda: dispatcher.tick(now()))
    # Per post: the claim's one read of pause, hold, last publish and budgets; its
    # candidates, UPDATE, attempt row; the outcome's attempt, post and hourly count; the two
    # audit rows chained at commit (the head read, one INSERT, the head updated); X's
    # charge and its settling. The tick's own few statements per account come on top.
    assert counts["statements"] <= 40 * 12 + 20, counts


def test_each_publish_is_counted_in_its_account_s_hour(store):
    published_at(store, T0 + timedelta(minutes=5))
    published_at(store, T0 + timedelta(minutes=50))
    published_at(store, T0 + timedelta(hours=1, minutes=1))
    published_at(store, T0 + timedelta(minutes=7), account="office-fb")
    with store.reading() as s:
        counts = {(c.account, c.hour, c.posts) for c in s.scalars(select(PublishCount))}
    assert counts == {("office-x", T0, 2), ("office-x", T0 + timedelta(hours=1), 1),
                      ("office-fb", T0, 1)}


def test_a_budget_well_within_its_counts_reads_no_post(store):
    for minute in (1, 2, 3):
        published_at(store, T0 + timedelta(minutes=minute))
    statements: list[str] = []

    def on_execute(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    budget = Budget(("office-x",), 4, timedelta(hours=1), "used up")
    from db.claims import budget_reopens

    event.listen(store.engine, "before_cursor_execute", on_execute)
    try:
        with store.reading() as s:
            under = budget_reopens(s.connection(), budget, T0 + timedelta(minutes=30))
            at_limit = budget_reopens(s.connection(), Budget(("office-x",), 3,
                                                             timedelta(hours=1), "used up"),
                                      T0 + timedelta(minutes=30))
    finally:
        event.remove(store.engine, "before_cursor_execute", on_execute)
    assert under is None and at_limit == T0 + timedelta(minutes=1)
    reading_posts = [st for st in statements if "FROM posts" in st]
    assert len(reading_posts) == 1  # only the budget that the counts put at its limit


def test_the_migration_counts_the_posts_published_before_it(tmp_path):
    from alembic import command

    store = Store.open(f"sqlite:///{tmp_path / 'old.db'}")
    with store.engine.begin() as connection:
        command.upgrade(migrate._alembic_config(connection), "0013")
    with store.engine.begin() as c:
        for minute, account in ((5, "office-x"), (6, "office-x"), (70, "office-x"),
                                (8, "office-fb")):
            at = (T0 + timedelta(minutes=minute)).replace(tzinfo=None)
            c.execute(text(
                "INSERT INTO posts (account, platform, text, status, scheduled_at, "
                "thread_position, thread_size, attempt_count, created_by, created_at, "
                "updated_at, published_at) VALUES (:a, 'x', :t, 'published', :at, 1, 1, 1, "
                "'tester', :at, :at, :at)"), {"a": account, "t": f"{account} {minute}", "at": at})
        add_queued = "queued, never counted"
        c.execute(text(
            "INSERT INTO posts (account, platform, text, status, scheduled_at, thread_position, "
            "thread_size, attempt_count, created_by, created_at, updated_at) VALUES "
            "('office-x', 'x', :t, 'queued', :at, 1, 1, 0, 'tester', :at, :at)"),
            {"t": add_queued, "at": T0.replace(tzinfo=None)})
    migrate.upgrade(store.engine)
    with store.reading() as s:
        counts = {(c.account, c.hour, c.posts) for c in s.scalars(select(PublishCount))}
    store.close()
    assert counts == {("office-x", T0, 2), ("office-x", T0 + timedelta(hours=1), 1),
                      ("office-fb", T0, 1)}


def query_plan(store: Store, statement, params: dict) -> str:
    """SQLite's plan for `statement` with `params`, its steps joined."""
    with store.engine.connect() as c:
        result = c.execute(statement, params)
        result.close()
        sql, bound = result.context.statement, result.context.parameters[0]
        steps = c.connection.dbapi_connection.execute("EXPLAIN QUERY PLAN " + sql, bound)
        return " | ".join(row[3] for row in steps)


def test_wakeups_and_claims_read_the_queue_by_index_not_all_of_it(store):
    """What keeps a claim and a wake-up fast with a deep queue and a long history: the
    account's last publish is one index lookup (no sort of its published posts), and the
    soonest due post is found walking the due index in order, each pair checked alone (no
    set of every blocked post built first)."""
    if store.engine.dialect.name != "sqlite":
        pytest.skip("reads SQLite's query plan")
    from db.claims import _LAST_PUBLISH
    from db.queue import _SOONEST

    last = query_plan(store, _LAST_PUBLISH, {"b_account": "office-x"})
    assert "ix_posts_account_status_published" in last and "TEMP B-TREE" not in last, last
    soonest = query_plan(store, _SOONEST, {"b_account": "office-x", "b_exclude": []})
    assert "ix_posts_due" in soonest and "TEMP B-TREE" not in soonest, soonest
    assert "CORRELATED" in soonest and "LIST SUBQUERY 1" not in soonest, soonest


def test_the_claim_sends_few_distinct_statements_however_many_posts_wait_for_the_cap(store):
    from tests.test_store import LEASE, add

    # Posts found over a monthly cap are passed over by id, and more are found one claim
    # after another. A statement per count of them would be compiled inside the claim's
    # write transaction and kept for the daemon's life, and PostgreSQL's driver prepares
    # on the server only the statements that recur.
    waiting = [add(store, f"Waiting {i}.", at=T0 - timedelta(minutes=60 - i))
               for i in range(40)]
    last = add(store, "Due after them all.")
    claims: set[str] = set()

    def on_execute(conn, cursor, statement, params, context, many) -> None:
        if "NOT IN" in statement:
            claims.add(statement)

    event.listen(store.engine, "before_cursor_execute", on_execute)
    try:
        for n in range(1, 41):
            claimed = store.queue.claim_next("office-x", worker="w", now=T0, lease=LEASE,
                                             exclude=waiting[:n])
            assert claimed.id == (waiting[n] if n < 40 else last)
    finally:
        event.remove(store.engine, "before_cursor_execute", on_execute)
    assert len(claims) <= (40).bit_length() + 1  # one per doubling of the count
