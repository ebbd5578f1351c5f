"""Import: upload or paste a fact sheet, review its sections and posts per account, queue."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile

from scheduler.errors import FactpostError
from scheduler.importing import import_sheet
from scheduler.planning import costs, plan_posts
from scheduler.reading import MAX_DOCUMENT_BYTES, DocumentImportError, parse_with_images
from scheduler.spend import cap_outlook
from scheduler.timing import parse_duration
from scheduler.web.actions import schedule_time
from scheduler.web.auth import Author, AuthorForm
from scheduler.web.context import web

router = APIRouter(include_in_schema=False)
#: The routes that take a document: only these read up to [web] max_request_mb, and only from
#: a signed-in user (limits.py).
UPLOAD_PATHS = ("/import", "/import/review")


@router.get("/import")
def import_page(request: Request, actor: Author):
    w = web(request)
    return w.render(request, "import.html", actor, accounts=w.config.accounts, error=None,
                    chosen={a.name for a in w.config.accounts}, form={})


async def read_form(request: Request) -> tuple[dict, bytes | None, str]:
    form = await request.form()
    upload = form.get("file")
    data, name = None, "pasted text"
    if isinstance(upload, UploadFile) and upload.filename:
        data, name = await upload.read(MAX_DOCUMENT_BYTES + 1), upload.filename
    elif str(form.get("text", "")).strip():
        data = str(form.get("text")).encode("utf-8")
        name = str(form.get("name") or "pasted text")
    fields = {k: str(form.get(k, "")) for k in ("schedule", "at", "every", "name")}
    fields["accounts"] = [str(v) for v in form.getlist("account")]
    return fields, data, name


def plan(request: Request, fields: dict, data: bytes | None, name: str):
    """Parse and plan without writing anything; raises with a one-line reason."""
    w = web(request)
    if data is None:
        raise DocumentImportError("choose a file or paste the fact sheet's text")
    loaded = parse_with_images(data, name, limits=w.config.limits)
    text, sheet = loaded.text, loaded.sheet
    accounts = [w.config.account(n) for n in fields["accounts"]]
    if not accounts:
        raise DocumentImportError("choose at least one account")
    at = every = None
    if fields["schedule"] == "spaced":
        at = schedule_time(w, fields["at"] or "now")
        every = parse_duration(fields["every"] or "0s")
    planned = plan_posts(sheet, accounts, config=w.config, store=w.store, now=w.now(),
                         at=at, every=every)
    return text, sheet, accounts, planned, at, every, loaded.notes


@router.post("/import/review")
async def import_review(request: Request, actor: AuthorForm):
    from starlette.concurrency import run_in_threadpool

    w = web(request)
    fields, data, name = await read_form(request)
    try:
        text, sheet, accounts, planned, _at, _every, notes = await run_in_threadpool(
            plan, request, fields, data, name)
    except FactpostError as exc:
        return w.render(request, "import.html", actor, 400, accounts=w.config.accounts,
                        error=str(exc), chosen=set(fields["accounts"]), form=fields)
    by_account = {a.name: [p for p in planned if p.account == a.name] for a in accounts}
    priced = {cost.account: cost for cost in costs(planned, w.config)}
    outlooks = await run_in_threadpool(cap_outlook, w.store, w.config, planned, w.now())
    cap_warnings = [(f"a post or thread for {o.largest_for} costs more than the whole monthly "
                     f"{o.title} cap: queueing will be refused") if o.never_fits else o.message
                    for o in outlooks if o.never_fits or o.message]
    return w.render(request, "import_review.html", actor, sheet=sheet, text=text, name=name,
                    accounts=accounts, by_account=by_account, fields=fields, costs=priced,
                    notes=notes, cap_warnings=cap_warnings)


@router.post("/import")
async def import_confirm(request: Request, actor: AuthorForm):
    from starlette.concurrency import run_in_threadpool

    w = web(request)
    fields, data, name = await read_form(request)

    def run():
        text, sheet, accounts, _planned, at, every, _notes = plan(request, fields, data, name)
        return import_sheet(text, sheet, source_name=name, store=w.store, config=w.config,
                            accounts=accounts, actor=actor, now=w.now(), at=at,
                            every=every)

    report = await run_in_threadpool(run)
    if report.created == 0:
        return w.redirect("/", f"{name}: already imported for "
                               f"{', '.join(report.skipped_accounts)}")
    state = "drafts awaiting approval" if w.config.require_approval else "queued"
    notice = f"{name}: {report.created} posts {state}" + "".join(
        f"; {cost}" for cost in report.costs) + "".join(
        f". Warning: {warning}" for warning in report.cap_warnings)
    target = "/approvals" if w.config.require_approval and actor.may("approver") else "/"
    return w.redirect(target, notice)
