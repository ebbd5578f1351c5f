"""Reading pages: Queue, Calendar, History (with its CSV export) and Status."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from itertools import islice
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import StreamingResponse

from db.store import HistoryFilter, history_key
from posts.states import PostStatus
from scheduler.platforms.billing import usd
from scheduler.records import csv_record, csv_writer
from scheduler.spend import billing_specs
from scheduler.status import status_report
from scheduler.timing import TimeFormatError, free_slots
from scheduler.web.actions import parse_time
from scheduler.web.auth import AdminForm, Author
from scheduler.web.context import web
from scheduler.web.paging import cursor, read_cursor

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
CSV_BATCH = 500


@router.get("/")
def queue_page(request: Request, actor: Author):
    w = web(request)
    accounts = [(a, w.store.history.upcoming(a.name)) for a in w.config.accounts]
    return w.render(request, "queue.html", actor, accounts=accounts)


# -- calendar --------------------------------------------------------------------------------

@router.get("/calendar")
def calendar_page(request: Request, actor: Author,
                  account: str = "", week: str = ""):
    w = web(request)
    if not w.config.accounts:
        return w.render(request, "error.html", actor, 400, title="No accounts",
                        message="no [[accounts]] configured; add one to config.toml")
    acct = w.config.account(account) if account else w.config.accounts[0]
    today = w.now().astimezone(w.tz).date()
    monday = week_start(week[:40], today)
    start = datetime.combine(monday, time(0), tzinfo=w.tz)
    end = datetime.combine(monday + timedelta(days=7), time(0), tzinfo=w.tz)
    days = {monday + timedelta(days=i): [] for i in range(7)}
    for post in w.store.history.search(HistoryFilter(account=acct.name, since=start, until=end)):
        when = (post.published_at or post.scheduled_at).astimezone(w.tz)
        days[when.date()].append((when, "post", post))
    if acct.slots and end > w.now():
        slots = free_slots(acct.slots, w.tz, max(start, w.now()),
                           taken=w.store.history.scheduled_times(acct.name))
        # A week holds at most a few hundred slots; the bound guards a per-minute cron.
        for slot in islice(slots, 2_000):
            if slot >= end:
                break
            local = slot.astimezone(w.tz)
            days[local.date()].append((local, "free", None))
    for entries in days.values():
        entries.sort(key=lambda e: (e[0], e[1] == "free"))
    return w.render(request, "calendar.html", actor, account=acct, days=days, today=today,
                    previous=(monday - timedelta(days=7)).isoformat(),
                    next=(monday + timedelta(days=7)).isoformat(), monday=monday)


# -- history ---------------------------------------------------------------------------------

def week_start(week: str, today: date) -> date:
    """The Monday of the week holding `week` (a date; empty: today). Raises TimeFormatError."""
    try:
        day = date.fromisoformat(week) if week else today
    except ValueError:
        raise TimeFormatError(f"cannot read week {week!r}; write a date like 2026-12-01"
                              ) from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise TimeFormatError(f"week {week!r} is out of range; choose a year from "
                              f"{FIRST_YEAR} to {LAST_YEAR}")
    return day - timedelta(days=day.weekday())


#: The calendar shows years in this range; beyond it dates cannot be shifted by time zones.
FIRST_YEAR, LAST_YEAR = 1970, 9998


def history_filter(request: Request, account: str, status: str, since: str, until: str,
                   q: str) -> HistoryFilter:
    w = web(request)
    if account:
        w.config.account(account)
    if status and status not in {s.value for s in PostStatus}:
        raise TimeFormatError(f"unknown status {status!r}")
    return HistoryFilter(account=account or None, status=status or None,
                         since=parse_time(w, since) if since else None,
                         until=parse_time(w, until) if until else None,
                         search=q.strip() or None)


@router.get("/history")
def history_page(request: Request, actor: Author, account: str = "",
                 status: str = "", since: str = "", until: str = "", q: str = "",
                 after: str = ""):
    w = web(request)
    f = history_filter(request, account, status, since, until, q)
    page = w.store.history.search(HistoryFilter(**{**f.__dict__, "limit": PAGE_SIZE + 1,
                                            "after": read_cursor(after)}))
    more = len(page) > PAGE_SIZE
    page = page[:PAGE_SIZE]
    params = {k: v for k, v in dict(account=account, status=status, since=since, until=until,
                                    q=q).items() if v}
    next_link = ("/history?" + urlencode({**params, "after": cursor(page[-1])})
                 if more else None)
    return w.render(request, "history.html", actor, posts=page, params=params,
                    statuses=[s.value for s in PostStatus], next_link=next_link,
                    first_link="/history?" + urlencode(params) if after else None,
                    csv_link="/history.csv?" + urlencode(params))


@router.get("/history.csv")
def history_csv(request: Request, actor: Author, account: str = "",
                status: str = "", since: str = "", until: str = "", q: str = ""):
    w = web(request)
    f = history_filter(request, account, status, since, until, q)

    def rows() -> Iterator[str]:
        # Page through by key so a million-row export holds one batch in memory at a time.
        out = io.StringIO()
        writer = csv_writer(out)
        writer.writeheader()
        after = None
        while True:
            batch = w.store.history.search(HistoryFilter(**{**f.__dict__, "limit": CSV_BATCH,
                                                     "after": after}))
            writer.writerows(csv_record(p) for p in batch)
            yield out.getvalue()
            out.seek(0)
            out.truncate()
            if len(batch) < CSV_BATCH:
                return
            after = history_key(batch[-1])

    stamp = w.now().astimezone(w.tz).strftime("%Y%m%d-%H%M")
    return StreamingResponse(rows(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="factpost-history-{stamp}.csv"'})


# -- status and accounts ---------------------------------------------------------------------

@router.get("/status")
def status_page(request: Request, actor: Author):
    w = web(request)
    states = w.store.accounts.states()
    now = w.now()
    accounts = []
    for a in w.config.accounts:
        state = states.get(a.name)
        held = state.held_until if state and state.held_until and state.held_until > now \
            else None
        accounts.append({"name": a.name, "platform": a.platform, "handle": a.handle,
                         "paused": bool(state and state.paused),
                         "paused_reason": state.paused_reason if state else None,
                         "held_until": held, "held_reason": state.held_reason if held else None})
    report = status_report(w.store, w.config, now)
    spending = [report[f"{spec.name}_spend"] for spec in billing_specs()]
    capped = {name: app["message"] for spend in spending for app in spend["apps"]
              if app["level"] == "reached" for name in app["accounts"]}
    for account in accounts:
        account["spend_cap"] = capped.get(account["name"])
    # The last 30 UTC days, newest first.
    days = w.store.spend.by_day(since=now - timedelta(days=30))
    spend_days = [{"day": d.day.isoformat(), "account": d.account, "posts": d.posts,
                   "posts_with_links": d.posts_with_links, "resources_read": d.resources_read,
                   "spent": usd(d.micros)} for d in days]
    return w.render(request, "status.html", actor, report=report, accounts=accounts,
                    spending=spending, spend_days=spend_days, parse=datetime.fromisoformat)


@router.post("/accounts/{name}/pause")
def pause_account(request: Request, name: str, actor: AdminForm,
                  reason: str = Form("")):
    w = web(request)
    names = [a.name for a in w.config.accounts] if name == "*" else [w.config.account(name).name]
    for n in names:
        w.store.accounts.pause(n, actor=actor, reason=reason.strip() or "paused in the web UI",
                               now=w.now())
    return w.redirect("/status", "paused")


@router.post("/accounts/{name}/resume")
def resume_account(request: Request, name: str, actor: AdminForm):
    w = web(request)
    names = [a.name for a in w.config.accounts] if name == "*" else [w.config.account(name).name]
    for n in names:
        w.store.accounts.resume(n, actor=actor, now=w.now())
    return w.redirect("/status", "resumed")
