"""Writing an import's thousands of rows at once: inserting rows whose new ids the caller needs
(sections, posts, audit rows) in one executemany on either database, and indexing new posts for
search in at most two statements (the posts that need folding apart)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import repeat

from sqlalchemy import Connection, Table, func, insert, select, text
from sqlalchemy.orm import Session

from db.models import Post

#: PostgreSQL: `n` new ids of a table's `id` column, drawn from its sequence in one query.
_NEXT_IDS = text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                 "FROM generate_series(1, :n)")


def insert_with_ids(s: Session, table: Table, rows: Sequence[dict],
                    refer: Mapping[str, Sequence[int | None]] | None = None) -> list[int]:
    """Insert `rows` (dicts with the same keys, no `id`) into `table`, whose primary key is
    an integer `id`, in the transaction of `s`; returns their new ids in the order given
    (ascending).

    `refer` names columns that point at an earlier row of the same batch (a thread part at
    the part before it): column -> for each row, the index in `rows` of the row it points at,
    or None. They are set to that row's new id, in the insert itself.

    The ids are chosen first and given explicitly, in one plain executemany. On SQLite the
    transaction holds the database's one write lock from its start (`BEGIN IMMEDIATE`,
    db/engine.py), so the ids after the largest are free. On PostgreSQL they are drawn from
    the column's sequence in one query. SQLAlchemy's INSERT ... RETURNING would send one
    statement per row on SQLite (it has no sentinel to match a batch's rows to their ids);
    on PostgreSQL its batches of a thousand rows are statements too long for psycopg's query
    cache, parsed again for every batch: half of what a 1 MB import spent storing there."""
    if not rows:
        return []
    conn = s.connection()
    ids = next_ids(conn, table, len(rows))
    pointers = {column: [None if i is None else ids[i] for i in indexes]
                for column, indexes in (refer or {}).items()}
    if conn.dialect.name == "sqlite":
        # Column by column: a merged dict per row would only be taken apart again.
        insert_columns(conn, table, {**{key: [row[key] for row in rows] for key in rows[0]},
                                     "id": ids, **pointers})
    else:  # Core's executemany takes a dict per row: merging each costs least.
        insert_many(conn, table, [
            {**row, "id": row_id, **{column: to[n] for column, to in pointers.items()}}
            for n, (row_id, row) in enumerate(zip(ids, rows, strict=True))])
    return ids


def next_ids(conn: Connection, table: Table, count: int) -> list[int]:
    """`count` new ids for `table`'s integer `id`, ascending, for rows the caller inserts in
    this transaction (see `insert_with_ids` for why either way is safe)."""
    if conn.dialect.name == "sqlite":
        last = conn.scalar(select(func.max(table.c.id))) or 0
        return list(range(last + 1, last + 1 + count))
    return sorted(conn.scalars(_NEXT_IDS, {"table": table.name, "n": count}))


def insert_many(conn: Connection, table: Table, rows: Sequence[dict]) -> None:
    """Insert `rows` (dicts with the same keys) into `table` in one executemany on `conn`.

    On SQLite the values are converted to what the driver takes by each column type's own
    bind processor (so stored exactly as `conn.execute(insert(table), rows)` stores them), but
    once per distinct value and column: an import's thousands of rows share a few times
    (`now`, a slot each), and SQLAlchemy's per-value conversion of them was a third of what
    storing a 1 MB import cost. Columns left out get their scalar Python-side default, as
    Core gives them. PostgreSQL, and a table whose left-out column has a computed default,
    take the Core path."""
    if not rows:
        return
    if not rows[0] or not _converted_here(conn, table, rows[0]):  # rows of defaults only: Core
        conn.execute(insert(table), rows)
        return
    _insert_converted(conn, table, {key: [row[key] for row in rows] for key in rows[0]},
                      len(rows))


def insert_columns(conn: Connection, table: Table, columns: Mapping[str, Sequence]) -> None:
    """`insert_many` for rows given column by column: `columns` maps each column's key to its
    values, one per row (all as long; at least one column). Stored exactly as `insert_many`
    stores the same rows; callers that hold their values by column skip building a dict per
    row for it."""
    count = len(next(iter(columns.values())))
    if not count:
        return
    if not _converted_here(conn, table, columns):
        keys = list(columns)
        conn.execute(insert(table), [dict(zip(keys, values, strict=True))
                                     for values in zip(*columns.values(), strict=True)])
        return
    _insert_converted(conn, table, columns, count)


def _insert_converted(conn: Connection, table: Table, columns: Mapping[str, Sequence],
                      count: int) -> None:
    """`insert_columns` where `_converted_here` holds: `count` rows, converted here and
    given to the driver in one executemany."""
    dialect = conn.dialect
    defaults = {column.key: column.default.arg for column in table.columns
                if column.key not in columns and column.default is not None}
    given = [table.c[key] for key in columns]
    left_out = [table.c[key] for key in defaults]
    preparer = dialect.identifier_preparer
    sql = (f"INSERT INTO {preparer.format_table(table)} "
           f"({', '.join(preparer.format_column(c) for c in given + left_out)}) "
           f"VALUES ({', '.join('?' for _ in given + left_out)})")
    # Zipped column by column into rows: fewer Python steps per value than a tuple built
    # per row. Left-out columns take their default, converted once.
    values = [list(map(_memoized(process), column)) if (process := _processor(c, dialect))
              else column for c, column in zip(given, columns.values(), strict=True)]
    values += [repeat(process(value) if (process := _processor(c, dialect)) else value, count)
               for c, value in zip(left_out, defaults.values(), strict=True)]
    conn.exec_driver_sql(sql, list(zip(*values, strict=True)))


def _converted_here(conn: Connection, table: Table, given: Mapping) -> bool:
    """Whether `insert_columns` converts the values itself: on SQLite, when every column left
    out has a scalar default (Core computes the others per row)."""
    return conn.dialect.name == "sqlite" and all(
        column.default.is_scalar for column in table.columns
        if column.key not in given and column.default is not None)


def _processor(column, dialect):
    return column.type.dialect_impl(dialect).bind_processor(dialect)


def _memoized(process):
    """`process`, remembering its result per value (None passes through unconverted)."""
    seen: dict = {}

    def convert(value):
        if value is None:
            return process(value)
        # By type too: 1 and True (or 1.0) are equal keys but may convert differently.
        key = (type(value), value)
        try:
            return seen[key]
        except KeyError:
            seen[key] = result = process(value)
            return result
        except TypeError:  # unhashable
            return process(value)
    return convert


#: The row a per-row search-index trigger reads (migration 0008's `_sqlite_folded`).
_PER_ROW = "(SELECT new.id AS id, new.text AS x)"
#: How that trigger's statement starts: the folded rows are selected into the index.
_INDEX_PREFIX = "INSERT INTO posts_fts(rowid, text) SELECT id, x FROM ("
#: One folding step in the trigger, `replace(<expr>, 'old', 'new')`: its old and new text.
_REPLACE = re.compile(r", '((?:[^']|'')*)', '((?:[^']|'')*)'\)")


@contextmanager
def search_indexed_at_end(s: Session) -> Iterator[None]:
    """Posts inserted inside, in the transaction of `s`, are put in SQLite's search index
    (posts_fts) all at once when the block ends rather than by the insert trigger row by row,
    which was half of what inserting an import's posts cost SQLite. The trigger is dropped for
    the block and made again from its own definition, read from the database (so whatever
    folding the migrations gave it is kept), all inside the transaction: a rollback restores
    it, and no other connection can write meanwhile (the transaction holds the write lock).
    Does nothing on PostgreSQL, or if the trigger is not of the expected shape.

    Only posts holding a character the trigger folds go through its folding; the others are
    indexed as they are, which is what the folding would make of them (every `replace` finds
    nothing). SQLite runs each of the trigger's 70-odd `replace` calls on every row whether
    or not it finds anything: 0.2 s of a 1 MB import, most of the index's cost."""
    conn = s.connection()
    trigger = None
    if conn.dialect.name == "sqlite":
        trigger = conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = "
            "'posts_fts_insert'").scalar()
    body = trigger[trigger.find(" BEGIN") + 6:trigger.rfind("END")].strip() if trigger else ""
    if not body or body.count(_PER_ROW) != 1 or body.count(";") != 1:
        yield
        return
    posts = Post.__table__
    last = conn.scalar(select(func.max(posts.c.id))) or 0
    conn.exec_driver_sql("DROP TRIGGER posts_fts_insert")
    try:
        yield
        _index_since(conn, body, last)
    finally:
        conn.exec_driver_sql(trigger)


def _index_since(conn: Connection, body: str, last: int) -> None:
    """Index the posts after id `last` by the insert trigger's statement `body`, passing
    the posts that hold none of its folded characters around the folding."""
    folded = [old.replace("''", "'") for old, _ in _REPLACE.findall(body)]
    plain = (body.startswith(_INDEX_PREFIX) and len(folded) == body.count("replace(")
             and all(folded))
    if not plain:  # a folding of another shape: every row through it
        conn.exec_driver_sql(body.replace(_PER_ROW, "(SELECT id, text AS x FROM posts "
                                                    "WHERE id > ?)"), (last,))
        return
    query = "SELECT id, text FROM posts WHERE id > ?"
    if not any(old.isascii() for old in folded):
        # Every folded string holds a character beyond ASCII, so a post of ASCII text (most
        # of an English sheet) need not be read: SQLite tells them by their length in
        # characters being their length in bytes (a NUL stops the first count short, so a
        # text with one is read, and looked at, too).
        query += " AND length(text) <> length(CAST(text AS BLOB))"
    # Through the connection, not the driver's bare cursor, so a failing read is the
    # DBAPIError every caller handles; the filter above leaves few rows to read.
    rows = conn.exec_driver_sql(query, (last,)).all()
    holds_folded = re.compile("|".join(map(re.escape, folded))).search
    touched = json.dumps([post_id for post_id, text in rows if holds_folded(text)])
    conn.exec_driver_sql(
        f"{_INDEX_PREFIX}SELECT id, text AS x FROM posts WHERE id > ? AND id NOT IN "
        "(SELECT value FROM json_each(?)))", (last, touched))
    if touched != "[]":
        conn.exec_driver_sql(body.replace(_PER_ROW, "(SELECT id, text AS x FROM posts WHERE id "
                                                    "IN (SELECT value FROM json_each(?)))"),
                             (touched,))
