"""Reliability at the edges: a damaged database, a full disk, a missing driver, a busy port,
each one line naming the file, server or port and the real cause; a daemon whose database
fails backs off and says so once; the SQLite file is readable by its owner only."""

from __future__ import annotations

import logging
import os
import socket
import stat
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import event

from scheduler.cli import cli

CONFIG = """
[database]
url = "{url}"
[schedule]
timezone = "UTC"
[[accounts]]
name = "office-x"
platform = "x"
handle = "OfficeX"
api_url = "http://127.0.0.1:9"
"""


@pytest.fixture
def factpost(write_config, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FACTPOST_TOKEN", raising=False)

    def run(*args: str, url: str = "sqlite:///factpost.db"):
        if not (tmp_path / "config.toml").exists():
            write_config(CONFIG.format(url=url))
        return CliRunner().invoke(cli, list(args))

    return run


def one_line(result) -> str:
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1, result.output
    return lines[0]


# -- finding 9: the SQLite file ----------------------------------------------------------------

def test_the_sqlite_file_and_its_journal_are_readable_by_their_owner_only(factpost, tmp_path):
    from conftest import AUTHOR

    from db.store import Store
    from posts.states import PostStatus

    previous = os.umask(0o022)
    try:
        assert factpost("init").exit_code == 0
        store = Store.open(f"sqlite:///{tmp_path / 'factpost.db'}")
        try:  # while a connection is open, SQLite keeps its -wal and -shm files
            store.posts.add(account="office-x", platform="x", text="Hello.", actor=AUTHOR,
                            now=datetime.now(UTC), status=PostStatus.QUEUED,
                            scheduled_at=datetime.now(UTC))
            files = [tmp_path / f"factpost.db{suffix}" for suffix in ("", "-wal", "-shm")]
            assert all(path.exists() for path in files)
            for path in files:
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        finally:
            store.close()
    finally:
        os.umask(previous)


# -- finding 10 ------------------------------------------------------------------------------

def test_a_file_that_is_not_a_database_gets_one_line_on_every_command(factpost, tmp_path):
    (tmp_path / "factpost.db").write_bytes(b"this is not a database at all\n" * 200)
    for args in (("queue",), ("status",), ("history",), ("init",), ("user", "list")):
        line = one_line(factpost(*args))
        assert line == (f"factpost: error: {tmp_path / 'factpost.db'}: the database file is "
                        "damaged (file is not a database); stop the daemon and restore the file "
                        "from a backup"), args


def test_milder_damage_is_found_before_the_daemon_starts(factpost, tmp_path):
    """A damaged page that everyday commands never read (the documents table of an office
    that only ever added posts by hand) goes unnoticed by them; `init` and the daemon check
    the whole file first."""
    import sqlite3

    assert factpost("init").exit_code == 0
    for i in range(20):
        factpost("post", "add", f"Post {i} about the harbour.", "--account", "office-x")
    path = tmp_path / "factpost.db"
    with sqlite3.connect(path) as c:
        [(root,)] = c.execute("SELECT rootpage FROM sqlite_master WHERE name = 'documents'")
    data = bytearray(path.read_bytes())
    start = (root - 1) * 4096
    data[start:start + 12] = b"\xff" * 12  # its b-tree page header scribbled over
    path.write_bytes(bytes(data))
    assert factpost("queue").exit_code == 0  # unnoticed
    for args in (("init",), ("run", "--once")):
        line = one_line(factpost(*args))
        assert line.startswith(f"factpost: error: {path}: the database file is damaged ("), args
        assert line.endswith("; stop the daemon and restore the file from a backup"), args


def test_a_full_disk_is_named_as_such_not_as_a_missing_database(factpost, tmp_path,
                                                                 monkeypatch):
    """SQLite's own SQLITE_FULL, from a database that may not grow (max_page_count)."""
    import db.store

    assert factpost("init").exit_code == 0
    real = db.store.make_engine

    def no_room(url: str, **kwargs):
        engine = real(url, **kwargs)
        event.listen(engine, "connect",
                     lambda dbapi, _record: dbapi.execute("PRAGMA max_page_count = 1"))
        return engine

    monkeypatch.setattr(db.store, "make_engine", no_room)
    from PIL import Image

    Image.frombytes("RGB", (400, 400), os.urandom(400 * 400 * 3)).save(tmp_path / "big.png")
    line = one_line(factpost("post", "add", "With a photo.", "--account", "office-x",
                             "--image", "big.png", "--alt", "A harbour"))
    assert line == (f"factpost: error: {tmp_path / 'factpost.db'}: the disk is full (database "
                    "or disk is full); free some space on that disk, then try again")


def test_a_postgresql_url_needs_only_the_config_line(factpost):
    """psycopg is installed with factpost, and a bare postgresql:// means it: no traceback
    about a missing driver, only the server that cannot be reached."""
    line = one_line(factpost("queue", url="postgresql://factpost@127.0.0.1:1/newsroom"))
    assert line.startswith("factpost: error: PostgreSQL database newsroom at 127.0.0.1:1: "
                           "cannot reach the server (")
    assert line.endswith("check that it is running and [database].url")


@pytest.fixture
def postgres_server():
    """The URL of the test PostgreSQL server (FACTPOST_TEST_POSTGRES_URL), skipped outside CI
    when none answers."""
    from conftest import POSTGRES_URL
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    engine = create_engine(POSTGRES_URL)
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL} ({exc.orig})")
    finally:
        engine.dispose()
    return make_url(POSTGRES_URL)


@pytest.mark.parametrize("command", [("status",), ("init",), ("serve", "--port", "0")],
                         ids=" ".join)
def test_a_postgresql_database_that_does_not_exist_is_named_with_the_fix(
        factpost, postgres_server, command):
    name = f"factpost_missing_{os.getpid()}"
    url = postgres_server.set(database=name)
    line = one_line(factpost(*command, url=url.render_as_string(hide_password=False)))
    server = f"{url.host}:{url.port or 5432}"
    assert line == (
        f'factpost: error: PostgreSQL on {server} has no database "{name}"; create it (as a '
        f"PostgreSQL superuser: createdb -h {url.host} -p {url.port or 5432} -O {url.username} "
        f"{name}) or name another in [database].url")


@pytest.mark.parametrize("command", [("status",), ("init",), ("serve", "--port", "0")],
                         ids=" ".join)
def test_a_postgresql_role_that_does_not_exist_is_named_with_the_fix(
        factpost, postgres_server, command):
    name = f"factpost_nobody_{os.getpid()}"
    url = postgres_server.set(username=name, password=None)
    line = one_line(factpost(*command, url=url.render_as_string(hide_password=False)))
    server = f"{url.host}:{url.port or 5432}"
    assert line == (
        f'factpost: error: PostgreSQL on {server} has no role "{name}" (the user in '
        f"[database].url); create it (as a PostgreSQL superuser: createuser -h {url.host} -p "
        f"{url.port or 5432} --login {name}) or name another user in [database].url")


def test_a_host_name_that_does_not_resolve_is_named_as_such():
    """(Not tried for real: resolving a name would leave 127.0.0.1.) psycopg's words and
    libpq's older ones."""
    from db.engine import describe_error

    for said in ("connection failed: failed to resolve host 'db.example.org': [Errno -2] Name "
                 "or service not known",
                 'could not translate host name "db.example.org" to address: Name or service '
                 "not known"):
        assert describe_error("postgresql://factpost@db.example.org/newsroom",
                              Exception(said)) == (
            "PostgreSQL on db.example.org:5432: no such host (the name does not resolve); "
            "check the host in [database].url and the DNS")


def test_a_database_never_initialised_says_so_and_to_run_init(factpost, tmp_path):
    line = one_line(factpost("status"))
    assert line == (f"factpost: error: {tmp_path / 'factpost.db'}: the database is not "
                    "initialised or is out of date; run 'factpost init'")


def test_a_driver_that_is_not_installed_is_named_in_one_line(factpost):
    line = one_line(factpost("queue", url="postgresql+pg8000://factpost@127.0.0.1/newsroom"))
    assert line.startswith("factpost: error: [database].url asks for the driver "
                           "'postgresql+pg8000', which is not installed (")


@pytest.mark.parametrize("command", ["emulator", "serve"])
def test_a_busy_port_is_one_line_naming_it(factpost, tmp_path, command):
    from conftest import add_users

    from db.store import Store

    assert factpost("init").exit_code == 0
    store = Store.open(f"sqlite:///{tmp_path / 'factpost.db'}")
    add_users(store, amira="admin")
    store.close()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        line = one_line(factpost(command, "--port", str(port)))
    assert line == (f"factpost: error: cannot listen on 127.0.0.1:{port} (Address already in "
                    "use); another program is listening there; stop it or choose another "
                    "--port")


def test_the_daemon_backs_off_while_its_database_fails_and_says_so_once(office, caplog):
    """The database file is replaced by junk under a running daemon (its pooled connections
    dropped): every tick fails; the daemon logs one line, no traceback, and waits longer each
    time; when the file is back it says so and publishes."""
    from scheduler.daemon import MAX_BACKOFF, Daemon

    office.add("Goes out once the database is back.")
    daemon = Daemon(office.dispatcher(), office.store, poll_seconds=0.2)
    path = office.store.engine.url.database
    office.store.engine.dispose()  # the last connection closed: the WAL is checkpointed
    with open(path, "rb") as f:
        good = f.read()
    saved = {suffix: _take(path + suffix) for suffix in ("-wal", "-shm")}
    with open(path, "wb") as junk:
        junk.write(b"not a database any more\n" * 400)
    caplog.set_level(logging.INFO)
    waits = []
    for _ in range(5):
        before = datetime.now(UTC)
        daemon._tick()
        waits.append((daemon.next_run - before).total_seconds())
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info is None
    assert "the database is failing: " in errors[0].getMessage()
    assert "the database file is damaged (file is not a database)" in errors[0].getMessage()
    assert waits == sorted(waits) and waits[-1] > 4 * waits[0]
    assert waits[-1] <= MAX_BACKOFF.total_seconds() + 1
    office.store.engine.dispose()
    with open(path, "wb") as restored:
        restored.write(good)
    for suffix, content in saved.items():
        if content is not None:
            with open(path + suffix, "wb") as f:
                f.write(content)
    daemon._tick()
    assert "the database answers again after 5 failed tries" in caplog.text
    assert daemon.total.published == 1
    daemon.dispatcher.shutdown()


def _take(path: str) -> bytes | None:
    if not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        content = f.read()
    os.remove(path)
    return content
