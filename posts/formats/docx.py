"""Word (.docx) fact sheets: the document's own styles say what is what.

    Title style                       -> title
    Heading 1..9 (or an outline level) -> heading of that level
    List styles, numbered paragraphs  -> list items
    a table row                       -> one list item, cells joined ("Ships: 9 patrol vessels")
    anything else                     -> a text part; its line breaks (w:br, w:cr) are kept
                                         as lines for the plain-text rules (posts.factsheet)

The text of a paragraph is every text a Word user sees in it, in reading order, whatever
elements wrap it (ECMA-376 Part 1, 17.3.2 "Run" and 17.13 "Annotations"): runs inside tracked
insertions (`w:ins`, `w:moveTo`), hyperlinks, simple and complex fields (their results, not
their codes), content controls (`w:sdt`), smart tags and custom XML, nested in any order, and
the paragraphs of text boxes (after their paragraph). Left out is what Word does not show:
tracked deletions (`w:del`, `w:moveFrom`), field codes, hidden text (`w:vanish`,
`w:specVanish`, set directly or by a paragraph, character or table style, their `w:basedOn`
chains or the document defaults: see `Styles`), the phonetic guide over ruby text, and the
fallback copy of drawings (`mc:Fallback`). A paragraph whose mark is deleted or hidden runs on
into the next, as Word shows it. A document with tracked changes not yet accepted is read as
if they were, and the reader says so. A part declaring a DTD is refused. python-docx's
`Paragraph.text` reads only runs and hyperlinks directly under the paragraph, so the walk over
the XML is our own.

An "alternative format chunk" (`w:altChunk`, 17.17.2.1: an HTML, plain-text or Word part that
Word shows as body text where it stands, as programs that assemble documents write them) is
read in its place: HTML through the HTML reader, plain text by its lines, an embedded Word
document by this reader (one level deep). One in a format read by none (RTF, MHTML) is named
in a note, with what to do: nothing the Word user sees is dropped silently.

Links keep their address (posts.formats.links). Pictures, inline or floating, are noted with
the alt text Word keeps for them. Styles derived from these count as them, and built-in style
names are English in the file whatever the language of Word's menus.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from posts.factsheet import Part
from posts.formats.images import FoundImage, Read
from posts.formats.limits import check_docx, check_time
from posts.formats.links import dropped_links_note, is_dropped, link_address, link_text
from posts.formats.wordml import MC, R, Styles, W, mark_gone, open_docx, shown
from posts.text import decode_document, fold_spaces
from posts.words import words

_HEADING_STYLE = re.compile(r"heading (\d)")
# Elements whose content Word does not show as text of the paragraph.
_UNSEEN = frozenset(W + n for n in (
    "pPr", "rPr", "del", "moveFrom", "instrText", "delText", "delInstrText", "fldData",
    "footnoteReference", "endnoteReference", "commentReference", "annotationRef", "sectPr",
    "tblPr", "trPr", "tcPr", "sdtPr", "sdtEndPr", "customXmlPr", "smartTagPr"))
_REVISIONS = ("ins", "del", "moveFrom", "moveTo")
_FIELD_URL = re.compile(r'^\s*HYPERLINK\s+"([^"]*)"', re.IGNORECASE)
_FIELD_URL_BARE = re.compile(r"^\s*HYPERLINK\s+(\S+)", re.IGNORECASE)


def read_docx(data: bytes, name: str, base_url: str | None = None, *,
              embedded: bool = False) -> Read:
    """The parts and pictures of a .docx fact sheet; relative link addresses resolve against
    `base_url` or are noted. `embedded` marks a Word document inside another (an altChunk),
    whose own chunks are not followed. Raises `UnreadableDocument` (or its
    `DocumentTooLarge` for a zip bomb, see posts.formats.limits)."""
    check_docx(data, name)
    document = open_docx(data, name)
    check_time()
    from docx.text.paragraph import Paragraph

    body = document.element.body
    reader = _TextReader(document, base_url)
    parts: list[Part] = []
    images: list[FoundImage] = []
    chunk_notes: list[str] = []
    headings = 0
    number = 0
    # Text of paragraphs whose mark is gone (deleted or hidden), run on into the next paragraph,
    # whose mark holds the properties Word shows the joined paragraph with.
    carried = ""
    blocks = list(_blocks(body))
    for at, element in enumerate(blocks):
        check_time()
        if carried and element.tag != W + "p":
            parts.append(Part("text", carried))
            carried = ""
        if element.tag == W + "altChunk":
            chunk = _alt_chunk(document, element, name, base_url, follow=not embedded)
            parts.extend(chunk.parts)
            images.extend(replace(i, after_headings=i.after_headings + headings)
                          for i in chunk.images)
            headings += sum(1 for p in chunk.parts if p.kind in ("title", "heading"))
            chunk_notes.extend(chunk.notes)
            number = 0
            continue
        if element.tag == W + "tbl":
            parts.extend(_table_rows(element, reader))
            images.extend(_pictures(document, element, headings, reader.styles))
            number = 0
            continue
        paragraph = Paragraph(element, document._body)
        kind, level, numbered = _classify(paragraph)
        text, boxes = reader.paragraph(element)
        text, carried = carried + text, ""
        # Only prose runs on: a heading or list item with its mark gone stays what it is (Word
        # keeps a run-in heading, a style separator's, in the outline), and keeps what follows.
        if (kind == "text" and at + 1 < len(blocks) and blocks[at + 1].tag == W + "p"
                and _classify(Paragraph(blocks[at + 1], document._body))[0] == "text"
                and mark_gone(element, reader.styles)):
            carried = text
            parts.extend(Part("text", box) for box in boxes)
            images.extend(_pictures(document, element, headings, reader.styles))
            continue
        if kind == "item":
            number = number + 1 if numbered else 0
            parts.append(Part("item", text, marker=f"{number}." if numbered else "-"))
        else:
            number = 0
            parts.append(Part(kind, text, level))
            headings += kind in ("title", "heading")
        parts.extend(Part("text", box) for box in boxes)
        images.extend(_pictures(document, element, headings, reader.styles))
    notes = []
    revisions = _count_revisions(body)
    if revisions:
        notes.append(words("%(name)s: holds %(revisions)s tracked change(s) not yet accepted; "
                           "read as if they were accepted (insertions kept, deletions left "
                           "out). Accept or reject them in Word to be sure the posts say what "
                           "you mean", name=name, revisions=revisions))
    notes.extend(chunk_notes)
    unread = sum(1 for _ in body.iter(W + "altChunk")) - sum(1 for e in blocks
                                                                if e.tag == W + "altChunk")
    if unread:
        notes.append(words("%(name)s: %(unread)s embedded part(s) (altChunk) inside tables or "
                           "text boxes not read; open the document in Word and save it again, "
                           "which makes them ordinary text", name=name, unread=unread))
    dropped = dropped_links_note(name, reader.dropped)
    if dropped:
        notes.append(dropped)
    return Read(parts, images, tuple(notes))


# Content types of the parts an altChunk may name (ECMA-376 Part 1, 17.17.2.1 lists HTML,
# MHTML, RTF, plain text, XML and WordprocessingML).
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_TEXT_TYPES = frozenset({"text/plain"})
_WORD_TYPES = frozenset({
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-word.document.macroEnabled.main+xml",
})


def _alt_chunk(document, element, name: str, base_url: str | None, *, follow: bool) -> Read:
    """The parts of the part an altChunk names, read in its place (see the module docstring),
    or a note saying why it was not."""
    from posts.formats.html import read_html

    rel_id = element.get(R + "id")
    part = document.part.related_parts.get(rel_id) if rel_id else None
    if part is None:
        return Read([], [], (f"{name}: an embedded part (altChunk) is missing from the file; "
                             "save the document again from Word",))
    content_type = (part.content_type or "").lower()
    where = f"{name} (embedded {str(part.partname).rsplit('/', 1)[-1]})"
    if content_type in _HTML_TYPES or str(part.partname).lower().endswith((".htm", ".html")):
        return read_html(part.blob, where, None, base_url)
    if content_type in _TEXT_TYPES or str(part.partname).lower().endswith(".txt"):
        lines = decode_document(part.blob, where).splitlines()
        return Read([Part("text", line) for line in lines if line.strip()], [])
    # An embedded .docx part is either a whole package or its main document; only a package
    # can be read on its own.
    if content_type in _WORD_TYPES and follow and part.blob[:4] == b"PK\x03\x04":
        return read_docx(part.blob, where, base_url, embedded=True)
    kind = ("an RTF" if "rtf" in content_type else "an MHTML" if "mhtml" in content_type
            or "rfc822" in content_type or "multipart" in content_type
            else f"a {content_type or 'typeless'}")
    return Read([], [], (f"{where}: {kind} part that Word shows as body text, not read; open "
                         "the document in Word and save it again, which makes it ordinary "
                         "text, then import that",))


def _blocks(container):
    """Paragraphs and tables of the body in reading order, also those inside block-level
    content controls (`w:sdt`), custom XML and tracked moves or insertions."""
    for child in container.iterchildren():
        tag = child.tag
        if tag in (W + "p", W + "tbl"):
            yield child
        elif tag == W + "sdt":
            content = child.find(W + "sdtContent")
            if content is not None:
                yield from _blocks(content)
        elif tag in (W + "customXml", W + "ins", W + "moveTo", W + "smartTag"):
            yield from _blocks(child)
        elif tag == W + "altChunk":
            yield child


@dataclass
class _Field:
    """A complex field (w:fldChar begin ... separate ... end): its code, then its result."""

    code: list[str] = field(default_factory=list)
    in_result: bool = False
    start: int = 0  # where its result starts in the output


class _TextReader:
    """The visible text of paragraphs (see the module docstring)."""

    def __init__(self, document, base_url: str | None = None) -> None:
        self.rels = document.part.rels
        self.styles = Styles(document)
        self.base_url = base_url
        #: Link addresses left out (posts.formats.links.is_dropped), for the reader's note.
        self.dropped: list[str] = []

    def paragraph(self, p) -> tuple[str, list[str]]:
        """The paragraph's text, and the texts of the text boxes anchored in it."""
        self.out: list[str] = []
        self.boxes: list[str] = []
        self.fields: list[_Field] = []
        self._walk(p)
        while self.fields:  # a field left open at the paragraph's end: keep what it showed
            self.fields.pop()
        return "".join(self.out), self.boxes

    def cell(self, tc) -> str:
        texts = []
        for p in _blocks_in_cell(tc):
            text, boxes = self.paragraph(p)
            texts.extend([text, *boxes])
        return fold_spaces(" ".join(texts))

    def _hidden_code(self) -> bool:
        return any(not f.in_result for f in self.fields)

    def _emit(self, text: str) -> None:
        if not self._hidden_code():
            self.out.append(text)

    def _walk(self, element) -> None:
        for child in element.iterchildren():
            tag = child.tag
            if not isinstance(tag, str) or tag in _UNSEEN:
                continue  # comments, processing instructions; what Word does not show
            if tag == W + "r":
                if not self.styles.hidden(child.find(W + "rPr"), child):
                    self._run(child)
            elif tag == W + "hyperlink":
                self._link(child, self._hyperlink_address(child))
            elif tag == W + "fldSimple":
                self._link(child, self._field_address(child.get(W + "instr") or ""))
            elif tag == MC + "AlternateContent":
                self._alternate(child)
            elif tag == W + "txbxContent":
                self._text_box(child)
            elif tag == W + "tbl":
                continue  # a table nested in a text box is read with the box's paragraphs
            else:
                # w:ins, w:moveTo, w:sdt, w:sdtContent, w:smartTag, w:customXml, w:dir,
                # w:bdo, drawings and shapes (for their text boxes): their content shows.
                self._walk(child)

    def _alternate(self, element) -> None:
        """Markup compatibility: Word writes a shape twice, for new readers (mc:Choice) and
        old ones (mc:Fallback); a reader sees one of them."""
        chosen = element.find(MC + "Choice")
        if chosen is None:
            chosen = element.find(MC + "Fallback")
        if chosen is not None:
            self._walk(chosen)

    def _run(self, run) -> None:
        for child in run.iterchildren():
            tag = child.tag
            if tag == W + "t":
                self._emit(child.text or "")
            elif tag in (W + "tab", W + "ptab"):
                self._emit(" ")
            elif tag in (W + "br", W + "cr"):
                self._emit("\n")
            elif tag == W + "noBreakHyphen":
                self._emit("\u2011")
            elif tag == W + "sym":
                char = child.get(W + "char") or ""
                code = int(char, 16) if re.fullmatch(r"[0-9A-Fa-f]{1,6}", char) else None
                # Symbol-font characters live in the private use area: they show a glyph of
                # that font, not the character; leave them out.
                if code is not None and not 0xE000 <= code <= 0xF8FF and code < 0x110000:
                    self._emit(chr(code))
            elif tag == W + "fldChar":
                self._field_char(child.get(W + "fldCharType"))
            elif tag == W + "instrText" and self.fields:
                self.fields[-1].code.append(child.text or "")
            elif tag == MC + "AlternateContent":
                self._alternate(child)
            elif tag == W + "ruby":
                # Phonetic guide (17.3.3.25): the base text is the text; the guide above it
                # (w:rt) is a reading aid set small over it.
                base = child.find(W + "rubyBase")
                if base is not None:
                    self._walk(base)
            elif tag in (W + "drawing", W + "pict", W + "object"):
                self._walk(child)

    def _field_char(self, kind: str | None) -> None:
        if kind == "begin":
            self.fields.append(_Field())
        elif kind == "separate" and self.fields:
            self.fields[-1].in_result = True
            self.fields[-1].start = len(self.out)
        elif kind == "end" and self.fields:
            done = self.fields.pop()
            if done.in_result and not self._hidden_code():
                address = self._field_address("".join(done.code))
                if address is not None:
                    self.out[done.start:] = [link_text("".join(self.out[done.start:]),
                                                       address)]

    def _link(self, element, address: str | None) -> None:
        start = len(self.out)
        self._walk(element)
        if address is not None and not self._hidden_code():
            self.out[start:] = [link_text("".join(self.out[start:]), address)]

    def _hyperlink_address(self, element) -> str | None:
        rel_id = element.get(R + "id")
        if not rel_id or rel_id not in self.rels:
            return None  # w:anchor only: a bookmark in the document
        rel = self.rels[rel_id]
        if not rel.is_external:
            return None
        address = link_address(rel.target_ref, self.base_url)
        if address is None and is_dropped(rel.target_ref, self.base_url):
            self.dropped.append(rel.target_ref)
        return address

    def _field_address(self, code: str) -> str | None:
        """The address of a HYPERLINK field, through the same `link_address` as a hyperlink's
        relationship target (resolved against the base, dropped ones noted)."""
        match = _FIELD_URL.match(code) or _FIELD_URL_BARE.match(code)
        if match is None:
            return None
        if re.search(r"\\l\b", code) and not match.group(1):
            return None  # a link to a bookmark in the document
        address = link_address(match.group(1), self.base_url)
        if address is None and is_dropped(match.group(1), self.base_url):
            self.dropped.append(match.group(1))
        return address

    def _text_box(self, content) -> None:
        saved = (self.out, self.fields)
        for p in content.iter(W + "p"):
            self.out, self.fields = [], []
            self._walk(p)
            text = "".join(self.out)
            if text.strip():
                self.boxes.append(text)
        self.out, self.fields = saved




def _count_revisions(body) -> int:
    """Tracked insertions, deletions and moves (of text and of paragraph marks; changes of
    formatting alone, `w:rPrChange` and kin, change no text and are not counted)."""
    return sum(1 for _ in body.iter(*(W + n for n in _REVISIONS)))


def _blocks_in_cell(tc):
    for element in _blocks(tc):
        if element.tag == W + "p":
            yield element
        elif element.tag == W + "tbl":  # a table nested in a cell: its cells' paragraphs
            for inner in element.iter(W + "tc"):
                yield from _blocks_in_cell(inner)


def _pictures(document, element, headings: int, styles: Styles) -> list[FoundImage]:
    """The pictures drawn inline or floating in `element` that Word shows (see `shown`), with
    the alt text Word keeps in the drawing's `descr` ("Alt Text" pane), or else its `title`."""
    from docx.oxml.ns import qn

    found = []
    for drawing in element.xpath(".//w:drawing"):
        if not shown(drawing, styles):
            continue
        properties = drawing.xpath(".//wp:docPr")
        alt = None
        if properties:
            alt = properties[0].get("descr") or properties[0].get("title")
        for blip in drawing.xpath(".//a:blip"):
            embed, link = blip.get(qn("r:embed")), blip.get(qn("r:link"))
            part = document.part.related_parts.get(embed) if embed else None
            if part is not None:
                found.append(FoundImage(headings, "embedded picture", part.blob, alt))
            else:
                found.append(FoundImage(headings, "linked picture", None, alt,
                                        "linked to a file, not inside the document; insert "
                                        "the picture itself in Word" if link else
                                        "its picture data is missing from the document"))
    return found


def _classify(paragraph) -> tuple[str, int, bool]:
    """(kind, heading level, numbered) from the paragraph's style chain and properties."""
    from docx.oxml.ns import qn

    style = paragraph.style
    while style is not None:
        style_name = (style.name or "").lower()
        if style_name == "title":
            return "title", 1, False
        heading = _HEADING_STYLE.fullmatch(style_name)
        if heading:
            return "heading", int(heading.group(1)), False
        if style_name.startswith("list"):
            return "item", 0, "number" in style_name
        style = style.base_style
    properties = paragraph._p.pPr
    if properties is not None:
        outline = properties.find(qn("w:outlineLvl"))
        if outline is not None and (outline.get(qn("w:val")) or "").isdigit():
            level = int(outline.get(qn("w:val")))
            if level < 9:  # 9 is "body text"
                return "heading", level + 1, False
        if properties.numPr is not None:
            return "item", 0, False
    return "text", 1, False


def _table_rows(table, reader: _TextReader) -> list[Part]:
    parts = []
    for row in table.iter(W + "tr"):
        if row.getparent() is not table:
            continue  # rows of nested tables are read inside their cell
        cells: list[str] = []
        for tc in _row_cells(row):
            text = reader.cell(tc)
            if text and (not cells or cells[-1] != text):  # merged cells repeat their text
                cells.append(text)
        if cells:
            parts.append(Part("item", ": ".join(cells) if len(cells) == 2 else " | ".join(cells)))
    return parts


def _row_cells(row):
    for child in row.iterchildren():
        if child.tag == W + "tc":
            yield child
        elif child.tag in (W + "sdt", W + "customXml"):
            content = child.find(W + "sdtContent") if child.tag == W + "sdt" else child
            if content is not None:
                yield from _row_cells(content)
