"""Shared fixtures: real SQLite files in tmp_path, a real emulator on loopback, configs."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from migrated import empty_postgres, open_migrated

from db.store import Store
from posts import states
from posts.states import Actor

# Tests must never reach a real platform or an environment proxy.
for _var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
    os.environ.pop(_var, None)

def pytest_collection_modifyitems(config, items) -> None:
    """Under xdist, the tests marked slow start first, spread over the workers, so no worker
    is left running a minute-long test alone at the end. Every worker sorts alike (a stable
    sort of the same collection), as xdist requires; a serial run keeps the file order."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashes():
    """Argon2id at the production cost takes 0.3 s (1 s under CI's load) and 64 MB a hash, and
    the tests add and sign in some hundreds of users: in-process they hash at the lowest cost.
    The hashes are still argon2id and checked the same way (the cost is read from each hash);
    commands run in a subprocess keep the production cost."""
    from argon2 import PasswordHasher

    import scheduler.users

    production = scheduler.users._hasher
    scheduler.users._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    scheduler.users._hasher = production


T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # 09:00 in Asia/Baghdad, a Tuesday

# Who acts in store-level tests: staff of each role, the operator at a terminal, a daemon.
AUTHOR = Actor("tester", "author")
APPROVER = Actor("reviewer", "approver")
ADMIN = Actor("chief", "admin")
OPERATOR = Actor("os:tester", states.OPERATOR)


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """Write a config.toml from TOML text (dedented) and return its path."""

    def write(text: str, name: str = "config.toml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


def _worker_postgres_url(url: str, worker: str | None) -> str:
    """The database a pytest-xdist worker tests on: `<database>_<worker>` (test_gw0, ...), so
    workers never drop each other's schema; `url` itself when not under xdist."""
    if not worker:
        return url
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(
        hide_password=False)


POSTGRES_URL = _worker_postgres_url(
    os.environ.get("FACTPOST_TEST_POSTGRES_URL",
                   "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    os.environ.get("PYTEST_XDIST_WORKER"))


def pytest_configure(config) -> None:
    """Under xdist, create this worker's PostgreSQL database if it is missing."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        _create_database(POSTGRES_URL)


def _create_database(url: str) -> None:
    """CREATE DATABASE for `url`'s database unless it exists, connecting to the server's
    `postgres` database. An unreachable server is left for postgres_store() to report (a skip
    with the reason, or a failure in CI) rather than failing every test at start-up."""
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    try:
        with psycopg.connect(host=parsed.host, port=parsed.port or 5432, user=parsed.username,
                             password=parsed.password, dbname="postgres", autocommit=True,
                             connect_timeout=10) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                            (parsed.database,)).fetchone() is None:
                conn.execute(f'CREATE DATABASE "{parsed.database}" ENCODING \'UTF8\' '
                             "TEMPLATE template0")
    except psycopg.errors.DuplicateDatabase:
        pass  # another run on this machine created it a moment ago
    except psycopg.OperationalError:
        pass


def postgres_store(*, migrated: bool = True) -> Store:
    """A store on the test PostgreSQL database at the newest schema, holding no rows but the
    ones the migrations write; with `migrated=False`, on an empty `public` schema (for the
    tests of the migrations). Each test process migrates once; see migrated.empty_postgres.

    Outside CI the PostgreSQL variants are skipped, with the reason, when no server answers;
    in CI (CI=true) an unreachable server is a failure.
    """
    from sqlalchemy.exc import OperationalError

    s = Store.open(POSTGRES_URL)
    try:
        empty_postgres(s.engine, migrated=migrated)
    except OperationalError as exc:
        s.close()
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL} ({exc.orig}); set "
                    "FACTPOST_TEST_POSTGRES_URL to run these tests")
    return s


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path: Path):
    """The same tests on every supported database."""
    if request.param == "sqlite":
        s = open_migrated(f"sqlite:///{tmp_path / 'factpost.db'}")
    else:
        s = postgres_store()
    yield s
    s.close()


OFFICE_CONFIG = """
[database]
url = "{database}"
[schedule]
timezone = "Asia/Baghdad"
poll_seconds = {poll}
lease_seconds = {lease}
max_attempts = {max_attempts}
retry_base_seconds = 0.02
retry_max_seconds = 0.05
{extra}
[[accounts]]
name = "office-x"
platform = "x"
handle = "OfficeX"
api_url = "{url}"
timeout_seconds = {timeout}
budget_posts = {budget}
[[accounts]]
name = "office-fb"
platform = "facebook"
handle = "OfficeFB"
api_url = "{url}"
timeout_seconds = {timeout}
budget_posts = {budget}
"""


class Office:
    """A configured office: emulator, config with one X and one Facebook account, store."""

    def __init__(self, config_path: Path, emulator) -> None:
        from scheduler.config import load_config

        self.config_path = config_path
        self.config = load_config(config_path)
        self.emulator = emulator
        self.store = open_migrated(self.config.database_url, review=self.config.review)

    def publishers(self):
        from scheduler.platforms.registry import build_publisher

        return {a.name: build_publisher(a) for a in self.config.accounts}

    def dispatcher(self, **kwargs):
        import random

        from scheduler.dispatch import Dispatcher

        kwargs.setdefault("rng", random.Random(1))
        return Dispatcher(self.store, self.config, self.publishers(), worker="test-worker",
                          **kwargs)

    def add(self, text: str, account: str = "office-x", at: datetime | None = None) -> int:
        """Queue a post, due a moment ago unless `at` says otherwise (written by the author
        "tester" and, under review, approved by the approver "reviewer")."""
        from posts.states import PostStatus

        now = datetime.now(UTC)
        platform = self.config.account(account).platform
        review = self.config.require_approval
        post_id = self.store.posts.add(account=account, platform=platform, text=text,
                                       scheduled_at=at or now - timedelta(seconds=1),
                                       actor=AUTHOR, now=now,
                                       status=PostStatus.DRAFT if review else PostStatus.QUEUED).id
        if review:
            approve(self.store, [post_id], actor=APPROVER, now=now)
        return post_id


def link_pair(store: Store, first: int, second: int) -> None:
    """Make posts `first` and `second` each other's pair partner, as an import links them."""
    from sqlalchemy import update

    from db.models import Post

    with store.session() as s:
        s.execute(update(Post).where(Post.id == first).values(pair_id=second))
        s.execute(update(Post).where(Post.id == second).values(pair_id=first))


def approve(store: Store, post_ids, *, actor: Actor, now: datetime):
    """Approve posts as an approver who has just read each as it stands."""
    post_ids = list(post_ids)
    return store.posts.approve(post_ids, seen=store.posts.versions(post_ids), actor=actor,
                               now=now)


@pytest.fixture
def emulator():
    from emulator import Emulator

    with Emulator(port=0, seed=7) as em:
        yield em


@pytest.fixture
def make_office(write_config, emulator, monkeypatch):
    """Build an Office; options change the config (max_attempts, timeout, budget)."""
    from scheduler.emulated import demo_credentials

    offices = []

    def make(max_attempts: int = 5, timeout: float = 5.0, budget: int = 1000,
             url: str | None = None, database: str = "sqlite:///factpost.db",
             poll: float = 0.2, lease: int = 120, extra: str = "",
             config_text: str | None = None) -> Office:
        """`extra` is TOML placed before the accounts, e.g. a [review] table; `config_text`
        replaces the whole config (its accounts still get credentials on the emulator)."""
        path = write_config(config_text or OFFICE_CONFIG.format(
            url=url or emulator.url, database=database, max_attempts=max_attempts, poll=poll,
            lease=lease, timeout=timeout, budget=budget, extra=extra))
        office = Office(path, emulator)
        for account in office.config.accounts:
            for name, value in demo_credentials(account).items():
                monkeypatch.setenv(name, value)
        emulator.register_accounts(office.config.accounts, os.environ)
        offices.append(office)
        return office

    yield make
    for office in offices:
        office.store.close()


@pytest.fixture
def office(make_office) -> Office:
    return make_office()


# -- the web UI on a real loopback port -------------------------------------------------------

class LiveServer:
    """create_app(config, store) served by uvicorn on 127.0.0.1 in a background thread."""

    def __init__(self, app) -> None:
        import threading

        import uvicorn

        from scheduler.web.limits import server_config

        # The settings `factpost serve` uses (no proxy headers believed from loopback).
        self.server = uvicorn.Server(server_config(app, host="127.0.0.1", port=0,
                                                   log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> str:
        import time

        self.thread.start()
        while not self.server.started:  # start-up, not an assertion: no deadline needed
            if not self.thread.is_alive():
                raise RuntimeError("the web server did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join()


@pytest.fixture
def serve():
    """Serve the web UI for a config and store; returns its base URL."""
    from scheduler.web import create_app

    servers: list[LiveServer] = []

    def start(config, store, **kwargs) -> str:
        server = LiveServer(create_app(config, store, **kwargs))
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


PASSWORD = "correct horse battery"
REVIEW = "[review]\nrequire_approval = true\ntwo_person_rule = true\n"


def add_users(store: Store, **roles: str) -> None:
    """add_users(store, amira="admin", chen="author"); every password is PASSWORD."""
    from scheduler.users import add_user

    for name, role in roles.items():
        add_user(store.users, name, PASSWORD, role, now=datetime.now(UTC), actor=OPERATOR)


def token_for(store: Store, name: str, **options) -> str:
    """A fresh API token for the user `name`, issued by the operator."""
    from scheduler.users import issue_api_token

    return issue_api_token(store.users, name, now=datetime.now(UTC), actor=OPERATOR,
                           **options)


def sign_in(base_url: str, name: str, password: str = PASSWORD):
    """An httpx client signed in as `name` (raises if sign-in fails)."""
    import httpx

    client = httpx.Client(base_url=base_url, follow_redirects=False, timeout=30)
    response = client.post("/login", data={"name": name, "password": password,
                                           "csrf": login_csrf(client), "next": "/"})
    if response.status_code != 303:
        raise AssertionError(f"sign-in as {name} failed: {response.status_code}")
    return client


def login_csrf(client) -> str:
    import re

    page = client.get("/login")
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def form_fields(client, path: str, action: str) -> dict[str, str]:
    """The hidden fields of the form on page `path` that posts to `action`, as a browser
    would send them (the approve form carries the version the page showed)."""
    import re

    page = client.get(path).text
    form = re.search(r'<form[^>]*action="' + re.escape(action) + r'"[^>]*>(.*?)</form>', page,
                     re.S)
    assert form is not None, f"no form posting to {action} on {path}"
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"',
                           form.group(1)))


def approve_form(client, post_id: int) -> dict[str, str]:
    """What the Approve button on post `post_id`'s page sends."""
    return form_fields(client, f"/posts/{post_id}", f"/posts/{post_id}/approve")


def page_csrf(client, path: str = "/") -> str:
    import re

    return re.search(r'name="csrf-token" content="([^"]+)"', client.get(path).text).group(1)


@pytest.fixture
def newsroom(make_office, serve):
    """An office under review (two-person rule) with its web UI served, and three users:
    amira (admin), bashir (approver), chen (author)."""
    office = make_office(extra=REVIEW)
    add_users(office.store, amira="admin", bashir="approver", chen="author")
    office.url = serve(office.config, office.store)
    return office


@pytest.fixture
def cli_as(monkeypatch):
    """cli_as(store, name, role): staff commands on the command line act as this factpost
    user from now on (the user is made if missing; FACTPOST_TOKEN holds a fresh token)."""

    def act(store: Store, name: str = "press-officer", role: str = "admin") -> str:
        if store.users.get_user(name) is None:
            add_users(store, **{name: role})
        token = token_for(store, name)
        monkeypatch.setenv("FACTPOST_TOKEN", token)
        return token

    monkeypatch.delenv("FACTPOST_TOKEN", raising=False)
    return act


#: The office's accounts plus an Arabic X account, so X offers an English/Arabic pair; both X
#: accounts post at 09:00 and 15:00 office time, every day.
ARABIC_X = """
[[accounts]]
name = "office-x-ar"
platform = "x"
handle = "OfficeXAr"
language = "ar"
api_url = "{url}"
timeout_seconds = {timeout}
budget_posts = {budget}
slots = ["0 9 * * *", "0 15 * * *"]
"""


@pytest.fixture
def desk(make_office, serve, emulator):
    """An office without review (posts are queued at once) with its web UI and one author."""
    text = (OFFICE_CONFIG + ARABIC_X).format(
        url=emulator.url, database="sqlite:///factpost.db", max_attempts=5, poll=0.2,
        lease=120, timeout=5.0, budget=1000, extra="")
    office = make_office(config_text=text.replace(
        'handle = "OfficeX"\n', 'handle = "OfficeX"\nslots = ["0 9 * * *", "0 15 * * *"]\n'))
    add_users(office.store, chen="author")
    office.url = serve(office.config, office.store)
    return office
