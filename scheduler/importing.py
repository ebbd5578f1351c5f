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
from posts.pairs import PairingError, check_sections, pair_keys, split_bilingual
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
    size = path.stat().st_size
    if size > MAX_DOCUMENT_BYTES:
        raise DocumentImportError(
            f"{name}: {size / 1_048_576:.1f} MB is too large for a fact sheet (limit "
            f"{MAX_DOCUMENT_BYTES // 1_048_576} MB); split the document or check that this is "
            "the right file")
    try:
        text = decode_document(path.read_bytes(), name)
    except DocumentError as exc:
        raise DocumentImportError(str(exc)) from None
    except OSError as exc:
        raise DocumentImportError(f"{name}: cannot be read ({exc.strerror}); check permissions"
                           ) from None
    sheet = parse_factsheet(text)
    if not sheet.sections:
        raise DocumentImportError(f"{name}: no post text found (only a title or contact lines); "
                           "add paragraphs to the fact sheet")
    return text, sheet


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def snippets_for(sheet: FactSheet, account: AccountConfig, language: str | None = None
                 ) -> list[tuple[int, list[Snippet]]]:
    """Per section (by index), the snippets this account will post; `language` picks the
    sentence rules (detected from the text when None)."""
    return [(i, split_section(section, account.platform, hashtags=account.hashtags,
                              language=language))
            for i, section in enumerate(sheet.sections)]


def _unit_times(account: AccountConfig, count: int, *, config: Config, store: Store,
                now: datetime, at: datetime | None, every: timedelta | None) -> list[datetime]:
    if at is not None or every is not None:
        start, step = at or now, every or timedelta(0)
        return [start + step * n for n in range(count)]
    if not account.slots:
        raise DocumentImportError(f"account {account.name!r} has no posting slots; add "
                                  "`slots` to it in the config or pass --at/--every")
    slots = free_slots(account.slots, config.timezone, now,
                       taken=store.scheduled_times(account.name))
    return [next(slots) for _ in range(count)]


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
        times = _unit_times(account, len(units), config=config, store=store, now=now, at=at,
                            every=every)
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


def pair_accounts(accounts: Sequence[AccountConfig]
                  ) -> list[tuple[AccountConfig, AccountConfig]]:
    """(English, Arabic) account per platform; each platform needs exactly one of each."""
    pairs = []
    for platform in dict.fromkeys(a.platform for a in accounts):
        en = [a for a in accounts if a.platform == platform and a.language == "en"]
        ar = [a for a in accounts if a.platform == platform and a.language == "ar"]
        if len(en) != 1 or len(ar) != 1:
            raise DocumentImportError(
                f"a pair import needs exactly one English and one Arabic {platform} account "
                f"(found {len(en)} and {len(ar)}); set `language = \"ar\"` on the Arabic "
                "account in the config, or choose accounts with --account")
        pairs.append((en[0], ar[0]))
    return pairs


def plan_pair(english: FactSheet, arabic: FactSheet,
              pairs: Sequence[tuple[AccountConfig, AccountConfig]], *, config: Config,
              store: Store, now: datetime, at: datetime | None = None,
              every: timedelta | None = None) -> list[PlannedPost]:
    """Posts for each (English, Arabic) account pair, linked by the rule in posts.pairs.

    Both sides of a pair share the English account's times. The document stores the English
    sections first, then the Arabic ones (`section_index` counts across both).
    """
    try:
        check_sections(english, arabic)
    except PairingError as exc:
        raise DocumentImportError(str(exc)) from None
    offset = len(english.sections)
    planned: list[PlannedPost] = []
    for en_account, ar_account in pairs:
        en_units = snippets_for(english, en_account, "en")
        ar_units = snippets_for(arabic, ar_account, "ar")
        en_keys, ar_keys = pair_keys([len(u) for _, u in en_units],
                                     [len(u) for _, u in ar_units])
        times = _unit_times(en_account, len(en_units), config=config, store=store, now=now,
                            at=at, every=every)
        for account, units, keys, shift in ((en_account, en_units, en_keys, 0),
                                            (ar_account, ar_units, ar_keys, offset)):
            for when, (i, snippets), unit_keys in zip(times, units, keys, strict=True):
                planned.extend(PlannedPost(
                    account=account.name, platform=account.platform, text=s.text,
                    scheduled_at=when, section_index=i + shift,
                    thread_position=s.thread_position, thread_size=s.thread_size,
                    pair_key=f"{en_account.platform}:{key[0]}:{key[1]}" if key else None)
                    for s, key in zip(snippets, unit_keys, strict=True))
    return planned


def import_pair(english_path: Path, arabic_path: Path | None, *, store: Store, config: Config,
                accounts: Sequence[AccountConfig], actor: str, now: datetime,
                at: datetime | None = None, every: timedelta | None = None) -> ImportReport:
    """Import an English and an Arabic version as linked pairs: from two files, or from one
    file holding both (`arabic_path` None; sections sorted by their language)."""
    en_text, en_sheet = read_document(english_path)
    if arabic_path is None:
        try:
            en_sheet, ar_sheet = split_bilingual(en_sheet)
        except PairingError as exc:
            raise DocumentImportError(f"{english_path}: {exc}") from None
        ar_text, source = "", english_path.name
    else:
        ar_text, ar_sheet = read_document(arabic_path)
        source = f"{english_path.name} + {arabic_path.name}"
    digest = content_hash(en_text + "\x00" + ar_text)
    existing = store.find_document(digest)
    done = store.accounts_with_posts(existing.id) if existing else set()
    todo = []
    for en_account, ar_account in pair_accounts(accounts):
        both = {en_account.name, ar_account.name}
        if both & done and not both <= done:
            raise DocumentImportError(
                f"{source}: already imported for {', '.join(sorted(both & done))} alone; "
                "a pair needs both accounts, so import it for that account pair afresh")
        if not both & done:
            todo.append((en_account, ar_account))
    planned = plan_pair(en_sheet, ar_sheet, todo, config=config, store=store, now=now, at=at,
                        every=every)
    status = PostStatus.DRAFT if config.require_approval else PostStatus.QUEUED
    sections = [(s.heading, s.text) for s in (*en_sheet.sections, *ar_sheet.sections)]
    outcome = store.import_document(
        source_name=source, content_hash=digest, title=en_sheet.title or ar_sheet.title,
        sections=sections, posts=planned, actor=actor, now=now, status=status)
    times = [p.scheduled_at for p in planned]
    return ImportReport(document=source, title=en_sheet.title or ar_sheet.title,
                        document_id=outcome.document_id, created=outcome.created,
                        skipped_accounts=tuple(sorted(done)),
                        first_at=min(times, default=None), last_at=max(times, default=None))
