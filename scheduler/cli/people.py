"""Newsroom users and the web UI: `factpost user ...` and `factpost serve`."""

from __future__ import annotations

import sys

import click

from db.users import UserStore
from scheduler.cli.common import Context, fail, local, now, pass_ctx, table
from scheduler.users import ROLES, add_user, check_role, hash_password, issue_api_token


def read_password() -> str:
    """A password from the terminal (asked twice) or the first line of piped stdin."""
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


@click.group()
def user() -> None:
    """Add newsroom users, change their role, issue API tokens."""


@user.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES),
              help="author: compose and import; approver: also approve; admin: also manage "
                   "users and accounts.")
@pass_ctx
def user_add(ctx: Context, name: str, role: str) -> None:
    """Add a user who signs in to the web UI; the password is read from stdin.

    \b
    Example:
      printf '%s\\n' "$PASSWORD" | factpost user add amira --role approver
    """
    u = add_user(UserStore(ctx.store), name, read_password(), role, now=now())
    click.echo(f"user {u.name} added as {u.role}")


@user.command("list")
@pass_ctx
def user_list(ctx: Context) -> None:
    """List users with their role.

    \b
    Example:
      factpost user list
    """
    ctx.console.print(table("Users", ("Name", "Role", "State", "Added"), (
        (u.name, u.role, "disabled" if u.disabled else "active", local(u.created_at, ctx.tz))
        for u in UserStore(ctx.store).users())))


@user.command("set")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), help="New role.")
@click.option("--disable/--enable", "disabled", default=None,
              help="Stop (or allow again) this user signing in; disabling signs them out.")
@click.option("--password", "new_password", is_flag=True,
              help="Read a new password from stdin (signs the user out everywhere).")
@pass_ctx
def user_set(ctx: Context, name: str, role: str | None, disabled: bool | None,
             new_password: bool) -> None:
    """Change a user's role, password or whether they may sign in.

    \b
    Example:
      factpost user set amira --role admin
    """
    if role is None and disabled is None and not new_password:
        raise click.UsageError("give --role, --disable/--enable or --password")
    u = UserStore(ctx.store).update_user(
        name, role=check_role(role) if role else None, disabled=disabled,
        password_hash=hash_password(read_password()) if new_password else None)
    click.echo(f"user {u.name}: {u.role}, {'disabled' if u.disabled else 'active'}")


@user.command("token")
@click.argument("name")
@pass_ctx
def user_token(ctx: Context, name: str) -> None:
    """Print a new API token for NAME, once; scripts send it as 'Authorization: Bearer ...'.

    \b
    Example:
      factpost user token amira > ~/.factpost-token
    """
    click.echo(issue_api_token(UserStore(ctx.store), name, now=now()))


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port to listen on.")
@pass_ctx
def serve(ctx: Context, host: str, port: int) -> None:
    """Serve the newsroom web UI and the /api JSON API.

    Users are added with 'factpost user add'. Put it behind HTTPS and set
    [web] secure_cookies = true before listening on anything but loopback.

    \b
    Example:
      factpost serve --port 8080
    """
    import uvicorn

    from scheduler.web import create_app

    if not UserStore(ctx.store).users():
        fail("no users yet; add one first: factpost user add NAME --role admin")
    if host not in ("127.0.0.1", "localhost", "::1") and not ctx.config.secure_cookies:
        click.echo("factpost: warning: serving beyond loopback without [web] secure_cookies; "
                   "session cookies may travel in clear text", err=True)
    uvicorn.run(create_app(ctx.config, ctx.store), host=host, port=port, log_level="info")
