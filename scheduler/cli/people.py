"""Newsroom users and the web UI: `factpost user ...` and `factpost serve`.

User management is an operator command, like a web framework's create-superuser: whoever holds
the config and the database runs it, and the audit trail names them by their operating-system
account (`os:NAME`).
"""

from __future__ import annotations

import sys

import click

from scheduler.cli.common import Context, fail, local, now, operator, pass_ctx, table
from scheduler.users import (
    ROLES,
    add_user,
    check_role,
    check_steps,
    hash_password,
    issue_api_token,
)


def read_password() -> str:
    """A password from the terminal (asked twice) or the first line of piped stdin."""
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


@click.group()
def user() -> None:
    """Add newsroom users, change their role, issue and revoke API tokens (operator
    commands, audited under your operating-system account)."""


@user.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES),
              help="author: compose and import; approver: also approve; admin: also manage "
                   "users and accounts.")
@click.option("--step", "steps", multiple=True, metavar="STEP",
              help="A step of clearance ([review] steps) the user may approve; repeat for "
                   "more.")
@pass_ctx
def user_add(ctx: Context, name: str, role: str, steps: tuple[str, ...]) -> None:
    """Add a user who signs in to the web UI; the password is read from stdin.

    \b
    Example:
      printf '%s\\n' "$PASSWORD" | factpost user add amira --role approver --step legal
    """
    check_steps(steps, ctx.config.review_steps)
    if steps and role == "author":
        fail("only approvers clear steps; add the user with --role approver")
    u = add_user(ctx.store.users, name, read_password(), role, now=now(),
                 actor=operator())
    held = ctx.store.users.set_steps(u.name, steps, actor=operator(), now=now())
    click.echo(f"user {u.name} added as {u.role}" + (
        f", clears {', '.join(held)}" if held else ""))


@user.command("list")
@pass_ctx
def user_list(ctx: Context) -> None:
    """List users with their role.

    \b
    Example:
      factpost user list
    """
    held = ctx.store.users.steps_by_user()
    ctx.console.print(table("Users", ("Name", "Role", "Steps", "State", "Added"), (
        (u.name, u.role, ", ".join(held.get(u.name, [])),
         "disabled" if u.disabled else "active", local(u.created_at, ctx.tz))
        for u in ctx.store.users.users())))


@user.command("set")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), help="New role.")
@click.option("--disable/--enable", "disabled", default=None,
              help="Stop (or allow again) this user signing in; disabling signs them out and "
                   "revokes their API tokens.")
@click.option("--password", "new_password", is_flag=True,
              help="Read a new password from stdin (signs the user out everywhere and revokes "
                   "their API tokens).")
@click.option("--step", "steps", multiple=True, metavar="STEP",
              help="The steps of clearance ([review] steps) the user may approve, replacing "
                   "those held; repeat for more.")
@click.option("--no-steps", is_flag=True, help="Take every step of clearance away.")
@pass_ctx
def user_set(ctx: Context, name: str, role: str | None, disabled: bool | None,
             new_password: bool, steps: tuple[str, ...], no_steps: bool) -> None:
    """Change a user's role, steps of clearance, password or whether they may sign in.

    \b
    Examples:
      factpost user set amira --role admin
      factpost user set bashir --step legal --step public-affairs
    """
    if role is None and disabled is None and not new_password and not steps and not no_steps:
        raise click.UsageError("give --role, --step/--no-steps, --disable/--enable or "
                               "--password")
    if steps and no_steps:
        raise click.UsageError("give --step or --no-steps, not both")
    check_steps(steps, ctx.config.review_steps)
    if steps and (role or ctx.store.users.require_user(name).role) == "author":
        fail(f"only approvers clear steps; give {name} the approver role too (--role approver)")
    u = ctx.store.users.update_user(
        name, role=check_role(role) if role else None, disabled=disabled,
        password_hash=hash_password(read_password()) if new_password else None,
        actor=operator(), now=now())
    held = ctx.store.users.steps_by_user().get(u.name, [])
    if steps or no_steps:
        held = ctx.store.users.set_steps(u.name, steps, actor=operator(), now=now())
    click.echo(f"user {u.name}: {u.role}, {'disabled' if u.disabled else 'active'}" + (
        f", clears {', '.join(held)}" if held else ""))


class TokenGroup(click.Group):
    """`factpost user token NAME` issues a token, as it always has; `new`, `list` and
    `revoke` are the subcommands (a user named like one: `factpost user token new NAME`)."""

    def resolve_command(self, ctx: click.Context, args: list[str]):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["new", *args]
        return super().resolve_command(ctx, args)


@user.group("token", cls=TokenGroup)
def user_token() -> None:
    """Issue (NAME or new NAME), list and revoke API tokens for scripts and the command line.

    A token works until it expires ([web] api_token_days, 90 by default) or is revoked, and
    dies with its user's password change or disabling.

    \b
    Examples:
      factpost user token amira > ~/.factpost-token
      factpost user token list
      factpost user token revoke 7
    """


@user_token.command("new")
@click.argument("name")
@click.option("--days", type=click.IntRange(1, 3650),
              help="Lifetime in days (default: [web] api_token_days, 90).")
@pass_ctx
def token_new(ctx: Context, name: str, days: int | None) -> None:
    """Print a new API token for NAME, once; scripts send it as 'Authorization: Bearer ...'
    and staff commands read it from FACTPOST_TOKEN.

    \b
    Example:
      factpost user token new amira --days 30 > ~/.factpost-token
    """
    click.echo(issue_api_token(ctx.store.users, name, now=now(), actor=operator(),
                               days=days or ctx.config.api_token_days))


@user_token.command("list")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@pass_ctx
def token_list(ctx: Context, name: str | None, as_json: bool) -> None:
    """List API tokens (never the tokens themselves): who, made, expires, last used, state.

    \b
    Example:
      factpost user token list amira
    """
    from scheduler.cli.common import emit_json, iso

    if name is not None:
        ctx.store.users.require_user(name)
    moment = now()
    rows = []
    for token, user_name in ctx.store.users.api_tokens(name):
        state = ("revoked" if token.revoked_at else
                 "expired" if token.expires_at <= moment else "active")
        rows.append({"id": token.id, "user": user_name, "state": state,
                     "created_at": iso(token.created_at), "expires_at": iso(token.expires_at),
                     "last_used_at": iso(token.last_used_at),
                     "revoked_at": iso(token.revoked_at), "revoked_reason": token.revoked_reason,
                     "_token": token})
    if as_json:
        emit_json([{k: v for k, v in r.items() if k != "_token"} for r in rows])
        return
    ctx.console.print(table("API tokens", ("Id", "User", "State", "Made", "Expires",
                                           "Last used", "Why revoked"), (
        (str(r["id"]), r["user"], r["state"], local(r["_token"].created_at, ctx.tz),
         local(r["_token"].expires_at, ctx.tz), local(r["_token"].last_used_at, ctx.tz),
         r["revoked_reason"] or "") for r in rows)))


@user_token.command("revoke")
@click.argument("token_id", type=int, required=False)
@click.option("--user", "user_name", metavar="NAME", help="Revoke every token of this user.")
@click.option("--reason", default="revoked by hand", show_default=True,
              help="Why, for the audit trail.")
@pass_ctx
def token_revoke(ctx: Context, token_id: int | None, user_name: str | None,
                 reason: str) -> None:
    """Revoke one token (by the id 'token list' shows) or every token of a user, for good.

    \b
    Examples:
      factpost user token revoke 7
      factpost user token revoke --user amira --reason "laptop lost"
    """
    if (token_id is None) == (user_name is None):
        raise click.UsageError("give a TOKEN_ID or --user NAME")
    users = ctx.store.users
    if token_id is not None:
        users.revoke_token(token_id, actor=operator(), now=now(), reason=reason)
        click.echo(f"token {token_id} revoked")
    else:
        n = users.revoke_user_tokens(user_name, actor=operator(), now=now(), reason=reason)
        click.echo(f"{n} token(s) of {user_name} revoked")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port).")
@pass_ctx
def serve(ctx: Context, host: str, port: int) -> None:
    """Serve the newsroom web UI and the /api JSON API.

    Users are added with 'factpost user add'. Put it behind HTTPS and set
    [web] secure_cookies = true before listening on anything but loopback; name the proxy
    in [web] trusted_proxies so that sign-in throttling sees the real client address.

    \b
    Example:
      factpost serve --port 8080
    """
    from scheduler.listening import bind
    from scheduler.web import create_app
    from scheduler.web.limits import run_server

    if not ctx.store.users.users():
        fail("no users yet; add one first: factpost user add NAME --role admin")
    if host not in ("127.0.0.1", "localhost", "::1") and not ctx.config.secure_cookies:
        click.echo("factpost: warning: serving beyond loopback without [web] secure_cookies; "
                   "session cookies may travel in clear text", err=True)
    # Posts queued while review was off wait on the Approvals page, not silently in the queue.
    ctx.store.queue.hold_unreviewed(actor=operator(), now=now())
    app = create_app(ctx.config, ctx.store)
    sock = bind(host, port)
    # The web server delivers alerts too: a daemon that died cannot report its own silence.
    from scheduler.alerts.deliver import start_alerts
    from scheduler.daemon import worker_name

    alerting = start_alerts(ctx.store, ctx.config, worker=f"web:{worker_name()}")
    click.echo(f"factpost: serving on http://{host}:{sock.getsockname()[1]}", err=True)
    try:
        run_server(app, sock, header_timeout=ctx.config.body_timeout_seconds)
    finally:
        if alerting is not None:
            alerting.stop()
