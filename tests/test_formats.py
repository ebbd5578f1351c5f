"""Fact sheets in PDF, DOCX, HTML and Markdown: the same sections and the same posts as the
plain-text fact sheet they were written from, headings from the document's own structure, and
one clean error line for a file that cannot be read."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from platform_rules import rules
from sample_documents import (
    TWINS,
    docx_bytes,
    html_page,
    markdown,
    pdf_bytes,
    sample_blocks,
    sample_text,
)

from posts.factsheet import Block, Section, parse_factsheet
from posts.split import split_section
from scheduler.reading import DocumentImportError, document_format, read_document

HASHTAGS = ("JTFMeridian",)


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def snippets(sections: tuple[Section, ...], platform: str) -> list[str]:
    return [s.text for section in sections
            for s in split_section(section, rules(platform), hashtags=HASHTAGS)]


# No Arabic PDF: reportlab's built-in fonts have no Arabic glyphs (the PDF reader's Arabic
# handling is covered by the presentation-form tests in test_text.py).
@pytest.mark.parametrize(("sample", "extension"), [
    *[("factsheet.txt", extension) for extension in sorted(TWINS)],
    *[("factsheet_ar.txt", extension) for extension in sorted(TWINS) if extension != ".pdf"],
])
def test_each_format_gives_the_same_sheet_and_posts_as_its_plain_text_twin(tmp_path, sample,
                                                                           extension):
    expected = parse_factsheet(sample_text(sample))
    path = write(tmp_path, f"factsheet{extension}", TWINS[extension](sample_blocks(sample)))
    _text, sheet = read_document(path)
    assert sheet == expected
    for platform in ("x", "facebook"):
        assert snippets(sheet.sections, platform) == snippets(expected.sections, platform)


def test_the_twins_really_are_in_their_formats(tmp_path):
    for extension, make in TWINS.items():
        data = make(sample_blocks())
        assert b"OUR MISSION" in data or extension in (".docx", ".pdf")
        assert document_format(f"factsheet{extension}", data) == extension.lstrip(".").replace(
            "md", "markdown")


def test_a_structured_document_has_a_stable_text_for_its_content_hash(tmp_path):
    first = read_document(write(tmp_path, "a.docx", docx_bytes(sample_blocks())))[0]
    second = read_document(write(tmp_path, "b.docx", docx_bytes(sample_blocks())))[0]
    assert first == second
    assert "## OUR MISSION" in first  # the structure is part of it: restyling is a change


# --- headings come from the structure -----------------------------------------------------

SENTENCE_HEADING = [  # a heading that reads like a sentence: plain text would not take it
    Block("title", "Port Halden Field Office"),
    Block("heading", "We work with partners across the region."),
    Block("paragraph", "The office coordinates with the coast guard."),
    Block("heading", "OPEN DAYS"),
    Block("paragraph", "Crews host open days every quarter."),
]


@pytest.mark.parametrize("extension", sorted(TWINS))
def test_headings_are_the_documents_own_not_guessed(tmp_path, extension):
    path = write(tmp_path, f"office{extension}", TWINS[extension](SENTENCE_HEADING))
    sheet = read_document(path)[1]
    assert sheet.title == "Port Halden Field Office"
    assert [s.heading for s in sheet.sections] == [
        "We work with partners across the region.", "OPEN DAYS"]


def test_a_docx_without_heading_styles_falls_back_to_the_plain_text_rules(tmp_path):
    import docx

    document = docx.Document()
    for line in ("Port Halden Field Office", "OUR MISSION",
                 "The office coordinates with the coast guard.", "OPEN DAYS",
                 "Crews host open days every quarter."):
        document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    sheet = read_document(write(tmp_path, "plain.docx", buffer.getvalue()))[1]
    assert [s.heading for s in sheet.sections] == ["OUR MISSION", "OPEN DAYS"]


def test_a_pdf_in_one_font_falls_back_to_the_plain_text_rules(tmp_path):
    data = pdf_bytes(sample_blocks(), bold_font="Helvetica")
    plain = write(tmp_path, "plain.pdf", data)
    sheet = read_document(plain)[1]
    assert [s.heading for s in sheet.sections] == [
        "OUR MISSION", "OPERATIONS", "Key facts:", "Who we work with", "COMMUNITY ENGAGEMENT"]


def test_a_bold_line_at_body_size_is_a_heading_in_a_pdf(tmp_path):
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    body = ParagraphStyle("body", fontName="Helvetica", fontSize=10, leading=12, spaceAfter=8)
    bold = ParagraphStyle("bold", parent=body, fontName="Helvetica-Bold")
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer).build([
        Paragraph("Partners in the region", bold),
        Paragraph("The office coordinates with the coast guard and the port authorities of "
                  "three nations, and trains with partner navies every quarter.", body),
        Paragraph("Open days", bold),
        Paragraph("Crews host open days every quarter.", body)])
    sheet = read_document(write(tmp_path, "bold.pdf", buffer.getvalue()))[1]
    assert [s.heading for s in sheet.sections] == ["Partners in the region", "Open days"]


def test_html_reads_the_main_content_lists_and_line_breaks(tmp_path):
    page = """<html><body><header><nav><a href="/">Home</a> <a href="/news">News</a></nav>
    </header><main><h2>Key facts</h2><ol><li>Founded in <b>2024</b></li><li>Six nations</li>
    </ol><h2>Visits</h2><p>Write to the office.<br>It answers within a day.</p></main>
    <footer>© Ministry</footer><script>alert(1)</script></body></html>"""
    sheet = read_document(write(tmp_path, "page.html", page))[1]
    assert sheet.sections == (
        Section("Key facts", ("1. Founded in 2024\n2. Six nations",)),
        Section("Visits", ("Write to the office. It answers within a day.",)))


def test_markdown_reads_setext_headings_ordered_lists_and_tables(tmp_path):
    text = ("Field Office\n============\n\nKey facts\n---------\n\n1. Founded in **2024**\n"
            "2. Six [nations](https://example.org)\n\n| Ships | 9 |\n|---|---|\n| Aircraft | 4 |\n")
    sheet = read_document(write(tmp_path, "sheet.md", text))[1]
    assert sheet.title == "Field Office"
    assert sheet.sections == (
        Section("Key facts", ("1. Founded in 2024\n2. Six nations (https://example.org)\n"
                              "- Ships: 9\n- Aircraft: 4",)),)


def test_docx_list_numbers_and_table_rows(tmp_path):
    import docx

    document = docx.Document()
    document.add_paragraph("Field Office", style="Title")
    document.add_paragraph("Key facts", style="Heading 1")
    document.add_paragraph("Founded in 2024", style="List Number")
    document.add_paragraph("Six nations", style="List Number")
    table = document.add_table(rows=2, cols=2)
    for row, (key, value) in zip(table.rows, [("Ships", "9"), ("Aircraft", "4")], strict=True):
        row.cells[0].text, row.cells[1].text = key, value
    buffer = io.BytesIO()
    document.save(buffer)
    sheet = read_document(write(tmp_path, "facts.docx", buffer.getvalue()))[1]
    assert sheet.sections == (
        Section("Key facts", ("1. Founded in 2024\n2. Six nations\n- Ships: 9\n- Aircraft: 4",)),)


def test_the_contact_footer_of_a_structured_document_becomes_contacts(tmp_path):
    sheet = read_document(write(tmp_path, "sheet.md", markdown(sample_blocks())))[1]
    assert [(a.platform, a.handle) for a in sheet.contacts.accounts] == [
        ("x", "JTFMeridian"), ("facebook", "JTFMeridian")]
    assert all("Whitfield" not in s.text for s in sheet.sections)


# --- files that cannot be read --------------------------------------------------------------

def _zip(**members: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member, content in members.items():
            archive.writestr(member.replace("__", "/"), content)
    return buffer.getvalue()


def _encrypted_pdf() -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes(sample_blocks()))))
    writer.encrypt(user_password="secret", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _image_only_pdf() -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.rect(100, 100, 200, 300, fill=1)
    page.save()
    return buffer.getvalue()


BAD_FILES = {
    "truncated PDF": ("sheet.pdf", lambda: pdf_bytes(sample_blocks())[:1500],
                      "not a readable PDF"),
    "encrypted PDF": ("sheet.pdf", _encrypted_pdf, "password-protected"),
    "scanned PDF": ("sheet.pdf", _image_only_pdf, "no text to read"),
    "a zip that is no docx": ("sheet.docx", lambda: _zip(notes__a="x"),
                              "not a Word document"),
    "an OpenDocument file": ("sheet.odt", lambda: _zip(mimetype="application/vnd.oasis."
                                                       "opendocument.text", content="x"),
                             "an OpenDocument file"),
    "a damaged zip": ("sheet.docx", lambda: docx_bytes(sample_blocks())[:900],
                      "archive is damaged"),
    "a docx that is no zip": ("sheet.docx", lambda: b"OUR MISSION\n\nWe help.",
                              "named .docx but is not a Word document"),
    "a pdf that is no PDF": ("sheet.pdf", lambda: b"OUR MISSION\n\nWe help.",
                             "named .pdf but is not a PDF"),
    "an unknown type": ("sheet.xlsx.bak", lambda: b"OUR MISSION\n\nWe help.",
                        ".bak files are not supported"),
    "an old Word file": ("sheet.doc", lambda: b"\xd0\xcf\x11\xe0" + b"\0" * 100,
                         "save it as .docx"),
    "an empty docx": ("sheet.docx", lambda: b"", "the file is empty"),
    "a page of navigation only": ("page.html", lambda: "<nav>Home</nav><script>x</script>",
                                  "no post text found"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_file_that_cannot_be_read_gets_one_clear_line(tmp_path, case):
    name, make, message = BAD_FILES[case]
    path = write(tmp_path, name, make())
    with pytest.raises(DocumentImportError) as caught:
        read_document(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_html_twin_keeps_out_the_sites_menu_and_scripts(tmp_path):
    page = html_page(sample_blocks())
    assert "<nav>" in page and "<script>" in page
    sheet = read_document(write(tmp_path, "page.html", page))[1]
    assert all("Home" not in s.text and "tracking" not in s.text for s in sheet.sections)
