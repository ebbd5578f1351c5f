"""Bulk actions on the posts ticked in the Queue or the History: cancel, approve, reschedule.

Each goes through the store's own function for one post (db/staff.py), so every post gets the
checks and the audit row it gets alone. Approval is all or none, as `approve` is. Cancel and
reschedule check every post first (not out yet, a time not in the past) and change nothing when
one fails; a post changed by someone else between that check and its turn is reported, with
those done, in the one notice the action ends with.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from db.models import Post
from posts.states import EDITABLE, PostStatus
from scheduler.errors import FactpostError
from scheduler.planning import unit_times
from scheduler.timing import parse_duration
from scheduler.web.actions import schedule_time
from scheduler.web.auth import Actor, AuthorForm
from scheduler.web.context import Web, web
from scheduler.web.i18n import gettext, status_word

router = APIRouter(include_in_schema=False)
ACTIONS = ("cancel", "approve", "reschedule")
#: Posts one bulk action takes: a page of history, or a long queue.
MAX_POSTS = 500
S = PostStatus


def back_to(value: str) -> str:
    """The list the form came from; anything else is not this site's to go to."""
    if value == "/" or (value.startswith("/history") and "//" not in value
                        and "\\" not in value):
        return value
    return "/"


def read_boxes(values) -> dict[int, str]:
    """The ticked boxes, "ID:VERSION" each (the version the page showed), by post id."""
    seen: dict[int, str] = {}
    for value in values:
        post_id, _, version = str(value).partition(":")
        if post_id.isdigit() and len(post_id) < 10 and len(version) <= 64:
            seen[int(post_id)] = version
    return seen


@router.post("/bulk")
async def bulk_action(request: Request, actor: AuthorForm):
    form = await request.form()
    w = web(request)
    back = back_to(str(form.get("back", "/")))
    action = str(form.get("action", ""))
    seen = read_boxes(form.getlist("post"))
    if action not in ACTIONS:
        return w.redirect(back, w.text("notices/bulk.txt", outcome="unknown"), alert=True)
    if not seen:
        return w.redirect(back, w.text("notices/bulk.txt", outcome="none", action=action),
                          alert=True)
    if len(seen) > MAX_POSTS:
        return w.redirect(back, w.text("notices/bulk.txt", outcome="too_many", action=action,
                                       limit=MAX_POSTS), alert=True)
    fields = {k: str(form.get(k, ""))[:500] for k in ("reason", "schedule", "at", "every")}
    run = {"cancel": cancel, "approve": approve, "reschedule": reschedule}[action]
    done, refused = await run_in_threadpool(run, w, actor, seen, fields)
    return w.redirect(back, w.text("notices/bulk.txt", outcome="done", action=action,
                                   done=done, refused=refused), alert=not done)


Refusal = tuple[int | None, str]


def cancel(w: Web, actor: Actor, seen: dict[int, str], fields: dict
           ) -> tuple[list[Post], list[Refusal]]:
    posts = [w.store.history.get(post_id) for post_id in sorted(seen)]
    refused = [(p.id, gettext("it is %(status)s", status=status_word(p.status)))
               for p in posts if p.status not in EDITABLE]
    if refused:
        return [], refused
    done: list[Post] = []
    gone: set[int] = set()  # cancelled with its pair partner already
    for post in posts:
        if post.id in gone:
            continue
        try:
            cancelled = w.store.posts.cancel(post.id, actor=actor, now=w.now(),
                                             reason=fields["reason"].strip() or None)
        except FactpostError as exc:
            refused.append((post.id, w.public_message(str(exc))))
            continue
        done.append(cancelled)
        if cancelled.pair_id in seen:
            gone.add(cancelled.pair_id)
            partner = w.store.history.get(cancelled.pair_id)
            if partner.status == S.CANCELLED:
                done.append(partner)
    return done, refused


def approve(w: Web, actor: Actor, seen: dict[int, str], fields: dict
            ) -> tuple[list[Post], list[Refusal]]:
    try:
        return w.store.posts.approve(list(seen), seen=seen, actor=actor, now=w.now()), []
    except FactpostError as exc:
        return [], [(None, w.public_message(str(exc)))]


def reschedule(w: Web, actor: Actor, seen: dict[int, str], fields: dict
               ) -> tuple[list[Post], list[Refusal]]:
    """Each account's selected posts, soonest first, into its next free slots or spaced from
    a chosen time; a thread moves as one (every part not out yet, at one time, as imports
    plan threads)."""
    try:
        at, every = None, None
        if fields["schedule"] == "spaced":
            at = schedule_time(w, fields["at"].strip() or "now")
            every = parse_duration(fields["every"].strip() or "0s")
        units: dict[str, dict[int, list[Post]]] = defaultdict(dict)
        refused: list[Refusal] = []
        for post_id in sorted(seen):
            post = w.store.history.get(post_id)
            if post.status not in EDITABLE:
                refused.append((post.id, gettext("it is %(status)s",
                                                 status=status_word(post.status))))
                continue
            thread = w.store.history.thread_of(post) if post.thread_size > 1 else [post]
            root = thread[0].id
            units[post.account][root] = [p for p in thread if p.status in EDITABLE]
        if refused:
            return [], refused
        plan: list[tuple[Post, datetime]] = []
        for account, threads in units.items():
            ordered = sorted(threads.values(), key=lambda t: (t[0].scheduled_at, t[0].id))
            times = unit_times(w.config.account(account), len(ordered), config=w.config,
                               store=w.store, now=w.now(), at=at, every=every)
            plan.extend((p, when) for parts, when in zip(ordered, times, strict=True)
                        for p in parts)
    except FactpostError as exc:
        return [], [(None, w.public_message(str(exc)))]
    done: list[Post] = []
    for post, when in plan:
        try:
            done.append(w.store.posts.edit(post.id, actor=actor, now=w.now(),
                                           scheduled_at=when))
        except FactpostError as exc:
            refused.append((post.id, w.public_message(str(exc))))
    return done, refused

