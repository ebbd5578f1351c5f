"""The `factpost` command line. Each command is a thin layer over the store and the modules
below it; errors reach the user as one line (see common.FactpostGroup)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from scheduler.cli import alerts, documents, operations, people, posts, records, retractions
from scheduler.cli import spend as spending
from scheduler.cli.common import Context, FactpostGroup, emit_posts


@click.group(cls=FactpostGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", metavar="FILE", envvar="FACTPOST_CONFIG",
              help="Config file (default: $FACTPOST_CONFIG or ./config.toml).")
@click.version_option(package_name="factpost")
@click.pass_context
def cli(click_ctx: click.Context, config_path: str | None) -> None:
    """factpost: turn official fact sheets into a reviewed, scheduled stream of posts.

    \b
    Start here:
      factpost demo                       the whole path on a built-in emulator
      factpost init                       create the database named in config.toml
      factpost import factsheet.txt       split a fact sheet into scheduled posts
      factpost run                        publish due posts
    """
    import os

    if os.environ.get("FACTPOST_USER"):
        click.echo("factpost: warning: FACTPOST_USER is no longer read; staff commands act as "
                   "the user of the API token in FACTPOST_TOKEN", err=True)
    ctx = Context(config_path)
    click_ctx.obj = ctx
    click_ctx.call_on_close(ctx.close)


@cli.command()
@click.option("--keep", type=click.Path(file_okay=False, path_type=Path),
              help="Keep the demo's config, database and sample here instead of a temp folder.")
def demo(keep: Path | None) -> None:
    """Publish the sample fact sheets (English and Arabic) to a built-in emulator of every
    platform.

    Needs no config and no credentials.

    \b
    Example:
      factpost demo
    """
    from db.store import HistoryFilter
    from scheduler.demo import run_demo
    from scheduler.platforms.billing import usd
    from scheduler.spend import billing_specs

    operations.configure_logging(verbose=False)
    with tempfile.TemporaryDirectory(prefix="factpost-demo-") as tmp:
        workdir = keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        click.echo(f"demo folder: {workdir}")
        imported, published, store, emulator = run_demo(workdir)
        try:
            for report in imported:
                click.echo(f"imported {report.document}: {report.created} posts")
            click.echo(f"published {published.published} through the emulator at "
                       f"{emulator.url}")
            shown = Context(str(workdir / "config.toml"))
            emit_posts(shown, store.history.search(HistoryFilter()), as_json=False, title="History",
                       empty="nothing was published")
            for cost in (c for report in imported for c in report.costs):
                click.echo(f"{cost.title} cost estimated before queueing, {cost.account}: "
                           f"{cost.estimate}")
            spent = sum(c.micros for c in store.spend.charges())
            billed = sum(entry["micros"] for entry in emulator.bill())
            for spec in billing_specs():
                click.echo(f"{spec.title} spend recorded by factpost: {usd(spent)}; billed by "
                           f"the emulator: {usd(billed)} (prices read {spec.billing.read_on} "
                           f"from {spec.billing.prices_url}; 'factpost spend' lists them)")
        finally:
            store.close()
            emulator.stop()


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on.")
@click.option("--seed", type=int, help="Seed for random fault injection.")
@click.option("--env", "print_env", is_flag=True,
              help="Print 'export' lines with the emulator's credentials for the configured "
                   "accounts, then exit.")
@click.pass_obj
def emulator(ctx: Context, host: str, port: int, seed: int | None, print_env: bool) -> None:
    """Serve a local emulator of every platform's API for the configured accounts.

    Accounts use the credentials in their FACTPOST_<NAME>_* variables, or the emulator's own
    (see --env).

    \b
    Examples:
      eval "$(factpost emulator --env)"; factpost emulator --port 8765 &
    """
    import os

    from scheduler.emulated import demo_credentials, run_emulator

    accounts = ctx.config.accounts
    if print_env:
        for account in accounts:
            for name, value in demo_credentials(account).items():
                click.echo(f"export {name}={value}")
        return
    run_emulator(accounts, os.environ, host=host, port=port, seed=seed)


for command in (documents.preview, documents.import_, posts.queue, posts.history, posts.post,
                operations.init, operations.run, operations.accounts, operations.pause,
                operations.resume, operations.status, spending.spend, people.user,
                people.serve, alerts.alerts, records.archive, records.audit):
    cli.add_command(command)
posts.post.add_command(retractions.post_retract)
posts.post.add_command(retractions.post_correct)


def main() -> None:
    cli(prog_name="factpost")
