"""Importing an English and an Arabic version as linked pairs (posts/pairs.py says how they
pair): one post of each pair per platform, sharing the English account's times.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from db.store import PlannedPost, Store
from posts.factsheet import (
    FactSheet,
)
from posts.pairs import PairingError, check_sections, pair_keys, split_bilingual
from posts.states import Actor, PostStatus
from scheduler.config import AccountConfig, Config
from scheduler.importing import ImportReport
from scheduler.planning import check_post_count, costs, snippets_for, unit_times
from scheduler.reading import DocumentImportError, content_hash, read_document
from scheduler.spend import cap_outlook, refuse_what_never_fits


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
        check_post_count(len(planned) + sum(len(s) for _, s in en_units + ar_units),
                         config.limits)
        en_keys, ar_keys = pair_keys([len(u) for _, u in en_units],
                                     [len(u) for _, u in ar_units])
        times = unit_times(en_account, len(en_units), config=config, store=store, now=now,
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
                accounts: Sequence[AccountConfig], actor: Actor, now: datetime,
                at: datetime | None = None, every: timedelta | None = None) -> ImportReport:
    """Import an English and an Arabic version as linked pairs: from two files, or from one
    file holding both (`arabic_path` None; sections sorted by their language)."""
    en_text, en_sheet = read_document(english_path, config.limits)
    if arabic_path is None:
        try:
            en_sheet, ar_sheet = split_bilingual(en_sheet)
        except PairingError as exc:
            raise DocumentImportError(f"{english_path}: {exc}") from None
        ar_text, source = "", english_path.name
    else:
        ar_text, ar_sheet = read_document(arabic_path, config.limits)
        source = f"{english_path.name} + {arabic_path.name}"
    digest = content_hash(en_text + "\x00" + ar_text)
    existing = store.documents.find(digest)
    done = store.documents.accounts_with_posts(existing.id) if existing else set()
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
    outlooks = cap_outlook(store, config, planned, now)
    refuse_what_never_fits(outlooks)
    outcome = store.documents.add(
        source_name=source, content_hash=digest, title=en_sheet.title or ar_sheet.title,
        sections=sections, posts=planned, actor=actor, now=now, status=status)
    times = [p.scheduled_at for p in planned]
    return ImportReport(document=source, title=en_sheet.title or ar_sheet.title,
                        document_id=outcome.document_id, created=outcome.created,
                        skipped_accounts=tuple(sorted(done)),
                        first_at=min(times, default=None), last_at=max(times, default=None),
                        costs=costs(planned, config),
                        cap_warnings=tuple(o.warning for o in outlooks if o.warning))

