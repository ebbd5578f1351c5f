"""Importing a fact sheet: file -> canonical text -> sections -> snippets -> scheduled posts.

Everything is read, checked and planned before the database is touched, and the store writes
the document and all its posts in one transaction: a bad file leaves the database as it was.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from db.store import PlannedPost, Store
from posts.factsheet import FactSheet, parse_factsheet
from posts.split import Snippet, split_section
from posts.states import PostStatus
from posts.text import DocumentError, decode_document
from scheduler.config import AccountConfig, Config
from scheduler.timing import free_slots

#: Fact sheets are a few pages; anything far larger is a wrong file, not a long document.
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024


class DocumentImportError(Exception):
    """A document cannot be imported; the message names the file and what to do."""


@dataclass(frozen=True)
class ImportReport:
    document: str
    title: str | None
    document_id: int
    created: int
    #: Accounts that already had posts from this document, so got nothing new.
    skipped_accounts: tuple[str, ...]
    first_at: datetime | None
    last_at: datetime | None


def read_document(path: Path) -> tuple[str, FactSheet]:
    """Read and parse a fact sheet file. Returns (canonical text, parsed sheet)."""
    name = str(path)
    if not path.exists():
        raise DocumentImportError(f"{name}: file not found; check the path")
    if not path.is_file():
        raise DocumentImportError(f"{name}: not a regular file; give the path of a fact sheet")
    _check_size(path.stat().st_size, name)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentImportError(f"{name}: cannot be read ({exc.strerror}); check permissions"
                           ) from None
    return parse_document(data, name)


def parse_document(data: bytes, name: str) -> tuple[str, FactSheet]:
    """Decode and parse a fact sheet's bytes (an upload, a pasted text). `name` is for
    messages. Returns (canonical text, parsed sheet)."""
    _check_size(len(data), name)
    try:
        text = decode_document(data, name)
    except DocumentError as exc:
        raise DocumentImportError(str(exc)) from None
    sheet = parse_factsheet(text)
    if not sheet.sections:
        raise DocumentImportError(f"{name}: no post text found (only a title or contact lines); "
                           "add paragraphs to the fact sheet")
    return text, sheet


def _check_size(size: int, name: str) -> None:
    if size > MAX_DOCUMENT_BYTES:
        raise DocumentImportError(
            f"{name}: {size / 1_048_576:.1f} MB is too large for a fact sheet (limit "
            f"{MAX_DOCUMENT_BYTES // 1_048_576} MB); split the document or check that this is "
            "the right file")


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def snippets_for(sheet: FactSheet, account: AccountConfig) -> list[tuple[int, list[Snippet]]]:
    """Per section (by index), the snippets this account will post."""
    return [(i, split_section(section, account.platform, hashtags=account.hashtags))
            for i, section in enumerate(sheet.sections)]


def plan_posts(sheet: FactSheet, accounts: Sequence[AccountConfig], *, config: Config,
               store: Store, now: datetime, at: datetime | None = None,
               every: timedelta | None = None) -> list[PlannedPost]:
    """Give every unit (a single post, or a whole thread back to back) a time.

    With `at`/`every`, units are spaced evenly from `at`; otherwise each goes into the account's
    next free cron slot.
    """
    planned: list[PlannedPost] = []
    for account in accounts:
        units = snippets_for(sheet, account)
        if at is not None or every is not None:
            start, step = at or now, every or timedelta(0)
            times = [start + step * n for n in range(len(units))]
        else:
            if not account.slots:
                raise DocumentImportError(f"account {account.name!r} has no posting slots; add "
                                   "`slots` to it in the config or pass --at/--every")
            slots = free_slots(account.slots, config.timezone, now,
                               taken=store.scheduled_times(account.name))
            times = [next(slots) for _ in units]
        for when, (section_index, snippets) in zip(times, units, strict=True):
            planned.extend(PlannedPost(account=account.name, platform=account.platform,
                                       text=s.text, scheduled_at=when,
                                       section_index=section_index,
                                       thread_position=s.thread_position,
                                       thread_size=s.thread_size) for s in snippets)
    return planned


def import_file(path: Path, *, store: Store, config: Config,
                accounts: Sequence[AccountConfig], actor: str, now: datetime,
                at: datetime | None = None, every: timedelta | None = None) -> ImportReport:
    text, sheet = read_document(path)
    return import_sheet(text, sheet, source_name=path.name, store=store, config=config,
                        accounts=accounts, actor=actor, now=now, at=at, every=every)


def import_sheet(text: str, sheet: FactSheet, *, source_name: str, store: Store,
                 config: Config, accounts: Sequence[AccountConfig], actor: str, now: datetime,
                 at: datetime | None = None, every: timedelta | None = None) -> ImportReport:
    """Plan and store the posts of a parsed sheet (see `parse_document`) in one transaction."""
    digest = content_hash(text)
    existing = store.find_document(digest)
    done = store.accounts_with_posts(existing.id) if existing else set()
    todo = [a for a in accounts if a.name not in done]
    planned = plan_posts(sheet, todo, config=config, store=store, now=now, at=at, every=every)
    status = PostStatus.DRAFT if config.require_approval else PostStatus.QUEUED
    outcome = store.import_document(
        source_name=source_name, content_hash=digest, title=sheet.title,
        sections=[(s.heading, s.text) for s in sheet.sections], posts=planned, actor=actor,
        now=now, status=status)
    times = [p.scheduled_at for p in planned]
    skipped = tuple(sorted(done | set(outcome.already_imported_accounts)))
    return ImportReport(document=source_name, title=sheet.title,
                        document_id=outcome.document_id, created=outcome.created,
                        skipped_accounts=skipped, first_at=min(times, default=None),
                        last_at=max(times, default=None))
