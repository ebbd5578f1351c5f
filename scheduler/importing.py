"""Importing a fact sheet: file -> canonical text -> sections -> snippets -> scheduled posts.

Everything is read, checked and planned before the database is touched, and the store writes
the document and all its posts in one transaction: a bad file leaves the database as it was.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import replace as replace_fields
from datetime import datetime, timedelta
from pathlib import Path, PurePath
from typing import Literal

from db.models import Post
from db.store import PlannedPost, Relink, Store
from posts.corrections import Change, NewSnippet, OldPost, diff_snippets, section_keys
from posts.errors import FactpostError
from posts.factsheet import (
    FactSheet,
    heading_sections,
    parse_factsheet,
    parse_structured,
    render_parts,
)
from posts.formats.docx import read_docx
from posts.formats.html import read_html
from posts.formats.images import (
    MAX_IMAGE_BYTES,
    FoundImage,
    ImageUnavailable,
    Read,
    Resolver,
)
from posts.formats.limits import check_threads, parse_budget
from posts.formats.markdown import read_markdown
from posts.formats.pdf import read_pdf
from posts.media import MediaError, check_image
from posts.pairs import PairingError, check_sections, pair_keys, split_bilingual
from posts.split import Snippet, split_section
from posts.states import REPLACEABLE, Actor, PostStatus
from posts.text import DocumentError, EmptyDocument, UnreadableDocument, decode_document
from scheduler.config import AccountConfig, Config
from scheduler.platforms import registry
from scheduler.platforms.billing import Estimate
from scheduler.timing import free_slots

#: Fact sheets are a few pages; anything far larger is a wrong file, not a long document.
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024


class DocumentImportError(FactpostError):
    """A document cannot be imported; the message names the file and what to do."""


@dataclass(frozen=True)
class Cost:
    """What one account's planned posts will cost on its platform (called `title`)."""

    account: str
    title: str
    estimate: Estimate

    def __str__(self) -> str:
        return f"{self.account} on {self.title}: {self.estimate}"


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


@dataclass(frozen=True)
class LoadedDocument:
    """A parsed fact sheet and the images it holds (each with its section filled in)."""

    text: str
    sheet: FactSheet
    images: tuple[FoundImage, ...] = ()
    #: What the reader and the parser left out of the posts or decided on a close call, one
    #: line each (the reader's first: "read with its tracked changes accepted").
    notes: tuple[str, ...] = ()


def read_document(path: Path) -> tuple[str, FactSheet]:
    """Read and parse a fact sheet file. Returns (canonical text, parsed sheet)."""
    loaded = load_document(path)
    return loaded.text, loaded.sheet


def load_document(path: Path) -> LoadedDocument:
    """Read and parse a fact sheet file with its images; HTML and Markdown images named by a
    relative path are read from the file's folder (never from above it)."""
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
    return parse_with_images(data, name, folder_resolver(path.parent))


def folder_resolver(folder: Path) -> Resolver:
    """Reads images named relative to `folder`, refusing any path that leads out of it (with
    `..`, as an absolute path, or through a symbolic link)."""
    root = folder.resolve()

    def resolve(relative: str) -> bytes:
        target = (root / relative).resolve()
        if not target.is_relative_to(root):
            raise ImageUnavailable("outside the document's folder; keep images in the "
                                   "document's folder or below it")
        if not target.is_file():
            raise ImageUnavailable("no such file next to the document; check the path")
        size = target.stat().st_size
        if size > MAX_IMAGE_BYTES:
            raise ImageUnavailable(f"{size / 1_048_576:.1f} MB, over the 5 MB that any "
                                   "platform takes; export a smaller version")
        try:
            return target.read_bytes()
        except OSError as exc:
            raise ImageUnavailable(f"cannot be read ({exc.strerror})") from None

    return resolve


def parse_document(data: bytes, name: str) -> tuple[str, FactSheet]:
    """Decode and parse a fact sheet's bytes (a file, an upload, a pasted text). `name` is for
    messages and, with the first bytes, decides the format. Returns (canonical text, sheet).

    The format comes from the first bytes when they say PDF or ZIP (a PDF saved as `.txt` is
    still a PDF), otherwise from the extension. The text of a structured document is its parts
    rendered as text (`render_parts`): what its content hash is taken over.
    """
    loaded = parse_with_images(data, name)
    return loaded.text, loaded.sheet


def parse_with_images(data: bytes, name: str, resolve: Resolver | None = None
                      ) -> LoadedDocument:
    """`parse_document`, keeping the document's images; `resolve` reads those named by a
    relative path (without it, as for an upload, they are listed as skipped). Images change
    neither the text nor the sections, so they leave the content hash alone."""
    _check_size(len(data), name)
    images: list[FoundImage] = []
    notes: tuple[str, ...] = ()
    try:
        kind = document_format(name, data)
        if kind == "text":
            text = decode_document(data, name)
            sheet = parse_factsheet(text)
        else:
            read = _read_parts(kind, data, name, resolve)
            text, sheet = render_parts(read.parts), parse_structured(read.parts)
            notes = read.notes
            sections = heading_sections(read.parts, sheet)
            images = [replace_fields(i, section=sections[min(i.after_headings,
                                                             len(sections) - 1)])
                      for i in read.images]
    except DocumentError as exc:
        raise DocumentImportError(str(exc)) from None
    if not sheet.sections:
        raise DocumentImportError(f"{name}: no post text found (only a title or contact lines); "
                           "add paragraphs to the fact sheet")
    threads = registry.tightest_threads()
    try:
        check_threads(sheet, name, threads.text, threads.title)
    except DocumentError as exc:
        raise DocumentImportError(str(exc)) from None
    return LoadedDocument(text, sheet, tuple(images), (*notes, *sheet.notes))


def _check_size(size: int, name: str) -> None:
    if size > MAX_DOCUMENT_BYTES:
        raise DocumentImportError(
            f"{name}: {size / 1_048_576:.1f} MB is too large for a fact sheet (limit "
            f"{MAX_DOCUMENT_BYTES // 1_048_576} MB); split the document or check that this is "
            "the right file")


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


def _read_parts(kind: Format, data: bytes, name: str, resolve: Resolver | None) -> Read:
    if not data:
        raise EmptyDocument(f"{name}: the file is empty; check that you picked the right file")
    with parse_budget(name):  # hostile files are refused early (posts/formats/limits.py)
        if kind == "pdf":
            return read_pdf(data, name)
        if kind == "docx":
            return read_docx(data, name)
        if kind == "html":
            return read_html(data, name, resolve)
        return read_markdown(decode_document(data, name), name, resolve)


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def snippets_for(sheet: FactSheet, account: AccountConfig, language: str | None = None
                 ) -> list[tuple[int, list[Snippet]]]:
    """Per section (by index), the snippets this account will post; `language` picks the
    sentence rules (detected from the text when None)."""
    return [(i, split_section(section, account.spec.text, hashtags=account.hashtags,
                              language=language, links=account.links))
            for i, section in enumerate(sheet.sections)]


def _unit_times(account: AccountConfig, count: int, *, config: Config, store: Store,
                now: datetime, at: datetime | None, every: timedelta | None) -> list[datetime]:
    if count == 0:
        return []
    if at is not None or every is not None:
        start, step = at or now, every or timedelta(0)
        return [start + step * n for n in range(count)]
    if not account.slots:
        raise DocumentImportError(f"account {account.name!r} has no posting slots; add "
                                  "`slots` to it in the config or pass --at/--every")
    slots = free_slots(account.slots, config.timezone, now,
                       taken=store.history.scheduled_times(account.name))
    times = list(itertools.islice(slots, count))
    if len(times) < count:
        raise DocumentImportError(
            f"account {account.name!r} has only {len(times)} free posting slot(s) left in "
            f"its `slots` ({', '.join(account.slots)}) for {count} post(s); add slots in the "
            "config or pass --at/--every")
    return times


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


def costs(planned: Sequence[PlannedPost], config: Config) -> tuple[Cost, ...]:
    """Per account of a platform that bills per request (in the order planned), what
    publishing its planned posts will cost at the office's prices."""
    found = []
    for name in dict.fromkeys(p.account for p in planned):
        spec = registry.spec(next(p.platform for p in planned if p.account == name))
        settings = config.billing_for(spec.name)
        if spec.billing is None or settings is None:
            continue
        texts = (p.text for p in planned if p.account == name)
        found.append(Cost(name, spec.title, spec.billing.estimate(texts, settings.prices)))
    return tuple(found)


def attach_images(planned: Sequence[PlannedPost], images: Sequence[FoundImage],
                  sheet: FactSheet) -> tuple[list[PlannedPost], list[str]]:
    """Give the first post of each section, per account, the section's first image that the
    account's platform takes (posts.media, as `post add` checks). Returns the posts and one
    line for each image left out, saying why and what to do."""
    planned = list(planned)
    notes: list[str] = []
    candidates: dict[int, list[tuple[str, FoundImage]]] = {}
    for n, image in enumerate(images, 1):
        label = _image_label(n, image, sheet)
        if image.content is None:
            notes.append(f"{label}: skipped, {image.skipped}")
        elif image.section is None:
            notes.append(f"{label}: not attached, it follows the last section with text; "
                         "move it into a section")
        elif not image.alt:
            notes.append(f"{label}: not attached, it has no alt text; add alt text to the "
                         "image in the document (people using screen readers need it)")
        else:
            candidates.setdefault(image.section, []).append((label, image))
    used: set[str] = set()
    refused: set[str] = set()
    firsts = {}
    for i, post in enumerate(planned):
        if post.thread_position == 1 and post.section_index is not None:
            firsts.setdefault((post.account, post.section_index), i)
    for (account, section), i in firsts.items():
        post = planned[i]
        for label, image in candidates.get(section, ()):
            spec = registry.spec(post.platform)
            try:
                media = check_image(image.content or b"", image.alt, spec.media,
                                    platform=spec.title, name=label)
            except MediaError as exc:
                notes.append(f"{exc} (not attached for {account})")
                refused.add(label)
                continue
            planned[i] = replace_fields(post, media=media)
            used.add(label)
            break
    for section_images in candidates.values():
        for label, _image in section_images:
            if label not in used and label not in refused:
                notes.append(f"{label}: not attached, a section's first post takes only the "
                             "section's first image")
    return planned, notes


def _image_label(n: int, image: FoundImage, sheet: FactSheet) -> str:
    where = ""
    if image.section is not None:
        heading = sheet.sections[image.section].heading
        where = f", section {heading!r}" if heading else f", section {image.section + 1}"
    return f"image {n} ({image.source}{where})"


# --- corrections ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Correction:
    """What importing a changed version of an imported document would do.

    `changes` maps each account to its post-by-post diff; `supersede`, `posts` and `relinks`
    are what `Store.correct_document` carries out in one transaction.
    """

    previous_id: int
    changes: dict[str, list[Change]]
    supersede: tuple[int, ...]
    posts: tuple[PlannedPost, ...]
    relinks: tuple[Relink, ...]

    def count(self, kind: str) -> int:
        return sum(1 for changes in self.changes.values() for c in changes
                   if c.kind == kind and not c.out_of_reach)

    @property
    def out_of_reach(self) -> list[tuple[str, Change]]:
        """Changed or removed posts already published (or possibly): for a manual correction."""
        return [(account, c) for account, changes in self.changes.items() for c in changes
                if c.out_of_reach]

    @property
    def changes_posts(self) -> bool:
        return bool(self.supersede or self.posts or self.relinks)


def plan_correction(sheet: FactSheet, accounts: Sequence[AccountConfig],
                    earlier: Sequence[Post], *, previous_id: int, config: Config, store: Store,
                    now: datetime, at: datetime | None = None,
                    every: timedelta | None = None) -> Correction:
    """Diff the new sheet's snippets against the live posts of earlier versions, per account,
    and plan the replacement: changed unpublished posts are superseded by their new text at
    the same time, new snippets are scheduled, thread parts are chained across old and new."""
    by_id = {post.id: post for post in earlier}
    headings = section_keys([s.heading for s in sheet.sections])
    changes: dict[str, list[Change]] = {}
    supersede: list[int] = []
    planned: list[PlannedPost] = []
    relinks: list[Relink] = []
    for account in accounts:
        old = [_old_post(p) for p in earlier if p.account == account.name]
        units = snippets_for(sheet, account)
        new = [NewSnippet((*headings[i], s.thread_position), s.text)
               for i, snippets in units for s in snippets]
        diff = diff_snippets(old, new)
        changes[account.name] = diff
        # Units (sections) that no earlier post belongs to get fresh times.
        per_unit: list[list[Change]] = []
        at_change = 0
        for _i, snippets in units:
            per_unit.append(diff[at_change:at_change + len(snippets)])
            at_change += len(snippets)
        fresh = [n for n, unit in enumerate(per_unit) if all(c.old is None for c in unit)]
        times = dict(zip(fresh, _unit_times(account, len(fresh), config=config, store=store,
                                            now=now, at=at, every=every), strict=True))
        for n, ((section_index, snippets), unit) in enumerate(zip(units, per_unit,
                                                                   strict=True)):
            kept = [by_id[c.old.id].scheduled_at for c in unit if c.old is not None]
            unit_time = times[n] if n in times else min(kept)
            previous: tuple[int | None, int | None] = (None, None)  # (post id, planned index)
            for snippet, change in zip(snippets, unit, strict=True):
                chained = previous if snippet.thread_position > 1 else (None, None)
                if change.kind == "unchanged" or change.out_of_reach:
                    post = by_id[change.old.id]
                    if change.kind == "unchanged" and post.status in REPLACEABLE and (
                            chained[1] is not None or post.parent_id != chained[0]):
                        relinks.append(Relink(post.id, *chained))
                    previous = (post.id, None)
                    continue
                when = unit_time
                if change.kind == "changed":
                    supersede.append(change.old.id)
                    when = by_id[change.old.id].scheduled_at
                planned.append(PlannedPost(
                    account=account.name, platform=account.platform, text=snippet.text,
                    scheduled_at=when, section_index=section_index,
                    thread_position=snippet.thread_position, thread_size=snippet.thread_size,
                    parent_post_id=chained[0], parent_index=chained[1]))
                previous = (None, len(planned) - 1)
        supersede.extend(c.old.id for c in diff if c.kind == "removed" and not c.out_of_reach)
    return Correction(previous_id, changes, tuple(supersede), tuple(planned), tuple(relinks))


def _old_post(post: Post) -> OldPost:
    heading: tuple[str | None, int] = (None, 1)
    if post.section is not None and post.document is not None:
        keys = section_keys([s.heading for s in post.document.sections])
        positions = [s.position for s in post.document.sections]
        heading = keys[positions.index(post.section.position)]
    return OldPost(post.id, (*heading, post.thread_position), post.text, post.status,
                   post.remote_url)


# --- importing ------------------------------------------------------------------------------

def import_file(path: Path, *, store: Store, config: Config,
                accounts: Sequence[AccountConfig], actor: Actor, now: datetime,
                at: datetime | None = None, every: timedelta | None = None,
                replace: bool = False, with_images: bool = False) -> ImportReport:
    """Import a fact sheet. A changed version of a file imported before (same name, other
    content) is only planned, and returned as `report.correction`, unless `replace`: then it
    supersedes the unpublished posts of the earlier version in one transaction. With
    `with_images`, each section's first post carries the section's first usable image."""
    loaded = load_document(path)
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
            report = ImportReport(document=source_name, title=sheet.title, document_id=None,
                                  created=0, skipped_accounts=(), first_at=None, last_at=None,
                                  correction=correction, images_found=len(images),
                                  image_notes=image_notes, notes=notes,
                                  costs=costs(correction.posts, config))
            if not replace or not correction.changes_posts:
                return report
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
                        costs=costs(planned, config))


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
                accounts: Sequence[AccountConfig], actor: Actor, now: datetime,
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
    outcome = store.documents.add(
        source_name=source, content_hash=digest, title=en_sheet.title or ar_sheet.title,
        sections=sections, posts=planned, actor=actor, now=now, status=status)
    times = [p.scheduled_at for p in planned]
    return ImportReport(document=source, title=en_sheet.title or ar_sheet.title,
                        document_id=outcome.document_id, created=outcome.created,
                        skipped_accounts=tuple(sorted(done)),
                        first_at=min(times, default=None), last_at=max(times, default=None),
                        costs=costs(planned, config))
