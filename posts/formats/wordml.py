"""WordprocessingML as Word shows it: the package opened safely, and which text and pictures a
Word user sees (hidden text resolved through the style hierarchy). Section numbers are those of
ECMA-376 Part 1; the reader in posts/formats/docx.py walks the body with these."""

from __future__ import annotations

import io
import zipfile

from posts.formats.limits import DocumentTooLarge
from posts.text import UnreadableDocument

WORD_MAIN = "word/document.xml"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"


_OFF = frozenset({"0", "false", "off"})


def _hidden_value(properties) -> bool | None:
    """Whether run properties (`w:rPr`) hide their text: `w:vanish` (17.3.2.41, hidden text) or
    `w:specVanish` (17.3.2.36, hidden even when Word shows hidden text); None if they say
    nothing. `w:webHidden` is not hiding: it hides only in Web Layout view (17.3.2.44), and Word
    writes it on the page numbers of a table of contents, which the page shows."""
    if properties is None:
        return None
    said = None
    for tag in (W + "vanish", W + "specVanish"):
        element = properties.find(tag)
        if element is not None:
            on = (element.get(W + "val") or "true").lower() not in _OFF
            said = on or bool(said)
    return said


class Styles:
    """Hidden text as Word resolves it through the style hierarchy (17.7.2): direct formatting
    (the run's `w:rPr`) decides when it says anything; otherwise the document defaults
    (`w:docDefaults`), toggled by each of the table, paragraph and character styles that hide
    (vanish is a toggle property, 17.7.3: a style that sets it flips what came before, so a
    hidden character style on a hidden paragraph style shows). Within one style's `w:basedOn`
    chain the nearest style that says anything decides. A missing style is the type's
    default style, as in Word."""

    def __init__(self, document) -> None:
        self.by_id: dict[str, object] = {}
        self.defaults: dict[str, str] = {}
        self._chains: dict[tuple[str | None, str], bool | None] = {}
        root = document.styles.element
        for style in root.iterchildren(W + "style"):
            style_id = style.get(W + "styleId")
            if not style_id:
                continue
            self.by_id.setdefault(style_id, style)
            if (style.get(W + "default") or "").lower() in ("1", "true", "on"):
                self.defaults.setdefault(style.get(W + "type") or "paragraph", style_id)
        self.base = bool(_hidden_value(root.find(f"{W}docDefaults/{W}rPrDefault/{W}rPr")))

    def hidden(self, properties, element) -> bool:
        """Whether a run (or a paragraph mark, `element` its paragraph) with run properties
        `properties` is hidden."""
        direct = _hidden_value(properties)
        if direct is not None:
            return direct
        paragraph = element if element.tag == W + "p" else next(
            element.iterancestors(W + "p"), None)
        table = next(element.iterancestors(W + "tbl"), None)
        hidden = self.base
        for style_id, kind in ((_style_ref(table, "tblPr", "tblStyle"), "table"),
                               (_style_ref(paragraph, "pPr", "pStyle"), "paragraph"),
                               (_val(properties, "rStyle"), "character")):
            if kind == "table" and table is None:
                continue
            if self._chain(style_id, kind):
                hidden = not hidden
        return hidden

    def _chain(self, style_id: str | None, kind: str) -> bool | None:
        key = (style_id, kind)
        if key not in self._chains:
            if style_id not in self.by_id:
                style_id = self.defaults.get(kind)
            said = None
            seen: set[str] = set()
            while style_id in self.by_id and style_id not in seen:  # basedOn may loop
                seen.add(style_id)
                style = self.by_id[style_id]
                said = _hidden_value(style.find(W + "rPr"))
                if said is not None:
                    break
                style_id = _val(style, "basedOn")
            self._chains[key] = said
        return self._chains[key]


def _val(parent, tag: str) -> str | None:
    element = parent.find(W + tag) if parent is not None else None
    return element.get(W + "val") if element is not None else None


def _style_ref(element, properties: str, tag: str) -> str | None:
    return _val(element.find(W + properties), tag) if element is not None else None


def mark_gone(paragraph, styles: Styles) -> bool:
    """Whether Word shows the paragraph run on into the next one: its paragraph mark is a
    tracked deletion (read as accepted) or hidden text (17.3.1.29: `w:pPr/w:rPr` formats the
    mark; a style separator is such a mark)."""
    properties = paragraph.find(f"{W}pPr/{W}rPr")
    if properties is not None and (properties.find(W + "del") is not None
                                   or properties.find(W + "moveFrom") is not None):
        return True
    return styles.hidden(properties, paragraph)


_NOT_SHOWN = frozenset({W + "del", W + "moveFrom", MC + "Fallback"})


def shown(element, styles: Styles) -> bool:
    """Whether Word shows `element` (a drawing): not in a tracked deletion, a markup
    compatibility fallback, or a hidden run, as for text."""
    for ancestor in element.iterancestors():
        if ancestor.tag in _NOT_SHOWN:
            return False
        if ancestor.tag == W + "r" and styles.hidden(ancestor.find(W + "rPr"), ancestor):
            return False
        if ancestor.tag == W + "body":
            break
    return True


def open_docx(data: bytes, name: str):
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            mimetype = (archive.read("mimetype").decode("ascii", "replace").strip()
                        if "mimetype" in names else "")
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError):
        raise UnreadableDocument(f"{name}: not a readable .docx file (the archive is damaged); "
                                 "save the document again from Word") from None
    if WORD_MAIN not in names:
        what = ("an OpenDocument file" if mimetype.startswith("application/vnd.oasis")
                else "a ZIP archive but not a Word document")
        raise UnreadableDocument(f"{name}: {what}; save the fact sheet as .docx or plain "
                                 "text and import that")
    import docx

    _keep_alt_chunks_as_bytes()
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx and lxml raise many types on damaged parts
        if "Excessive depth" in str(exc):
            # libxml2 refuses XML nested deeper than 256 levels unless told XML_PARSE_HUGE,
            # which python-docx does not: the limit that keeps our recursive walk bounded.
            raise DocumentTooLarge(f"{name}: its XML is nested more than 256 levels deep, the "
                                   "limit for a Word document; save the fact sheet again "
                                   "from Word, or as plain text") from None
        raise UnreadableDocument(f"{name}: not a readable .docx file ({type(exc).__name__}); "
                                 "save the document again from Word") from None
    _refuse_doctype(document, name)
    return document


def _refuse_doctype(document, name: str) -> None:
    """Refuse a part that declares a DTD. Word never writes one (ECMA-376 Part 2, Open
    Packaging Conventions, "XML usage": XML content shall not contain a DTD declaration), and
    python-docx's parser leaves entities unresolved, so text after an entity reference would
    be cut silently ("The host is [")."""
    from docx.opc.part import XmlPart

    for part in document.part.package.iter_parts():
        if isinstance(part, XmlPart) and part.element.getroottree().docinfo.doctype:
            raise UnreadableDocument(f"{name}: its part {str(part.partname).lstrip('/')} "
                                     "declares a DTD (<!DOCTYPE>), which Word never writes; "
                                     "save the document again from Word")


def _keep_alt_chunks_as_bytes() -> None:
    """python-docx builds each part by its content type, so an embedded Word document (an
    altChunk part typed `...document.main+xml` that holds a whole .docx package) would be
    parsed as XML and the whole file refused. Its documented hook, `PartFactory.
    part_class_selector`, is wrapped once to keep altChunk parts as plain bytes."""
    from docx.opc.constants import RELATIONSHIP_TYPE
    from docx.opc.part import Part as OpcPart
    from docx.opc.part import PartFactory

    chosen = PartFactory.part_class_selector
    if getattr(chosen, "keeps_alt_chunks", False):
        return

    def selector(content_type: str, reltype: str):
        if reltype == RELATIONSHIP_TYPE.A_F_CHUNK:
            return OpcPart
        return chosen(content_type, reltype) if chosen is not None else None

    selector.keeps_alt_chunks = True  # type: ignore[attr-defined]
    PartFactory.part_class_selector = selector
