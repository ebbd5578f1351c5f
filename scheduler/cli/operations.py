"""Operator commands: set up the database, run the daemon, check and pause accounts, status."""

from __future__ import annotations

import logging
import sys

import click

from db import migrate
from db.engine import check_integrity, describe_url
from db.store import Store
from scheduler.cli.common import (
    Context,
    emit_json,
    iso,
    local,
    now,
    operator,
    pass_ctx,
    table,
)
from scheduler.config import ConfigError, CredentialsMissing
from scheduler.dispatch import Dispatcher
from scheduler.platforms.base import PublishError
from scheduler.platforms.registry import build_publisher
from scheduler.status import status_report


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # APScheduler logs every job run at INFO; only its warnings matter to an operator.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


@click.command()
@pass_ctx
def init(ctx: Context) -> None:
    """Create the database, or upgrade it to the newest schema.

    \b
    Example:
      factpost --config config.toml init
    """
    store = Store.open(ctx.config.database_url)
    try:
        check_integrity(store.engine)
        migrate.upgrade(store.engine)
    finally:
        store.close()
    click.echo(f"database ready: {describe_url(ctx.config.database_url)}")


def build_publishers(ctx: Context) -> dict:
    missing, publishers = [], {}
    for account in ctx.config.accounts:
        try:
            publishers[account.name] = build_publisher(account)
        except CredentialsMissing as exc:
            missing.append(str(exc))
    if missing:
        raise ConfigError("; ".join(missing))
    if not publishers:
        raise ConfigError(f"{ctx.config.path}: no [[accounts]] configured; nothing to publish")
    return publishers


@click.command()
@click.option("--once", is_flag=True, help="Publish what is due now, then exit.")
@click.option("--until-idle", is_flag=True, help="Exit when nothing queued remains.")
@click.option("--dry-run", is_flag=True, help="List what is due now; publish nothing.")
@click.option("--verbose", is_flag=True, help="Debug logging (secrets stay redacted).")
@pass_ctx
def run(ctx: Context, once: bool, until_idle: bool, dry_run: bool, verbose: bool) -> None:
    """Run the publishing daemon (SIGTERM or Ctrl-C finishes the post in hand, then stops).

    \b
    Examples:
      factpost run
      factpost run --once
    """
    store = ctx.store
    check_integrity(store.engine)
    if dry_run:
        # What is due by the one definition the daemon claims by (db/queue.py).
        moment = now()
        due = sorted((p for a in ctx.config.accounts
                      for p in store.queue.due_posts(a.name, moment)),
                     key=lambda p: (p.scheduled_at, p.id))
        for p in due:
            click.echo(f"would publish post {p.id} to {p.account}: {p.text!r}")
        click.echo(f"{len(due)} post(s) due; nothing published (dry run)")
        return
    configure_logging(verbose)
    # The daemon (APScheduler) is loaded by the command that runs it, not by every command.
    from scheduler.alerts.deliver import Deliverer, start_alerts
    from scheduler.daemon import Daemon, worker_name

    dispatcher = Dispatcher(store, ctx.config, build_publishers(ctx), worker=worker_name())
    if once:
        try:
            report = dispatcher.tick()
        finally:
            dispatcher.shutdown()
        if ctx.config.alerts.enabled:
            Deliverer(store, ctx.config, worker=dispatcher.worker).run_once()
    else:
        # Alerts go out from a thread of their own: a slow mail server never holds a post.
        alerting = start_alerts(store, ctx.config, worker=dispatcher.worker)
        try:
            report = Daemon(dispatcher, store, poll_seconds=ctx.config.poll_seconds,
                            until_idle=until_idle).run()
        finally:
            if alerting is not None:
                alerting.stop()
    click.echo(f"published {report.published}, retrying {report.retried}, "
               f"failed {report.failed}, needs review {report.needs_review}")


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_context
def accounts(click_ctx: click.Context, as_json: bool) -> None:
    """List accounts with their state; subcommands check, pause and resume them.

    \b
    Example:
      factpost accounts
    """
    if click_ctx.invoked_subcommand is not None:
        return
    from scheduler.spend import cap_states

    ctx: Context = click_ctx.obj
    states = ctx.store.accounts.states()
    capped = {name: cap.message for cap in cap_states(ctx.store, ctx.config, now())
              if cap.level == "reached" for name in cap.accounts}
    rows = []
    for a in ctx.config.accounts:
        state = states.get(a.name)
        held = state.held_until if state and state.held_until and state.held_until > now() \
            else None
        rows.append({"name": a.name, "platform": a.platform, "handle": a.handle,
                     "paused": bool(state and state.paused),
                     "paused_reason": state.paused_reason if state else None,
                     "held_until": iso(held), "held_reason": state.held_reason if held else None,
                     "budget": f"{a.budget.posts}/{a.budget.window_seconds}s",
                     **a.options,
                     # The monthly spend cap of a billing platform's app: "x_cap" on X.
                     **({f"{a.platform}_cap": capped.get(a.name)} if a.spec.billing else {})})
    if as_json:
        emit_json(rows)
        return
    ctx.console.print(table("Accounts", ("Name", "Platform", "Handle", "State", "Why"), (
        (r["name"], r["platform"], r["handle"],
         "paused" if r["paused"] else ("waiting" if r["held_until"] or capped.get(r["name"])
                                       else "active"),
         r["paused_reason"] or (f"until {local(states[r['name']].held_until, ctx.tz)}: "
                                f"{r['held_reason']}" if r["held_until"] else "")
         or capped.get(r["name"]) or "")
        for r in rows)))


@accounts.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@pass_ctx
def accounts_check(ctx: Context, as_json: bool) -> None:
    """Verify every account's credentials against its platform, and the settings its platform
    checks (a Facebook account's Graph API version against Meta's retirement dates).

    Exits non-zero if any account fails. A Graph version retiring within 90 days is a
    warning; a retired one fails without calling Meta. A billed request (X's
    GET /2/users/me) is written to the spend ledger.

    \b
    Example:
      factpost accounts check --json
    """
    from scheduler.spend import SpendLedger

    ledger = SpendLedger(ctx.store, ctx.config)
    today = now().date()
    results = []
    for account in ctx.config.accounts:
        result = {"account": account.name, "platform": account.platform,
                  "handle": account.handle, "ok": False, "reason": None, "warning": None}
        check = account.spec.check_settings(account, today)
        if check is not None:
            result.update(check.details)
        if check is not None and check.refuse:
            result["reason"] = check.message
            results.append(result)
            continue
        result["warning"] = check.message if check is not None else None
        try:
            publisher = build_publisher(account)
            ledger.attach({account.name: publisher})
            with ledger.charging(purpose="check"):
                info = publisher.check()
        except (CredentialsMissing, PublishError) as exc:
            result["reason"] = str(exc)
        else:
            result["ok"] = True
            result["remote_id"] = info.remote_id
            result["remote_name"] = info.display_name
        results.append(result)
    if as_json:
        emit_json(results)
    else:
        ctx.console.print(table("Account check", ("Account", "Platform", "Handle", "Result"), (
            (r["account"], r["platform"], r["handle"],
             ("ok" + (f" (warning: {r['warning']})" if r["warning"] else ""))
             if r["ok"] else r["reason"])
            for r in results)))
    if not all(r["ok"] for r in results):
        sys.exit(1)


@accounts.command("pause")
@click.argument("name")
@click.option("--reason", required=True, help="Why, for the audit trail.")
@pass_ctx
def accounts_pause(ctx: Context, name: str, reason: str) -> None:
    """Stop publishing to one account; its posts wait.

    \b
    Example:
      factpost accounts pause office-x --reason "tokens being rotated"
    """
    ctx.store.accounts.pause(ctx.config.account(name).name, actor=ctx.staff("admin"),
                             reason=reason, now=now())
    click.echo(f"{name} paused")


@accounts.command("resume")
@click.argument("name")
@pass_ctx
def accounts_resume(ctx: Context, name: str) -> None:
    """Publish to a paused account again.

    \b
    Example:
      factpost accounts resume office-x
    """
    changed = ctx.store.accounts.resume(ctx.config.account(name).name,
                                        actor=ctx.staff("admin"), now=now())
    click.echo(f"{name} resumed" if changed else f"{name} was not paused")


@click.command()
@click.option("--all", "all_", is_flag=True, required=True, help="Every account (required).")
@click.option("--reason", required=True, help="Why, for the audit trail.")
@pass_ctx
def pause(ctx: Context, all_: bool, reason: str) -> None:
    """Hold every account at once (crisis stop); posts wait until 'factpost resume --all'.

    \b
    Example:
      factpost pause --all --reason "national day of mourning"
    """
    actor = ctx.staff("admin")
    for account in ctx.config.accounts:
        ctx.store.accounts.pause(account.name, actor=actor, reason=reason, now=now())
    click.echo(f"paused {len(ctx.config.accounts)} account(s)")


@click.command()
@click.option("--all", "all_", is_flag=True, required=True, help="Every account (required).")
@pass_ctx
def resume(ctx: Context, all_: bool) -> None:
    """Resume every paused account.

    \b
    Example:
      factpost resume --all
    """
    actor = ctx.staff("admin")
    resumed = [a.name for a in ctx.config.accounts
               if ctx.store.accounts.resume(a.name, actor=actor, now=now())]
    click.echo(f"resumed {len(resumed)} account(s)")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_ctx
def status(ctx: Context, as_json: bool) -> None:
    """Daemon heartbeat, posts per state, next due post, paused accounts, last error.

    \b
    Example:
      factpost status --json
    """
    from datetime import datetime

    # Posts queued while review was off become drafts here too, so the count below is news
    # the operator can act on even while no daemon runs.
    ctx.store.queue.hold_unreviewed(actor=operator(), now=now())
    result = status_report(ctx.store, ctx.config, now())
    worker = result.pop("running_worker")
    if as_json:
        emit_json(result)
        return

    def shown(when: str | None) -> str:
        return local(datetime.fromisoformat(when), ctx.tz) if when else ""

    if worker:
        click.echo(f"daemon: last seen {shown(result['last_seen'])} ({worker})")
    else:
        click.echo("daemon: not running")
    click.echo("posts: " + ", ".join(f"{k} {v}" for k, v in result["posts"].items() if v)
               if any(result["posts"].values()) else "posts: none")
    if (due := result["next_due"]) is not None:
        click.echo(f"next due: post {due['id']} for {due['account']} at "
                   f"{shown(due['scheduled_at'])}")
    for p in result["paused_accounts"]:
        click.echo(f"paused: {p['name']} ({p['reason']})")
    if (last := result["last_error"]) is not None:
        click.echo(f"last error: post {last['post_id']}, {shown(last['at'])}: "
                   f"{last['explanation']}")
    x_spend = result["x_spend"]
    for app in x_spend["apps"]:
        cap = f" of the {app['cap_usd']} cap ({app['share']:.0%})" if app["cap_usd"] else ""
        click.echo(f"X spend {x_spend['month']}: {', '.join(app['accounts'])}: "
                   f"{app['spent_usd']}{cap}")
        if app["message"]:
            click.echo(f"warning: {app['message']}")
    for warning in result["warnings"]:
        click.echo(f"warning: {warning}")
    if (held := result["held_for_review"])["post_ids"]:
        click.echo(f"review: {held['message']}: {' '.join(map(str, held['post_ids']))}")
