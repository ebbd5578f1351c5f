"""Statements of the daemon's hot path, compiled once per dialect and run on the driver's cursor.

Why. A published post costs a dozen statements (db/claims.py lists them). Through
`Connection.execute` each one costs SQLAlchemy about 0.05 ms of Python on top of the driver's
own work: a look in the compiled cache, a new execution context, every parameter converted
through the compiled object's processors, a result object set up. That was half of the CPU a
post cost the daemon, and with account threads sharing one interpreter lock, CPU per post is
what limits how fast a daemon publishes when the API answers quickly (docs/BENCHMARKS.md).

So a `Prepared` statement is still written in SQLAlchemy Core, the one source of its SQL on
SQLite and PostgreSQL, and still runs in the caller's transaction on the caller's connection (a
bare connection begins one, as `Connection.execute` does; a session is asked for its connection
again in each savepoint and after a rollback, so SAVEPOINT is emitted and a rolled-back session
refuses); only the per-call work is done once: the SQL text, the order of its parameters, each
one's converter (the column type's bind processor, as Core applies it) and each result column's
converter (its result processor) are kept per dialect. A call is one conversion per value and
one `cursor.execute`. The engine's `before_cursor_execute` (which may rewrite it) and
`after_cursor_execute` listeners still see every statement (tests and `make bench` count them
that way), with no execution context (None); an engine that logs its SQL logs these too; and a
driver error is raised as SQLAlchemy raises it (`sqlalchemy.exc.DBAPIError` and its subclasses,
the connection invalidated when the driver says it was lost), so callers handle errors as for
any other statement.

What it does not do, and refuses at compile time (`ValueError`) rather than getting wrong:
expanding parameters (`bindparam(..., expanding=True)`, an `IN` list: give each value its own
parameter), parameters computed at each execution (`bindparam(..., callable_=...)`), and column
defaults computed in Python at execution (`insert_prefetch`, `update_prefetch`: set those
columns in the statement).

What it skips that Core does, none of which factpost uses: `handle_error` events; on a lost
connection, invalidating the whole pool (`pool_pre_ping` finds the others dead instead);
telling apart two drivers of one database in one process (statements are kept per dialect
name).
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, PendingRollbackError
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Executable

_NO_PARAMS: Mapping[str, Any] = {}


class Transaction(Protocol):
    """A transaction that is not a Session but has a connection (db/database.py
    `CoreTransaction`); named here so that this module needs nothing of the store's."""

    connection: Connection


#: What a statement runs on: a connection, or a transaction (its connection).
Bind = Connection | Session | Transaction
#: Where a session keeps the connection of its transaction, with the savepoint it was asked
#: for in (`connection_of`).
_CONNECTION = "factpost_connection"


def connection_of(s: Session | Transaction) -> Connection:
    """The connection of the transaction of `s`, as `s.connection()` gives it, looked up once
    per transaction and savepoint: `Session.connection()` walks the session's transaction
    state each time, and the hot path asked for it ten times a post. A Core transaction
    (db/database.py `CoreTransaction`) gives its own, while it is in its transaction."""
    if not isinstance(s, Session):
        # Its ORM Session's failed flush rolls the whole transaction back ("rollback_only"):
        # refused as that Session refuses, or the statement would run outside any transaction.
        if not s.connection.in_transaction():
            raise PendingRollbackError("this transaction was rolled back (a step's flush "
                                       "failed); no statement may run in it")
        return s.connection
    savepoint = s.get_nested_transaction()
    cached = s.info.get(_CONNECTION)
    # Asked again: inside another savepoint (the session emits SAVEPOINT only when asked for
    # its connection inside begin_nested()), or not in a transaction: that transaction ended
    # (its connection is closed), or a failed flush rolled it back, and `s.connection()` then
    # refuses as it should: a statement sent anyway would run outside any transaction
    # (committed at once by SQLite's driver).
    if cached is None or cached[0] is not savepoint or not cached[1].in_transaction():
        conn = s.connection()
        s.info[_CONNECTION] = (savepoint, conn)
        return conn
    return cached[1]


@dataclass(frozen=True)
class _Compiled:
    """One statement compiled for one dialect."""

    sql: str
    #: Per parameter, in the order the SQL takes them: (name, converter or None, the fixed
    #: value already converted when the statement binds one itself, else `_MISSING`).
    binds: tuple[tuple[str, Callable | None, Any], ...]
    #: Per parameter, its name in the SQL text when the driver takes them by name: Core
    #: renames those the driver's format cannot carry (PostgreSQL's %(b.x)s is %(b_x)s).
    driver_names: tuple[str, ...]
    positional: bool
    #: Per result column: its converter, or None. Empty for a statement that returns no rows.
    results: tuple[Callable | None, ...]
    #: The class of a result row: a named tuple of the result columns' keys.
    row: type | None


_MISSING = object()


class Prepared:
    """A Core `statement` run on the DB-API cursor of the connection given to each call (a
    `Connection`, or a `Session`: its transaction's connection).

    `keys`: for an INSERT or UPDATE without `.values()`, the columns the call sets (as
    `compile(column_keys=...)` takes them); the parameters are named after them.

    Results: `rows` gives named tuples (the result columns' keys; values converted as Core
    converts them: aware UTC datetimes, booleans), `first` the first or None, `scalar` the
    first column of the first row or None, `rowcount` the rows a DML statement matched.
    """

    def __init__(self, statement: Executable, *, keys: Sequence[str] | None = None) -> None:
        self.statement = statement
        self.keys = list(keys) if keys is not None else None
        self._by_dialect: dict[str, _Compiled] = {}

    def rows(self, conn: Bind, params: Mapping[str, Any] = _NO_PARAMS) -> list[tuple]:
        compiled, cursor, raw = self._execute(conn, params, fetch=True)
        cursor.close()
        results, row = compiled.results, compiled.row
        if not any(results):
            return [row._make(r) for r in raw]
        return [row._make([v if convert is None else convert(v)
                           for convert, v in zip(results, r, strict=True)]) for r in raw]

    def first(self, conn: Bind, params: Mapping[str, Any] = _NO_PARAMS) -> tuple | None:
        rows = self.rows(conn, params)
        return rows[0] if rows else None

    def scalar(self, conn: Bind, params: Mapping[str, Any] = _NO_PARAMS) -> Any:
        row = self.first(conn, params)
        return None if row is None else row[0]

    def rowcount(self, conn: Bind, params: Mapping[str, Any] = _NO_PARAMS) -> int:
        _, cursor, _ = self._execute(conn, params)
        try:
            return cursor.rowcount
        finally:
            cursor.close()

    def many(self, conn: Bind, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run the statement once per mapping of `rows` (a DB-API executemany)."""
        if rows:
            self._execute(conn, rows, many=True)[1].close()

    def compiled(self, dialect: Dialect) -> _Compiled:
        """The statement as compiled for `dialect` (once; later calls reuse it)."""
        found = self._by_dialect.get(dialect.name)
        if found is None:
            # Two threads may both compile it the first time; both results are the same.
            found = self._by_dialect[dialect.name] = _compile(self.statement, dialect,
                                                              self.keys)
        return found

    def _execute(self, conn: Bind, params, many: bool = False, fetch: bool = False):
        """Run the statement: (compiled, cursor, its rows as the driver gives them when
        `fetch`, else None)."""
        if not isinstance(conn, Connection):
            conn = connection_of(conn)
        elif not conn.in_transaction():
            conn.begin()  # as Connection.execute begins one (its "autobegin")
        dialect = conn.dialect
        compiled = self.compiled(dialect)
        args = ([_arguments(compiled, p) for p in params] if many
                else _arguments(compiled, params))
        dbapi_connection = conn.connection
        cursor = dbapi_connection.cursor()
        sql = compiled.sql
        dispatch = conn.dispatch
        if dispatch.before_cursor_execute:
            # Each listener may rewrite both (retval=True); SQLAlchemy wraps the others to
            # give theirs back unchanged.
            for listener in dispatch.before_cursor_execute:
                sql, args = listener(conn, cursor, sql, args, None, many)
        if conn._echo:  # echo=True, or the sqlalchemy.engine logger at INFO: log as Core does
            conn._log_info(sql)
            conn._log_parameters(args, "prepared", ismulti=many)
        try:
            if many:
                cursor.executemany(sql, args)
            else:
                cursor.execute(sql, args)
            # SQLite meets an error in a row only when it steps to it: in fetchall.
            raw = cursor.fetchall() if fetch else None
        except dialect.loaded_dbapi.Error as err:
            cursor.close()
            lost = dialect.is_disconnect(err, dbapi_connection.dbapi_connection, cursor)
            if lost:
                conn.invalidate(err)
            raise DBAPIError.instance(sql, args, err, dialect.loaded_dbapi.Error,
                                      hide_parameters=conn.engine.hide_parameters,
                                      connection_invalidated=lost, dialect=dialect,
                                      ismulti=many) from err
        if dispatch.after_cursor_execute:
            for listener in dispatch.after_cursor_execute:
                listener(conn, cursor, sql, args, None, many)
        return compiled, cursor, raw


def _arguments(compiled: _Compiled, params: Mapping[str, Any]) -> list | dict:
    """`params` as the driver takes them for `compiled`: converted, in order (or by name)."""
    values = []
    for name, convert, fixed in compiled.binds:
        # The caller's value first, as Core takes it over a parameter's default.
        value = params.get(name, _MISSING)
        if value is not _MISSING:
            values.append(value if convert is None else convert(value))
        elif fixed is not _MISSING:
            values.append(fixed)
        else:
            raise TypeError(f"{compiled.sql!r} needs a value for {name!r}")
    if compiled.positional:
        return values
    return dict(zip(compiled.driver_names, values, strict=True))


def _compile(statement: Executable, dialect: Dialect, keys: list[str] | None) -> _Compiled:
    compiled = statement.compile(dialect=dialect, column_keys=keys)
    if compiled.insert_prefetch or compiled.update_prefetch:
        columns = [c.key for c in (*compiled.insert_prefetch, *compiled.update_prefetch)]
        raise ValueError(f"{compiled.string!r}: set {', '.join(columns)} in the statement; a "
                         "prepared statement does not compute Python-side column defaults")
    names = compiled.positiontup if compiled.positional else list(compiled.binds)
    binds = []
    for name in names:
        bind = compiled.binds[name]
        if bind.expanding:
            raise ValueError(f"{compiled.string!r}: {name} is an expanding (IN list) "
                             "parameter; give each value its own parameter")
        convert = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if bind.callable is not None:
            raise ValueError(f"{compiled.string!r}: {name} is computed at each execution "
                             "(callable_); pass its value as a parameter instead")
        fixed = _MISSING
        if not bind.required:  # a value the statement binds itself (a literal, a default)
            value = bind.effective_value
            fixed = value if convert is None else convert(value)
        binds.append((name, convert, fixed))
    results: tuple = ()
    row = None
    columns = getattr(statement, "exported_columns", None)
    if columns is not None and len(columns):
        results = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None)
                        for c in columns)
        # The keys Core's rows have: the labels the compiled SQL gives the columns (anon_1
        # for an unlabelled expression).
        keys = [entry[0] for entry in compiled._result_columns]
        if len(keys) != len(columns):
            raise ValueError(f"{compiled.string!r}: {len(columns)} result columns but "
                             f"{len(keys)} in the compiled SQL; label each column")
        row = _row_class(keys)
    escaped = compiled.escaped_bind_names or {}
    driver_names = tuple(escaped.get(name, name) for name in names)
    return _Compiled(compiled.string, tuple(binds), driver_names, compiled.positional, results,
                     row)


def _row_class(keys: list[str]) -> type:
    """A named tuple of `keys`. A key that cannot name a field (a leading underscore, a Python
    keyword) is a field `_<index>` instead, and `_asdict` still gives the key, as Core's
    `Row._mapping` does."""
    row = namedtuple("Row", keys, rename=True)
    if list(row._fields) == keys:
        return row

    class Row(row):
        __slots__ = ()

        def _asdict(self) -> dict[str, Any]:
            return dict(zip(keys, self, strict=True))

    return Row
