"""A store at the newest schema, for tests whose subject is not the migrations.

Running the Alembic chain takes 0.3 to 1 s a database (longer on a loaded machine), and most
tests start from an empty database, so the suite spent minutes migrating. A new SQLite file is
instead a copy of one database migrated once per test process; a PostgreSQL test database is
migrated once per test process and then emptied between tests (see empty_postgres). The
migrations themselves are tested from an empty database in tests/test_schema.py and the
migration tests.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from psycopg.errors import InsufficientPrivilege
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from db import migrate
from db.store import Store
from posts.states import NO_REVIEW, Review

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

_template: Path | None = None


def _migrated_template() -> Path:
    global _template
    if _template is None:
        folder = Path(tempfile.mkdtemp(prefix="factpost-schema-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        path = folder / "template.db"
        store = Store.open(f"sqlite:///{path}")
        migrate.upgrade(store.engine)
        store.close()  # the last connection's close checkpoints the WAL into the file
        _template = path
    return _template


def open_migrated(url: str, review: Review = NO_REVIEW) -> Store:
    """Store.open(url) on a database at the newest schema: a new SQLite file is a copy of the
    per-process template; anything else (an existing file, PostgreSQL) is migrated."""
    parsed = make_url(url)
    database = parsed.database
    if (parsed.get_backend_name() == "sqlite" and database and database != ":memory:"
            and not Path(database).exists()):
        shutil.copyfile(_migrated_template(), database)
        return Store.open(url, review=review)
    store = Store.open(url, review=review)
    migrate.upgrade(store.engine)
    return store


# -- PostgreSQL: migrate once a process, then empty the tables -------------------------------
#
# Dropping the `public` schema and migrating it again cost about 2 s a test under CI's load,
# for some 200 tests. Emptying the tables of a database this process migrated costs a few
# milliseconds, and gives the same database back, as long as nothing but rows changed since:
# a migration test may leave an older (or a dropped) schema behind, so the schema's
# fingerprint is compared first, and any difference means drop and migrate again.

#: Everything in `public` a migration makes, as text: columns with their types and defaults,
#: indexes, constraints, triggers (and whether enabled), functions, types. Names, not OIDs, so
#: it reads the same whichever run made the objects. (The Alembic revision is a row: emptying
#: puts the migrations' own back.)
_FINGERPRINT = """
SELECT md5(coalesce(string_agg(line, E'\\n' ORDER BY line), '')) FROM (
    SELECT format('column %s.%s %s %s %s %s', c.relname, a.attname,
                  format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attgenerated,
                  pg_get_expr(d.adbin, d.adrelid)) AS line
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
  UNION ALL
    SELECT format('index %s', indexdef) FROM pg_indexes WHERE schemaname = 'public'
  UNION ALL
    SELECT format('constraint %s %s %s', c.relname, k.conname, pg_get_constraintdef(k.oid))
    FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace
    LEFT JOIN pg_class c ON c.oid = k.conrelid WHERE n.nspname = 'public'
  UNION ALL
    SELECT format('trigger %s %s', pg_get_triggerdef(t.oid), t.tgenabled)
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND NOT t.tgisinternal
  UNION ALL
    SELECT format('function %s %s %s', p.proname, pg_get_function_identity_arguments(p.oid),
                  md5(p.prosrc))
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'
  UNION ALL
    SELECT format('type %s %s %s', t.typname, t.typtype,
                  (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
                   FROM pg_enum e WHERE e.enumtypid = t.oid))
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE n.nspname = 'public' AND t.typrelid = 0 AND t.typelem = 0
) AS lines
"""


@dataclass(frozen=True)
class _Migrated:
    """A database as the migrations left it: its fingerprint, the statement that empties it
    again (every table, and each sequence back where the migrations left it) and the rows the
    migrations wrote (alembic_version's revision, the audit chain's first link), to put back."""

    fingerprint: str
    empty: str
    seeded: tuple[tuple[str, tuple[tuple, ...]], ...]  # (INSERT statement, rows)


#: The database each URL's tests use, as this process's migration left it.
_migrated: dict[str, _Migrated] = {}


def empty_postgres(engine: Engine, *, migrated: bool = True) -> None:
    """Leave `engine`'s database at the newest schema holding only the rows the migrations
    write, or with `migrated=False` an empty `public` schema (for tests of the migrations)."""
    key = engine.url.render_as_string(hide_password=False)
    known = _migrated.get(key) if migrated else None
    if known is not None:
        try:
            with engine.begin() as connection:
                if connection.exec_driver_sql(_FINGERPRINT).scalar_one() == known.fingerprint:
                    _restore(connection, known)
                    return
        except ProgrammingError as exc:
            # session_replication_role needs a superuser (or, from PostgreSQL 15, a grant):
            # without one, every test pays for a migration as before, but still passes. Any
            # other error (a statement of ours that no longer fits the schema) is reported.
            if not isinstance(exc.orig, InsufficientPrivilege):
                raise
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    _migrated.pop(key, None)
    if migrated:
        migrate.upgrade(engine)
        with engine.begin() as connection:
            _migrated[key] = _record(connection)


def _record(connection: Connection) -> _Migrated:
    quote = connection.dialect.identifier_preparer.quote
    tables = connection.exec_driver_sql(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname").scalars().all()
    statements, seeded = [], []
    for table in tables:
        statements.append(f"DELETE FROM {quote(table)}")
        columns = connection.exec_driver_sql(
            "SELECT attname FROM pg_attribute WHERE attrelid = %(t)s::regclass AND attnum > 0 "
            "AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
            {"t": quote(table)}).scalars().all()
        names = ", ".join(quote(c) for c in columns)
        rows = connection.exec_driver_sql(f"SELECT {names} FROM {quote(table)}").all()
        if rows:
            seeded.append((f"INSERT INTO {quote(table)} ({names}) OVERRIDING SYSTEM VALUE "
                           f"VALUES ({', '.join(['%s'] * len(columns))})",
                           tuple(tuple(row) for row in rows)))
    for name, start, last in connection.exec_driver_sql(
            "SELECT sequencename, start_value, last_value FROM pg_sequences "
            "WHERE schemaname = 'public'"):
        # last_value is NULL until the first nextval(): then the next one gives start_value.
        statements.append(f"SELECT setval('{quote(name)}', {start if last is None else last}, "
                          f"{last is not None})")
    return _Migrated(fingerprint=connection.exec_driver_sql(_FINGERPRINT).scalar_one(),
                     empty="; ".join(statements), seeded=tuple(seeded))


def _restore(connection: Connection, known: _Migrated) -> None:
    # As a replica would: no trigger fires and no foreign key is checked, so the tables are
    # emptied in any order and the seeded rows go back exactly as the migrations wrote them.
    connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
    with connection.connection.dbapi_connection.cursor() as cursor:
        cursor.execute(known.empty)  # one round trip: psycopg runs a script given no parameters
        for insert, rows in known.seeded:
            cursor.executemany(insert, rows)
