"""Fact sheets on the command line: `preview` shows how one splits and what it costs, `import`
queues it (or shows what a changed version would change)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from scheduler.cli.common import (
    Context,
    each_account_option,
    fail,
    local,
    now,
    pass_ctx,
    typed_time,
)
from scheduler.gc_pause import gc_paused
from scheduler.importing import ImportReport, import_file
from scheduler.pairing import import_pair
from scheduler.platforms import registry
from scheduler.reading import DocumentImportError, check_base_url, load_document
from scheduler.timing import parse_duration


@click.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--links", type=click.Choice(["as-written", "first-part"]), default=None,
              help="X: keep links where the text has them, or put a thread's links in its "
                   "first part (cheaper: X charges more for each post with a link). Default: "
                   "each account's `links` setting, or as-written without a config.")
@click.option("--base-url", metavar="URL",
              help="Where the document is published (https://...): relative link addresses "
                   "in HTML, Markdown or Word resolve against it, where the page has no "
                   "<base href>. Without it they are dropped, with a note.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def preview(ctx: Context, file: Path, links: str | None, base_url: str | None,
            as_json: bool) -> None:
    """Show how FILE splits into sections and posts, and what the posts will cost where a
    platform bills per request (X); writes nothing.

    With a config (--config, $FACTPOST_CONFIG or ./config.toml), the posts are shown per
    account exactly as `import` would queue them, hashtags included, priced as it sets
    ([x.prices]); without one, per platform at its published prices. Lines left out of the
    posts (contact details, headings with no text) and close calls are listed as notes.
    Needs no database.

    \b
    Example:
      factpost preview factsheet.txt --json
    """
    from scheduler.config import default_config_path

    configured = ctx.config_path is not None or default_config_path().is_file()
    limits = ctx.config.limits if configured else None
    loaded = load_document(file, check_base_url(base_url) if base_url else None, limits)
    # A large sheet's split holds it all alive at once, which the cyclic collector would walk
    # to free nothing (gc_pause). `import` pauses it after reading too: like with like.
    with gc_paused():
        _preview(ctx, loaded, configured=configured, limits=limits, links=links,
                 as_json=as_json)


def _preview(ctx: Context, loaded, *, configured: bool, limits, links: str | None,
             as_json: bool) -> None:
    from dataclasses import replace as with_fields

    from posts.split import split_section
    from scheduler.planning import check_post_count, snippets_for

    sheet = loaded.sheet
    accounts = ctx.config.accounts if configured else ()
    snippets = [
        {"account": account.name, "platform": account.platform,
         "section": sheet.sections[i].heading or f"section {i + 1}", **_snippet(s)}
        for account in accounts
        for i, units in snippets_for(sheet, with_fields(account, links=links or account.links))
        for s in units
    ] or [
        {"platform": spec.name, "section": section.heading or f"section {i + 1}",
         **_snippet(s)}
        for spec in registry.specs()
        for i, section in enumerate(sheet.sections)
        for s in split_section(section, spec.text, links=links or "as-written")
    ]
    check_post_count(len(snippets), limits)
    costs = {spec: spec.billing.estimate(
                 (s["text"] for s in snippets if s["platform"] == spec.name),
                 _billing(ctx, spec, configured).prices)
             for spec in registry.specs() if spec.billing is not None}
    outlooks = _cap_outlooks(ctx, snippets) if configured else []
    result = {
        "title": sheet.title,
        "sections": [{"heading": s.heading, "text": s.text} for s in sheet.sections],
        "contacts": {
            "emails": list(sheet.contacts.emails), "phones": list(sheet.contacts.phones),
            "urls": list(sheet.contacts.urls),
            "accounts": [{"platform": a.platform, "handle": a.handle}
                         for a in sheet.contacts.accounts],
        },
        "snippets": snippets,
        "images": [_image_record(n, image, sheet) for n, image in enumerate(loaded.images, 1)],
        **{f"{spec.name}_cost": _cost_record(cost) for spec, cost in costs.items()},
        # Only where a monthly cap is set, so that output without one stays as it was.
        **({"cap": [o.as_dict() for o in outlooks]} if outlooks else {}),
        "notes": [str(note) for note in loaded.notes],
    }
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    click.echo(f"Title: {sheet.title or '(none)'}")
    for account in sheet.contacts.accounts:
        click.echo(f"Contact account: {account.platform} {account.handle}")
    for phone in sheet.contacts.phones:
        click.echo(f"Contact phone: {phone}")
    for s in snippets:
        part = (f" [{s['thread_position']}/{s['thread_size']}]" if s["thread_size"] > 1 else "")
        who = s.get("account") or s["platform"]
        click.echo(f"\n--- {who} · {s['section']}{part} · {s['weighted_length']} ---")
        click.echo(s["text"])
    for spec, cost in costs.items():
        click.echo(f"\n{spec.title} cost: {cost} ({_prices_note(spec)})")
    for line in _cap_lines(outlooks):
        click.echo(f"warning: {line}")
    if result["images"]:
        n = len(result["images"])
        click.echo(f"\n{n} image{'s' if n != 1 else ''}:")
    for image in result["images"]:
        what = (f"{image['type'] or 'not an image'}, {image['size']} bytes"
                if image["size"] is not None else f"skipped: {image['skipped']}")
        alt = f"alt: {image['alt_text']}" if image["alt_text"] else "no alt text"
        click.echo(f"  {image['number']}. {image['section'] or '(no section)'} · "
                   f"{image['source']} · {what} · {alt}")
    if loaded.notes:
        click.echo("")
    for note in loaded.notes:
        click.echo(f"note: {note}")


def _snippet(s) -> dict:
    return {"text": s.text, "weighted_length": s.weighted_length,
            "thread_position": s.thread_position, "thread_size": s.thread_size}


def _cap_outlooks(ctx: Context, snippets: list[dict]) -> list:
    """What queueing the previewed posts now would do to each capped billing app's month:
    against what the database says is spent and queued when it is there to read (preview
    never creates one), against the whole cap otherwise."""
    from db.store import PlannedPost
    from scheduler.cap_outlook import cap_outlook

    moment = now()
    planned = [PlannedPost(account=s["account"], platform=s["platform"], text=s["text"],
                           scheduled_at=moment, thread_position=s["thread_position"],
                           thread_size=s["thread_size"]) for s in snippets if "account" in s]
    if not planned:
        return []
    store = _existing_store(ctx)
    try:
        return cap_outlook(store, ctx.config, planned, moment)
    finally:
        if store is not None:
            store.close()


def _cap_lines(outlooks) -> list[str]:
    from scheduler.platforms.billing import usd

    lines = []
    for o in outlooks:
        if o.never_fits:
            lines.append(f"a post or thread for {o.largest_for} costs {usd(o.largest_unit)} on "
                         f"{o.title}, more than the whole {usd(o.cap)} monthly cap: import "
                         "would refuse it")
        elif o.message:
            lines.append(o.message)
    return lines


def _existing_store(ctx: Context):
    """The configured database if it exists and is current, else None (created by nobody)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError

    from db import migrate
    from db.store import Store
    from posts.errors import FactpostError

    url = make_url(ctx.config.database_url)
    if url.get_backend_name() == "sqlite" and not (url.database and Path(url.database).is_file()):
        return None
    try:
        store = Store.open(ctx.config.database_url)
        if migrate.is_current(store.engine):
            return store
        store.close()
    except (DBAPIError, FactpostError):
        return None  # a preview goes on without the database
    return None


def _billing(ctx: Context, spec, configured: bool):
    """The office's prices for a billing platform, or the platform's own without a config."""
    return ctx.config.billing_for(spec.name) if configured else spec.billing.defaults()


def _cost_record(cost) -> dict:
    from scheduler.platforms.billing import usd

    return {"posts": cost.posts, "posts_with_links": cost.with_links, "usd": usd(cost.micros),
            "micros": cost.micros, "summary": str(cost)}


def _prices_note(spec) -> str:
    return (f"{spec.title} pay-per-use prices read {spec.billing.read_on} from "
            f"{spec.billing.prices_url}")


def _image_record(number: int, image, sheet) -> dict:
    from posts.media import sniff_image_type

    section = None
    if image.section is not None:
        section = sheet.sections[image.section].heading or f"section {image.section + 1}"
    return {"number": number, "section": section, "source": image.source,
            "type": sniff_image_type(image.content) if image.content is not None else None,
            "size": len(image.content) if image.content is not None else None,
            "alt_text": image.alt or None, "skipped": image.skipped}


@click.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@each_account_option
@click.option("--at", "at", metavar="WHEN",
              help="Time of the first post: 'now', '+2h', '2026-12-01 09:00' (office time).")
@click.option("--every", metavar="DURATION",
              help="Spacing between posts, e.g. 30m or 0s. Without --at/--every, posts go "
                   "into each account's slots.")
@click.option("--pair", "pair", type=click.Path(path_type=Path), metavar="ARABIC_FILE",
              help="FILE is the English version and this the Arabic one: queue them as "
                   "linked pairs for the English and Arabic accounts (config `language`).")
@click.option("--bilingual", is_flag=True,
              help="FILE holds both the English and the Arabic version: pair them.")
@click.option("--replace", is_flag=True,
              help="FILE is a corrected version of a file imported before: cancel its "
                   "superseded unpublished posts and queue the new ones, in one step.")
@click.option("--with-images", is_flag=True,
              help="Attach each section's first image (with its alt text from the document) "
                   "to the section's first post, where the platform takes it.")
@click.option("--allow-past", is_flag=True,
              help="Accept an --at time in the past: the overdue posts go out at once, then "
                   "no faster than their --every spacing.")
@click.option("--base-url", metavar="URL",
              help="Where the document is published (https://...): relative link addresses "
                   "in HTML, Markdown or Word resolve against it, where the page has no "
                   "<base href>. Without it they are dropped, with a note.")
@pass_ctx
def import_(ctx: Context, file: Path, accounts: tuple[str, ...], at: str | None,
            every: str | None, pair: Path | None, bilingual: bool, replace: bool,
            with_images: bool, allow_past: bool, base_url: str | None) -> None:
    """Import a fact sheet (.txt, .md, .html, .pdf, .docx) and schedule its posts for each
    account.

    Importing the same document again adds nothing. A changed version of a file imported
    before (same file name) is not imported: the command lists which posts changed, which
    are new and which were already published, and --replace then carries it out.
    With --pair or --bilingual, the English and Arabic versions are paired section by
    section and each pair publishes both or neither. With --with-images, images in the
    document go with the first post of their section; an image without alt text, or one a
    platform does not take, is left out with a note saying why.

    \b
    Examples:
      factpost import factsheet.docx
      factpost import factsheet.txt --account office-x --at now --every 0s
      factpost import factsheet.docx --replace
      factpost import factsheet_en.txt --pair factsheet_ar.txt
      factpost import factsheet.docx --with-images
      factpost import factsheet.html --base-url https://www.jtf-meridian.mil/news/
    """
    chosen = [ctx.config.account(n) for n in accounts] or list(ctx.config.accounts)
    if not chosen:
        raise DocumentImportError(f"{ctx.config.path}: no [[accounts]] configured; add one "
                                  "before importing")
    if pair is not None and bilingual:
        raise click.UsageError("give --pair ARABIC_FILE or --bilingual, not both")
    if replace and (pair is not None or bilingual):
        raise click.UsageError("--replace corrects one file; it cannot be combined with "
                               "--pair or --bilingual")
    if with_images and (pair is not None or bilingual):
        raise click.UsageError("--with-images works on one document; it cannot be combined "
                               "with --pair or --bilingual")
    if base_url and (pair is not None or bilingual):
        raise click.UsageError("--base-url works on one document; it cannot be combined "
                               "with --pair or --bilingual")
    base = check_base_url(base_url) if base_url else None
    moment = now()
    start = typed_time(at, ctx, moment, allow_past=allow_past) if at else None
    step = parse_duration(every) if every else None
    actor = ctx.author()
    if pair is not None or bilingual:
        report = import_pair(file, pair, store=ctx.store, config=ctx.config, accounts=chosen,
                             actor=actor, now=moment, at=start, every=step)
    else:
        report = import_file(file, store=ctx.store, config=ctx.config, accounts=chosen,
                             actor=actor, now=moment, at=start, every=step,
                             replace=replace, with_images=with_images, base_url=base)
    for note in report.notes:
        click.echo(f"note: {note}")
    for note in report.image_notes:
        click.echo(note)
    for warning in report.language_warnings:
        click.echo(f"warning: {warning}")
    if report.correction is not None:
        _emit_correction(ctx, file, report)
        return
    if report.created == 0:
        click.echo(f"{report.document}: already imported for "
                   f"{', '.join(report.skipped_accounts)}; nothing added")
        return
    state = "drafts awaiting approval" if ctx.config.require_approval else "queued"
    click.echo(f"{report.document}: {report.created} posts {state}, "
               f"{local(report.first_at, ctx.tz)} to {local(report.last_at, ctx.tz)} "
               f"({ctx.tz.key})")
    _emit_costs(report)
    for warning in report.cap_warnings:
        click.echo(f"warning: {warning}")
    if report.skipped_accounts:
        click.echo(f"already imported earlier for {', '.join(report.skipped_accounts)}; "
                   "those accounts got nothing new")
    if with_images:
        n = report.images_attached
        click.echo(f"{n} post{'s' if n != 1 else ''} with an image")
    elif report.images_found:
        n = report.images_found
        click.echo(f"{n} image{'s' if n != 1 else ''} found; add --with-images to attach them")


def _emit_costs(report: ImportReport, would: bool = False) -> None:
    for cost in report.costs:
        spec = next(s for s in registry.specs() if s.title == cost.title)
        click.echo(f"{cost.account}: {cost.estimate}{' with --replace' if would else ''} on "
                   f"{cost.title} ({_prices_note(spec)})")


def _emit_correction(ctx: Context, file: Path, report: ImportReport) -> None:
    correction = report.correction
    state = "drafts awaiting approval" if ctx.config.require_approval else "queued"
    click.echo(f"{report.document}: a changed version of document {correction.previous_id} "
               "(same file name, other content)")
    for account, changes in correction.changes.items():
        unchanged = sum(1 for c in changes if c.kind == "unchanged")
        click.echo(f"{account}: {unchanged} unchanged")
        for c in changes:
            if c.out_of_reach:
                what = "changed" if c.kind == "changed" else "left out"
                click.echo(f"  PUBLISHED post {c.old.id} ({c.old.status}) "
                           f"{c.old.remote_url or '(no link)'}: {what} in the new version; "
                           "post a correction by hand")
            elif c.kind == "changed":
                click.echo(f"  changed   post {c.old.id} ({c.old.status}) -> {_short(c.new.text)}")
            elif c.kind == "new":
                click.echo(f"  new       {_short(c.new.text)}")
            elif c.kind == "removed":
                click.echo(f"  removed   post {c.old.id} ({c.old.status}): {_short(c.old.text)}")
    if report.applied:
        click.echo(f"{report.document}: imported as document {report.document_id}; "
                   f"{len(correction.supersede)} superseded posts cancelled, {report.created} "
                   f"posts {state}")
        if report.created:
            click.echo(f"from {local(report.first_at, ctx.tz)} to {local(report.last_at, ctx.tz)}"
                       f" ({ctx.tz.key})")
        _emit_costs(report)
        for warning in report.cap_warnings:
            click.echo(f"warning: {warning}")
        return
    if not correction.changes_posts:
        click.echo(f"{report.document}: no post changes; nothing to do")
        return
    _emit_costs(report, would=True)
    for warning in report.cap_warnings:
        click.echo(f"warning: {warning}")
    fail(f"{file}: changed since document {correction.previous_id}; nothing imported. Check the "
         f"changes above, then run 'factpost import {file} --replace' to cancel "
         f"{len(correction.supersede)} superseded posts and queue {len(correction.posts)} new "
         "ones (published posts are never touched)")


def _short(text: str, limit: int = 70) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[:limit - 1] + "…")


