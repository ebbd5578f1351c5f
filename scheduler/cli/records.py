"""`factpost archive` and `factpost audit`: the office's records, exported as a bundle that
verifies on its own (scheduler/archive.py), and the audit trail's hash chain checked in place
(db/audit.py)."""

from __future__ import annotations

from pathlib import Path

import click

from scheduler.cli.common import Context, now, operator, pass_ctx
from scheduler.timing import parse_when


@click.group("archive")
def archive() -> None:
    """Export the records of a period as a self-describing bundle, or verify one.

    \b
    Examples:
      factpost archive export --since 2026-11-01 --until 2026-12-01 records-2026-11
      factpost archive verify records-2026-11
    """


@archive.command("export")
@click.option("--since", metavar="WHEN", help="From this time (office time), e.g. 2026-11-01. "
              "Default: the first record.")
@click.option("--until", metavar="WHEN", help="Before this time (office time). Default: now.")
@click.argument("out", type=click.Path(path_type=Path))
@pass_ctx
def export(ctx: Context, since: str | None, until: str | None, out: Path) -> None:
    """Write every post with audit rows in the period (its text versions, approvals,
    attempts, platform ids and links, images with alt text, source document and section),
    that stretch of the audit trail and a manifest with the SHA-256 of every file, to the new
    folder OUT, as JSON Lines and CSV (docs/RECORDS.md describes every field).

    \b
    Example:
      factpost archive export --since 2026-11-01 --until 2026-12-01 records-2026-11
    """
    from importlib.metadata import version

    from scheduler.archive import export as write_archive

    moment = now()
    written = write_archive(
        ctx.store, out, since=parse_when(since, ctx.tz, moment) if since else None,
        until=parse_when(until, ctx.tz, moment) if until else None, now=moment,
        created_by=operator().name, version=version("factpost"))
    held = (f"audit rows {written.first}-{written.last}" if written.first is not None
            else "no audit rows")
    click.echo(f"archive written to {written.out}: {written.rows['posts']} posts, "
               f"{written.rows['texts']} text versions, {written.rows['attempts']} attempts, "
               f"{written.images} images, {held}")


@archive.command("verify")
@click.argument("out", type=click.Path(path_type=Path))
def verify_archive(out: Path) -> None:
    """Check an archive: every file against the SHA-256 in its manifest, and its audit rows'
    hash chain. Names the first broken file or row and exits with 1.

    \b
    Example:
      factpost archive verify records-2026-11
    """
    from scheduler.archive import verify

    checked = verify(out)
    click.echo(f"archive {out} verified: {checked.files} files, {checked.audit_rows} audit rows "
               f"(chain ends at place {checked.end.seq}, hash {checked.end.row_hash}); "
               f"manifest SHA-256 {checked.manifest_sha256}")


@click.group("audit")
def audit() -> None:
    """Check the audit trail in the database.

    \b
    Example:
      factpost audit verify
    """


@audit.command("verify")
@pass_ctx
def verify_trail(ctx: Context) -> None:
    """Check the audit trail's hash chain, row by row: each row's hash against its content,
    its link to the row before, no place missing, and the chain's head. Names the first broken
    row (id, time, what differs) and exits with 1.

    \b
    Example:
      factpost audit verify
    """
    checked = ctx.store.records.verify()
    click.echo(f"audit trail verified: {checked.rows} rows, chain head at place "
               f"{checked.head.seq}, hash {checked.head.row_hash}")
