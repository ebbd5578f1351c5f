"""How much of a document factpost reads before refusing it: hostile files (zip bombs, PDFs
that repeat one page ten thousand times or draw one gigapixel image) are refused early, with
bounded memory and time, in one line naming the file and the limit.

    DOCX   members and their total uncompressed size, from the ZIP directory before anything is
           extracted, and again while every member is read (a directory can understate);
           only stored or deflated members, none encrypted, as Word writes them
    PDF    pages (counted in the page tree, stopping at the limit), image pixels (from the
           image's dictionary, before it is decoded), content each page draws and all pages
           draw (decompressed, before pypdf parses it), operators, text operators and
           characters (counted while the text is extracted), and pypdf's own decompression
           and parsing limits tightened
           (https://pypdf.readthedocs.io/en/stable/user/security.html)
    HTML,  levels of nesting (elements; quotes and lists), so the recursive readers stay
    MD     within Python's stack and markdown-it never drops a block it will not descend into;
           markdown-it checks the clock as it parses
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
from posts.words import Words, words

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
    #: Decompressed bytes of the content one PDF page draws: its content streams and the forms
    #: its resources hold. pypdf keeps a page's parsed operators until the page is read, about
    #: 100 bytes of memory for each byte of content; a dense page of text is 10-50 KB.
    pdf_page_content_bytes: int = 1 * MB
    #: The same, all pages together (a stream counted each time a page draws it).
    pdf_content_bytes: int = 16 * MB
    #: Tokens pypdf parses from one content stream (its own default is 2 million).
    pdf_stream_tokens: int = 500_000
    #: Operators run while reading one PDF, forms included (about 10 microseconds each).
    pdf_operators: int = 500_000
    #: Text-showing operators (Tj, TJ, ', ") in one PDF, and characters they show: a
    #: hundred dense pages show about 500,000 characters.
    pdf_text_operators: int = 200_000
    pdf_characters: int = 2_000_000
    #: Objects of one PDF, those its object streams declare included: pypdf parses and keeps
    #: every object of an object stream the first time one of them is needed (a 16 MB stream
    #: can declare 850,000, about 100 MB). A long fact sheet has a few thousand.
    pdf_objects: int = 100_000
    #: Form XObjects (and images) drawn while reading one page, nested forms included
    #: (pypdf's own default is 5,000 forms).
    pdf_forms_per_page: int = 500
    #: Posts in the thread of one section on X.
    thread_parts: int = 25
    #: Bytes of a plain text, Markdown or HTML fact sheet, checked before it is parsed (the
    #: other formats have their own limits above). Ten pages of text are about 30 KB.
    text_bytes: int = 2 * MB
    #: Sections of one document (a long fact sheet has a dozen or two).
    sections: int = 100
    #: Posts one import queues, for all its accounts together.
    posts: int = 500
    #: Seconds one document may take to read, whatever its size.
    parse_seconds: float = 30.0
    #: Levels of elements inside elements in an HTML page (and HTML in Markdown). Real pages
    #: nest a few dozen; the reader walks the tree recursively, two Python frames a level.
    #: (Markdown keeps markdown-it's own 20: posts.formats.markdown.)
    nesting: int = 100


DEFAULT_LIMITS = Limits()


class DocumentTooLarge(UnreadableDocument):
    """A document over one of the `Limits`; the message names the file and the limit."""


def _refuse(name: str, what: Words, fix: Words) -> DocumentTooLarge:
    return DocumentTooLarge(words("%(name)s: %(what)s; %(fix)s", name=name, what=what, fix=fix))


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
        raise _refuse(parse.name, words(
            "reading it took longer than %(seconds)s s, the limit for one document",
            seconds=f"{parse.limits.parse_seconds:g}"), words(
            "split the document, or export it again (a generated file may repeat its content "
            "many times)"))


def too_deep(name: str, what: Words, levels: int | None = None) -> DocumentTooLarge:
    """The refusal of a document nested deeper than `levels` (default: the limits' `nesting`);
    `what` says of what ("elements", "quotes or lists")."""
    levels = levels or current_limits().nesting
    return _refuse(name, words("it has %(what)s nested more than %(levels)s levels deep, the "
                               "limit for a fact sheet", what=what, levels=levels),
                   words("save it again from its editor, or as plain text"))


# -- Word ------------------------------------------------------------------------------------

def check_docx(data: bytes, name: str, limits: Limits | None = None) -> None:
    """Refuse a .docx whose ZIP holds too many members, a member Word never writes (encrypted,
    or compressed by another method than stored or deflate), or too many uncompressed bytes:
    first from its directory, then by reading every member through (counting what really comes
    out, never keeping it). A damaged archive is left for the reader to report."""
    limits = limits or current_limits()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return
    with archive:
        members = archive.infolist()
        if len(members) > limits.docx_members:
            raise _refuse(name, words("the archive holds %(files)s files, over the %(limit)s a "
                                      "Word document may", files=f"{len(members):,}",
                                      limit=f"{limits.docx_members:,}"), _SAVE_AGAIN)
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
                                raise _refuse(name, words(
                                    "its part %(part)s holds more than %(limit)s elements, the "
                                    "limit for one part of a Word document", part=member.filename,
                                    limit=f"{limits.docx_xml_elements:,}"), _SAVE_AGAIN)
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


#: What Word writes (ECMA-376 Part 2, Annex C: "stored" or "deflate" only, and no ZIP
#: encryption, Table C-5 bit 0; Word encrypts a whole document another way, [MS-OFFCRYPTO]).
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


_SAVE_AGAIN = words("save the fact sheet again from Word (pictures compressed), or as plain text")


def _check_sizes(name: str, members: list[tuple[str, int]], limits: Limits) -> None:
    total = 0
    for member, size in members:
        total += size
        if member.lower().endswith((".xml", ".rels")) and size > limits.docx_xml_bytes:
            raise _refuse(name, words("its part %(part)s unpacks to %(size)s MB, over the "
                                      "%(limit)s MB one part of a Word document may",
                                      part=member, size=f"{size / MB:,.1f}",
                                      limit=limits.docx_xml_bytes // MB), _SAVE_AGAIN)
        if total > limits.docx_total_bytes:
            raise _refuse(name, words(
                "it unpacks to more than %(limit)s MB (at %(part)s), the limit for a Word "
                "document", limit=limits.docx_total_bytes // MB, part=member), _SAVE_AGAIN)


# -- PDF -------------------------------------------------------------------------------------

@contextmanager
def pdf_reading(limits: Limits | None = None) -> Iterator[None]:
    """pypdf with its decompression and parsing limits tightened to a fact sheet's size
    (https://pypdf.readthedocs.io/en/stable/user/security.html; the names are
    `pypdf._configuration.Configuration`'s)."""
    from pypdf import apply_configuration

    limits = limits or current_limits()
    streams = limits.pdf_stream_bytes
    with apply_configuration(
            maximum_declared_stream_length=streams,
            array_based_stream_maximum_output_length=streams,
            zlib_maximum_output_length=streams, lzw_maximum_output_length=streams,
            run_length_maximum_output_length=streams, jbig2_maximum_output_length=streams,
            brotli_maximum_output_length=streams,
            stream_decoding_work_maximum_length=4 * streams,
            stream_parsing_work_maximum_count=limits.pdf_stream_tokens,
            # Ours (PdfWork) refuses first; pypdf's would skip the rest in silence.
            xform_maximum_invocations_per_extraction=limits.pdf_forms_per_page * 2,
            image_maximum_buffer_size=limits.image_pixels * 4,
            page_tree_maximum_entries=limits.pdf_pages * 100,
            page_tree_maximum_depth=32,
            page_tree_maximum_page_entries=max(1_000, limits.pdf_pages * 100)):
        yield


_EXPORT_AGAIN = words("export the fact sheet from its editor again, or as plain text")
_SHORTER_SECTION = words("split it under more headings, or shorten it")
_SPLIT_PDF = words("split it, or import the pages that hold the fact sheet")
_SIMPLER_PDF = words("export the fact sheet from its editor again (drawings as pictures), or as "
                     "plain text")


def pdf_page_content(page, name: str, number: int, limits: Limits | None = None) -> int:
    """Decompressed bytes of what page `number` (1-based) draws: its content streams and the
    form XObjects its resources hold (each once, through nested forms). Refuses the document
    (`DocumentTooLarge`) as soon as the sum passes `limits.pdf_page_content_bytes`, before
    pypdf parses any of it; no stream decompresses to more than `limits.pdf_stream_bytes`
    (pypdf's `LimitReachedError`)."""
    limits = limits or current_limits()
    total = 0
    seen: set[int] = set()
    contents = page.get("/Contents")
    pending = [(contents, None)] if contents is not None else []
    pending.append((None, page.get("/Resources")))
    steps = 0
    while pending:
        stream, resources = pending.pop()
        steps += 1
        check_time()
        if steps > limits.pdf_forms_per_page * 10:
            raise _refuse(name, words(
                "page %(page)s names more than %(limit)s drawings", page=number,
                limit=f"{limits.pdf_forms_per_page * 10:,}"), _SIMPLER_PDF)
        if stream is not None:
            for part in _streams(stream, seen):
                total += len(part.get_data())
                if total > limits.pdf_page_content_bytes:
                    raise _refuse(name, words(
                        "page %(page)s draws more than %(limit)s MB of content, the limit for "
                        "one page", page=number, limit=f"{limits.pdf_page_content_bytes / MB:g}"),
                        _SIMPLER_PDF)
        if resources is None:
            continue
        xobjects = _resolved(_resolved(resources).get("/XObject")) if resources else None
        for ref in (xobjects or {}).values():
            form = _resolved(ref)
            if getattr(form, "get", None) and form.get("/Subtype") == "/Form":
                pending.append((ref, form.get("/Resources")))
    return total


def _resolved(obj):
    return obj.get_object() if hasattr(obj, "get_object") else obj


def _streams(obj, seen: set[int]):
    """The streams `obj` is or lists (a page's /Contents may be an array), each once."""
    key = getattr(obj, "idnum", None) or id(_resolved(obj))
    if key in seen:
        return
    seen.add(key)
    obj = _resolved(obj)
    if isinstance(obj, list):
        for item in obj:
            yield from _streams(item, seen)
    elif hasattr(obj, "get_data"):
        yield obj


class PdfWork:
    """What reading one PDF has cost so far, against `limits`: content bytes drawn by all
    pages, operators run, text operators and the characters they showed. Each `add_*` refuses
    the document (`DocumentTooLarge`) the moment a count passes its limit."""

    _TEXT_OPERATORS = frozenset({b"Tj", b"TJ", b"'", b'"'})

    def __init__(self, name: str, limits: Limits | None = None) -> None:
        self.name = name
        self.limits = limits or current_limits()
        self.content = self.operators = self.text_operators = self.characters = 0
        self.page = self.drawings = 0

    def add_page(self, number: int, content_bytes: int) -> None:
        """Page `number` (1-based), drawing `content_bytes` (`pdf_page_content`), is next."""
        self.page, self.drawings = number, 0
        self.content += content_bytes
        if self.content > self.limits.pdf_content_bytes:
            raise _refuse(self.name, words(
                "its pages draw more than %(limit)s MB of content together, the limit for a "
                "fact sheet", limit=f"{self.limits.pdf_content_bytes / MB:g}"), _SIMPLER_PDF)

    def add_operator(self, operator: bytes) -> None:
        self.operators += 1
        if self.operators > self.limits.pdf_operators:
            raise _refuse(self.name, words(
                "it runs more than %(limit)s drawing operators, the limit for a fact sheet",
                limit=f"{self.limits.pdf_operators:,}"), _SIMPLER_PDF)
        if operator == b"Do":
            # pypdf skips the rest of a page past its own limit on forms drawn, without a
            # word (it only logs): refuse first, so no text goes missing unsaid.
            self.drawings += 1
            if self.drawings > self.limits.pdf_forms_per_page:
                raise _refuse(self.name, words(
                    "page %(page)s draws forms or images more than %(limit)s times, the limit "
                    "for one page", page=self.page,
                    limit=f"{self.limits.pdf_forms_per_page:,}"), _SIMPLER_PDF)
        if operator in self._TEXT_OPERATORS:
            self.text_operators += 1
            if self.text_operators > self.limits.pdf_text_operators:
                raise _refuse(self.name, words(
                    "it shows text more than %(limit)s times, the limit for a fact sheet",
                    limit=f"{self.limits.pdf_text_operators:,}"), _SIMPLER_PDF)
        if self.operators % 1_000 == 0:
            check_time()

    def add_characters(self, count: int) -> None:
        self.characters += count
        if self.characters > self.limits.pdf_characters:
            raise _refuse(self.name, words(
                "it holds more than %(limit)s characters of text, the limit for a fact sheet",
                limit=f"{self.limits.pdf_characters:,}"), _SPLIT_PDF)


def pdf_limit_reached(name: str, exc: Exception) -> DocumentTooLarge:
    """pypdf's own refusal (`LimitReachedError`) as a one-line refusal of the file."""
    return _refuse(name, words("it goes beyond what factpost reads safely (%(error)s)",
                               error=exc), _EXPORT_AGAIN)


def check_pdf_objects(reader, name: str, limits: Limits | None = None) -> None:
    """Count the objects the cross-reference table lists and those the object streams declare
    (their /N, read from the stream's dictionary without decompressing it), and refuse the
    document past `limits.pdf_objects`, before any object stream is unpacked."""
    limits = limits or current_limits()
    total = sum(len(objects) for objects in reader.xref.values()) + len(reader.xref_objStm)
    for number in sorted({stream for stream, _ in reader.xref_objStm.values()}):
        if total > limits.pdf_objects:
            break
        check_time()
        try:
            declared = reader.get_object(number).get("/N", 0)
            total += max(0, int(declared))
        except Exception:  # a damaged object stream: pypdf reports it when it is needed
            continue
    if total > limits.pdf_objects:
        raise _refuse(name, words("it holds more than %(limit)s objects, the limit for a fact "
                                  "sheet", limit=f"{limits.pdf_objects:,}"), _EXPORT_AGAIN)


def check_pdf_pages(reader, name: str, limits: Limits | None = None) -> None:
    """Count the pages in the page tree, stopping as soon as there are too many, before pypdf
    builds its page list (a page repeated 40,000 times costs 40,000 page objects)."""
    limits = limits or current_limits()
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
                raise _refuse(name, words("it has more than %(limit)s pages, the limit for a "
                                          "fact sheet", limit=limits.pdf_pages), _SPLIT_PDF)
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


def image_too_large(pixels: int | None, limits: Limits | None = None) -> str | None:
    """Why an image is left out for its size, or None."""
    limits = limits or current_limits()
    if pixels is not None and pixels > limits.image_pixels:
        return (f"{pixels / 1e6:,.0f} megapixels, over the {limits.image_pixels / 1e6:,.0f} "
                "megapixels factpost decodes; export a smaller version")
    return None


# -- threads ---------------------------------------------------------------------------------

def check_threads(sheet, name: str, rules, where: str, limits: Limits | None = None) -> None:
    """Refuse a fact sheet with a section that would go out as more than
    `limits.thread_parts` posts by text `rules` (posts.split.TextRules; the threading platform
    called `where` whose posts hold least). Only sections long enough to reach the limit are
    split, so a normal sheet costs nothing: two neighbouring parts hold more than one post's
    `rules.limit`, and no character counts more than 2, so a section of n characters makes at
    most 4n / limit + 1 parts."""
    from posts.split import split_section

    limits = limits or current_limits()
    for i, section in enumerate(sheet.sections):
        if len(section.text) * 4 <= (limits.thread_parts - 1) * rules.limit:
            continue
        parts = len(split_section(section, rules))
        if parts > limits.thread_parts:
            heading = section.heading or f"section {i + 1}"
            raise _refuse(name, words(
                "section %(heading)s would be a %(parts)s-part thread on %(where)s, over the "
                "%(limit)s parts one section may become", heading=repr(heading), parts=parts,
                where=where, limit=limits.thread_parts), _SHORTER_SECTION)
