"""Word (.docx) fact sheets, through python-docx: the document's own styles say what is what.

    Title style                       -> title
    Heading 1..9 (or an outline level) -> heading of that level
    List styles, numbered paragraphs  -> list items
    a table row                       -> one list item, cells joined ("Ships: 9 patrol vessels")
    anything else                     -> a text part; line breaks inside it are kept

Pictures, inline or floating, are noted with the alt text Word keeps for them. Styles
derived from these count as them, and built-in style names are English in the file
whatever the language of Word's menus.
"""

from __future__ import annotations

import io
import re
import zipfile

from posts.factsheet import Part
from posts.formats.images import FoundImage, Read
from posts.formats.limits import check_docx, check_time
from posts.text import UnreadableDocument

_HEADING_STYLE = re.compile(r"heading (\d)")
_WORD_MAIN = "word/document.xml"


def read_docx(data: bytes, name: str) -> Read:
    """The parts and pictures of a .docx fact sheet. Raises `UnreadableDocument` (or its
    `DocumentTooLarge` for a zip bomb, see posts.formats.limits)."""
    check_docx(data, name)
    document = _open(data, name)
    check_time()
    from docx.table import Table

    parts: list[Part] = []
    images: list[FoundImage] = []
    headings = 0
    number = 0
    for block in document.iter_inner_content():
        check_time()
        if isinstance(block, Table):
            parts.extend(_table_rows(block))
            images.extend(_pictures(document, block._tbl, headings))
            number = 0
            continue
        kind, level, numbered = _classify(block)
        text = block.text
        if kind == "item":
            number = number + 1 if numbered else 0
            parts.append(Part("item", text, marker=f"{number}." if numbered else "-"))
        else:
            number = 0
            parts.append(Part(kind, text, level))
            headings += kind in ("title", "heading")
        images.extend(_pictures(document, block._p, headings))
    return Read(parts, images)


def _pictures(document, element, headings: int) -> list[FoundImage]:
    """The pictures drawn inline or floating in `element`, with the alt text Word keeps in the
    drawing's `descr` ("Alt Text" pane), or else its `title`."""
    from docx.oxml.ns import qn

    found = []
    for drawing in element.xpath(".//w:drawing"):
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


def _open(data: bytes, name: str):
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            mimetype = (archive.read("mimetype").decode("ascii", "replace").strip()
                        if "mimetype" in names else "")
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError):
        raise UnreadableDocument(f"{name}: not a readable .docx file (the archive is damaged); "
                                 "save the document again from Word") from None
    if _WORD_MAIN not in names:
        what = ("an OpenDocument file" if mimetype.startswith("application/vnd.oasis")
                else "a ZIP archive but not a Word document")
        raise UnreadableDocument(f"{name}: {what}; save the fact sheet as .docx or plain "
                                 "text and import that")
    import docx

    try:
        return docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx and lxml raise many types on damaged parts
        raise UnreadableDocument(f"{name}: not a readable .docx file ({type(exc).__name__}); "
                                 "save the document again from Word") from None


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


def _table_rows(table) -> list[Part]:
    parts = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = " ".join(cell.text.split())
            if text and (not cells or cells[-1] != text):  # merged cells repeat their text
                cells.append(text)
        if cells:
            parts.append(Part("item", ": ".join(cells) if len(cells) == 2 else " | ".join(cells)))
    return parts
