"""What a page and the API both do, so the two never disagree."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from db.models import Post
from scheduler.compose import Draft, compose_many, image_for, pairs_among
from scheduler.compose import compose as compose_post
from scheduler.timing import TimeFormatError, check_not_past, free_slots, parse_when
from scheduler.web.auth import Actor
from scheduler.web.context import Web
from scheduler.web.i18n import gettext


def parse_time(web: Web, text: str) -> datetime:
    """A time typed by staff ('now', '+2h', '2026-12-01 09:00' or a datetime-local value, in
    the office timezone), in UTC."""
    try:
        when = parse_when(text, web.tz, web.now())
        if not 1 < when.astimezone(UTC).year < 9999:
            raise OverflowError
        return when
    except (OverflowError, ValueError):
        # Date arithmetic out of datetime's range (a year past 9999 in some zone).
        raise TimeFormatError(gettext("cannot use time %(text)r; write 'now', '+2h' or "
                                      "'2026-12-01 09:00' (office timezone)", text=text)
                              ) from None


def schedule_time(web: Web, text: str) -> datetime:
    """A time to schedule posts at (`parse_time`), refused when it is in the past: a post
    queued in the past would go out at once, out of its planned order."""
    when = parse_time(web, text)
    check_not_past(when, web.now(), allow_past=False, what="the time", tz=web.tz, hint="")
    return when


def next_free_slot(web: Web, account_name: str) -> datetime:
    account = web.config.account(account_name)
    if not account.slots:
        raise TimeFormatError(gettext("account %(name)r has no posting slots; pick a time",
                                      name=account.name))
    return next(free_slots(account.slots, web.tz, web.now(),
                           taken=web.store.history.scheduled_times(account.name)))


def compose(web: Web, actor: Actor, *, account_name: str, text: str, when: datetime,
            warnings: list[str] | None = None) -> list[Post]:
    """Queue (or, under review, draft) a hand-written post: the one compose path
    (scheduler/compose.py), so text too long for one post becomes a thread where the
    platform threads, exactly as on the command line. Appends to `warnings` where queueing
    takes a billing app past its monthly cap."""
    account = web.config.account(account_name)
    posts = compose_post(web.store, web.config, actor, account, text, when=when, now=web.now(),
                         warnings=warnings)
    return [web.store.history.get(p.id) for p in posts]


def compose_for(web: Web, actor: Actor, *, accounts: Sequence[str], text: str,
                variants: Mapping[str, str], at: str | None, image: bytes | None = None,
                alt_text: str | None = None, warnings: list[str] | None = None
                ) -> list[list[Post]]:
    """Compose once for several accounts: each account posts its variant (`variants[name]`,
    when not blank) or the shared `text`, at `at` (office time) or, with `at` None, at its
    own next free slot; `image` (with `alt_text`, required) goes with each first part,
    checked by each account's platform. Every account's post is stored, or none (a refusal
    names the account). Both accounts of an English/Arabic pair get linked posts at the
    English account's time, as an import gives them. Returns each account's posts in thread
    order."""
    chosen = [web.config.account(name) for name in accounts]
    moment = schedule_time(web, at) if at is not None else None
    english_of = {ar.name: en.name for en, ar in pairs_among(chosen, web.config)}
    slots = {} if moment else {a.name: next_free_slot(web, a.name) for a in chosen
                               if a.name not in english_of}
    drafts = [Draft(account, (variants.get(account.name) or "").strip() or text,
                    moment or slots[english_of.get(account.name, account.name)],
                    image_for(image, alt_text, account) if image is not None else None)
              for account in chosen]
    threads = compose_many(web.store, web.config, actor, drafts, now=web.now(),
                           warnings=warnings)
    return [[web.store.history.get(p.id) for p in posts] for posts in threads]
