"""Prepared statements (db/prepared.py): the daemon's hot path runs Core statements on the
driver's cursor, and must get exactly what `Connection.execute` gets, on both databases."""

from __future__ import annotations

import contextlib
from datetime import timedelta, timezone

import pytest
from sqlalchemy import bindparam, event, insert, select, update
from sqlalchemy.exc import IntegrityError

from db.models import Attempt, Post
from db.prepared import Prepared, connection_of
from tests.conftest import T0

POSTS = Post.__table__


def add_post(store, text: str = "A post.", **values) -> int:
    with store.session() as s:
        return s.execute(insert(POSTS).values(
            account="office-x", platform="x", text=text, status="queued", scheduled_at=T0,
            thread_position=1, thread_size=1, attempt_count=0, created_by="staff",
            created_at=T0, updated_at=T0, **values).returning(POSTS.c.id)).scalar_one()


def test_rows_are_what_core_returns_with_types_converted(store):
    post_id = add_post(store, "Schools reopened in district 4.", lease_until=None,
                       reply_to_corrected=True)
    query = (select(*POSTS.c, POSTS.c.remote_id.label("reply_to"))
             .where(POSTS.c.id == bindparam("b_id")))
    with store.reading() as s:
        core = s.connection().execute(query, {"b_id": post_id}).one()
        prepared = Prepared(query).first(s, {"b_id": post_id})
    assert tuple(prepared) == tuple(core)
    assert prepared._asdict() == dict(core._mapping)
    # Aware UTC datetimes, real booleans: what the rest of the code compares against.
    assert prepared.scheduled_at == T0 and prepared.scheduled_at.tzinfo is not None
    assert prepared.reply_to_corrected is True


def test_parameters_are_converted_as_core_converts_them(store):
    post_id = add_post(store)
    later = T0 + timedelta(hours=2)
    moved = Prepared(update(POSTS).where(POSTS.c.id == bindparam("b_id"),
                                         POSTS.c.status == bindparam("b_from"))
                     .values(scheduled_at=bindparam("b_at"), last_error=None, updated_at=T0))
    with store.session() as s:
        # An aware time in another zone is stored as the same instant.
        assert moved.rowcount(s, {"b_id": post_id, "b_from": "queued",
                                  "b_at": later.astimezone(_plus(3))}) == 1
        assert moved.rowcount(s, {"b_id": post_id, "b_from": "draft", "b_at": later}) == 0
    with store.reading() as s:
        assert s.get(Post, post_id).scheduled_at == later


def test_insert_returning_gives_the_new_id(store):
    post_id = add_post(store)
    start = Prepared(insert(Attempt.__table__).values(
        post_id=bindparam("b_post"), worker=bindparam("b_worker"),
        started_at=bindparam("b_now")).returning(Attempt.__table__.c.id))
    with store.session() as s:
        first = start.scalar(s, {"b_post": post_id, "b_worker": "w", "b_now": T0})
        second = start.scalar(s, {"b_post": post_id, "b_worker": "w", "b_now": T0})
    assert second == first + 1
    with store.reading() as s:
        assert s.get(Attempt, second).started_at == T0


def test_a_driver_error_is_raised_as_sqlalchemy_raises_it(store):
    start = Prepared(insert(Attempt.__table__).values(
        post_id=bindparam("b_post"), worker=bindparam("b_worker"),
        started_at=bindparam("b_now")))
    with pytest.raises(IntegrityError), store.session() as s:  # no such post
        start.rowcount(s, {"b_post": 999_999, "b_worker": "w", "b_now": T0})


def test_a_missing_parameter_is_named():
    from sqlalchemy import create_engine

    engine = create_engine("sqlite://")
    query = Prepared(select(bindparam("b_when", type_=Post.__table__.c.scheduled_at.type)))
    with engine.connect() as conn, pytest.raises(TypeError, match="b_when"):
        query.first(conn, {})


def test_engine_listeners_see_every_prepared_statement(store):
    seen = []

    def on_execute(conn, cursor, statement, params, context, many) -> None:
        seen.append(statement)

    query = Prepared(select(POSTS.c.id).where(POSTS.c.account == bindparam("b_account")))
    event.listen(store.engine, "before_cursor_execute", on_execute)
    try:
        with store.reading() as s:
            query.rows(s, {"b_account": "office-x"})
    finally:
        event.remove(store.engine, "before_cursor_execute", on_execute)
    assert [st for st in seen if "FROM posts" in st] == [query.compiled(store.engine.dialect).sql]


def test_what_it_cannot_do_right_is_refused_when_compiled():
    from sqlalchemy.dialects import sqlite

    expanding = Prepared(select(POSTS.c.id).where(
        POSTS.c.id.in_(bindparam("b_ids", expanding=True))))
    with pytest.raises(ValueError, match="expanding"):
        expanding.compiled(sqlite.dialect())
    # posts.updated_at has a Python-side onupdate default, computed per execution.
    defaulted = Prepared(update(POSTS).where(POSTS.c.id == 1).values(last_error="x"))
    with pytest.raises(ValueError, match="updated_at"):
        defaulted.compiled(sqlite.dialect())


def test_a_session_s_connection_is_looked_up_once_per_transaction(store):
    from sqlalchemy.orm import Session

    with store.session() as s:
        assert connection_of(s) is connection_of(s) is s.connection()
    # A session used for a second transaction gets that transaction's connection.
    with Session(store.engine) as s:
        with s.begin():
            first = connection_of(s)
        assert first.closed
        with s.begin():
            second = connection_of(s)
            assert not second.closed and second is s.connection()


def test_times_come_back_in_utc(store):
    post_id = add_post(store)
    query = Prepared(select(POSTS.c.scheduled_at).where(POSTS.c.id == bindparam("b_id")))
    with store.reading() as s:
        assert query.scalar(s, {"b_id": post_id}) == T0
        assert query.scalar(s, {"b_id": post_id}).utcoffset() == timedelta(0)


def _plus(hours: int):
    return timezone(timedelta(hours=hours))


def test_many_runs_the_statement_once_per_row(store):
    post_id = add_post(store)
    start = Prepared(insert(Attempt.__table__).values(
        post_id=bindparam("b_post"), worker=bindparam("b_worker"),
        started_at=bindparam("b_now")))
    with store.session() as s:
        start.many(s, [{"b_post": post_id, "b_worker": f"w{n}", "b_now": T0 + timedelta(n)}
                       for n in range(3)])
    with store.reading() as s:
        rows = s.execute(select(Attempt.worker, Attempt.started_at)
                         .order_by(Attempt.id)).all()
    assert [tuple(r) for r in rows] == [(f"w{n}", T0 + timedelta(n)) for n in range(3)]


def _attempt_workers(store) -> list[str]:
    with store.reading() as s:
        return list(s.execute(select(Attempt.worker).order_by(Attempt.id)).scalars())


_START = Prepared(insert(Attempt.__table__).values(
    post_id=bindparam("b_post"), worker=bindparam("b_worker"), started_at=bindparam("b_now")))


def test_a_connection_outside_a_transaction_begins_one_as_connection_execute_does(store):
    # SQLite's driver runs in autocommit (db/engine.py takes over BEGIN): a statement sent
    # outside SQLAlchemy's transaction would be committed at once, and on PostgreSQL the
    # driver's own implicit transaction would be thrown away by a commit that sees none.
    post_id = add_post(store)
    with store.engine.connect() as conn:
        _START.rowcount(conn, {"b_post": post_id, "b_worker": "rolled back", "b_now": T0})
        assert conn.in_transaction()
        conn.rollback()
        _START.rowcount(conn, {"b_post": post_id, "b_worker": "committed", "b_now": T0})
        conn.commit()
    assert _attempt_workers(store) == ["committed"]


def test_after_a_failed_flush_a_session_s_statements_are_refused_as_core_refuses_them(store):
    from sqlalchemy.exc import InvalidRequestError

    post_id = add_post(store)
    # The session's end may refuse too (its transaction was closed inside the context).
    with contextlib.suppress(InvalidRequestError), store.session() as s:
        connection_of(s)  # looked up before the flush, as the claim does
        s.add(Attempt(post_id=999_999, worker="no such post", started_at=T0))
        with pytest.raises(IntegrityError):
            s.flush()  # rolls the whole transaction back
        with pytest.raises(InvalidRequestError):
            s.connection()
        # Not run outside any transaction (committed at once on SQLite).
        with pytest.raises(InvalidRequestError):
            _START.rowcount(s, {"b_post": post_id, "b_worker": "stray", "b_now": T0})
    assert _attempt_workers(store) == []


def test_a_value_given_for_a_parameter_with_a_default_is_the_one_bound(store):
    from sqlalchemy import Integer

    query = select(bindparam("b_limit", 5, type_=Integer))
    with store.reading() as s:
        assert s.connection().execute(query, {"b_limit": 2}).scalar() == 2
        assert Prepared(query).scalar(s, {"b_limit": 2}) == 2
        assert Prepared(query).scalar(s) == 5


def test_a_parameter_computed_at_each_execution_is_refused_when_compiled():
    from datetime import UTC, datetime

    from sqlalchemy.dialects import sqlite

    # Core calls it at every execution; compiled once, it would keep its first value.
    clock = Prepared(select(bindparam("b_now", callable_=lambda: datetime.now(UTC),
                                      type_=POSTS.c.scheduled_at.type)))
    with pytest.raises(ValueError, match="b_now"):
        clock.compiled(sqlite.dialect())


def test_a_parameter_named_with_characters_pyformat_cannot_carry_is_bound(store):
    from sqlalchemy import String

    # PostgreSQL's pyformat (%(name)s) renders "b.text" as %(b_text)s; the value must follow.
    query = select(bindparam("b.text", type_=String), bindparam("b text[1]", type_=String))
    with store.reading() as s:
        assert tuple(Prepared(query).first(s, {"b.text": "dotted", "b text[1]": "spaced"})) \
            == ("dotted", "spaced")


def test_engine_listeners_after_a_statement_and_rewriting_it_are_honoured(store):
    # SQLAlchemy's own recipe for timing queries pairs before_cursor_execute with
    # after_cursor_execute; a retval=True listener may rewrite the statement (a comment
    # naming the caller, as sqlcommenter does).
    started, finished = [], []

    def before(conn, cursor, statement, params, context, many) -> None:
        started.append(statement)

    def after(conn, cursor, statement, params, context, many) -> None:
        finished.append(statement)

    def tag(conn, cursor, statement, params, context, many):
        return statement + " -- factpost", params

    query = Prepared(select(POSTS.c.id).where(POSTS.c.account == bindparam("b_account")))
    listeners = (("before_cursor_execute", before, {}),
                 ("before_cursor_execute", tag, {"retval": True}),
                 ("after_cursor_execute", after, {}))
    for name, fn, options in listeners:
        event.listen(store.engine, name, fn, **options)
    try:
        with store.reading() as s:
            assert query.rows(s, {"b_account": "office-x"}) == []
    finally:
        for name, fn, _ in listeners:
            event.remove(store.engine, name, fn)
    sql = query.compiled(store.engine.dialect).sql
    assert [st for st in started if "FROM posts" in st] == [sql]
    assert [st for st in finished if "FROM posts" in st] == [sql + " -- factpost"]


def test_a_row_s_keys_are_core_s_even_where_a_named_tuple_cannot_take_them(store):
    from sqlalchemy import func, literal

    # A leading underscore or a Python keyword cannot name a field, and an unlabelled
    # expression (the scalar subqueries of db/claims.py's before_claim) has no name of its
    # own: Core keys it anon_1, anon_2.
    query = select(literal(1).label("_first"), literal(2).label("class"),
                   literal(3).label("count"), select(func.count()).select_from(POSTS)
                   .scalar_subquery())
    with store.reading() as s:
        core = s.connection().execute(query).one()
        prepared = Prepared(query).first(s)
    assert tuple(prepared) == tuple(core) == (1, 2, 3, 0)
    assert prepared._asdict() == dict(core._mapping)
    assert prepared.count == core.count == 3  # a key may shadow a tuple method, as in Core


def test_a_driver_error_while_reading_rows_is_raised_as_sqlalchemy_raises_it(store):
    from sqlalchemy import BigInteger, case, func, literal
    from sqlalchemy.exc import DBAPIError

    # SQLite finds an error in a row only when it steps to that row, in fetchall rather than
    # in execute (so does a damaged page met halfway through a scan); the daemon tells a
    # failing database (DBAPIError) from a bug by the type.
    add_post(store)
    second = add_post(store)
    overflowing = Prepared(select(case(
        (POSTS.c.id == bindparam("b_bad"), func.abs(literal(-2**63, BigInteger))),
        else_=POSTS.c.id)).order_by(POSTS.c.id))
    with pytest.raises(DBAPIError, match=r"out of range|overflow"), store.reading() as s:
        overflowing.rows(s, {"b_bad": second})


def test_a_statement_inside_a_savepoint_is_undone_with_it(store):
    # The session emits SAVEPOINT only when asked for its connection inside begin_nested().
    post_id = add_post(store)
    with store.session() as s:
        _START.rowcount(s, {"b_post": post_id, "b_worker": "before", "b_now": T0})
        savepoint = s.begin_nested()
        _START.rowcount(s, {"b_post": post_id, "b_worker": "undone", "b_now": T0})
        savepoint.rollback()
        _START.rowcount(s, {"b_post": post_id, "b_worker": "after", "b_now": T0})
        with pytest.raises(IntegrityError), s.begin_nested():  # no such post
            _START.rowcount(s, {"b_post": 999_999, "b_worker": "refused", "b_now": T0})
        # On PostgreSQL the failed statement aborts only the savepoint, not the transaction.
        _START.rowcount(s, {"b_post": post_id, "b_worker": "last", "b_now": T0})
    assert _attempt_workers(store) == ["before", "after", "last"]


def test_an_engine_logging_its_sql_logs_prepared_statements_too(store, caplog):
    import logging

    # echo=True, or the sqlalchemy.engine logger at INFO: how one watches what a daemon sends.
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    query = Prepared(select(POSTS.c.id).where(POSTS.c.account == bindparam("b_account")))
    with store.reading() as s:
        query.rows(s, {"b_account": "office-x"})
    logged = [r.getMessage() for r in caplog.records if r.name.startswith("sqlalchemy.engine")]
    assert query.compiled(store.engine.dialect).sql in logged
    assert any("office-x" in line for line in logged)  # its parameters, as Core logs them
