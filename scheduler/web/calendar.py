"""The Calendar: a week (seven days from today, or from a chosen day) or a month, across every
account or one, with each account's free posting slots; a post not yet published is moved to
another free slot by dragging it there or, without a mouse, by choosing the slot in its own
Move form. Both send the same request, checked as an edit of the post's time is."""

from __future__ import annotations

import calendar as months
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import islice
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request

from db.models import Post
from db.store import HistoryFilter
from posts.states import EDITABLE
from scheduler.config import AccountConfig
from scheduler.timing import TimeFormatError, free_slots
from scheduler.web.actions import schedule_time
from scheduler.web.auth import Author, AuthorForm
from scheduler.web.context import web
from scheduler.web.i18n import gettext

router = APIRouter(include_in_schema=False)
#: The calendar shows years in this range; beyond it dates cannot be shifted by time zones.
FIRST_YEAR, LAST_YEAR = 1970, 9998
VIEWS = ("week", "month")
#: Free slots listed per account and range: a per-minute cron would otherwise fill the page.
MAX_SLOTS = 500


@dataclass(frozen=True)
class Entry:
    """One line of a day: a post, or a free slot of `account`."""

    when: datetime
    account: AccountConfig
    post: Post | None = None

    @property
    def movable(self) -> bool:
        return self.post is not None and self.post.status in EDITABLE


def read_day(text: str, today: date, what: str = "start") -> date:
    """A day typed in the address (a date; empty: today). Raises TimeFormatError."""
    try:
        day = date.fromisoformat(text) if text else today
    except ValueError:
        raise TimeFormatError(gettext("cannot read %(what)s %(text)r; write a date like "
                                      "2026-12-01", what=what, text=text)
                              ) from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise TimeFormatError(f"{what} {text!r} is out of range; choose a year from "
                              f"{FIRST_YEAR} to {LAST_YEAR}")
    return day


def shown_range(view: str, start: date) -> tuple[date, date, date, date]:
    """(first day, day after the last, previous page's start, next page's start)."""
    if view == "month":
        first = start.replace(day=1)
        end = first + timedelta(days=months.monthrange(first.year, first.month)[1])
        previous = (first - timedelta(days=1)).replace(day=1)
        return first, end, previous, end
    return start, start + timedelta(days=7), start - timedelta(days=7), start + timedelta(days=7)


@router.get("/calendar")
def calendar_page(request: Request, actor: Author, account: str = "", view: str = "week",
                  start: str = "", week: str = ""):
    w = web(request)
    if not w.config.accounts:
        return w.render(request, "error.html", actor, 400, title=gettext("No accounts"),
                        message=gettext("no [[accounts]] configured; add one to config.toml"))
    if view not in VIEWS:
        raise TimeFormatError(gettext("unknown calendar view %(view)r; use week or month",
                                      view=view))
    accounts = [w.config.account(account)] if account else list(w.config.accounts)
    today = w.now().astimezone(w.tz).date()
    # `week` is the address older links used; it names a day too.
    first, end, previous, following = shown_range(
        view, read_day((start or week)[:40], today, "week" if week and not start else "start"))
    since = datetime.combine(first, time(0), tzinfo=w.tz)
    until = datetime.combine(end, time(0), tzinfo=w.tz)
    days: dict[date, list[Entry]] = {first + timedelta(days=i): []
                                     for i in range((end - first).days)}
    by_name = {a.name: a for a in accounts}
    for post in w.store.history.search(HistoryFilter(account=account or None, since=since,
                                                     until=until)):
        when = (post.published_at or post.scheduled_at).astimezone(w.tz)
        if post.account in by_name and when.date() in days:
            days[when.date()].append(Entry(when, by_name[post.account], post))
    slots: dict[str, list[datetime]] = {}
    for acct in accounts:
        if not acct.slots or until <= w.now():
            continue
        found = free_slots(acct.slots, w.tz, max(since, w.now()),
                           taken=w.store.history.scheduled_times(acct.name))
        for slot in islice(found, MAX_SLOTS):
            if slot >= until:
                break
            local = slot.astimezone(w.tz)
            slots.setdefault(acct.name, []).append(local)
            days[local.date()].append(Entry(local, acct))
    for entries in days.values():
        entries.sort(key=lambda e: (e.when, e.post is None, e.account.name))
    query = {"view": view, **({"account": account} if account else {})}
    return w.render(request, "calendar.html", actor, accounts=accounts, account=account,
                    view=view, days=days, today=today, first=first, last=end - timedelta(days=1),
                    lead=first.weekday() if view == "month" else 0, slots=slots,
                    here="/calendar?" + urlencode({**query, "start": first.isoformat()}),
                    previous="/calendar?" + urlencode({**query, "start": previous.isoformat()}),
                    next="/calendar?" + urlencode({**query, "start": following.isoformat()}),
                    this="/calendar?" + urlencode(query))


@router.post("/posts/{post_id}/move")
def post_move(request: Request, post_id: int, actor: AuthorForm, at: str = Form(""),
              back: str = Form("/calendar")):
    """Move a post to another time (the calendar's drag or Move form): an edit of its time,
    with the edit's checks (not in the past; draft, queued, failed or needs_review only)."""
    w = web(request)
    if not at.strip():
        raise TimeFormatError(gettext("choose a slot to move the post to"))
    when = schedule_time(w, at)
    post = w.store.posts.edit(post_id, actor=actor, now=w.now(), scheduled_at=when)
    # Back to the calendar page it came from; anything else is not this site's to go to.
    target = back if back.startswith("/calendar") and "//" not in back else "/calendar"
    return w.redirect(target, gettext("post %(id)s moved to %(time)s (%(zone)s)", id=post.id,
                                      time=w.local(post.scheduled_at), zone=w.tz.key))

