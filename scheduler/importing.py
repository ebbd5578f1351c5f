"""Importing a fact sheet: file -> canonical text -> sections -> snippets -> scheduled posts.

Everything is read (reading.py), checked and planned (planning.py; corrections.py for a changed
version of a file imported before) before the database is touched, and the store writes the
document and all its posts in one transaction: a bad file leaves the database as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import replace as replace_fields
from datetime import datetime, timedelta
from pathlib import Path

from db.store import PlannedPost, Store
from posts.factsheet import (
    FactSheet,
)
from posts.formats.images import (
    FoundImage,
)
from posts.sentences import detect_language
from posts.states import Actor, PostStatus
from posts.words import Words, words
from scheduler.cap_outlook import CapOutlook, cap_outlook, refuse_what_never_fits
from scheduler.config import AccountConfig, Config
from scheduler.corrections import Correction, plan_correction
from scheduler.gc_pause import gc_paused
from scheduler.planning import Cost, attach_images, costs, plan_posts
from scheduler.reading import content_hash, load_document


@dataclass(frozen=True)
class ImportReport:
    document: str
    title: str | None
    #: None when nothing was stored (a correction not yet applied).
    document_id: int | None
    created: int
    #: Accounts that already had posts from this document, so got nothing new.
    skipped_accounts: tuple[str, ...]
    first_at: datetime | None
    last_at: datetime | None
    #: Set when the file is a changed version of one imported before.
    correction: Correction | None = None
    #: Whether `correction` was carried out.
    applied: bool = False
    #: Images the document holds, and (with images asked for) how many posts got one and a
    #: line for each image or account that did not.
    images_found: int = 0
    images_attached: int = 0
    image_notes: tuple[Words | str, ...] = ()
    #: Lines of the document left out of the posts, and close calls (LoadedDocument.notes).
    notes: tuple[Words | str, ...] = ()
    #: What the queued posts will cost, per account of a platform that bills per request.
    costs: tuple[Cost, ...] = ()
    #: Where queueing them takes a billing app past its monthly cap: what and by how much.
    cap_warnings: tuple[Words, ...] = ()
    #: Accounts whose configured language is not the document's (language_warnings).
    language_warnings: tuple[Words, ...] = ()


def import_file(path: Path, *, store: Store, config: Config,
                accounts: Sequence[AccountConfig], actor: Actor, now: datetime,
                at: datetime | None = None, every: timedelta | None = None,
                replace: bool = False, with_images: bool = False,
                base_url: str | None = None) -> ImportReport:
    """Import a fact sheet. A changed version of a file imported before (same name, other
    content) is only planned, and returned as `report.correction`, unless `replace`: then it
    supersedes the unpublished posts of the earlier version in one transaction. With
    `with_images`, each section's first post carries the section's first usable image.
    Relative link addresses resolve against `base_url` (see `load_document`)."""
    loaded = load_document(path, base_url, config.limits)
    # Planning and storing a large sheet hold it all alive at once; see gc_pause. Not while
    # reading the file: a PDF or Word reader's garbage in cycles is collected as it goes, so
    # a hostile file's cannot pile up until the end.
    with gc_paused():
        return import_sheet(loaded.text, loaded.sheet, source_name=path.name, store=store,
                            config=config, accounts=accounts, actor=actor, now=now, at=at,
                            every=every, replace=replace, images=loaded.images,
                            with_images=with_images, notes=loaded.notes)


def import_sheet(text: str, sheet: FactSheet, *, source_name: str, store: Store,
                 config: Config, accounts: Sequence[AccountConfig], actor: Actor, now: datetime,
                 at: datetime | None = None, every: timedelta | None = None,
                 replace: bool = False, images: Sequence[FoundImage] = (),
                 with_images: bool = False, notes: Sequence[str] | None = None
                 ) -> ImportReport:
    """Plan and store the posts of a parsed sheet (see `parse_with_images`) in one
    transaction; a changed version of an earlier document from `source_name`, and
    `with_images`, are handled as `import_file` says. `notes` (default: the sheet's) are
    passed on in the report."""
    plan = plan_import(text, sheet, source_name=source_name, store=store, config=config,
                       accounts=accounts, now=now, at=at, every=every, images=images,
                       with_images=with_images, notes=notes)
    return store_import(plan, store=store, config=config, actor=actor, now=now,
                        replace=replace)


@dataclass(frozen=True)
class ImportPlan:
    """What importing a parsed sheet would store, worked out without writing anything: the
    posts of a first import (`planned`), or the `correction` of a changed version of a file
    imported before. The web's review shows one and queues it once confirmed."""

    text: str
    sheet: FactSheet
    source_name: str
    #: A first import's posts, in order (empty for a correction).
    planned: tuple[PlannedPost, ...]
    correction: Correction | None
    #: Accounts that already have posts from this document, so get nothing new.
    skipped_accounts: tuple[str, ...]
    images_found: int
    image_notes: tuple[Words | str, ...]
    notes: tuple[Words | str, ...]
    costs: tuple[Cost, ...]
    outlooks: tuple[CapOutlook, ...]
    language_warnings: tuple[Words, ...] = ()

    @property
    def cap_warnings(self) -> tuple[Words, ...]:
        return tuple(o.warning for o in self.outlooks if o.warning is not None)

    @property
    def posts(self) -> tuple[PlannedPost, ...]:
        """The posts queueing this plan creates."""
        return self.correction.posts if self.correction is not None else self.planned


def plan_import(text: str, sheet: FactSheet, *, source_name: str, store: Store,
                config: Config, accounts: Sequence[AccountConfig], now: datetime,
                at: datetime | None = None, every: timedelta | None = None,
                images: Sequence[FoundImage] = (), with_images: bool = False,
                notes: Sequence[str] | None = None) -> ImportPlan:
    """Everything `import_sheet` decides before it writes: reads the store, writes nothing.
    Raises what planning raises (no posting slots, a post over a limit, ...)."""
    notes = tuple(sheet.notes if notes is None else notes)
    names = {a.name for a in accounts}
    languages = language_warnings(sheet, accounts)
    existing = store.documents.find(content_hash(text))
    if existing is None:
        earlier = [p for p in store.documents.live_posts_from_source(source_name)
                   if p.account in names]
        previous = store.documents.latest(source_name)
        if earlier and previous is not None:
            correction = plan_correction(sheet, accounts, earlier, previous_id=previous.id,
                                         config=config, store=store, now=now, at=at,
                                         every=every)
            image_notes = ((words("images are attached on a first import only, not to a "
                                  "corrected version"),) if with_images and images else ())
            return ImportPlan(
                text, sheet, source_name, (), correction, (), len(images), image_notes, notes,
                costs(correction.posts, config),
                tuple(cap_outlook(store, config, correction.posts, now,
                                  leaving=correction.supersede)), languages)
    done = store.documents.accounts_with_posts(existing.id) if existing else set()
    if existing:
        # After a correction, an account whose posts all stayed the same has them under the
        # earlier version: it is done too.
        done |= {p.account for p in store.documents.live_posts_from_source(existing.source_name)}
    todo = [a for a in accounts if a.name not in done]
    planned = plan_posts(sheet, todo, config=config, store=store, now=now, at=at, every=every)
    attached_notes: list[Words] = []
    if with_images and planned:
        planned, attached_notes = attach_images(planned, images, sheet)
    return ImportPlan(text, sheet, source_name, tuple(planned), None,
                      tuple(sorted(done & names)), len(images), tuple(attached_notes), notes,
                      costs(planned, config), tuple(cap_outlook(store, config, planned, now)),
                      languages)


def store_import(plan: ImportPlan, *, store: Store, config: Config, actor: Actor,
                 now: datetime, replace: bool = False) -> ImportReport:
    """Store what `plan` says in one transaction: a first import's posts, or (with `replace`)
    a correction. A correction without `replace` is reported, not stored. Raises CapExceeded
    (refuse_what_never_fits) before writing when a post or thread can never fit the cap."""
    status = PostStatus.DRAFT if config.require_approval else PostStatus.QUEUED
    sheet = plan.sheet
    sections = [(s.heading, s.text) for s in sheet.sections]
    report = ImportReport(document=plan.source_name, title=sheet.title, document_id=None,
                          created=0, skipped_accounts=plan.skipped_accounts, first_at=None,
                          last_at=None, correction=plan.correction,
                          images_found=plan.images_found, image_notes=plan.image_notes,
                          notes=plan.notes, costs=plan.costs, cap_warnings=plan.cap_warnings,
                          language_warnings=plan.language_warnings)
    correction = plan.correction
    if correction is not None and not (replace and correction.changes_posts):
        return report
    refuse_what_never_fits(list(plan.outlooks))
    if correction is not None:
        outcome = store.documents.correct(
            source_name=plan.source_name, content_hash=content_hash(plan.text),
            title=sheet.title, sections=sections, supersede=correction.supersede,
            posts=correction.posts, relinks=correction.relinks, actor=actor, now=now,
            status=status)
    else:
        outcome = store.documents.add(
            source_name=plan.source_name, content_hash=content_hash(plan.text),
            title=sheet.title, sections=sections, posts=plan.planned, actor=actor, now=now,
            status=status)
    times = [p.scheduled_at for p in plan.posts]
    return replace_fields(
        report, document_id=outcome.document_id, created=outcome.created,
        applied=correction is not None,
        skipped_accounts=tuple(sorted(set(plan.skipped_accounts)
                                      | set(outcome.already_imported_accounts))),
        first_at=min(times, default=None), last_at=max(times, default=None),
        images_attached=sum(1 for p in plan.posts if p.media is not None))


_LANGUAGE_NAMES = {"en": words("English"), "ar": words("Arabic")}


def language_warnings(sheet: FactSheet, accounts: Sequence[AccountConfig]
                      ) -> tuple[Words, ...]:
    """One line per account whose `language` is not the language the sheet is written in
    (posts.sentences.detect_language over its title and sections): Arabic text sent to an
    English account, or the reverse, is almost always the wrong file or the wrong account."""
    text = "\n".join([sheet.title or "", *(f"{s.heading or ''}\n{s.text}"
                                          for s in sheet.sections)])
    found = detect_language(text)
    return tuple(
        words("the document reads as %(found)s, but account %(account)s posts in %(language)s "
              "(language = \"%(code)s\" in the config); import it for an account in its "
              "language, or correct the account's language", found=_LANGUAGE_NAMES[found],
              account=repr(a.name), language=_LANGUAGE_NAMES.get(a.language, a.language),
              code=a.language)
        for a in accounts if a.language != found)
