"""What every CLI command shares: loading config and store, the clean one-line error edge,
and turning posts into rows for tables, JSON and CSV."""

from __future__ import annotations

import io
import json
import os
import pwd
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import click
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import DBAPIError

from db import migrate
from db.engine import describe_error, describe_url
from db.models import Post
from db.store import Store
from posts.states import OPERATOR, Actor
from scheduler.config import Config, load_config
from scheduler.errors import FactpostError
from scheduler.records import csv_record, csv_writer, iso, post_record  # noqa: F401
from scheduler.timing import check_not_past, local_text, read_when

#: Where a staff command finds the API token that proves who is acting.
TOKEN_VARIABLE = "FACTPOST_TOKEN"


class FactpostGroup(click.Group):
    """A click group that turns known errors into `factpost: error: ...` and exit 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except FactpostError as exc:  # the one list: scheduler/errors.py
            fail(str(exc))
        except DBAPIError as exc:
            context = ctx.obj if isinstance(ctx.obj, Context) else None
            url = context.database_url if context is not None else None
            fail(describe_error(url, exc) if url else f"database error: {exc.orig}")


def fail(message: str, code: int = 1):
    click.echo(f"factpost: error: {message}", err=True)
    sys.exit(code)


class Context:
    """Lazily loaded config and store for one CLI invocation."""

    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path
        self._config: Config | None = None
        self._store: Store | None = None
        # Piped or captured output gets rich's 80 columns by default, which folds every link.
        self.console = Console(highlight=False,
                               width=None if sys.stdout.isatty() else 160)

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    @property
    def database_url(self) -> str | None:
        """The configured database, once the config has been read."""
        return self._config.database_url if self._config is not None else None

    @property
    def store(self) -> Store:
        if self._store is None:
            store = Store.open(self.config.database_url, review=self.config.review)
            try:
                current = migrate.is_current(store.engine)
            except BaseException:
                store.close()
                raise
            if not current:
                store.close()
                fail(f"{describe_url(self.config.database_url)}: the database is not "
                     "initialised or is out of date; run 'factpost init'")
            self._store = store
        return self._store

    def staff(self, role: str) -> Actor:
        """The factpost user acting, proven by an API token from $FACTPOST_TOKEN (or typed at
        a prompt on a terminal), with at least `role`; refused in one line otherwise."""
        token = os.environ.get(TOKEN_VARIABLE, "").strip()
        if not token and sys.stdin.isatty():
            token = click.prompt("API token (from 'factpost user token NAME')",
                                 hide_input=True, default="", show_default=False).strip()
        if not token:
            fail(f"this command acts as a factpost user: set {TOKEN_VARIABLE} to your API "
                 "token (an admin makes one with 'factpost user token NAME')")
        from scheduler.users import token_actor

        actor = token_actor(self.store.users, token, now=now())
        if actor is None:
            fail(f"the API token in {TOKEN_VARIABLE} is unknown, expired or revoked, or its "
                 "user is disabled; ask an admin for a new one ('factpost user token NAME')")
        if not actor.may(role):
            fail(f"this command needs the {role} role; {actor.name} is {actor.role}")
        return actor

    def author(self) -> Actor:
        """Who adds posts: the token's user when $FACTPOST_TOKEN is set (an author or
        better), otherwise the operator at this terminal."""
        if os.environ.get(TOKEN_VARIABLE, "").strip():
            return self.staff("author")
        return operator()

    @property
    def tz(self) -> ZoneInfo:
        return self.config.timezone

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


pass_ctx = click.make_pass_decorator(Context)


def operator() -> Actor:
    """The operator: whoever holds the config and the database at this terminal, named in the
    audit trail by the operating system's account (`os:NAME`). Read from the process's user
    id, not from $USER or $LOGNAME, which anyone can set."""
    try:
        name = pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        name = f"uid{os.getuid()}"
    return Actor(f"os:{name}", OPERATOR)


def now() -> datetime:
    return datetime.now(UTC)


def typed_time(text: str, ctx: Context, moment, *, allow_past: bool, what: str = "--at"):
    """A WHEN typed by staff, in UTC: refused in the past unless `allow_past`, and with a
    line saying which moment it was taken for where the office's clocks change."""
    when = read_when(text, ctx.tz, moment)
    check_not_past(when.at, moment, allow_past=allow_past, what=what, tz=ctx.tz)
    if when.note:
        click.echo(f"note: {when.note}")
    return when.at


def local(when: datetime | None, tz: ZoneInfo) -> str:
    """Office time, with the zone where the wall time happens twice (`local_text`)."""
    return local_text(when, tz, "%Y-%m-%d %H:%M:%S")


def emit_posts(ctx: Context, posts: list[Post], *, as_json: bool, as_csv: bool = False,
               title: str, empty: str) -> None:
    if as_json:
        click.echo(json.dumps([post_record(p) for p in posts], ensure_ascii=False, indent=2))
        return
    if as_csv:
        out = io.StringIO()
        writer = csv_writer(out)
        writer.writeheader()
        writer.writerows(csv_record(p) for p in posts)
        click.echo(out.getvalue(), nl=False)
        return
    if not posts:
        click.echo(empty)
        return
    table = Table(title=title, show_lines=False)
    for name in ("ID", "Account", "Status", f"When ({ctx.tz.key})", "Part", "Text",
                 "Link / reason"):
        table.add_column(name, overflow="fold")
    for p in posts:
        when = p.published_at or p.scheduled_at
        part = f"{p.thread_position}/{p.thread_size}" if p.thread_size > 1 else ""
        link = p.remote_url or (p.last_error or "")
        table.add_row(str(p.id), p.account, p.status, local(when, ctx.tz), part,
                      shorten(p.text, 50), link)
    ctx.console.print(table)


def shorten(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def emit_json(value) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def table(title: str, columns: Iterable[str], rows: Iterable[Iterable[str]]) -> Table:
    t = Table(title=title)
    for c in columns:
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(*r)
    return t


def each_account_option(f: Callable) -> Callable:
    return click.option("--account", "accounts", multiple=True, metavar="NAME",
                        help="Only this account (repeatable). Default: every account.")(f)
