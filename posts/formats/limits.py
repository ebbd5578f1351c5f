"""How much of a document factpost reads before refusing it: hostile files (zip bombs, PDFs
that repeat one page ten thousand times or draw one gigapixel image) are refused early, with
bounded memory and time, in one line naming the file and the limit.

    DOCX   members and their total uncompressed size, from the ZIP directory before anything is
           extracted, and again while every member is read (a directory can understate);
           only stored or deflated members, none encrypted, as Word writes them
    PDF    pages (counted in the page tree, stopping at the limit), image pixels (from the
           image's dictionary, before it is decoded), and pypdf's own decompression limits
           tightened (https://pypdf.readthedocs.io/en/stable/user/security.html)
    HTML,  levels of nesting (elements; quotes and lists), so the recursive readers stay
    MD     within Python's stack and markdown-it never drops a block it will not descend into
    all    thread parts from one section, and a wall-clock budget for the whole parse

The readers call these at their entry points; `parse_budget` is entered by whoever parses a
file (`scheduler.reading`), so `check_time` knows the deadline and `current_limits` the
limits in force.

Fact sheets are a few pages of text and a few photos: every limit is far above a real one.
"""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from posts.text import UnreadableDocument

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    #: Members of a .docx (a long fact sheet with photos has a few dozen).
    docx_members: int = 1_000
    #: Uncompressed bytes of all members together (photos included).
    docx_total_bytes: int = 64 * MB
    #: Uncompressed bytes of one XML member: lxml holds a tree several times its size.
    docx_xml_bytes: int = 8 * MB
    #: Elements (counted as tags) in one XML member: each costs lxml a few hundred bytes and
    #: each paragraph costs python-docx half a millisecond, so a part of nothing but empty
    #: paragraphs is a bomb of its own. A ten-page fact sheet has about ten thousand.
    docx_xml_elements: int = 100_000
    #: Pages of a PDF.
    pdf_pages: int = 100
    #: Pixels of one image in a PDF (about 5000 x 5000); larger ones are listed, not decoded.
    image_pixels: int = 25_000_000
    #: Bytes one PDF stream may decompress to (pypdf's own default is 75 MB).
    pdf_stream_bytes: int = 16 * MB
    #: Posts in the thread of one section on X.
    thread_parts: int = 25
    #: Seconds one document may take to read, whatever its size.
    parse_seconds: float = 30.0
    #: Levels of elements inside elements in an HTML page (and HTML in Markdown), and of
    #: blocks inside blocks (quotes, lists) in Markdown. Real pages nest a few dozen; the
    #: readers walk the tree recursively, two Python frames a level.
    nesting: int = 100


DEFAULT_LIMITS = Limits()


class DocumentTooLarge(UnreadableDocument):
    """A document over one of the `Limits`; the message names the file and the limit."""


def _refuse(name: str, what: str, fix: str) -> DocumentTooLarge:
    return DocumentTooLarge(f"{name}: {what}; {fix}")


# -- time ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Parse:
    name: str
    limits: Limits
    deadline: float


_PARSE: ContextVar[_Parse | None] = ContextVar("factpost_parse", default=None)


@contextmanager
def parse_budget(name: str, limits: Limits | None = None) -> Iterator[None]:
    """While inside, the readers apply `limits` (default: DEFAULT_LIMITS as it is then; see
    `current_limits`), and `check_time` refuses the document once `limits.parse_seconds` have
    passed."""
    limits = limits or DEFAULT_LIMITS
    token = _PARSE.set(_Parse(name, limits, time.monotonic() + limits.parse_seconds))
    try:
        yield
    finally:
        _PARSE.reset(token)


def current_limits() -> Limits:
    """The limits of the parse in progress (`parse_budget`), or DEFAULT_LIMITS outside one."""
    parse = _PARSE.get()
    return parse.limits if parse is not None else DEFAULT_LIMITS


def check_time() -> None:
    """Raise `DocumentTooLarge` when the parse in progress is over its budget."""
    parse = _PARSE.get()
    if parse is not None and time.monotonic() > parse.deadline:
        raise _refuse(parse.name, f"reading it took longer than "
                      f"{parse.limits.parse_seconds:g} s, the limit for one document",
                      "split the document, or export it again (a generated file may repeat "
                      "its content many times)")


def too_deep(name: str, what: str, limits: Limits | None = None) -> DocumentTooLarge:
    """The refusal of a document nested deeper than `limits.nesting` levels; `what` says of
    what ("elements", "quotes or lists")."""
    limits = limits or current_limits()
    return _refuse(name, f"it has {what} nested more than {limits.nesting} levels deep, the "
                   "limit for a fact sheet", "save it again from its editor, or as plain text")


# -- Word ------------------------------------------------------------------------------------

def check_docx(data: bytes, name: str, limits: Limits = DEFAULT_LIMITS) -> None:
    """Refuse a .docx whose ZIP holds too many members, a member Word never writes (encrypted,
    or compressed by another method than stored or deflate), or too many uncompressed bytes:
    first from its directory, then by reading every member through (counting what really comes
    out, never keeping it). A damaged archive is left for the reader to report."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return
    with archive:
        members = archive.infolist()
        if len(members) > limits.docx_members:
            raise _refuse(name, f"the archive holds {len(members):,} files, over the "
                          f"{limits.docx_members:,} a Word document may", _SAVE_AGAIN)
        for member in members:
            _check_member_kind(name, member)
        _check_sizes(name, [(m.filename, m.file_size) for m in members], limits)
        for member in members:
            seen = tags = 0
            xml = member.filename.lower().endswith((".xml", ".rels"))
            try:
                # Stored and deflated members only (checked above): zipfile inflates deflate
                # at most `n` bytes per read(n), so no chunk is larger than a megabyte
                # whatever the member claims.
                with archive.open(member) as stream:
                    while chunk := stream.read(MB):
                        seen += len(chunk)
                        _check_sizes(name, [(member.filename, seen)], limits)
                        if xml:
                            tags += chunk.count(b"<")
                            if tags > limits.docx_xml_elements:
                                raise _refuse(name, f"its part {member.filename} holds more "
                                              f"than {limits.docx_xml_elements:,} elements, "
                                              "the limit for one part of a Word document",
                                              _SAVE_AGAIN)
                        check_time()
            except DocumentTooLarge:
                raise
            except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError,
                    NotImplementedError) as exc:
                # Damaged (a member longer than the directory says fails its CRC here): say so
                # now, before python-docx inflates the whole member in one piece.
                raise UnreadableDocument(f"{name}: not a readable .docx file (the archive is "
                                         f"damaged: {exc}); save the document again from Word"
                                         ) from None


#: What Word writes (ECMA-376 Part 2, Annex C: "stored" or "deflate" only, no encryption).
#: Any other method is refused before a byte is inflated: zipfile hands bzip2 and LZMA a
#: whole compressed block at once, and 800 bytes of bzip2 can hold a gigabyte.
_WORD_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
_METHOD_NAMES = {9: "Deflate64", 12: "bzip2", 14: "LZMA", 93: "Zstandard", 95: "XZ",
                 98: "PPMd", 99: "AES encryption"}
#: General purpose flag bits 0 (encrypted) and 6 (strong encryption), APPNOTE.TXT 4.4.4.
_ENCRYPTED_FLAGS = 0x01 | 0x40


def _check_member_kind(name: str, member: zipfile.ZipInfo) -> None:
    if member.flag_bits & _ENCRYPTED_FLAGS or member.compress_type == 99:
        raise UnreadableDocument(
            f"{name}: its part {member.filename} is encrypted (password-protected); remove the "
            "password in Word (File > Info > Protect Document) and save it again")
    if member.compress_type not in _WORD_METHODS:
        method = _METHOD_NAMES.get(member.compress_type, f"method {member.compress_type}")
        raise UnreadableDocument(
            f"{name}: its part {member.filename} is compressed with {method}, which Word never "
            "writes (only stored or deflate); save the fact sheet again from Word, not "
            "through another archiver")


_SAVE_AGAIN = "save the fact sheet again from Word (pictures compressed), or as plain text"


def _check_sizes(name: str, members: list[tuple[str, int]], limits: Limits) -> None:
    total = 0
    for member, size in members:
        total += size
        if member.lower().endswith((".xml", ".rels")) and size > limits.docx_xml_bytes:
            raise _refuse(name, f"its part {member} unpacks to {size / MB:,.1f} MB, over the "
                          f"{limits.docx_xml_bytes // MB} MB one part of a Word document may",
                          _SAVE_AGAIN)
        if total > limits.docx_total_bytes:
            raise _refuse(name, f"it unpacks to more than {limits.docx_total_bytes // MB} MB "
                          f"(at {member}), the limit for a Word document", _SAVE_AGAIN)


# -- PDF -------------------------------------------------------------------------------------

@contextmanager
def pdf_reading(limits: Limits = DEFAULT_LIMITS) -> Iterator[None]:
    """pypdf with its decompression and parsing limits tightened to a fact sheet's size."""
    from pypdf import apply_configuration

    streams = limits.pdf_stream_bytes
    with apply_configuration(
            maximum_declared_stream_length=streams,
            array_based_stream_maximum_output_length=streams,
            zlib_maximum_output_length=streams, lzw_maximum_output_length=streams,
            run_length_maximum_output_length=streams, jbig2_maximum_output_length=streams,
            brotli_maximum_output_length=streams,
            image_maximum_buffer_size=limits.image_pixels * 4,
            page_tree_maximum_page_entries=max(1_000, limits.pdf_pages * 100)):
        yield


def pdf_limit_reached(name: str, exc: Exception) -> DocumentTooLarge:
    """pypdf's own refusal (`LimitReachedError`) as a one-line refusal of the file."""
    return _refuse(name, f"it goes beyond what factpost reads safely ({exc})",
                   "export the fact sheet from its editor again, or as plain text")


def check_pdf_pages(reader, name: str, limits: Limits = DEFAULT_LIMITS) -> None:
    """Count the pages in the page tree, stopping as soon as there are too many, before pypdf
    builds its page list (a page repeated 40,000 times costs 40,000 page objects)."""
    try:
        root = reader.trailer["/Root"].get_object()["/Pages"].get_object()
    except Exception:  # no page tree: pypdf reports the damage itself
        return
    count = 0
    pending = [root]
    visited = 0
    while pending:
        node = pending.pop()
        visited += 1
        if visited > limits.pdf_pages * 100:
            break  # a tree of empty branches; pypdf's own limits take over
        kids = node.get("/Kids") if hasattr(node, "get") else None
        if kids is None:
            count += 1
            if count > limits.pdf_pages:
                raise _refuse(name, f"it has more than {limits.pdf_pages} pages, the limit "
                              "for a fact sheet", "split it, or import the pages that hold "
                              "the fact sheet")
            continue
        try:
            pending.extend(kid.get_object() for kid in kids.get_object())
        except Exception:
            return


def pdf_image_pixels(page, image_id) -> int | None:
    """Width x height of an image XObject on `page` (`image_id` as pypdf's `page.images` keys
    it: "/Im1", or a path through forms), read from its dictionary without decoding it."""
    try:
        path = [image_id] if isinstance(image_id, str) else list(image_id)
        resources = page["/Resources"].get_object()
        obj = None
        for step in path:
            obj = resources["/XObject"].get_object()[step].get_object()
            resources = obj.get("/Resources", {})
            resources = resources.get_object() if hasattr(resources, "get_object") else resources
        return int(obj["/Width"]) * int(obj["/Height"])
    except Exception:
        return None


def image_too_large(pixels: int | None, limits: Limits = DEFAULT_LIMITS) -> str | None:
    """Why an image is left out for its size, or None."""
    if pixels is not None and pixels > limits.image_pixels:
        return (f"{pixels / 1e6:,.0f} megapixels, over the {limits.image_pixels / 1e6:,.0f} "
                "megapixels factpost decodes; export a smaller version")
    return None


# -- threads ---------------------------------------------------------------------------------

def check_threads(sheet, name: str, rules, where: str, limits: Limits = DEFAULT_LIMITS
                  ) -> None:
    """Refuse a fact sheet with a section that would go out as more than
    `limits.thread_parts` posts by text `rules` (posts.split.TextRules; the threading platform
    called `where` whose posts hold least). Only sections long enough to reach the limit are
    split, so a normal sheet costs nothing: two neighbouring parts hold more than one post's
    `rules.limit`, and no character counts more than 2, so a section of n characters makes at
    most 4n / limit + 1 parts."""
    from posts.split import split_section

    for i, section in enumerate(sheet.sections):
        if len(section.text) * 4 <= (limits.thread_parts - 1) * rules.limit:
            continue
        parts = len(split_section(section, rules))
        if parts > limits.thread_parts:
            heading = section.heading or f"section {i + 1}"
            raise _refuse(name, f"section {heading!r} would be a {parts}-part thread on "
                          f"{where}, over the {limits.thread_parts} parts one section may "
                          "become", "split it under more headings, or shorten it")
