"""`factpost alerts ...`: the alert outbox from the command line (the daemon and `serve`
deliver on their own; these are for cron and for looking)."""

from __future__ import annotations

import click

from scheduler.cli.common import Context, emit_json, fail, iso, local, pass_ctx, table


@click.group()
def alerts() -> None:
    """Alerts by e-mail and webhook ([alerts] in config.toml)."""


@alerts.command("send")
@pass_ctx
def alerts_send(ctx: Context) -> None:
    """Deliver what is due now, once (the daemon does this every [alerts] check_seconds).

    Also notices daemons gone silent, spend caps reached and platform versions retiring.
    Run it from cron where no daemon or web server may be running to notice.

    \b
    Example:
      factpost alerts send
    """
    from scheduler.alerts.deliver import Deliverer
    from scheduler.daemon import worker_name

    if not ctx.config.alerts.enabled:
        fail(f"{ctx.config.path}: no [alerts.events.KIND] sends to a channel; nothing to "
             "deliver (README, 'Alerts')")
    report = Deliverer(ctx.store, ctx.config, worker=f"alerts:{worker_name()}").run_once()
    click.echo(f"observed {report.observed}, routed {report.routed}, sent {report.sent}, "
               f"failed {report.failed} (failed ones are tried again later)")


@alerts.command("list")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000),
              help="How many of the newest events.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@pass_ctx
def alerts_list(ctx: Context, limit: int, as_json: bool) -> None:
    """The newest alert events and where each was delivered.

    \b
    Examples:
      factpost alerts list
      factpost alerts list --limit 10 --json
    """
    found = ctx.store.alerts.events(limit=limit)
    if as_json:
        emit_json([{"id": event.id, "kind": event.kind, "at": iso(event.at),
                    "subject": event.subject, "post_id": event.post_id,
                    "account": event.account,
                    "deliveries": [{"channel": d.channel, "state": d.state, "tries": d.tries,
                                    "sent_at": iso(d.sent_at), "last_error": d.last_error}
                                   for d in deliveries]}
                   for event, deliveries in found])
        return
    ctx.console.print(table("Alerts", ("Id", "When", "Kind", "What", "Delivered"), (
        (str(event.id), local(event.at, ctx.tz), event.kind, event.subject,
         "; ".join(f"{d.channel}: {d.state}" + (f" ({d.last_error})" if d.last_error else "")
                   for d in deliveries) or "not routed yet")
        for event, deliveries in found)))
