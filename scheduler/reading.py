"""Reading a fact sheet: file bytes -> canonical text -> a parsed sheet, with its images.

The format comes from the first bytes (a PDF or a ZIP) or the extension; hostile files are
refused early (posts/formats/limits.py). Nothing here touches the database: a file that cannot
be read leaves it as it was.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from dataclasses import replace as replace_fields
from pathlib import Path, PurePath
from typing import Literal
from urllib.parse import urlsplit

from posts.errors import FactpostError
from posts.factsheet import (
    FactSheet,
    heading_sections,
    parse_canonical,
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
from posts.formats.limits import MB, Limits, check_threads, current_limits, parse_budget
from posts.formats.markdown import read_markdown
from posts.formats.pdf import read_pdf
from posts.text import DocumentError, UnreadableDocument, decode_document, empty_document
from posts.words import Words, words
from scheduler.platforms import registry

#: Fact sheets are a few pages; anything far larger is a wrong file, not a long document.
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024


class DocumentImportError(FactpostError):
    """A document cannot be imported; the message names the file and what to do."""


@dataclass(frozen=True)
class LoadedDocument:
    """A parsed fact sheet and the images it holds (each with its section filled in)."""

    text: str
    sheet: FactSheet
    images: tuple[FoundImage, ...] = ()
    #: What the reader and the parser left out of the posts or decided on a close call, one
    #: line each (the reader's first: "read with its tracked changes accepted").
    notes: tuple[Words | str, ...] = ()


def read_document(path: Path, limits: Limits | None = None) -> tuple[str, FactSheet]:
    """Read and parse a fact sheet file. Returns (canonical text, parsed sheet)."""
    loaded = load_document(path, limits=limits)
    return loaded.text, loaded.sheet


def load_document(path: Path, base_url: str | None = None, limits: Limits | None = None
                  ) -> LoadedDocument:
    """Read and parse a fact sheet file with its images; HTML and Markdown images named by a
    relative path are read from the file's folder (never from above it). Relative link
    addresses resolve against `base_url` (see `check_base_url`) where the document gives no
    base of its own. `limits` (the config's, `Config.limits`; posts.formats.limits'
    DEFAULT_LIMITS without one) bound what is read."""
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
    return parse_with_images(data, name, folder_resolver(path.parent), base_url, limits)


def check_base_url(base_url: str) -> str:
    """`base_url` if it is an absolute http(s) address (what a relative link resolves
    against); raises DocumentImportError otherwise."""
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise DocumentImportError(f"--base-url {base_url!r} is not an absolute web address; "
                                  "write e.g. https://www.example.mil/")
    return base_url.strip()


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


def parse_with_images(data: bytes, name: str, resolve: Resolver | None = None,
                      base_url: str | None = None, limits: Limits | None = None
                      ) -> LoadedDocument:
    """`parse_document`, keeping the document's images; `resolve` reads those named by a
    relative path (without it, as for an upload, they are listed as skipped). Images change
    neither the text nor the sections, so they leave the content hash alone. Every limit of
    `limits` (see `load_document`) holds while parsing; a document over one is refused with
    DocumentImportError naming it, and for the office's own caps, the config key."""
    _check_size(len(data), name)
    with parse_budget(name, limits):  # hostile files are refused early (posts/formats/limits.py)
        return _parse(data, name, resolve, base_url, current_limits())


def _parse(data: bytes, name: str, resolve: Resolver | None, base_url: str | None,
           limits: Limits) -> LoadedDocument:
    images: list[FoundImage] = []
    notes: tuple[Words | str, ...] = ()
    try:
        kind = document_format(name, data)
        if kind in ("text", "markdown", "html") and len(data) > limits.text_bytes:
            # Before parsing: the text formats have no limits of their own, and every byte
            # may become a post.
            raise DocumentImportError(words(
                "%(name)s: %(size)s MB is more than a %(format)s fact sheet may be (%(limit)s "
                "MB); split the document, or raise [import] max_text_mb in the config",
                name=name, size=f"{len(data) / MB:.1f}", format=_FORMAT_NAMES[kind],
                limit=f"{limits.text_bytes / MB:g}"))
        if kind == "text":
            text = decode_document(data, name)
            sheet = parse_canonical(text)
        else:
            read = _read_parts(kind, data, name, resolve, base_url)
            text, sheet = render_parts(read.parts), parse_structured(read.parts)
            notes = read.notes
            sections = heading_sections(read.parts, sheet)
            images = [replace_fields(i, section=sections[min(i.after_headings,
                                                             len(sections) - 1)])
                      for i in read.images]
    except DocumentError as exc:
        raise DocumentImportError(exc.words or str(exc)) from None
    if not sheet.sections:
        raise DocumentImportError(words(
            "%(name)s: no post text found (only a title or contact lines); add paragraphs to "
            "the fact sheet", name=name))
    if len(sheet.sections) > limits.sections:
        # Before any section is split into posts.
        raise DocumentImportError(words(
            "%(name)s: it has %(sections)s sections, over the %(limit)s one document may have; "
            "split it into several documents, or raise [import] max_sections in the config",
            name=name, sections=f"{len(sheet.sections):,}", limit=f"{limits.sections:,}"))
    threads = registry.tightest_threads()
    try:
        check_threads(sheet, name, threads.text, threads.title)
    except DocumentError as exc:
        raise DocumentImportError(exc.words or str(exc)) from None
    return LoadedDocument(text, sheet, tuple(images), (*notes, *sheet.notes))


def _check_size(size: int, name: str) -> None:
    if size > MAX_DOCUMENT_BYTES:
        raise DocumentImportError(words(
            "%(name)s: %(size)s MB is too large for a fact sheet (limit %(limit)s MB); split "
            "the document or check that this is the right file", name=name,
            size=f"{size / 1_048_576:.1f}", limit=MAX_DOCUMENT_BYTES // 1_048_576))


Format = Literal["text", "markdown", "html", "pdf", "docx"]

_EXTENSIONS: dict[str, Format] = {
    "": "text", ".txt": "text", ".text": "text",
    ".md": "markdown", ".markdown": "markdown",
    ".html": "html", ".htm": "html", ".xhtml": "html",
    ".pdf": "pdf", ".docx": "docx",
}
_SUPPORTED = ".txt, .md, .html, .pdf or .docx"
#: File name endings a document may have, for file pickers ("" needs no listing).
ACCEPTED_SUFFIXES = tuple(suffix for suffix in _EXTENSIONS if suffix)
#: The signature of a compound file (MS-CFB 2.2), Word's container for encrypted documents.
_COMPOUND_FILE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_FORMAT_NAMES = {"text": words("plain text"), "markdown": "Markdown", "html": "HTML"}


def document_format(filename: str, data: bytes) -> Format:
    """Which reader a file needs, from its first bytes and its extension."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        return "docx"  # the reader says what else a ZIP archive is
    suffix = PurePath(filename).suffix.lower()
    kind = _EXTENSIONS.get(suffix)
    if kind is None:
        if suffix in (".doc", ".odt", ".rtf"):
            raise UnreadableDocument(words(
                "%(name)s: %(suffix)s files are not supported; save it as .docx; import a "
                "%(supported)s file", name=filename, suffix=suffix, supported=_SUPPORTED))
        raise UnreadableDocument(words(
            "%(name)s: %(suffix)s files are not supported; import a %(supported)s file",
            name=filename, suffix=suffix, supported=_SUPPORTED))
    if kind == "pdf" and data:
        raise UnreadableDocument(words(
            "%(name)s: named .pdf but is not a PDF (it does not start with %%PDF-); check that "
            "this is the right file", name=filename))
    if kind == "docx" and data.startswith(_COMPOUND_FILE):
        # Word saves a password-protected .docx inside a compound file ([MS-OFFCRYPTO] 2.3.4,
        # https://learn.microsoft.com/en-us/openspecs/office_file_formats/ms-offcrypto/
        # 4f2e28a1-624a-4bed-b3ec-816f0df484ff), as it saved the old binary .doc.
        raise UnreadableDocument(words(
            "%(name)s: a password-protected (encrypted) Word document, or an old .doc; remove "
            "the password in Word (File > Info > Protect Document) and save it as .docx",
            name=filename))
    if kind == "docx" and data:
        raise UnreadableDocument(words(
            "%(name)s: named .docx but is not a Word document (not a ZIP archive); save it "
            "again as .docx from Word", name=filename))
    return kind


def _read_parts(kind: Format, data: bytes, name: str, resolve: Resolver | None,
                base_url: str | None = None) -> Read:
    if not data:
        raise empty_document(name)
    if kind == "pdf":
        return read_pdf(data, name)
    if kind == "docx":
        return read_docx(data, name, base_url)
    if kind == "html":
        return read_html(data, name, resolve, base_url)
    return read_markdown(decode_document(data, name), name, resolve, base_url)


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


