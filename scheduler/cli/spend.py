"""`factpost spend`: what the office's billed requests (X's) cost, per account and UTC day, or
request by request; read from the spend ledger (scheduler/spend.py)."""

from __future__ import annotations

import csv
import io

import click

from scheduler.cli.common import Context, emit_json, now, pass_ctx, table
from scheduler.platforms.billing import usd
from scheduler.records import csv_safe
from scheduler.spend import billing_specs, cap_states
from scheduler.timing import parse_when

DAY_FIELDS = ("day", "account", "app", "requests", "posts", "posts_with_links",
              "resources_read", "spent_usd")
REQUEST_FIELDS = ("id", "at", "account", "app", "operation", "purpose", "state", "units",
                  "billed_units", "unit_usd", "spent_usd", "post_id", "remote_id")


@click.command("spend")
@click.option("--since", metavar="WHEN", help="From this time (office time), e.g. 2026-11-01.")
@click.option("--until", metavar="WHEN", help="Before this time (office time).")
@click.option("--account", help="Only this account.")
@click.option("--requests", "by_request", is_flag=True,
              help="List every request with its price instead of totals per day.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV (for spreadsheets).")
@pass_ctx
def spend(ctx: Context, since: str | None, until: str | None, account: str | None,
          by_request: bool, as_json: bool, as_csv: bool) -> None:
    """Show what billed requests (X's) cost, per account and day (UTC), with this month's
    total per billing app against the cap.

    Prices are the platform's (X's pay-per-use prices, see the README), or those set in its
    table ([x.prices]); a post whose outcome is still unknown counts as spent.

    \b
    Examples:
      factpost spend --since 2026-11-01
      factpost spend --account meridian-x --requests --csv > x-requests.csv
    """
    if as_json and as_csv:
        raise click.UsageError("choose one of --json and --csv")
    moment = now()
    if account is not None:
        account = ctx.config.account(account).name
    window = {"since": parse_when(since, ctx.tz, moment) if since else None,
              "until": parse_when(until, ctx.tz, moment) if until else None,
              "account": account}
    ledger = ctx.store.spend
    billing = billing_specs()
    who = " and ".join(spec.title for spec in billing)
    if by_request:
        rows = [_request_row(c) for c in ledger.charges(**window)]
        fields, title = REQUEST_FIELDS, f"{who} requests"
    else:
        rows = [_day_row(d) for d in ledger.by_day(**window)]
        fields, title = DAY_FIELDS, f"{who} spend per day (UTC)"
    total = sum(r["micros"] for r in rows)
    caps = [c.as_dict() for c in cap_states(ctx.store, ctx.config, moment)]
    if as_json:
        # One billing platform (X) today: its prices' date and source at the top level.
        emit_json({"total_usd": usd(total), "total_micros": total, "rows": rows,
                   "month": caps, **{key: value for spec in billing[:1] for key, value in (
                       ("prices_read_on", spec.billing.read_on.isoformat()),
                       ("prices_url", spec.billing.prices_url))}})
        return
    if as_csv:
        out = io.StringIO()
        # The dialect and the formula rule of every factpost export (scheduler/records.py).
        writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows({k: csv_safe(v) for k, v in _public(r).items()} for r in rows)
        click.echo(out.getvalue(), nl=False)
        return
    if not rows:
        click.echo(f"no {who} requests recorded in this period")
    else:
        ctx.console.print(table(title, [f.replace("_", " ") for f in fields],
                                ([str(r[f]) if r[f] is not None else "" for f in fields]
                                 for r in rows)))
        click.echo(f"total: {usd(total)}")
    for cap in caps:
        line = (f"this month, app {cap['app']} ({', '.join(cap['accounts'])}): "
                f"{cap['spent_usd']}")
        if cap["cap_usd"]:
            line += f" of the {cap['cap_usd']} cap ({cap['share']:.0%})"
        click.echo(line)
        if cap["message"]:
            click.echo(f"warning: {cap['message']}")


def _day_row(d) -> dict:
    return {"day": d.day.isoformat(), "account": d.account, "app": d.app,
            "requests": d.requests, "posts": d.posts, "posts_with_links": d.posts_with_links,
            "resources_read": d.resources_read, "spent_usd": usd(d.micros), "micros": d.micros}


def _request_row(c) -> dict:
    return {"id": c.id, "at": c.at.isoformat(), "account": c.account, "app": c.app,
            "operation": c.operation, "purpose": c.purpose, "state": c.state,
            "units": c.units, "billed_units": c.billed_units, "unit_usd": usd(c.unit_micros),
            "spent_usd": usd(c.micros), "post_id": c.post_id, "remote_id": c.remote_id,
            "micros": c.micros}


def _public(row: dict) -> dict:
    return {k: v for k, v in row.items() if k != "micros"}
