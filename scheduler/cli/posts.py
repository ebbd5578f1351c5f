"""Posts on the command line: `post add/show/edit/cancel/approve/reject/retry/resolve`, and the
`queue` and `history` listings."""

from __future__ import annotations

from pathlib import Path

import click

from db.store import HistoryFilter
from posts.states import PostStatus
from scheduler.cli.common import (
    Context,
    each_account_option,
    emit_json,
    emit_posts,
    local,
    now,
    pass_ctx,
    post_record,
    table,
    typed_time,
)
from scheduler.timing import parse_when


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
    """Add, show, edit, approve, reject, cancel, retry, resolve, retract and correct single
    posts.

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
    warnings: list[str] = []
    posts = compose(ctx.store, ctx.config, ctx.author(), acct, text,
                    when=typed_time(at, ctx, moment, allow_past=allow_past), now=moment,
                    media=media, warnings=warnings)
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
    for warning in warnings:
        click.echo(f"warning: {warning}")


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
    version = ctx.store.posts.versions([post_id])[post_id]
    answered_by = [a.id for a in ctx.store.retractions.answers_to(post_id)]
    clearance = ctx.store.posts.progress([post_id])[post_id]
    if as_json:
        emit_json({**post_record(p), "image": image, "pair_id": p.pair_id, "version": version,
                   "clearance": clearance.record(), "corrects_id": p.corrects_id,
                   "answered_by": answered_by, "attempts": attempts, "audit": audit})
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
    if p.corrects_id:
        click.echo(f"{'answers':>10}: post {p.corrects_id}"
                   + (", as a reply to it" if p.reply_to_corrected else ""))
    if answered_by:
        click.echo(f"{'answered':>10}: by post {', '.join(str(i) for i in answered_by)}")
    click.echo(f"{'version':>10}: {version} (factpost post approve {p.id} --version {version})"
               if p.status == PostStatus.DRAFT else f"{'version':>10}: {version}")
    if ctx.config.review_steps and p.status == PostStatus.DRAFT:
        click.echo(f"{'clearance':>10}: {clearance.summary()}")
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
        from scheduler.compose import edited_text

        text = edited_text(text, ctx.store.history.get(post_id), ctx.config)
    p = ctx.store.posts.edit(post_id, actor=actor, now=moment, text=text,
                             scheduled_at=(typed_time(at, ctx, moment, allow_past=allow_past)
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
@click.option("--version", "version", metavar="VERSION",
              help="With one post id: approve it only if it is still the version 'post show' "
                   "printed (refused if it changed since).")
@pass_ctx
def post_approve(ctx: Context, post_ids: tuple[int, ...], version: str | None) -> None:
    """Approve drafts so they publish at their time. Each is approved as it stands when the
    command reads it, and the command prints that version and its text; with --version, only
    the version you read in 'post show'. With [review] steps, this clears the step each post
    waits for (one you hold; the output names it), and the last step approves it.

    \b
    Examples:
      factpost post approve 12 13 14
      factpost post approve 12 --version 3f2a9c1b7d04e655
    """
    if version is not None and len(set(post_ids)) != 1:
        raise click.UsageError("--version goes with one post id (each post has its own "
                               "version)")
    actor = ctx.staff("approver")
    seen = ({post_ids[0]: version} if version is not None
            else ctx.store.posts.versions(post_ids))
    if version is None:
        for post_id in dict.fromkeys(post_ids):
            text = ctx.store.history.get(post_id).text
            click.echo(f"post {post_id}, version {seen[post_id]}: {_excerpt(text)}")
    approved = ctx.store.posts.approve(post_ids, seen=seen, actor=actor, now=now())
    if not ctx.config.review_steps:
        click.echo(f"approved {len(approved)} post(s): {' '.join(str(p.id) for p in approved)}")
        return
    progress = ctx.store.posts.progress(p.id for p in approved)
    for p in approved:
        done = progress[p.id]
        step = done.cleared[-1].step if done.cleared else done.steps[-1]
        click.echo(f"post {p.id}: cleared step {step} ({done.steps.index(step) + 1} of "
                   f"{len(done.steps)})" + (f"; waits for {done.waiting_for}" if done.waiting_for
                                            else f"; approved, {p.status}"))


def _excerpt(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


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
    """Settle a post in needs_review after checking the account by hand: it is there
    (--published, with its id on the platform) or it is not (--retry sends it again). The
    options go before or after the post's id.

    \b
    Examples:
      factpost post resolve 12 --published 1861234567890123456
      factpost post resolve 12 --retry
      factpost post resolve --retry 12
    """
    from db.errors import NotEditable

    if bool(remote_id) == retry_:
        raise click.UsageError("give exactly one of --published REMOTE_ID and --retry")
    if retry_:
        actor = ctx.staff("author")
        p = ctx.store.history.get(post_id)
        if p.status != PostStatus.NEEDS_REVIEW:
            # A state, not a usage mistake: one line, and the command that does apply.
            hint = (f"; send a failed post again with 'factpost post retry {post_id}'"
                    if p.status == PostStatus.FAILED else "")
            raise NotEditable(f"post {post_id} is {p.status}; only needs_review posts are "
                              f"resolved by hand{hint}")
        p = ctx.store.posts.retry(post_id, actor=actor, now=now())
        click.echo(f"post {post_id} queued again" if p.status == PostStatus.QUEUED
                   else f"post {post_id} is a draft again; it needs an approval")
        return
    p = ctx.store.posts.resolve_published(post_id, remote_id=remote_id, remote_url=url,
                                          actor=ctx.staff("approver"), now=now())

    # The create whose outcome was unknown did make the post: X billed it.
    ctx.store.spend.settle_post(post_id, found=True, remote_id=remote_id)
    click.echo(f"post {p.id} marked published as {remote_id}")
