"""Import: upload or paste a fact sheet in any format the command line reads, review its
sections and posts per account (or, for a changed version of a file imported before, what
would change), then queue exactly what the review showed.

The document is read once, at review; the review and its plan are kept server-side for the
user (pending.py) and the confirmation names them by token, so nothing the browser sends back
is parsed again. Confirming plans once more against the store as it is now: where that differs
from what was shown (another import took a slot meanwhile), the new plan is shown for review
instead of being queued.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from scheduler.errors import FactpostError
from scheduler.gc_pause import gc_paused
from scheduler.importing import ImportPlan, plan_import, store_import
from scheduler.reading import (
    ACCEPTED_SUFFIXES,
    MAX_DOCUMENT_BYTES,
    DocumentImportError,
    parse_with_images,
)
from scheduler.timing import parse_duration
from scheduler.web.actions import schedule_time
from scheduler.web.auth import Author, AuthorForm
from scheduler.web.context import web
from scheduler.web.explain import explain
from scheduler.web.i18n import gettext, say
from scheduler.web.pending import PendingImport, PendingImports

router = APIRouter(include_in_schema=False)
#: The routes that take a document: only these read up to [web] max_request_mb, and only from
#: a signed-in user (limits.py).
UPLOAD_PATHS = ("/import", "/import/review")
ACCEPT = ",".join(ACCEPTED_SUFFIXES)


def pending_imports(request: Request) -> PendingImports:
    state = request.app.state
    if not hasattr(state, "pending_imports"):
        state.pending_imports = PendingImports()
    return state.pending_imports


@router.get("/import")
def import_page(request: Request, actor: Author):
    w = web(request)
    return w.render(request, "import.html", actor, accounts=w.config.accounts, error=None,
                    chosen={a.name for a in w.config.accounts}, form={}, accept=ACCEPT)


async def read_form(request: Request) -> tuple[dict, bytes | None, str]:
    form = await request.form()
    upload = form.get("file")
    data, name = None, "pasted text"
    if isinstance(upload, UploadFile) and upload.filename:
        data, name = await upload.read(MAX_DOCUMENT_BYTES + 1), upload.filename
    elif str(form.get("text", "")).strip():
        data = str(form.get("text")).encode("utf-8")
        name = str(form.get("name") or "pasted text")
    fields = {k: str(form.get(k, "")) for k in ("schedule", "at", "every", "name", "base_url",
                                                 "images", "review")}
    fields["accounts"] = [str(v) for v in form.getlist("account")]
    return fields, data, name


def _plan(request: Request, pending: PendingImport) -> ImportPlan:
    """Plan `pending`'s document against the store as it is now; writes nothing."""
    w = web(request)
    fields, loaded = pending.fields, pending.loaded
    return plan_import(loaded.text, loaded.sheet, source_name=pending.name, store=w.store,
                       config=w.config, accounts=[w.config.account(n) for n in fields["accounts"]],
                       now=w.now(), at=fields["start"], every=fields["spacing"],
                       images=loaded.images, with_images=fields["images"] == "on",
                       notes=loaded.notes)


def review(request: Request, actor, fields: dict, data: bytes | None, name: str
           ) -> PendingImport:
    """Read and plan a document for review; raises with a one-line reason."""
    w = web(request)
    if data is None:
        raise DocumentImportError(gettext("choose a file or paste the fact sheet's text"))
    if not fields["accounts"]:
        raise DocumentImportError(gettext("choose at least one account"))
    for account in fields["accounts"]:
        w.config.account(account)  # an unknown name is one clear line
    fields["start"] = fields["spacing"] = None
    if fields["schedule"] == "spaced":
        # "now" is fixed at review, so confirming a minute later plans the same times.
        fields["start"] = schedule_time(w, fields["at"] or "now")
        fields["spacing"] = parse_duration(fields["every"] or "0s")
    loaded = parse_with_images(data, name, base_url=fields["base_url"].strip() or None,
                               limits=w.config.limits)
    pending = PendingImport(user=actor.name, name=name, loaded=loaded, fields=fields,
                            plan=None)  # type: ignore[arg-type]
    # As `factpost import` does once the file is read (import_file): a large sheet and its
    # plan are all alive at once, which the cyclic collector would walk to free nothing.
    # Requests run in threads; gc_paused counts them.
    with gc_paused():
        pending.plan = _plan(request, pending)
    return pending


def render_review(request: Request, actor, token: str, pending: PendingImport, *,
                  changed: bool = False, status: int = 200):
    w = web(request)
    plan = pending.plan
    accounts = [w.config.account(n) for n in pending.fields["accounts"]]
    by_account = {a.name: [p for p in plan.planned if p.account == a.name] for a in accounts}
    cap_warnings = [gettext("a post or thread for %(account)s costs more than the whole "
                            "monthly %(platform)s cap: queueing will be refused",
                            account=o.largest_for, platform=o.title) if o.never_fits
                    else say(o.warning)
                    for o in plan.outlooks if o.never_fits or o.warning is not None]
    return w.render(request, "import_review.html", actor, status, sheet=plan.sheet,
                    name=pending.name, token=token, accounts=accounts, by_account=by_account,
                    costs={c.account: c for c in plan.costs}, notes=plan.notes,
                    cap_warnings=cap_warnings, correction=plan.correction,
                    skipped=plan.skipped_accounts, image_notes=plan.image_notes,
                    images=pending.loaded.images, with_images=pending.fields["images"] == "on",
                    changed=changed, language_warnings=plan.language_warnings)


@router.post("/import/review")
async def import_review(request: Request, actor: AuthorForm):
    w = web(request)
    fields, data, name = await read_form(request)
    try:
        pending = await run_in_threadpool(review, request, actor, fields, data, name)
    except FactpostError as exc:
        return w.render(request, "import.html", actor, 400, accounts=w.config.accounts,
                        error=explain(exc, public=w.public_message),
                        chosen=set(fields["accounts"]), form=fields, accept=ACCEPT)
    token = pending_imports(request).put(pending)
    return render_review(request, actor, token, pending)


def _shown(plan: ImportPlan) -> tuple:
    """What a review page shows of a plan: the posts with their accounts, times, places and
    images, and for a correction what it cancels and re-links."""
    posts = tuple((p.account, p.text, p.scheduled_at, p.section_index, p.thread_position,
                   p.parent_post_id, p.parent_index, p.pair_key,
                   p.media.sha256 if p.media else None) for p in plan.posts)
    correction = plan.correction
    return posts, (correction.supersede, correction.relinks) if correction else None


@router.post("/import")
async def import_confirm(request: Request, actor: AuthorForm):
    w = web(request)
    form = await request.form()
    token = str(form.get("review", ""))
    reviews = pending_imports(request)
    pending = reviews.get(token, actor.name)

    @gc_paused()  # as review() says
    def run():
        plan = _plan(request, pending)
        if _shown(plan) != _shown(pending.plan):
            return plan, None
        return plan, store_import(plan, store=w.store, config=w.config, actor=actor,
                                  now=w.now(), replace=True)

    plan, report = await run_in_threadpool(run)
    if report is None:
        pending.plan = plan
        reviews.replace(token, pending)
        return render_review(request, actor, token, pending, changed=True, status=409)
    reviews.discard(token)
    name = pending.name
    if report.correction is not None:
        if not report.applied:
            return w.redirect("/", gettext("%(name)s: no post changes; nothing to do",
                                           name=name))
        return w.redirect("/", gettext(
            "%(name)s: imported as document %(document)s; %(cancelled)s superseded posts "
            "cancelled, %(count)s posts %(state)s", name=name, document=report.document_id,
            cancelled=len(report.correction.supersede), count=report.created,
            state=queued_state(w)))
    if report.created == 0:
        return w.redirect("/", gettext("%(name)s: already imported for %(accounts)s; nothing "
                                       "new", name=name,
                                       accounts=", ".join(report.skipped_accounts)))
    notice = gettext("%(name)s: %(count)s posts %(state)s", name=name, count=report.created,
                     state=queued_state(w)) + "".join(
        f"; {say(cost.line)}" for cost in report.costs) + "".join(
        gettext(". Warning: %(warning)s", warning=say(warning))
        for warning in report.cap_warnings)
    if report.images_attached:
        notice += gettext("; %(count)s with an image", count=report.images_attached)
    target = "/approvals" if w.config.require_approval and actor.may("approver") else "/"
    return w.redirect(target, notice)


def queued_state(w) -> str:
    return (gettext("drafts awaiting approval") if w.config.require_approval
            else gettext("queued"))
