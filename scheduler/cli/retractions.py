"""Taking a published post down and correcting it in public: `post retract` and `post correct`
(scheduler/retraction.py does the work; both need the approver role)."""

from __future__ import annotations

import click

from posts.retractions import REASONS
from scheduler.cli.common import Context, fail, local, now, pass_ctx


@click.command("retract")
@click.argument("post_id", type=int)
@click.option("--reason", required=True, type=click.Choice(list(REASONS)),
              help="Why it comes down: the grounds DoD Instruction 5400.17 allows.")
@click.option("--note", required=True, metavar="TEXT",
              help="What was wrong, for the audit trail (at most 1,000 characters).")
@click.option("--acknowledge", metavar="TEXT", is_flag=False, flag_value="", default=None,
              help="Also queue a public acknowledgment of the removal as a draft for "
                   "approval: this text, or with no text a default wording in the post's "
                   "language.")
@click.option("--acknowledge-pair", metavar="TEXT",
              help="For an English/Arabic pair: the acknowledgment in the partner's language "
                   "(default: the default wording in that language).")
@pass_ctx
def post_retract(ctx: Context, post_id: int, reason: str, note: str,
                 acknowledge: str | None, acknowledge_pair: str | None) -> None:
    """Delete a published post on its platform, with the rest of its thread and its pair
    partner, and keep it in the records as retracted, with the reason and note in its audit
    trail. A deletion whose answer is lost is asked again; if that answer is lost too the post
    stays 'retracting': check the account, then run the command again to settle it.

    \b
    Examples:
      factpost post retract 12 --reason factual-error --note "casualty figure was wrong"
      factpost post retract 12 --reason typo --note "wrong date" --acknowledge
      factpost post retract 12 --reason security --note "showed a unit's location" \\
          --acknowledge "We removed a post that should not have been published."
    """
    from scheduler.retraction import retract

    if acknowledge_pair is not None and acknowledge is None:
        raise click.UsageError("--acknowledge-pair goes with --acknowledge")
    done = retract(ctx.store, ctx.config, ctx.staff("approver"), post_id, reason=reason,
                   note=note, now=now(), acknowledge=acknowledge,
                   acknowledge_pair=acknowledge_pair)
    if done.retracted:
        click.echo(f"retracted: post {', '.join(str(i) for i in done.retracted)}")
    for refused, why in done.refused:
        click.echo(f"still published: post {refused}: {why}")
    for unsettled, why in done.unsettled:
        click.echo(f"still retracting: post {unsettled}: {why}")
    if done.acknowledgments:
        click.echo("acknowledgment drafted for approval: post "
                   + ", ".join(str(p.id) for p in done.acknowledgments))
    if done.refused or done.unsettled:
        fail(f"post {post_id} is not wholly retracted; see above")


@click.command("correct")
@click.argument("post_id", type=int)
@click.option("--text", required=True, help="The correction, as it will be posted.")
@pass_ctx
def post_correct(ctx: Context, post_id: int, text: str) -> None:
    """Post a correction of a published post, linked to it in the records: a reply to it
    where the platform threads (X), a post of its own where it does not (Facebook). It is
    queued due now (a draft for approval under review).

    \b
    Example:
      factpost post correct 12 --text "Correction: the briefing is at 11:00, not 10:00."
    """
    from scheduler.retraction import correct

    posts = correct(ctx.store, ctx.config, ctx.staff("approver"), post_id, text, now=now())
    first = posts[0]
    how = "as a reply to it" if first.reply_to_corrected else "as a post of its own"
    click.echo(f"correction of post {post_id} {first.status} {how}: post "
               f"{', '.join(str(p.id) for p in posts)}, at {local(first.scheduled_at, ctx.tz)}")
