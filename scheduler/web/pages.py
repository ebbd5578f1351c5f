"""Reading pages: Queue, Calendar, History (with its CSV export) and Status."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import StreamingResponse

from db.store import HistoryFilter, history_key
from posts.states import EDITABLE, PostStatus
from scheduler.platforms.billing import usd
from scheduler.records import csv_record, csv_writer
from scheduler.spend import billing_specs
from scheduler.status import status_report
from scheduler.timing import TimeFormatError
from scheduler.web.actions import parse_time
from scheduler.web.auth import AdminForm, Author
from scheduler.web.context import web
from scheduler.web.i18n import gettext
from scheduler.web.paging import cursor, read_cursor

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
CSV_BATCH = 500


@router.get("/")
def queue_page(request: Request, actor: Author):
    w = web(request)
    accounts = [(a, w.store.history.upcoming(a.name)) for a in w.config.accounts]
    return w.render(request, "queue.html", actor, accounts=accounts,
                    select=selectable(w, [p for _, posts in accounts for p in posts]))


def selectable(w, posts) -> dict[int, str]:
    """The posts a list lets staff tick for a bulk action (those not out yet), each with the
    version shown, which a bulk approval hands back (as Approvals does)."""
    return w.store.posts.versions(p.id for p in posts if p.status in EDITABLE)


# -- history ---------------------------------------------------------------------------------

def history_filter(request: Request, account: str, status: str, since: str, until: str,
                   q: str) -> HistoryFilter:
    w = web(request)
    if account:
        w.config.account(account)
    if status and status not in {s.value for s in PostStatus}:
        raise TimeFormatError(gettext("unknown status %(status)r", status=status))
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
    here = "/history?" + urlencode({**params, **({"after": after} if after else {})})
    return w.render(request, "history.html", actor, posts=page, params=params,
                    select=selectable(w, page), here=here,
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
        w.store.accounts.pause(n, actor=actor, now=w.now(),
                               reason=reason.strip() or gettext("paused in the web UI"))
    return w.redirect("/status", gettext("paused"))


@router.post("/accounts/{name}/resume")
def resume_account(request: Request, name: str, actor: AdminForm):
    w = web(request)
    names = [a.name for a in w.config.accounts] if name == "*" else [w.config.account(name).name]
    for n in names:
        w.store.accounts.resume(n, actor=actor, now=w.now())
    return w.redirect("/status", gettext("resumed"))
