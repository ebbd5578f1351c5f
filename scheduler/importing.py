"""Importing a fact sheet: file -> canonical text -> sections -> snippets -> scheduled posts.

Everything is read, checked and planned before the database is touched, and the store writes
the document and all its posts in one transaction: a bad file leaves the database as it was.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path, PurePath
from typing import Literal

from db.store import PlannedPost, Store
from posts.factsheet import FactSheet, Part, parse_factsheet, parse_structured, render_parts
from posts.formats.docx import read_docx
from posts.formats.html import read_html
from posts.formats.markdown import read_markdown
from posts.formats.pdf import read_pdf
from posts.split import Snippet, split_section
from posts.states import PostStatus
from posts.text import DocumentError, EmptyDocument, UnreadableDocument, decode_document
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
    """Read and parse a fact sheet file. Returns (canonical text, parsed sheet).

    The format comes from the file's first bytes when they say PDF or ZIP (a PDF saved as
    `.txt` is still a PDF), otherwise from its extension. The text of a structured document is
    its parts rendered as text (`render_parts`): what its content hash is taken over.
    """
    name = str(path)
    if not path.exists():
        raise DocumentImportError(f"{name}: file not found; check the path")
    if not path.is_file():
        raise DocumentImportError(f"{name}: not a regular file; give the path of a fact sheet")
    size = path.stat().st_size
    if size > MAX_DOCUMENT_BYTES:
        raise DocumentImportError(
            f"{name}: {size / 1_048_576:.1f} MB is too large for a fact sheet (limit "
            f"{MAX_DOCUMENT_BYTES // 1_048_576} MB); split the document or check that this is "
            "the right file")
    try:
        data = path.read_bytes()
        kind = document_format(name, data)
        if kind == "text":
            text = decode_document(data, name)
            sheet = parse_factsheet(text)
        else:
            parts = _read_parts(kind, data, name)
            text, sheet = render_parts(parts), parse_structured(parts)
    except DocumentError as exc:
        raise DocumentImportError(str(exc)) from None
    except OSError as exc:
        raise DocumentImportError(f"{name}: cannot be read ({exc.strerror}); check permissions"
                           ) from None
    if not sheet.sections:
        raise DocumentImportError(f"{name}: no post text found (only a title or contact lines); "
                           "add paragraphs to the fact sheet")
    return text, sheet


Format = Literal["text", "markdown", "html", "pdf", "docx"]

_EXTENSIONS: dict[str, Format] = {
    "": "text", ".txt": "text", ".text": "text",
    ".md": "markdown", ".markdown": "markdown",
    ".html": "html", ".htm": "html", ".xhtml": "html",
    ".pdf": "pdf", ".docx": "docx",
}
_SUPPORTED = ".txt, .md, .html, .pdf or .docx"


def document_format(filename: str, data: bytes) -> Format:
    """Which reader a file needs, from its first bytes and its extension."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        return "docx"  # the reader says what else a ZIP archive is
    suffix = PurePath(filename).suffix.lower()
    kind = _EXTENSIONS.get(suffix)
    if kind is None:
        hint = "; save it as .docx" if suffix in (".doc", ".odt", ".rtf") else ""
        raise UnreadableDocument(f"{filename}: {suffix} files are not supported{hint}; "
                                 f"import a {_SUPPORTED} file")
    if kind == "pdf" and data:
        raise UnreadableDocument(f"{filename}: named .pdf but is not a PDF (it does not start "
                                 "with %PDF-); check that this is the right file")
    if kind == "docx" and data:
        raise UnreadableDocument(f"{filename}: named .docx but is not a Word document (not a "
                                 "ZIP archive); save it again as .docx from Word")
    return kind


def _read_parts(kind: Format, data: bytes, name: str) -> list[Part]:
    if not data:
        raise EmptyDocument(f"{name}: the file is empty; check that you picked the right file")
    if kind == "pdf":
        return read_pdf(data, name)
    if kind == "docx":
        return read_docx(data, name)
    if kind == "html":
        return read_html(data, name)
    return read_markdown(decode_document(data, name), name)


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
    digest = content_hash(text)
    existing = store.find_document(digest)
    done = store.accounts_with_posts(existing.id) if existing else set()
    todo = [a for a in accounts if a.name not in done]
    planned = plan_posts(sheet, todo, config=config, store=store, now=now, at=at, every=every)
    status = PostStatus.DRAFT if config.require_approval else PostStatus.QUEUED
    outcome = store.import_document(
        source_name=path.name, content_hash=digest, title=sheet.title,
        sections=[(s.heading, s.text) for s in sheet.sections], posts=planned, actor=actor,
        now=now, status=status)
    times = [p.scheduled_at for p in planned]
    skipped = tuple(sorted(done | set(outcome.already_imported_accounts)))
    return ImportReport(document=path.name, title=sheet.title, document_id=outcome.document_id,
                        created=outcome.created, skipped_accounts=skipped,
                        first_at=min(times, default=None), last_at=max(times, default=None))
