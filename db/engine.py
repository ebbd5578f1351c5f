"""Engines for a database URL: SQLite tuned for a single-host daemon, PostgreSQL as is; and the
one-line descriptions of what went wrong with either."""

from __future__ import annotations

import os
import re
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from posts.errors import FactpostError

#: Execution option marking an engine whose transactions only read.
READ_ONLY = "factpost_read_only"


class DatabaseUnavailable(FactpostError):
    """The database cannot be used; the message names the file or server, the cause and what
    to do, in one line."""


def normalise_url(url: str) -> URL:
    """The URL as SQLAlchemy should see it: a bare `postgresql://` means the psycopg 3 driver
    factpost installs (SQLAlchemy's own default, psycopg2, is not installed)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUnavailable(f"{url!r} is not a database URL; use e.g. "
                                  '"sqlite:///factpost.db" or "postgresql+psycopg://host/db"'
                                  ) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def describe_url(url: str | URL) -> str:
    """What to call the database in a message: the SQLite file, or the PostgreSQL server and
    database (never the password)."""
    parsed = url if isinstance(url, URL) else normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or ":memory:"
    host = parsed.host or "localhost"
    return f"PostgreSQL database {parsed.database or '?'} at {host}:{parsed.port or 5432}"


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for `url`. SQLite gets WAL, foreign keys and a busy timeout on every
    connection, and a new database file is created readable by its owner only. Raises
    `DatabaseUnavailable` when the URL's driver is not installed."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() != "sqlite":
        try:
            return create_engine(parsed, echo=echo, pool_pre_ping=True)
        except (NoSuchModuleError, ModuleNotFoundError) as exc:
            raise DatabaseUnavailable(
                f"[database].url asks for the driver {parsed.drivername!r}, which is not "
                f"installed ({exc}); use postgresql+psycopg://… (installed with factpost)"
            ) from None

    if parsed.database not in (None, "", ":memory:"):
        _create_private(Path(parsed.database))
    # The CLI and the daemon write from different processes; wait for a lock instead of failing.
    engine = create_engine(parsed, echo=echo, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # pysqlite's own transaction handling issues BEGIN lazily and never BEGIN IMMEDIATE;
        # take control so a write transaction holds the write lock from its first statement.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        if parsed.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
        # FULL: a committed transaction survives power loss, not just a killed process. In WAL
        # mode NORMAL skips the fsync at each commit, so a power cut can take back the last
        # commits although they returned: the claim and attempt row of a post whose request
        # already went out, or the outcome of one already published. Back from the cut, the
        # post would be queued with no trace of its send, and a post with no unsure attempt
        # is sent without a look at the timeline: a duplicate. One fsync per post (the claim
        # carries the previous outcome, db/claims.py) is the price of never sending twice.
        # https://www.sqlite.org/pragma.html#pragma_synchronous
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        # Readers (READ_ONLY below) start a plain deferred transaction: in WAL mode they read a
        # snapshot without waiting for, or blocking, the one writer.
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _create_private(path: Path) -> None:
    """Create an empty database file with mode 0600 if there is none. SQLite gives the -wal
    and -shm files it makes later the database file's permissions
    (https://www.sqlite.org/src/doc/trunk/src/os_unix.c, findCreateFileMode), so posts,
    password hashes and the audit trail are never readable by other local users."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise DatabaseUnavailable(f"{path}: cannot create the database file ({exc.strerror}); "
                                  "check that its folder exists and is writable") from None
    os.close(fd)


def check_integrity(engine: Engine) -> None:
    """Raise `DatabaseUnavailable` when SQLite finds the file damaged (`PRAGMA quick_check`:
    every page and index entry is readable, in O(size) time). PostgreSQL checks its own."""
    if engine.dialect.name != "sqlite":
        return
    try:
        with engine.connect() as connection:
            rows = [r[0] for r in connection.execute(text("PRAGMA quick_check(5)"))]
    except DBAPIError as exc:  # damage the check itself trips over
        raise DatabaseUnavailable(describe_error(engine.url, exc)) from None
    if rows != ["ok"]:
        problems = [line.strip() for row in rows for line in str(row).splitlines()
                    if line.strip() and not line.startswith("***")]
        raise DatabaseUnavailable(f"{engine.url.database}: the database file is damaged "
                                  f"({'; '.join(problems[:2])}); stop the daemon and restore "
                                  "the file from a backup")


_SQLITE_CAUSES = (
    (("disk is full", "database or disk is full", "no space"),
     "the disk is full", "free some space on that disk, then try again"),
    (("file is not a database", "malformed", "disk image", "not a database"),
     "the database file is damaged", "stop the daemon and restore the file from a backup"),
    (("unable to open database file", "cannot open"),
     "the database file cannot be opened", "check that its folder exists and is writable"),
    (("readonly", "read-only"),
     "the database file is read-only", "check its permissions and those of its folder"),
    (("database is locked",),
     "another process holds the database's lock", "try again; check for a stuck process"),
    (("disk i/o error",),
     "the disk reported an I/O error", "check the disk, then try again"),
)


def describe_error(url: str | URL, exc: BaseException) -> str:
    """One line for a database failure: which file or server, the real cause, what to do."""
    cause = str(getattr(exc, "orig", None) or exc).strip()
    first = next((line.strip() for line in cause.splitlines() if line.strip()), type(exc).__name__)
    parsed = url if isinstance(url, URL) else normalise_url(url)
    where = describe_url(parsed)
    low = cause.lower()
    if parsed.get_backend_name() == "sqlite":
        for needles, what, fix in _SQLITE_CAUSES:
            if any(n in low for n in needles):
                return f"{where}: {what} ({first}); {fix}"
        return f"{where}: database error ({first})"
    refused = _postgres_refusal(parsed, cause)
    if refused:
        return refused
    if any(n in low for n in ("connection refused", "could not connect", "connection failed",
                              "timeout expired", "could not translate host", "no route",
                              "server closed the connection", "terminating connection")):
        return (f"{where}: cannot reach the server ({first}); check that it is running and "
                "[database].url")
    if "no space left" in low or "disk full" in low:
        return f"{where}: the server's disk is full ({first}); free space on the server"
    return f"{where}: database error ({first})"


def _postgres_refusal(url: URL, cause: str) -> str | None:
    """The cause and the fix when a PostgreSQL server answered but refused the connection:
    no such database, no such role, a wrong password, or a pg_hba.conf without this client.
    psycopg gives no SQLSTATE for a failed connection, so the server's own words are read
    (its messages in English, `lc_messages = C`, the default of most installations;
    https://www.postgresql.org/docs/current/errcodes-appendix.html names the conditions)."""
    host, port = url.host or "localhost", url.port or 5432
    server, options = f"PostgreSQL on {host}:{port}", f"-h {host} -p {port}"
    found = re.search(r'database "([^"]+)" does not exist', cause)
    if found:
        owner = f" -O {url.username}" if url.username else ""
        return (f'{server} has no database "{found.group(1)}"; create it (as a PostgreSQL '
                f"superuser: createdb {options}{owner} {found.group(1)}) or name another in "
                "[database].url")
    found = re.search(r'role "([^"]+)" does not exist', cause)
    if found:
        return (f'{server} has no role "{found.group(1)}" (the user in [database].url); create '
                f"it (as a PostgreSQL superuser: createuser {options} --login {found.group(1)}) "
                "or name another user in [database].url")
    found = re.search(r"(?:failed to resolve host|could not translate host name) "
                      r"['\"]([^'\"]+)['\"]", cause)
    if found:
        return (f"PostgreSQL on {found.group(1)}:{port}: no such host (the name does not "
                "resolve); check the host in [database].url and the DNS")
    found = re.search(r'password authentication failed for user "([^"]+)"', cause)
    if found:
        return (f'{server} refused the password of role "{found.group(1)}"; put the right one '
                "in ~/.pgpass or PGPASSWORD")
    if "no password supplied" in cause:
        return f"{server} asks for a password and none was given; put it in ~/.pgpass or PGPASSWORD"
    if "no pg_hba.conf entry" in cause:
        return (f"{server} does not let this client in (no pg_hba.conf entry for this host, user "
                "and database); ask its administrator to add one")
    return None
