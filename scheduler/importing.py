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

from db.store import Store
from posts.factsheet import (
    FactSheet,
)
from posts.formats.images import (
    FoundImage,
)
from posts.states import Actor, PostStatus
from scheduler.config import AccountConfig, Config
from scheduler.corrections import Correction, plan_correction
from scheduler.planning import Cost, attach_images, costs, plan_posts
from scheduler.reading import content_hash, load_document
from scheduler.spend import cap_outlook, refuse_what_never_fits


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
    image_notes: tuple[str, ...] = ()
    #: Lines of the document left out of the posts, and close calls (LoadedDocument.notes).
    notes: tuple[str, ...] = ()
    #: What the queued posts will cost, per account of a platform that bills per request.
    costs: tuple[Cost, ...] = ()
    #: Where queueing them takes a billing app past its monthly cap: what and by how much.
    cap_warnings: tuple[str, ...] = ()


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
    notes = tuple(sheet.notes if notes is None else notes)
    digest = content_hash(text)
    status = PostStatus.DRAFT if config.require_approval else PostStatus.QUEUED
    names = {a.name for a in accounts}
    existing = store.documents.find(digest)
    if existing is None:
        earlier = [p for p in store.documents.live_posts_from_source(source_name)
                   if p.account in names]
        previous = store.documents.latest(source_name)
        if earlier and previous is not None:
            correction = plan_correction(sheet, accounts, earlier, previous_id=previous.id,
                                         config=config, store=store, now=now, at=at,
                                         every=every)
            image_notes = (("images are attached on a first import only, not to a "
                            "corrected version",) if with_images and images else ())
            outlooks = cap_outlook(store, config, correction.posts, now,
                                   leaving=correction.supersede)
            report = ImportReport(document=source_name, title=sheet.title, document_id=None,
                                  created=0, skipped_accounts=(), first_at=None, last_at=None,
                                  correction=correction, images_found=len(images),
                                  image_notes=image_notes, notes=notes,
                                  costs=costs(correction.posts, config),
                                  cap_warnings=tuple(o.message for o in outlooks if o.message))
            if not replace or not correction.changes_posts:
                return report
            refuse_what_never_fits(outlooks)
            outcome = store.documents.correct(
                source_name=source_name, content_hash=digest, title=sheet.title,
                sections=[(s.heading, s.text) for s in sheet.sections],
                supersede=correction.supersede, posts=correction.posts,
                relinks=correction.relinks, actor=actor, now=now, status=status)
            times = [p.scheduled_at for p in correction.posts]
            return replace_fields(report, document_id=outcome.document_id,
                                  created=outcome.created, applied=True,
                                  first_at=min(times, default=None),
                                  last_at=max(times, default=None))
    done = store.documents.accounts_with_posts(existing.id) if existing else set()
    if existing:
        # After a correction, an account whose posts all stayed the same has them under the
        # earlier version: it is done too.
        done |= {p.account for p in store.documents.live_posts_from_source(existing.source_name)}
    todo = [a for a in accounts if a.name not in done]
    planned = plan_posts(sheet, todo, config=config, store=store, now=now, at=at, every=every)
    attached_notes: list[str] = []
    if with_images and planned:
        planned, attached_notes = attach_images(planned, images, sheet)
    outlooks = cap_outlook(store, config, planned, now)
    refuse_what_never_fits(outlooks)
    outcome = store.documents.add(
        source_name=source_name, content_hash=digest, title=sheet.title,
        sections=[(s.heading, s.text) for s in sheet.sections], posts=planned, actor=actor,
        now=now, status=status)
    times = [p.scheduled_at for p in planned]
    skipped = tuple(sorted((done & names) | set(outcome.already_imported_accounts)))
    return ImportReport(document=source_name, title=sheet.title, document_id=outcome.document_id,
                        created=outcome.created, skipped_accounts=skipped,
                        first_at=min(times, default=None), last_at=max(times, default=None),
                        images_found=len(images),
                        images_attached=sum(1 for p in planned if p.media is not None),
                        image_notes=tuple(attached_notes), notes=notes,
                        costs=costs(planned, config),
                        cap_warnings=tuple(o.message for o in outlooks if o.message))


