"""A Word file and a PDF written by hand, byte for byte (WordprocessingML in a zip, PDF
operators with their cross-reference table), and the sections a reader must find in them,
also written by hand. Nothing here comes from the project's parser or its plain-text twins
(tests/sample_documents.py builds those from the parser's own blocks, so they can only show
agreement with it)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from posts.contacts import ContactAccount
from posts.factsheet import Section
from scheduler.reading import load_document

# --- Word -------------------------------------------------------------------------------------

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    '<Override PartName="/word/styles.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/></Types>')
RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="word/document.xml" Type="http://schemas.openxmlformats.org'
    '/officeDocument/2006/relationships/officeDocument"/></Relationships>')
DOCUMENT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="styles.xml" Type="http://schemas.openxmlformats.org'
    '/officeDocument/2006/relationships/styles"/></Relationships>')


def style(style_id: str, name: str, *, default: bool = False, based_on: str | None = None
          ) -> str:
    return (f'<w:style w:type="paragraph" w:styleId="{style_id}"'
            + (' w:default="1"' if default else "") + f'><w:name w:val="{name}"/>'
            + (f'<w:basedOn w:val="{based_on}"/>' if based_on else "") + "</w:style>")


STYLES = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:styles xmlns:w="{W}">'
          + style("Normal", "Normal", default=True)
          + style("Title", "Title", based_on="Normal")
          + style("Heading1", "heading 1", based_on="Normal")
          # An office's own heading style, derived from Heading 1: still a heading.
          + style("PressHeading", "Press Heading", based_on="Heading1")
          + style("ListBullet", "List Bullet", based_on="Normal")
          + "</w:styles>")


def paragraph(*runs: str, style_id: str | None = None) -> str:
    properties = f'<w:pPr><w:pStyle w:val="{style_id}"/></w:pPr>' if style_id else ""
    return f"<w:p>{properties}{''.join(runs)}</w:p>"


def run(text: str, *, bold: bool = False) -> str:
    return ("<w:r>" + ("<w:rPr><w:b/></w:rPr>" if bold else "")
            + f'<w:t xml:space="preserve">{text}</w:t></w:r>')


BODY = "".join([
    paragraph(run("Joint Task Force Meridian"), style_id="Title"),
    paragraph(run("Our mission"), style_id="Heading1"),
    # A sentence in three runs, one of them bold: one paragraph, words intact.
    paragraph(run("The task force keeps the "), run("Meridian Strait", bold=True),
              run(" open to lawful traffic.")),
    # A tracked change: "six" was deleted and "nine" inserted; the reader accepts it.
    paragraph(run("Patrols: "),
              '<w:del w:id="1" w:author="Editor" w:date="2026-11-02T09:00:00Z"><w:r>'
              '<w:delText>six</w:delText></w:r></w:del>',
              '<w:ins w:id="2" w:author="Editor" w:date="2026-11-02T09:00:00Z">'
              + run("nine") + "</w:ins>",
              run(" ships at sea every day.")),
    paragraph(run("Key facts"), style_id="PressHeading"),
    paragraph(run("Headquarters: Port Halden"), style_id="ListBullet"),
    paragraph(run("Founded: 2024"), style_id="ListBullet"),
    paragraph(run("Follow us: x.com/JTFMeridian")),
    paragraph(run("Media: press@jtf-meridian.mil")),
])
DOCUMENT = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="{W}">'
            f"<w:body>{BODY}</w:body></w:document>")


def word_file() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", CONTENT_TYPES)
        package.writestr("_rels/.rels", RELS)
        package.writestr("word/_rels/document.xml.rels", DOCUMENT_RELS)
        package.writestr("word/styles.xml", STYLES)
        package.writestr("word/document.xml", DOCUMENT)
    return buffer.getvalue()


def test_a_word_file_written_by_hand_gives_the_sections_written_by_hand(tmp_path: Path):
    path = tmp_path / "meridian.docx"
    path.write_bytes(word_file())
    sheet = load_document(path).sheet
    assert sheet.title == "Joint Task Force Meridian"
    assert sheet.sections == (
        Section("Our mission", (
            "The task force keeps the Meridian Strait open to lawful traffic.",
            "Patrols: nine ships at sea every day.")),
        Section("Key facts", ("- Headquarters: Port Halden\n- Founded: 2024",)),
    )
    assert sheet.contacts.accounts == (ContactAccount("x", "JTFMeridian"),)
    assert sheet.contacts.emails == ("press@jtf-meridian.mil",)


# --- PDF --------------------------------------------------------------------------------------

def text_line(font: str, size: int, x: int, y: int, text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return f"BT /{font} {size} Tf {x} {y} Td ({escaped}) Tj ET\n"


def pdf_file(lines: list[tuple[str, int, int, str]]) -> bytes:
    """One A4 page of `lines` (font resource F1 Helvetica or F2 Helvetica-Bold, size, baseline
    y, text), each at x=72: the objects, then the xref table with each object's byte offset."""
    content = "".join(text_line(font, size, 72, y, text) for font, size, y, text in lines)
    stream = content.encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R /F2 6 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"endstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold "
        b"/Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


PDF_LINES = [
    ("F2", 20, 770, "Port Halden Field Office"),
    ("F2", 14, 730, "Open days"),
    # One paragraph set over two lines 14 pt apart, as a word processor wraps it.
    ("F1", 11, 708, "Crews host open days every quarter at the old customs"),
    ("F1", 11, 694, "house on the harbour front."),
    # A blank line's worth of space: a new paragraph.
    ("F1", 11, 666, "Visitors may board a patrol vessel."),
    ("F2", 14, 630, "Training"),
    ("F1", 11, 608, "Boarding teams train with partner navies twice a year."),
    ("F1", 11, 560, "Media: press@port-halden.example.mil"),
]


def test_a_pdf_written_by_hand_gives_the_sections_written_by_hand(tmp_path: Path):
    path = tmp_path / "port-halden.pdf"
    path.write_bytes(pdf_file(PDF_LINES))
    sheet = load_document(path).sheet
    assert sheet.title == "Port Halden Field Office"
    assert sheet.sections == (
        Section("Open days", (
            "Crews host open days every quarter at the old customs house on the harbour front.",
            "Visitors may board a patrol vessel.")),
        Section("Training", ("Boarding teams train with partner navies twice a year.",)),
    )
    assert sheet.contacts.emails == ("press@port-halden.example.mil",)
