"""Writing and deciding: Compose, a post's page with its actions, and Approvals."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from db.errors import BadLink
from db.queue import held_message
from posts.retractions import REASONS
from posts.states import EDITABLE, PostStatus
from scheduler.compose import editable_text, edited_text
from scheduler.config import offered_pairs
from scheduler.errors import FactpostError
from scheduler.retraction import correct, retract, retraction_notice
from scheduler.timing import typed_value
from scheduler.web.actions import compose_for, schedule_time
from scheduler.web.auth import Actor, Approver, ApproverForm, Author, AuthorForm
from scheduler.web.context import web
from scheduler.web.explain import explain
from scheduler.web.i18n import gettext, status_word

router = APIRouter(include_in_schema=False)
S = PostStatus


def to(request: Request, path: str, notice: str) -> RedirectResponse:
    return web(request).redirect(path, notice)


#: Compose takes an image upload: the request gate lets these paths (POST) read up to the
#: upload limit ([web] max_request_mb) instead of the small form limit.
UPLOAD_PATHS = ("/compose",)


#: The "T" between date and time in a form value, which a typed time has as a space.
ISO_T = re.compile(r"^(\d{4}-\d{2}-\d{2})T")


@router.get("/compose")
def compose_page(request: Request, actor: Author,
                 account: Annotated[list[str], Query(max_length=50)] = (), at: str = ""):
    # The calendar links a free slot by its form value ("2026-12-01T09:00", with its offset
    # in a repeated hour); the time field shows it as staff type it ("2026-12-01 09:00").
    at = ISO_T.sub(r"\1 ", at.strip(), count=1)
    return compose_form(request, actor, 200, chosen=list(account), at=at, text="", variants={},
                        alt_text="", error=None, when="at" if at else "slot")


def compose_form(request: Request, actor: Actor, status: int, **fields):
    w = web(request)
    pairs = [{"title": en.spec.title, "names": [en.name, ar.name]}
             for en, ar in offered_pairs(w.config.accounts)]
    return w.render(request, "compose.html", actor, status, accounts=w.config.accounts,
                    pairs=pairs, **fields)


@router.post("/compose")
async def compose_post(request: Request, actor: AuthorForm):
    w = web(request)
    form = await request.form()
    chosen = [str(v) for v in form.getlist("account")]
    text, at = str(form.get("text", "")), str(form.get("at", ""))
    when = str(form.get("when", "slot"))
    alt_text = str(form.get("alt_text", ""))
    variants = {name: str(form.get(f"variant:{name}", "")) for name in chosen}
    upload = form.get("image")
    try:
        image = None
        if isinstance(upload, UploadFile) and upload.filename:
            # One byte over the largest image any chosen platform takes is enough to refuse.
            most = max((w.config.account(n).spec.media.max_bytes for n in chosen), default=0)
            image = await upload.read(most + 1)
        warnings: list[str] = []
        threads = await run_in_threadpool(
            compose_for, w, actor, accounts=chosen, text=text, variants=variants,
            at=None if when == "slot" else (at or "now"), image=image, alt_text=alt_text,
            warnings=warnings)
    except FactpostError as exc:
        return compose_form(request, actor, 400, chosen=chosen, at=at, text=text,
                            variants=variants, alt_text=alt_text, when=when,
                            error=explain(exc) + (gettext("; choose the image again")
                                              if image_given(upload) else ""))
    notes = [(gettext("%(account)s: %(parts)s-part thread %(status)s at %(time)s")
              if len(thread) > 1 else gettext("%(account)s: post %(status)s at %(time)s")) % {
                 "account": thread[0].account, "parts": len(thread),
                 "status": status_word(thread[0].status),
                 "time": w.local(thread[0].scheduled_at)} for thread in threads]
    first = threads[0][0]
    path = f"/posts/{first.id}" if len(threads) == 1 else "/"
    return to(request, path, "; ".join(notes) + "".join(
        gettext(". Warning: %(warning)s", warning=warning) for warning in warnings))


def image_given(upload) -> bool:
    return isinstance(upload, UploadFile) and bool(upload.filename)


@router.get("/posts/{post_id}")
def post_page(request: Request, post_id: int, actor: Author):
    w = web(request)
    post = w.store.history.get(post_id)
    thread = w.store.history.thread_of(post) if post.thread_size > 1 else []
    own = w.config.two_person_rule and post.created_by == actor.name
    trail = w.store.history.audit_trail(post_id)
    # The approve form carries the version shown here: the approval is for this page's post.
    version = w.store.posts.versions([post_id])[post_id]
    return w.render(request, "post.html", actor, post=post, trail=trail,
                    thread=thread, edit_text=editable_text(post, w.config),
                    editable=post.status in EDITABLE, own=own,
                    version=version, at_value=typed_value(post.scheduled_at, w.tz),
                    reasons=REASONS, answers=w.store.retractions.answers_to(post_id),
                    **clearance_context(w, actor, [post_id]))


@router.post("/posts/{post_id}/retract")
def post_retract(request: Request, post_id: int, actor: ApproverForm,
                 reason: str = Form(""), note: str = Form("", max_length=2000),
                 acknowledge: str = Form(""), acknowledgment: str = Form("", max_length=5000)):
    w = web(request)
    done = retract(w.store, w.config, actor, post_id, reason=reason, note=note, now=w.now(),
                   acknowledge=acknowledgment.strip() if acknowledge else None)
    return to(request, f"/posts/{post_id}", retraction_notice(done))


@router.post("/posts/{post_id}/correct")
def post_correct(request: Request, post_id: int, actor: ApproverForm,
                 text: str = Form("")):
    w = web(request)
    posts = correct(w.store, w.config, actor, post_id, text, now=w.now())
    return to(request, f"/posts/{posts[0].id}",
              gettext("correction of post %(id)s %(status)s", id=post_id,
                      status=status_word(posts[0].status)))


@router.post("/posts/{post_id}/edit")
def post_edit(request: Request, post_id: int, actor: AuthorForm,
              text: str = Form(""), at: str = Form("")):
    w = web(request)
    post = w.store.history.get(post_id)
    new_text = edited_text(text, post, w.config) if text.strip() else None
    p = w.store.posts.edit(post_id, actor=actor, now=w.now(), text=new_text,
                           scheduled_at=schedule_time(w, at) if at.strip() else None)
    return to(request, f"/posts/{p.id}",
              gettext("saved; the post is %(status)s", status=status_word(p.status)))


@router.post("/posts/{post_id}/cancel")
def post_cancel(request: Request, post_id: int, actor: AuthorForm,
                reason: str = Form("")):
    w = web(request)
    w.store.posts.cancel(post_id, actor=actor, now=w.now(), reason=reason.strip() or None)
    return to(request, f"/posts/{post_id}", gettext("cancelled"))


@router.post("/posts/{post_id}/approve")
def post_approve(request: Request, post_id: int,
                 actor: ApproverForm, version: str = Form("", max_length=64)):
    w = web(request)
    w.store.posts.approve([post_id], seen={post_id: version}, actor=actor, now=w.now())
    return to(request, f"/posts/{post_id}", cleared_note(w, [post_id]) or gettext("approved"))


@router.post("/posts/{post_id}/reject")
def post_reject(request: Request, post_id: int, actor: ApproverForm,
                reason: str = Form("")):
    w = web(request)
    w.store.posts.reject(post_id, actor=actor, now=w.now(), reason=reason.strip() or None)
    return to(request, "/approvals", gettext("post %(id)s rejected", id=post_id))


@router.post("/posts/{post_id}/retry")
def post_retry(request: Request, post_id: int, actor: AuthorForm):
    w = web(request)
    p = w.store.posts.retry(post_id, actor=actor, now=w.now())
    return to(request, f"/posts/{post_id}", gettext("queued again, due now")
              if p.status == S.QUEUED
              else gettext("back to draft: it needs an approval before it is sent"))


@router.post("/posts/{post_id}/resolve")
def post_resolve(request: Request, post_id: int, actor: ApproverForm,
                 remote_id: str = Form(""), remote_url: str = Form("")):
    w = web(request)
    if not remote_id.strip():
        raise BadLink(gettext("give the id the post has on the platform, or use Retry if it "
                              "is not there"))
    w.store.posts.resolve_published(post_id, remote_id=remote_id, remote_url=remote_url or None,
                                    actor=actor, now=w.now())
    # The create whose outcome was unknown did make the post: X billed it.
    w.store.spend.settle_post(post_id, found=True, remote_id=remote_id.strip())
    return to(request, f"/posts/{post_id}", gettext("marked published"))


@router.get("/approvals")
def approvals_page(request: Request, actor: Approver):
    w = web(request)
    drafts = [p for p in w.store.history.upcoming() if p.status == S.DRAFT]
    versions = w.store.posts.versions(p.id for p in drafts)
    held = set(w.store.queue.held_for_review())
    return w.render(request, "approvals.html", actor, drafts=drafts, versions=versions,
                    held=held, held_note=held_message(len(held)) if held else None,
                    **clearance_context(w, actor, [p.id for p in drafts]))


def clearance_context(w, actor: Actor, post_ids: list[int]) -> dict:
    """What the pages show of clearance: each post's progress, who holds each step, and the
    steps `actor` holds (None when the office names no steps: every approver clears)."""
    steps = w.config.review_steps
    holders = w.store.posts.step_holders() if steps else {}
    # Read only where shown: without named steps every approver clears the one step.
    return {"progress": w.store.posts.progress(post_ids) if steps else {}, "holders": holders,
            "mine": ({step for step, names in holders.items() if actor.name in names}
                     if steps else None)}


@router.post("/approvals")
async def approvals_approve(request: Request, actor: ApproverForm):
    form = await request.form()
    # Each box is "ID:VERSION": the version of the post as the page showed it.
    seen: dict[int, str] = {}
    for value in form.getlist("post"):
        post_id, _, version = str(value).partition(":")
        if post_id.isdigit() and len(post_id) < 10 and len(version) <= 64:
            seen[int(post_id)] = version
    if not seen:
        return to(request, "/approvals", gettext("nothing selected"))
    return await _approve(request, actor, seen)


async def _approve(request: Request, actor: Actor, seen: dict[int, str]):
    w = web(request)
    approved = await run_in_threadpool(w.store.posts.approve, list(seen), seen=seen,
                                       actor=actor, now=w.now())
    note = await run_in_threadpool(cleared_note, w, [p.id for p in approved])
    return to(request, "/approvals", note or gettext("approved %(count)s post(s)",
                                                     count=len(approved)))


def cleared_note(w, post_ids: list[int]) -> str | None:
    """With named steps, which step each approval cleared and what each post waits for now
    (None when the office names no steps)."""
    if not w.config.review_steps:
        return None
    notes = []
    for post_id, done in w.store.posts.progress(post_ids).items():
        step = done.cleared[-1].step if done.cleared else done.steps[-1]
        notes.append(gettext("post %(id)s: cleared %(step)s", id=post_id, step=step) + (
            gettext(", waits for %(step)s", step=done.waiting_for) if done.waiting_for
            else gettext(", approved")))
    return "; ".join(notes)
