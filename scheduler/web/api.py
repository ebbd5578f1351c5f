"""The JSON API under /api: queueing, approving, retracting and correcting, history and the
compose preview.

Same store calls and checks as the pages; errors come back as {"detail": "..."} with 400
(bad request), 401 (no or unknown token), 403 (role), 404 (no such post) or 409 (state).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import Base64Bytes, BaseModel, Field

from db.store import HistoryFilter
from posts.media import MAX_ALT_CHARS as MEDIA_ALT_CHARS
from posts.retractions import REASONS
from posts.states import PostStatus
from scheduler.compose import MAX_TEXT_CHARS, PostTextError, edit_preview, preview
from scheduler.records import post_record
from scheduler.retraction import correct, retract
from scheduler.status import status_report
from scheduler.web.actions import compose_for, parse_time
from scheduler.web.auth import ApiApprover, ApiAuthor, Author
from scheduler.web.context import web
from scheduler.web.i18n import N_, gettext
from scheduler.web.paging import cursor, read_cursor

router = APIRouter(prefix="/api", tags=["api"])
PostId = Annotated[int, Path(ge=1, le=2**31 - 1, description=N_("A post's id."))]


class PostOut(BaseModel):
    id: int
    account: str
    platform: str
    status: PostStatus
    text: str
    scheduled_at: str | None
    published_at: str | None
    remote_id: str | None
    remote_url: str | None
    document: str | None
    section: str | None
    thread_position: int
    thread_size: int
    last_error: str | None


class AttemptOut(BaseModel):
    started_at: str
    outcome: str | None
    error_code: str | None
    error_message: str | None
    explanation: str | None
    remote_id: str | None


class AuditOut(BaseModel):
    at: str
    actor: str
    action: str
    from_status: str | None
    to_status: str | None
    reason: str | None


class ClearedOut(BaseModel):
    step: str
    by: str
    at: str


class ClearanceOut(BaseModel):
    steps: list[str] = Field(description="The steps of clearance in order ([review] steps; "
                             "the one step \"approval\" when none are named).")
    waiting_for: str | None = Field(description="The step the post waits for; null once "
                                    "every step is cleared.")
    cleared: list[ClearedOut]


class PostDetail(PostOut):
    created_by: str
    approved_by: str | None
    clearance: ClearanceOut
    version: str = Field(description="The post as review sees it (text, time, image, pair "
                         "partner); pass it to approve to approve exactly this.")
    corrects_id: int | None = Field(description="The published post this one corrects, or "
                                    "whose removal it acknowledges.")
    answered_by: list[int] = Field(description="Posts correcting this one or acknowledging "
                                   "its removal.")
    attempts: list[AttemptOut]
    audit: list[AuditOut]


class HistoryPage(BaseModel):
    posts: list[PostOut]
    next: str | None = Field(description="Pass as `after` for the next page; null at the end.")


class NewPost(BaseModel):
    account: str | None = Field(None, max_length=200, description="One account to post to "
                                "(or give `accounts`).")
    accounts: list[str] | None = Field(None, max_length=50, description="Several accounts: "
                                       "each gets its own post (or thread) from the same "
                                       "text, all stored in one transaction or none. Both "
                                       "accounts of an English/Arabic pair get linked posts, "
                                       "as a pair import gives them.")
    text: str = Field(max_length=MAX_TEXT_CHARS, description="The shared text.")
    variants: dict[str, Annotated[str, Field(max_length=MAX_TEXT_CHARS)]] = Field(
        default_factory=dict, max_length=50, description="An account's own text instead of "
        "the shared text, by account name.")
    at: str | None = Field(None, max_length=100,
                           description="'now', '+2h' or '2026-12-01 09:00' (office time); "
                                       "default: each account's next free slot.")
    image: Base64Bytes | None = Field(None, description="An image (JPEG, PNG, GIF or WEBP, "
                                      "base64) for the first part of each account's post, "
                                      "checked by each platform's image rules.")
    alt_text: str | None = Field(None, max_length=MEDIA_ALT_CHARS, description="The image's "
                                 "description for screen readers; required with an image.")


class Queued(BaseModel):
    posts: list[PostOut]
    warnings: list[str] = Field(default_factory=list, description="Where queueing takes a "
                                "billing app past its monthly spend cap: by how much, and "
                                "until when the posts past it wait.")


class PreviewIn(BaseModel):
    account: str | None = Field(None, max_length=200, description="Preview new text for "
                                "this account (or give `post`).")
    post: int | None = Field(None, ge=1, le=2**31 - 1, description="Preview an edit of this "
                             "stored post: the one post it stays, a thread part's numbering "
                             "added back.")
    text: str = Field(max_length=MAX_TEXT_CHARS)


class PartOut(BaseModel):
    text: str
    weighted_length: int
    position: int
    size: int


class PreviewOut(BaseModel):
    platform: str
    title: str = Field(description="The platform's name for people, e.g. \"X\".")
    length: int
    limit: int
    unit: str = Field(description="What length and limit count, e.g. \"weighted characters\".")
    fits: bool = Field(description="Whether the text fits one post.")
    threads: bool = Field(description="Whether text too long for one post goes out as a "
                          "thread on this platform (otherwise it is refused).")
    parts: list[PartOut]
    cost: str | None = Field(None, description="Where the platform bills per request (X): "
                             "what publishing the parts will cost at the office's prices, "
                             "e.g. \"2 posts, 1 with link: $0.2150\".")
    cap_warning: str | None = Field(None, description="Where queueing the parts now would "
                                    "take the billing app past its monthly spend cap: by how "
                                    "much (or that they cost more than the whole cap).")


def out(post) -> PostOut:
    return PostOut(**post_record(post))


@router.get("/queue", response_model=list[PostOut], summary=N_("Upcoming posts, soonest first"))
def api_queue(request: Request, actor: ApiAuthor,
              account: Annotated[str | None, Query(max_length=200)] = None):
    w = web(request)
    if account:
        w.config.account(account)
    return [out(p) for p in w.store.history.upcoming(account or None)]


@router.get("/posts", response_model=HistoryPage, summary=N_("History, newest first"))
def api_history(request: Request, actor: ApiAuthor,
                account: Annotated[str | None, Query(max_length=200)] = None,
                status: PostStatus | None = None,
                since: Annotated[str | None, Query(max_length=100)] = None,
                until: Annotated[str | None, Query(max_length=100)] = None,
                search: Annotated[str | None, Query(
                    max_length=500, description=N_(
                        "Words, all must appear; case and diacritics ignored; \"a phrase\" in "
                        "quotes must appear as written"))
                ] = None,
                limit: Annotated[int, Query(ge=1, le=500)] = 50,
                after: Annotated[str | None, Query(max_length=200)] = None):
    w = web(request)
    if account:
        w.config.account(account)
    f = HistoryFilter(account=account or None, status=status.value if status else None,
                      since=parse_time(w, since) if since else None,
                      until=parse_time(w, until) if until else None,
                      search=search or None, limit=limit + 1,
                      after=read_cursor(after or ""))
    page = w.store.history.search(f)
    more = len(page) > limit
    page = page[:limit]
    return HistoryPage(posts=[out(p) for p in page], next=cursor(page[-1]) if more else None)


@router.get("/posts/{post_id}", response_model=PostDetail, summary=N_("One post, its attempts "
            "and audit trail"), responses={404: {"description": "No such post"}})
def api_post(request: Request, post_id: PostId, actor: ApiAuthor):
    w = web(request)
    p = w.store.history.get(post_id)
    return PostDetail(
        **post_record(p), created_by=p.created_by, approved_by=p.approved_by,
        version=w.store.posts.versions([post_id])[post_id], corrects_id=p.corrects_id,
        answered_by=[a.id for a in w.store.retractions.answers_to(post_id)],
        clearance=ClearanceOut(**w.store.posts.progress([post_id])[post_id].record()),
        attempts=[AttemptOut(started_at=a.started_at.isoformat(), outcome=a.outcome,
                             error_code=a.error_code, error_message=a.error_message,
                             explanation=a.explanation, remote_id=a.remote_id)
                  for a in p.attempts],
        audit=[AuditOut(at=e.at.isoformat(), actor=e.actor, action=e.action,
                        from_status=e.from_status, to_status=e.to_status, reason=e.reason)
               for e in w.store.history.audit_trail(post_id)])


#: POST /api/posts may carry an image (base64): the request gate lets it read up to the
#: upload limit ([web] max_request_mb) instead of the small body limit.
UPLOAD_PATHS = ("/api/posts",)


@router.post("/posts", response_model=Queued, status_code=201,
             summary=N_("Queue a post for one account or several (drafts when review is "
                     "required)"),
             responses={400: {"description": "Bad account, text, image or time; with several "
                                             "accounts, nothing is stored and the message "
                                             "names the account refused"}})
def api_add(request: Request, body: NewPost, actor: ApiAuthor):
    w = web(request)
    if (body.account is None) == (body.accounts is None):
        raise PostTextError("give either `account` or `accounts`")
    names = [body.account] if body.account is not None else body.accounts or []
    unknown = set(body.variants) - set(names)
    if unknown:
        raise PostTextError(f"a variant is given for {', '.join(sorted(unknown))}, which is "
                            "not among the accounts chosen; drop it or add the account")
    warnings: list[str] = []
    threads = compose_for(w, actor, accounts=names, text=body.text, variants=body.variants,
                          at=body.at, image=body.image, alt_text=body.alt_text,
                          warnings=warnings)
    return Queued(posts=[out(p) for posts in threads for p in posts], warnings=warnings)


class ApproveIn(BaseModel):
    version: str = Field(max_length=64, description="The `version` of the post you reviewed "
                         "(GET /api/posts/{id}); refused with 409 if it has changed since.")


class Approved(PostOut):
    cleared_step: str = Field(description="The step of clearance this approval cleared.")
    clearance: ClearanceOut


@router.post("/posts/{post_id}/approve", response_model=Approved,
             summary=N_("Approve a draft (clear the step it waits for)"),
             responses={400: {"description": "No version given"},
                        404: {"description": "No such post"},
                        409: {"description": "Not a draft, changed since the version given, "
                                             "the two-person rule, or a step of clearance "
                                             "the caller does not hold or that is not next"}})
def api_approve(request: Request, post_id: PostId,
                actor: ApiApprover, body: ApproveIn | None = None):
    w = web(request)
    # A pair is approved together, so more than one post may come back: answer for this one.
    w.store.posts.approve([post_id], seen={post_id: body.version if body else ""},
                          actor=actor, now=w.now())
    done = w.store.posts.progress([post_id])[post_id]
    return Approved(**out(w.store.history.get(post_id)).model_dump(),
                    cleared_step=done.cleared[-1].step if done.cleared else done.steps[-1],
                    clearance=ClearanceOut(**done.record()))


class RetractIn(BaseModel):
    reason: Literal[tuple(REASONS)] = Field(description="Why it comes down: the grounds DoD "
                                            "Instruction 5400.17 allows.")
    note: str = Field(max_length=1000, description="What was wrong, for the audit trail.")
    acknowledge: str | None = Field(None, max_length=MAX_TEXT_CHARS, description="Queue a "
                                    "public acknowledgment as a draft for approval: this "
                                    "text, or \"\" for the default wording; null for none.")
    acknowledge_pair: str | None = Field(None, max_length=MAX_TEXT_CHARS, description="For a "
                                         "pair: the acknowledgment in the partner's language "
                                         "(default wording when null).")


class RetractOut(BaseModel):
    retracted: list[int] = Field(description="Posts deleted on their platform (or found "
                                 "gone), now `retracted`.")
    refused: list[str] = Field(description="Posts still published, each with why.")
    unsettled: list[str] = Field(description="Posts still `retracting`: no answer could be "
                                 "had; check the account, then retract again.")
    acknowledgments: list[PostOut]


@router.post("/posts/{post_id}/retract", response_model=RetractOut,
             summary=N_("Delete a published post on its platform; keep it in the records"),
             responses={404: {"description": "No such post"},
                        409: {"description": "Nothing of it is published"}})
def api_retract(request: Request, post_id: PostId, body: RetractIn, actor: ApiApprover):
    w = web(request)
    done = retract(w.store, w.config, actor, post_id, reason=body.reason, note=body.note,
                   now=w.now(), acknowledge=body.acknowledge,
                   acknowledge_pair=body.acknowledge_pair)
    return RetractOut(retracted=done.retracted,
                      refused=[f"post {i}: {why}" for i, why in done.refused],
                      unsettled=[f"post {i}: {why}" for i, why in done.unsettled],
                      acknowledgments=[out(p) for p in done.acknowledgments])


class CorrectIn(BaseModel):
    text: str = Field(max_length=MAX_TEXT_CHARS, description="The correction, as posted.")


@router.post("/posts/{post_id}/correct", response_model=Queued, status_code=201,
             summary=N_("Post a correction of a published post, linked to it (a reply where "
                     "the platform threads)"),
             responses={404: {"description": "No such post"},
                        409: {"description": "Not published"}})
def api_correct(request: Request, post_id: PostId, body: CorrectIn, actor: ApiApprover):
    w = web(request)
    return Queued(posts=[out(p) for p in correct(w.store, w.config, actor, post_id,
                                                 body.text, now=w.now())])


@router.post("/preview", response_model=PreviewOut,
             summary=N_("How text counts and splits for an account (the Compose counter)"))
def api_preview(request: Request, body: PreviewIn, actor: ApiAuthor):
    w = web(request)
    if (body.account is None) == (body.post is None):
        raise PostTextError("give either `account` or `post`")
    if body.post is not None:
        result = edit_preview(body.text, w.store.history.get(body.post), w.config)
        warning = None
    else:
        account = w.config.account(body.account)
        result = preview(body.text, account, w.config)
        warning = cap_warning(w, account, result)
    return PreviewOut(cap_warning=warning, platform=result.platform,
                      title=result.title, length=result.length,
                      limit=result.limit, unit=result.unit, fits=result.fits,
                      threads=result.threads,
                      parts=[PartOut(**p.__dict__) for p in result.parts],
                      cost=str(result.cost) if result.cost and result.cost.posts else None)


def cap_warning(w, account, result) -> str | None:
    """What queueing the previewed parts now would do to the account's monthly cap."""
    from db.store import PlannedPost
    from scheduler.spend import cap_outlook

    now = w.now()
    planned = [PlannedPost(account=account.name, platform=account.platform, text=p.text,
                           scheduled_at=now, thread_position=p.position, thread_size=p.size)
               for p in result.parts]
    for o in cap_outlook(w.store, w.config, planned, now):
        if o.never_fits:
            return gettext("these parts cost more than the whole %(platform)s monthly cap; "
                           "they would be refused", platform=o.title)
        if o.message:
            return o.message
    return None


@router.get("/status", summary=N_("The figures of 'factpost status'"))
def api_status(request: Request, actor: ApiAuthor) -> dict:
    w = web(request)
    return status_report(w.store, w.config, w.now())



# -- the schema and its reference page, for signed-in staff only ------------------------------

@router.get("/openapi.json", include_in_schema=False)
def api_schema(request: Request, actor: ApiAuthor) -> dict:
    """The OpenAPI schema, for a bearer token or a signed-in browser."""
    return request.app.openapi()


@router.get("/docs", include_in_schema=False)
def api_docs(request: Request, actor: Author):
    """The API reference, rendered here from the schema. Not Swagger UI: that is a large
    third-party script (with its own history of XSS through its URL parameters) that the
    app's Content-Security-Policy rightly refuses to run inline; a server-rendered page needs
    no script at all."""
    schema = request.app.openapi()
    operations = []
    for path, methods in schema.get("paths", {}).items():
        for method, operation in methods.items():
            body = (operation.get("requestBody", {}).get("content", {})
                    .get("application/json", {}).get("schema", {}))
            operations.append({
                "method": method.upper(), "path": path,
                # The summaries are marked for the catalogue where the routes declare them.
                "summary": gettext(operation["summary"]) if operation.get("summary") else "",
                # So are the parameters' descriptions: the schema keeps the English.
                "parameters": [{"name": p["name"],
                                "in": gettext(PARAMETER_PLACES.get(p["in"], p["in"])),
                                "required": p.get("required", False),
                                "type": _type_name(p.get("schema", {})),
                                "description": _translated(p.get("description") or
                                                           p.get("schema", {})
                                                           .get("description", ""))}
                               for p in operation.get("parameters", [])],
                "body": _type_name(body) if body else None,
                "responses": sorted(operation.get("responses", {})),
            })
    models = {name: [(field, _type_name(spec), field in model.get("required", []))
                     for field, spec in model.get("properties", {}).items()]
              for name, model in schema.get("components", {}).get("schemas", {}).items()}
    return web(request).render(request, "api_docs.html", actor, operations=operations,
                               models=models, info=schema.get("info", {}))


#: Where a parameter goes, as OpenAPI names it.
PARAMETER_PLACES = {"path": N_("path"), "query": N_("query"), "header": N_("header"),
                    "cookie": N_("cookie")}


def _translated(text: str) -> str:
    return gettext(text) if text else ""


def _type_name(spec: dict) -> str:
    if "$ref" in spec:
        return spec["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in spec:
        return " | ".join(_type_name(s) for s in spec["anyOf"])
    if spec.get("type") == "array":
        return f"list of {_type_name(spec.get('items', {}))}"
    if "enum" in spec:
        return " | ".join(str(v) for v in spec["enum"])
    return spec.get("type", "object")
