"""Staff commands: preview and import fact sheets, add and manage posts, list the queue and
the history."""

from __future__ import annotations

import json
from pathlib import Path

import click

from db.store import HistoryFilter
from posts.states import PostStatus
from scheduler.cli.common import (
    Context,
    each_account_option,
    emit_json,
    emit_posts,
    fail,
    local,
    now,
    pass_ctx,
    post_record,
    table,
)
from scheduler.importing import (
    DocumentImportError,
    ImportReport,
    import_file,
    import_pair,
    load_document,
)
from scheduler.platforms import registry
from scheduler.timing import check_not_past, parse_duration, parse_when, read_when


@click.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--links", type=click.Choice(["as-written", "first-part"]), default=None,
              help="X: keep links where the text has them, or put a thread's links in its "
                   "first part (cheaper: X charges more for each post with a link). Default: "
                   "each account's `links` setting, or as-written without a config.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def preview(ctx: Context, file: Path, links: str | None, as_json: bool) -> None:
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
    from dataclasses import replace as with_fields

    from posts.split import split_section
    from scheduler.config import default_config_path
    from scheduler.importing import snippets_for

    loaded = load_document(file)
    sheet = loaded.sheet
    configured = ctx.config_path is not None or default_config_path().is_file()
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
    costs = {spec: spec.billing.estimate(
                 (s["text"] for s in snippets if s["platform"] == spec.name),
                 _billing(ctx, spec, configured).prices)
             for spec in registry.specs() if spec.billing is not None}
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
        "notes": list(loaded.notes),
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
@pass_ctx
def import_(ctx: Context, file: Path, accounts: tuple[str, ...], at: str | None,
            every: str | None, pair: Path | None, bilingual: bool, replace: bool,
            with_images: bool, allow_past: bool) -> None:
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
    moment = now()
    start = _typed_time(at, ctx, moment, allow_past=allow_past) if at else None
    step = parse_duration(every) if every else None
    actor = ctx.author()
    if pair is not None or bilingual:
        report = import_pair(file, pair, store=ctx.store, config=ctx.config, accounts=chosen,
                             actor=actor, now=moment, at=start, every=step)
    else:
        report = import_file(file, store=ctx.store, config=ctx.config, accounts=chosen,
                             actor=actor, now=moment, at=start, every=step,
                             replace=replace, with_images=with_images)
    for note in report.notes:
        click.echo(f"note: {note}")
    for note in report.image_notes:
        click.echo(note)
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
    if report.skipped_accounts:
        click.echo(f"already imported earlier for {', '.join(report.skipped_accounts)}; "
                   "those accounts got nothing new")
    if with_images:
        n = report.images_attached
        click.echo(f"{n} post{'s' if n != 1 else ''} with an image")
    elif report.images_found:
        n = report.images_found
        click.echo(f"{n} image{'s' if n != 1 else ''} found; add --with-images to attach them")


def _typed_time(text: str, ctx: Context, moment, *, allow_past: bool, what: str = "--at"):
    """A WHEN typed by staff, in UTC: refused in the past unless `allow_past`, and with a
    line saying which moment it was taken for where the office's clocks change."""
    when = read_when(text, ctx.tz, moment)
    check_not_past(when.at, moment, allow_past=allow_past, what=what, tz=ctx.tz)
    if when.note:
        click.echo(f"note: {when.note}")
    return when.at


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
        return
    if not correction.changes_posts:
        click.echo(f"{report.document}: no post changes; nothing to do")
        return
    _emit_costs(report, would=True)
    fail(f"{file}: changed since document {correction.previous_id}; nothing imported. Check the "
         f"changes above, then run 'factpost import {file} --replace' to cancel "
         f"{len(correction.supersede)} superseded posts and queue {len(correction.posts)} new "
         "ones (published posts are never touched)")


def _short(text: str, limit: int = 70) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[:limit - 1] + "…")


@click.command()
@each_account_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@pass_ctx
def queue(ctx: Context, accounts: tuple[str, ...], as_json: bool) -> None:
    """List what is scheduled, soonest first.

    \b
    Example:
      factpost queue --account office-x
    """
    posts = [p for name in (accounts or (None,)) for p in ctx.store.history.upcoming(name)]
    posts.sort(key=lambda p: (p.scheduled_at, p.id))
    emit_posts(ctx, posts, as_json=as_json, title="Queue", empty="nothing is scheduled")


@click.command()
@click.option("--account", help="Only this account.")
@click.option("--status", type=click.Choice([s.value for s in PostStatus]),
              help="Only posts in this state.")
@click.option("--since", metavar="WHEN", help="From this time (office time), e.g. 2026-11-01.")
@click.option("--until", metavar="WHEN", help="Before this time (office time).")
@click.option("--search", metavar="TEXT",
              help="Only posts holding these words: words, all must appear; case and "
                   "diacritics ignored; \"a phrase\" in quotes must appear as written.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many posts.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV (for spreadsheets).")
@pass_ctx
def history(ctx: Context, account, status, since, until, search, limit, as_json,
            as_csv) -> None:
    """List posts in every state, newest first.

    \b
    Examples:
      factpost history --status published --since 2026-11-01
      factpost history --search "Art. 51" --csv > export.csv
      factpost history --search 'convoy "port of Basra"'
    """
    if as_json and as_csv:
        raise click.UsageError("choose one of --json and --csv")
    moment = now()
    f = HistoryFilter(account=account, status=status, search=search, limit=limit,
                      since=parse_when(since, ctx.tz, moment) if since else None,
                      until=parse_when(until, ctx.tz, moment) if until else None)
    emit_posts(ctx, ctx.store.history.search(f), as_json=as_json, as_csv=as_csv, title="History",
               empty="no posts match")


@click.group()
def post() -> None:
    """Add, show, edit, approve, reject, cancel, retry and resolve single posts.

    Every command here but add and show acts as a factpost user: set FACTPOST_TOKEN to your
    API token (from 'factpost user token NAME'); your role is checked as in the web UI.
    """


@post.command("add")
@click.argument("text")
@click.option("--account", required=True, metavar="NAME", help="Account to post to.")
@click.option("--at", "at", metavar="WHEN", default="now", show_default=True,
              help="When: 'now', '+2h' or '2026-12-01 09:00' (office time).")
@click.option("--image", type=click.Path(path_type=Path), metavar="FILE",
              help="Attach this image (to the first part of a thread), in a format and size "
                   "the platform takes (README, Images). It is stored in the database.")
@click.option("--alt", "alt_text", metavar="TEXT",
              help="Alt text describing the image (required with --image; at most 1000 "
                   "characters).")
@click.option("--allow-past", is_flag=True, help="Accept an --at time in the past.")
@pass_ctx
def post_add(ctx: Context, text: str, account: str, at: str, image: Path | None,
             alt_text: str | None, allow_past: bool) -> None:
    """Queue one post, optionally with an image. Text too long for one post becomes a
    thread on a platform that threads (X), split as an imported fact sheet would be; on one
    that does not (Facebook) it is refused.

    \b
    Examples:
      factpost post add "Briefing at 10:00 today." --account office-x --at "+1h"
      factpost post add "Convoy arrives." --account office-fb --image convoy.jpg \\
          --alt "Trucks unloading aid at Sel Harbour"
    """
    from scheduler.compose import compose
    from scheduler.images import read_image
    from scheduler.platforms.billing import usd

    acct = ctx.config.account(account)
    if alt_text is not None and image is None:
        raise click.UsageError("--alt describes an image; give the image with --image FILE")
    media = read_image(image, alt_text, acct.spec) if image is not None else None
    moment = now()
    posts = compose(ctx.store, ctx.config, ctx.author(), acct, text,
                    when=_typed_time(at, ctx, moment, allow_past=allow_past), now=moment,
                    media=media)
    first = posts[0]
    attached = f" with a {media.size // 1024 or 1} KB image" if media else ""
    what = f"thread of {len(posts)} posts ({', '.join(str(p.id) for p in posts)})" \
        if len(posts) > 1 else f"post {first.id}"
    billed = ctx.config.billing_for(acct.platform)
    spent = ""
    if billed is not None:
        cost = acct.spec.billing.estimate((p.text for p in posts), billed.prices)
        spent = f" (on {acct.spec.title}: {usd(cost.micros)})"
    click.echo(f"{what} {first.status} for {acct.name}{attached} at "
               f"{local(first.scheduled_at, ctx.tz)}{spent}")


@post.command("show")
@click.argument("post_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_ctx
def post_show(ctx: Context, post_id: int, as_json: bool) -> None:
    """Show a post with its attempts and audit trail.

    \b
    Example:
      factpost post show 12
    """
    p = ctx.store.history.get(post_id)
    trail = ctx.store.history.audit_trail(post_id)
    attempts = [{"started_at": a.started_at.isoformat(), "outcome": a.outcome,
                 "error_code": a.error_code, "error_message": a.error_message,
                 "explanation": a.explanation, "remote_id": a.remote_id} for a in p.attempts]
    audit = [{"at": e.at.isoformat(), "actor": e.actor, "action": e.action,
              "from": e.from_status, "to": e.to_status, "reason": e.reason} for e in trail]
    image = ctx.store.media.summary(p.media_id) if p.media_id else None
    if as_json:
        emit_json({**post_record(p), "image": image, "pair_id": p.pair_id,
                   "attempts": attempts, "audit": audit})
        return
    record = post_record(p)
    for key in ("id", "account", "status", "document", "section", "remote_url"):
        if record[key] is not None:
            click.echo(f"{key:>10}: {record[key]}")
    click.echo(f"{'scheduled':>10}: {local(p.scheduled_at, ctx.tz)} ({ctx.tz.key})")
    if p.published_at:
        click.echo(f"{'published':>10}: {local(p.published_at, ctx.tz)}")
    if p.thread_size > 1:
        click.echo(f"{'thread':>10}: part {p.thread_position} of {p.thread_size}")
    if p.pair_id:
        click.echo(f"{'pair':>10}: goes out together with post {p.pair_id}")
    if p.last_error and p.status != PostStatus.PUBLISHED:
        click.echo(f"{'why':>10}: {p.last_error}")
    if image:
        click.echo(f"{'image':>10}: {image['mime_type']}, {image['size']} bytes, "
                   f"alt: {image['alt_text']}")
    click.echo("\n" + p.text + "\n")
    if attempts:
        ctx.console.print(table("Attempts", ("Started", "Outcome", "Code", "Why"), (
            (local(a.started_at, ctx.tz), a.outcome or "in flight", a.error_code or "",
             a.explanation or "") for a in p.attempts)))
    ctx.console.print(table("Audit trail", ("When", "Who", "What", "Change", "Why"), (
        (local(e.at, ctx.tz), e.actor, e.action,
         f"{e.from_status or '-'} → {e.to_status or '-'}", e.reason or "") for e in trail)))


@post.command("edit")
@click.argument("post_id", type=int)
@click.option("--text", help="New text.")
@click.option("--at", "at", metavar="WHEN", help="New time.")
@click.option("--allow-past", is_flag=True, help="Accept an --at time in the past.")
@pass_ctx
def post_edit(ctx: Context, post_id: int, text: str | None, at: str | None,
              allow_past: bool) -> None:
    """Change a post's text or time (only before it is published).

    \b
    Example:
      factpost post edit 12 --at "2026-12-01 15:00"
    """
    if text is None and at is None:
        raise click.UsageError("give --text and/or --at")
    actor = ctx.staff("author")
    moment = now()
    if text is not None:
        from scheduler.compose import check_text

        spec = registry.spec(ctx.store.history.get(post_id).platform)
        text = check_text(text, spec.text, spec.title)
    p = ctx.store.posts.edit(post_id, actor=actor, now=moment, text=text,
                             scheduled_at=(_typed_time(at, ctx, moment, allow_past=allow_past)
                                          if at else None))
    click.echo(f"post {p.id} is {p.status}, at {local(p.scheduled_at, ctx.tz)}")


@post.command("cancel")
@click.argument("post_id", type=int)
@click.option("--reason", help="Why, for the audit trail.")
@pass_ctx
def post_cancel(ctx: Context, post_id: int, reason: str | None) -> None:
    """Cancel a post that is not yet published.

    \b
    Example:
      factpost post cancel 12 --reason "superseded by statement 14"
    """
    p = ctx.store.posts.cancel(post_id, actor=ctx.staff("author"), now=now(), reason=reason)
    click.echo(f"post {p.id} cancelled")


@post.command("approve")
@click.argument("post_ids", type=int, nargs=-1, required=True)
@pass_ctx
def post_approve(ctx: Context, post_ids: tuple[int, ...]) -> None:
    """Approve drafts so they publish at their time.

    \b
    Example:
      factpost post approve 12 13 14
    """
    approved = ctx.store.posts.approve(post_ids, actor=ctx.staff("approver"), now=now())
    click.echo(f"approved {len(approved)} post(s): {' '.join(str(p.id) for p in approved)}")


@post.command("reject")
@click.argument("post_id", type=int)
@click.option("--reason", help="Why, for the author and the audit trail.")
@pass_ctx
def post_reject(ctx: Context, post_id: int, reason: str | None) -> None:
    """Turn a draft down (it is cancelled, with its pair partner); needs the approver role.

    \b
    Example:
      factpost post reject 12 --reason "figures not yet cleared"
    """
    p = ctx.store.posts.reject(post_id, actor=ctx.staff("approver"), now=now(), reason=reason)
    click.echo(f"post {p.id} rejected")


@post.command("retry")
@click.argument("post_id", type=int)
@pass_ctx
def post_retry(ctx: Context, post_id: int) -> None:
    """Queue a failed or needs_review post again, due now (under review, one without an
    approval goes to draft for approval).

    \b
    Example:
      factpost post retry 12
    """
    p = ctx.store.posts.retry(post_id, actor=ctx.staff("author"), now=now())
    click.echo(f"post {p.id} queued again" if p.status == PostStatus.QUEUED
               else f"post {p.id} is a draft again; it needs an approval")


@post.command("resolve")
@click.argument("post_id", type=int)
@click.option("--published", "remote_id", metavar="REMOTE_ID",
              help="The post IS on the platform, under this id.")
@click.option("--url", help="Its link (optional).")
@click.option("--retry", "retry_", is_flag=True, help="The post is NOT there: send it again.")
@pass_ctx
def post_resolve(ctx: Context, post_id: int, remote_id: str | None, url: str | None,
                 retry_: bool) -> None:
    """Settle a post in needs_review after checking the account by hand.

    \b
    Examples:
      factpost post resolve 12 --published 1861234567890123456
      factpost post resolve 12 --retry
    """
    if bool(remote_id) == retry_:
        raise click.UsageError("give exactly one of --published REMOTE_ID and --retry")
    if retry_:
        actor = ctx.staff("author")
        p = ctx.store.history.get(post_id)
        if p.status != PostStatus.NEEDS_REVIEW:
            raise click.UsageError(f"post {post_id} is {p.status}, not needs_review")
        p = ctx.store.posts.retry(post_id, actor=actor, now=now())
        click.echo(f"post {post_id} queued again" if p.status == PostStatus.QUEUED
                   else f"post {post_id} is a draft again; it needs an approval")
        return
    p = ctx.store.posts.resolve_published(post_id, remote_id=remote_id, remote_url=url,
                                          actor=ctx.staff("approver"), now=now())

    # The create whose outcome was unknown did make the post: X billed it.
    ctx.store.spend.settle_post(post_id, found=True, remote_id=remote_id)
    click.echo(f"post {p.id} marked published as {remote_id}")
