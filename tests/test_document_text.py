"""What a document really says: every text a reader sees, in order, and nothing they do not.

Word text wrapped in other elements (cases 03), PDF ligatures and hyphenation (01, 02), links in
every format (09), each as a kind: other wrappers, other ligatures, other link shapes."""

from __future__ import annotations

import io

import pytest

from posts.factsheet import parse_factsheet
from posts.formats.docx import read_docx
from posts.formats.html import read_html
from posts.formats.links import link_address, link_text
from posts.formats.markdown import read_markdown
from posts.hyphenation import is_line_break, join_lines
from scheduler.reading import parse_with_images

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W = f'xmlns:w="{W_NS}"'
R = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
MC = 'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'


def run(text: str, extra: str = "") -> str:
    return f'<w:r>{extra}<w:t xml:space="preserve">{text}</w:t></w:r>'


def docx_with(*paragraph_xml: str, body_xml: str = "", link: str | None = None,
              styles_xml: str = "", default_rpr: str = "") -> bytes:
    """A Word file: Title, Heading 1 "Operations", then a paragraph per `paragraph_xml`
    (the inside of a w:p), then `body_xml` appended to the body. `link` is the target of the
    external hyperlink relationship "rIdLink". `styles_xml` (w:style elements) is added to the
    styles part, `default_rpr` (the inside of a w:rPr) to its document defaults."""
    import docx
    from docx.opc.constants import RELATIONSHIP_TYPE
    from docx.oxml import parse_xml

    document = docx.Document()
    styles = document.styles.element
    if styles_xml:
        for style in parse_xml(f"<w:styles {W}>{styles_xml}</w:styles>"):
            styles.append(style)
    if default_rpr:
        defaults = styles.find(f"{{{W_NS}}}docDefaults/{{{W_NS}}}rPrDefault/{{{W_NS}}}rPr")
        for element in parse_xml(f"<w:rPr {W}>{default_rpr}</w:rPr>"):
            defaults.append(element)
    document.add_paragraph("Harbour Task Force", style="Title")
    document.add_heading("Operations", level=1)
    if link:
        rel = document.part.relate_to(link, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
        assert rel
        paragraph_xml = tuple(x.replace("rIdLink", rel) for x in paragraph_xml)
    body = document.element.body
    section = body[-1]
    for inner in paragraph_xml:
        section.addprevious(parse_xml(f"<w:p {W} {R} {MC}>{inner}</w:p>"))
    if body_xml:
        section.addprevious(parse_xml(body_xml))
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def body_text(data: bytes) -> list[str]:
    return [p.text for p in read_docx(data, "f.docx").parts if p.kind == "text"]


# --- Word: every text a reader sees (case 03 and its kind) ----------------------------------

@pytest.mark.parametrize(("inner", "shown"), [
    # Tracked changes: insertions shown, deletions not; moves shown at their new place only.
    (run("Escorted ") + f'<w:del w:id="1" w:author="A"><w:r><w:delText>950</w:delText></w:r>'
     f'</w:del><w:ins w:id="2" w:author="A">{run("1,250")}</w:ins>' + run(" vessels."),
     "Escorted 1,250 vessels."),
    (f'<w:moveFrom w:id="3" w:author="A">{run("old place ")}</w:moveFrom>' + run("Kept ")
     + f'<w:moveTo w:id="4" w:author="A">{run("moved here.")}</w:moveTo>', "Kept moved here."),
    # Content controls, inline and nested in a tracked insertion.
    (run("Crews: ") + f'<w:sdt><w:sdtPr><w:alias w:val="Count"/></w:sdtPr><w:sdtContent>'
     f'{run("412")}</w:sdtContent></w:sdt>' + run(" sailors."), "Crews: 412 sailors."),
    (f'<w:ins w:id="5" w:author="A"><w:sdt><w:sdtContent><w:smartTag w:uri="u" '
     f'w:element="place">{run("Port Halden")}</w:smartTag></w:sdtContent></w:sdt></w:ins>'
     + run(" reopened."), "Port Halden reopened."),
    # Smart tags and custom XML.
    (f'<w:smartTag w:uri="urn:schemas" w:element="date">{run("1 November")}</w:smartTag>'
     + run(" opening."), "1 November opening."),
    (f'<w:customXml w:element="figure">{run("3,400")}</w:customXml>' + run(" users."),
     "3,400 users."),
    # Fields: the result shows, the code does not; a simple field; a field in a field.
    (run("Page ") + '<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> PAGE '
     '</w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r>' + run("7")
     + '<w:r><w:fldChar w:fldCharType="end"/></w:r>' + run(" of the report."),
     "Page 7 of the report."),
    ('<w:fldSimple w:instr=" DATE \\@ &quot;d MMMM yyyy&quot; ">' + run("3 December 2026")
     + "</w:fldSimple>" + run(" briefing."), "3 December 2026 briefing."),
    ('<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> IF </w:instrText></w:r>'
     '<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> PAGE </w:instrText>'
     '</w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r>' + run("9")
     + '<w:r><w:fldChar w:fldCharType="end"/></w:r><w:r><w:instrText> = 9 "yes" "no" '
     '</w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r>' + run("yes")
     + '<w:r><w:fldChar w:fldCharType="end"/></w:r>' + run(" indeed."), "yes indeed."),
    # Hidden text does not show; tabs, breaks and no-break hyphens do.
    (run("Shown") + run(" hidden", "<w:rPr><w:vanish/></w:rPr>") + run(" text."),
     "Shown text."),
    (run("Left") + "<w:r><w:tab/></w:r>" + run("right, and") + "<w:r><w:br/></w:r>"
     + run("next line; e") + "<w:r><w:noBreakHyphen/></w:r>" + run("mail."),
     "Left right, and\nnext line; e\u2011mail."),
    # A text box: Word writes it twice (Choice and Fallback); it shows once.
    (run("Anchor paragraph.") + '<w:r><mc:AlternateContent><mc:Choice Requires="wps">'
     '<w:drawing><w:txbxContent><w:p>' + run("Boxed fact.") + '</w:p></w:txbxContent>'
     '</w:drawing></mc:Choice><mc:Fallback><w:pict><w:txbxContent><w:p>'
     + run("Boxed fact.") + '</w:p></w:txbxContent></w:pict></mc:Fallback>'
     '</mc:AlternateContent></w:r>', "Anchor paragraph.|Boxed fact."),
])
def test_word_text_is_what_a_reader_sees(inner, shown):
    assert "|".join(body_text(docx_with(inner))) == shown


def style(kind: str, style_id: str, rpr: str = "<w:vanish/>", based_on: str = "") -> str:
    based = f'<w:basedOn w:val="{based_on}"/>' if based_on else ""
    return (f'<w:style w:type="{kind}" w:styleId="{style_id}"><w:name w:val="{style_id}"/>'
            f"{based}<w:rPr>{rpr}</w:rPr></w:style>")


def styled(style_id: str, inner: str) -> str:
    return f'<w:pPr><w:pStyle w:val="{style_id}"/></w:pPr>{inner}'


def char(style_id: str, text: str) -> str:
    return run(text, f'<w:rPr><w:rStyle w:val="{style_id}"/></w:rPr>')


HIDDEN_STYLES = (style("paragraph", "Note") + style("paragraph", "SubNote", "", "Note")
                 + style("paragraph", "Cleared", '<w:vanish w:val="0"/>', "Note")
                 + style("character", "Draft") + style("character", "Pending", "", "Draft")
                 + style("paragraph", "Separator", "<w:specVanish/>"))


@pytest.mark.parametrize(("paragraphs", "shown"), [
    # A paragraph style that hides, directly or through its basedOn chain (and the paragraph
    # mark with it, so nothing is left of the paragraph).
    ((styled("Note", run("INTERNAL NOTE: do not publish.")), run("Shown.")), "Shown."),
    ((styled("SubNote", run("Not cleared.")), run("Shown.")), "Shown."),
    # A derived style that turns hiding off, and direct formatting that does, show.
    ((styled("Cleared", run("Cleared.")),), "Cleared."),
    ((styled("Note", run("Hidden ") + run("but this shows.", '<w:rPr><w:vanish w:val="false"/>'
                                                          "</w:rPr>")), run("Next.")),
     "but this shows.Next."),
    # A character style that hides, directly or through its basedOn chain.
    ((run("Escorted ") + char("Draft", "(draft: 1,400) ") + run("1,250 vessels."),),
     "Escorted 1,250 vessels."),
    ((run("Patrols") + char("Pending", ", 14 armed,") + run(" run daily."),),
     "Patrols run daily."),
    # Vanish is a toggle property (ECMA-376 Part 1, 17.7.3): a hiding character style inside a
    # hiding paragraph style shows, as in Word.
    ((styled("Note", run("Hidden, ") + char("Draft", "toggled back.")), run(" Next.")),
     "toggled back. Next."),
    # Hidden even when Word shows hidden text (17.3.2.36); its mark runs on into the next.
    ((styled("Separator", run("Lead-in")), run(" and body.")), " and body."),
    # A tracked change of formatting that un-hid a run is read as accepted: the run shows.
    ((run("Now ") + run("shown.", '<w:rPr><w:rPrChange w:id="1" w:author="A"><w:rPr>'
                                  "<w:vanish/></w:rPr></w:rPrChange></w:rPr>"),), "Now shown."),
    # Hidden only in Web Layout view (17.3.2.44): the page shows it.
    ((run("Page ") + run("7", "<w:rPr><w:webHidden/></w:rPr>") + run("."),), "Page 7."),
])
def test_text_hidden_through_a_style_does_not_show(paragraphs, shown):
    assert "|".join(body_text(docx_with(*paragraphs, styles_xml=HIDDEN_STYLES))) == shown


def test_text_hidden_by_the_document_defaults_shows_only_where_a_run_turns_it_off():
    data = docx_with(run("Default hidden. ") + run("Shown.", '<w:rPr><w:vanish w:val="0"/>'
                                                             "</w:rPr>"),
                     default_rpr="<w:vanish/>")
    assert [p.text for p in read_docx(data, "f.docx").parts if p.text] == ["Shown."]


def test_a_table_style_that_hides_hides_its_cells():
    table = (f'<w:tbl {W}><w:tblPr><w:tblStyle w:val="HiddenGrid"/></w:tblPr><w:tr><w:tc>'
             f'<w:p>{run("Secret")}</w:p></w:tc><w:tc><w:p>{run("9")}</w:p></w:tc></w:tr>'
             "</w:tbl>")
    data = docx_with(run("Fleet."), body_xml=table, styles_xml=style("table", "HiddenGrid"))
    assert [p.text for p in read_docx(data, "f.docx").parts if p.kind == "item"] == []


def test_a_phonetic_guide_shows_its_base_text_not_the_guide():
    ruby = ('<w:r><w:ruby><w:rubyPr/><w:rt><w:r><w:t>kaigun</w:t></w:r></w:rt><w:rubyBase>'
            + run("Navy") + "</w:rubyBase></w:ruby></w:r>")
    assert body_text(docx_with(run("The ") + ruby + run(" band."))) == ["The Navy band."]


@pytest.mark.parametrize("mark", [
    '<w:del w:id="9" w:author="A" w:date="2026-11-20T10:00:00Z"/>',  # read as accepted
    "<w:vanish/>",  # hidden paragraph mark
    "<w:vanish/><w:specVanish/>",  # a style separator, as Word writes it
])
def test_a_paragraph_whose_mark_is_gone_runs_on_into_the_next(mark):
    first = f"<w:pPr><w:rPr>{mark}</w:rPr></w:pPr>" + run("First half")
    data = docx_with(first, run(" second half."), run("Own paragraph."))
    assert body_text(data) == ["First half second half.", "Own paragraph."]


def test_a_heading_whose_mark_is_hidden_stays_a_heading():
    # A style separator (a hidden paragraph mark) sets a run-in heading on its body's line;
    # the heading stays in Word's outline, and here.
    heading = ('<w:pPr><w:pStyle w:val="Heading1"/><w:rPr><w:vanish/><w:specVanish/></w:rPr>'
               "</w:pPr>" + run("Visits"))
    parts = read_docx(docx_with(heading, run("Crews host open days.")), "f.docx").parts
    assert [(p.kind, p.text) for p in parts][-2:] == [("heading", "Visits"),
                                                     ("text", "Crews host open days.")]


def test_a_word_part_with_a_dtd_is_refused_not_cut_at_its_entity():
    import zipfile

    from posts.text import UnreadableDocument

    source = zipfile.ZipFile(io.BytesIO(docx_with(run("The host is [&x;] and more."
                                                      .replace("&", "&amp;")))))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "word/document.xml":
                data = data.replace(b"&amp;x;", b"&x;").replace(
                    b"?>", b'?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/hostname">]>', 1)
            target.writestr(info, data)
    with pytest.raises(UnreadableDocument, match=r"word/document\.xml declares a DTD"):
        read_docx(out.getvalue(), "f.docx")


def test_a_paragraph_inserted_whole_and_block_level_controls_are_read_in_order():
    inserted = (f'<w:pPr><w:rPr><w:ins w:id="9" w:author="A"/></w:rPr></w:pPr>'
                f'<w:ins w:id="10" w:author="A">{run("Inserted whole.")}</w:ins>')
    block = (f'<w:sdt {W}><w:sdtContent><w:p>{run("In a block control.")}</w:p>'
             f'<w:customXml w:element="x"><w:p>{run("In custom XML.")}</w:p></w:customXml>'
             f'</w:sdtContent></w:sdt>')
    data = docx_with(run("First."), inserted, body_xml=block)
    assert body_text(data) == ["First.", "Inserted whole.", "In a block control.",
                               "In custom XML."]


def test_table_cells_read_their_tracked_insertions_and_content_controls():
    table = (f'<w:tbl {W}><w:tr><w:tc><w:p>{run("Ships")}</w:p></w:tc><w:tc><w:p>'
             f'<w:del w:id="1" w:author="A"><w:r><w:delText>7</w:delText></w:r></w:del>'
             f'<w:ins w:id="2" w:author="A">{run("9")}</w:ins></w:p></w:tc></w:tr>'
             f'<w:tr><w:tc><w:p><w:sdt><w:sdtContent>{run("Aircraft")}</w:sdtContent>'
             f'</w:sdt></w:p></w:tc><w:tc><w:p>{run("4")}</w:p></w:tc></w:tr></w:tbl>')
    parts = read_docx(docx_with(run("Fleet:"), body_xml=table), "f.docx").parts
    assert [p.text for p in parts if p.kind == "item"] == ["Ships: 9", "Aircraft: 4"]


def test_a_document_with_tracked_changes_says_it_was_read_as_accepted():
    changed = docx_with(run("A ") + f'<w:ins w:id="1" w:author="A">{run("new")}</w:ins>'
                        + run(" figure."))
    loaded = parse_with_images(changed, "sheet.docx")
    assert loaded.sheet.sections[0].text == "A new figure."
    assert any("1 tracked change(s) not yet accepted; read as if they were accepted" in n
               for n in loaded.notes)
    clean = parse_with_images(docx_with(run("A figure.")), "sheet.docx")
    assert not any("tracked change" in n for n in clean.notes)


@pytest.mark.parametrize(("inner", "shown"), [
    ('<w:hyperlink r:id="rIdLink">' + run("task force website") + "</w:hyperlink>"
     + run(" has it."), "task force website (https://www.jtf-meridian.mil/r) has it."),
    ('<w:hyperlink r:id="rIdLink"><w:ins w:id="1" w:author="A">' + run("www.jtf-meridian.mil/r")
     + "</w:ins></w:hyperlink>", "www.jtf-meridian.mil/r"),
    ('<w:hyperlink w:anchor="_Toc1">' + run("see below") + "</w:hyperlink>", "see below"),
    ('<w:fldSimple w:instr=" HYPERLINK &quot;https://www.jtf-meridian.mil/s&quot; ">'
     + run("the statement") + "</w:fldSimple>",
     "the statement (https://www.jtf-meridian.mil/s)"),
    ('<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve"> '
     'HYPERLINK "mailto:press@jtf-meridian.mil" </w:instrText></w:r><w:r><w:fldChar '
     'w:fldCharType="separate"/></w:r>' + run("the press desk")
     + '<w:r><w:fldChar w:fldCharType="end"/></w:r>', "the press desk (press@jtf-meridian.mil)"),
])
def test_word_links_keep_their_address(inner, shown):
    data = docx_with(inner, link="https://www.jtf-meridian.mil/r")
    assert body_text(data) == [shown]


# --- links in HTML and Markdown (case 09 and its kind) ---------------------------------------

@pytest.mark.parametrize(("html", "shown"), [
    ('<a href="https://x.mil/r">the report</a>', "the report (https://x.mil/r)"),
    ('<a href="https://x.mil/r"><b>bold</b> report</a>', "bold report (https://x.mil/r)"),
    ('<a href="https://www.x.mil/">www.x.mil</a>', "www.x.mil"),
    ('<a href="https://www.x.mil/r">see www.x.mil/r now</a>', "see www.x.mil/r now"),
    ('<a href="mailto:press@x.mil?subject=Hi">press@x.mil</a>', "press@x.mil"),
    ('<a href="mailto:press@x.mil">the press desk</a>', "the press desk (press@x.mil)"),
    ('<a href="tel:+9647501234567">the duty desk</a>', "the duty desk (+9647501234567)"),
    ('<a href="#contacts">below</a>', "below"),
    ('<a href="/reports/a.pdf">relative</a>', "relative"),
    ('<a href="javascript:void(0)">script</a>', "script"),
    ('<a href="https://x.mil/only"></a>', "https://x.mil/only"),
])
def test_html_links_keep_their_address(html, shown):
    page = f"<html><body><h1>T</h1><h2>H</h2><p>{html}</p></body></html>".encode()
    assert [p.text for p in read_html(page, "f.html").parts][2] == shown


def test_a_relative_link_is_made_whole_by_the_pages_base():
    page = (b'<html><head><base href="https://www.jtf-meridian.mil/news/"></head><body>'
            b'<h1>T</h1><p>Read <a href="2026/11/report.pdf">the report</a>.</p></body></html>')
    assert read_html(page, "f.html").parts[1].text == (
        "Read the report (https://www.jtf-meridian.mil/news/2026/11/report.pdf).")


def test_a_relative_base_href_is_resolved_against_the_base_url():
    page = (b'<html><head><base href="/news/"></head><body><h1>T</h1><p>Read <a href='
            b'"2026/report.pdf">the report</a>.</p></body></html>')
    read = read_html(page, "f.html", None, "https://www.jtf-meridian.mil/index.html")
    assert read.parts[1].text == (
        "Read the report (https://www.jtf-meridian.mil/news/2026/report.pdf).")
    assert read.notes == ()


@pytest.mark.parametrize(("markdown", "shown"), [
    ("[the report](https://x.mil/r)", "the report (https://x.mil/r)"),
    ("<https://x.mil/r>", "https://x.mil/r"),
    ("<press@x.mil>", "press@x.mil"),
    ("[the report][r]\n\n[r]: https://x.mil/ref", "the report (https://x.mil/ref)"),
    ("[**bold** words](https://x.mil/b)", "bold words (https://x.mil/b)"),
    ("[in page](#top)", "in page"),
    ("[the site](www.x.mil)", "the site (www.x.mil)"),
])
def test_markdown_links_keep_their_address(markdown, shown):
    parts = read_markdown(f"# T\n\n## H\n\n{markdown}\n", "f.md").parts
    assert parts[2].text == shown


def test_a_link_written_out_counts_as_a_link_in_the_post():
    from posts.weight import URL_WEIGHT, weighted_length

    page = (b'<h1>T</h1><h2>H</h2><p>See the <a href="https://www.jtf-meridian.mil/reports/'
            b'2026-11/monthly-patrol-report-final.pdf">report</a>.</p>')
    text = parse_with_images(page, "f.html").sheet.sections[0].text
    assert weighted_length(text) == len("See the report ().") + URL_WEIGHT


def test_link_helpers():
    assert link_address("HTTPS://X.MIL/a") == "https://x.mil/a"  # as the URL standard writes it
    assert link_address("ftp://x.mil/a") == "ftp://x.mil/a"
    assert link_address("mailto:not-an-address") is None
    assert link_address("mailto:a@x.mil,b@x.mil") == "a@x.mil, b@x.mil"
    # Tabs and line breaks inside an address are no part of it (URL standard, basic parsing).
    assert link_address("https://x.mil/re\n\tport") == "https://x.mil/report"
    assert link_text("  ", "https://x.mil") == "https://x.mil"
    assert link_text("site ", "https://x.mil") == "site (https://x.mil) "


# --- every link address, in every format, through one function (the kind of case 09) ---------

def link_in_every_format(href: str, anchor: str = "the page",
                         base: str | None = None) -> dict[str, str]:
    """The text of a paragraph holding one link to `href`, read from HTML, Markdown, a Word
    hyperlink (relationship target) and a Word HYPERLINK field; with the notes each gave."""
    from xml.sax.saxutils import escape, quoteattr

    html = f"<h1>T</h1><h2>H</h2><p>See <a href={quoteattr(href)}>{anchor}</a>.</p>".encode()
    markdown = f"# T\n\n## H\n\nSee [{anchor}](<{href}>).\n"
    word = docx_with(run("See ") + '<w:hyperlink r:id="rIdLink">' + run(anchor)
                     + "</w:hyperlink>" + run("."), link=href)
    field = docx_with(run("See ") + "<w:fldSimple w:instr="
                      + quoteattr(f' HYPERLINK "{escape(href)}" ') + ">" + run(anchor)
                      + "</w:fldSimple>" + run("."))
    reads = {"html": read_html(html, "f", None, base),
             "markdown": read_markdown(markdown, "f", None, base),
             "word": read_docx(word, "f", base), "word field": read_docx(field, "f", base)}
    return {kind: (" ".join(p.text for p in read.parts if p.kind == "text"),
                   " ".join(read.notes)) for kind, read in reads.items()}


@pytest.mark.parametrize(("href", "address"), [
    # A protocol-relative address takes the https of a published fact sheet.
    ("//www.example.mil/proto", "https://www.example.mil/proto"),
    # Spaces and other characters a URL cannot hold are percent-encoded, as the URL standard
    # does, so the whole address is the link (X would link "https://www.example.mil/a" only).
    ("https://www.example.mil/a b c", "https://www.example.mil/a%20b%20c"),
    ("https://www.example.mil/r?q=a b#p q", "https://www.example.mil/r?q=a%20b#p%20q"),
    ("https://www.example.mil/a%20b", "https://www.example.mil/a%20b"),  # encoded once only
    ("https://www.example.mil/{x}`y`", "https://www.example.mil/%7Bx%7D%60y%60"),
    ("https://www.example.mil/تقرير", "https://www.example.mil/%D8%AA%D9%82%D8%B1%D9%8A%D8%B1"),
    # A host in another script is shown in it, whatever form the document holds it in.
    ("https://مثال.عراق/تقرير", "https://مثال.عراق/%D8%AA%D9%82%D8%B1%D9%8A%D8%B1"),
    ("https://xn--mgbh0fb.xn--mgbtx2b/a", "https://مثال.عراق/a"),
    # Written without a path, an address gets no "/" from the serializer.
    ("HTTPS://WWW.EXAMPLE.MIL", "https://www.example.mil"),
    # Other schemes with a host are places a reader can go to: kept.
    ("ftp://ftp.example.mil/pub/a b.pdf", "ftp://ftp.example.mil/pub/a%20b.pdf"),
])
def test_a_link_address_is_written_whole_and_alike_in_every_format(href, address):
    from posts.weight import URL_WEIGHT, weighted_length

    for kind, (text, notes) in link_in_every_format(href).items():
        assert (kind, text) == (kind, f"See the page ({address}).")
        assert notes == ""
        if address.startswith("https"):
            assert weighted_length(text) == len("See the page ().") + URL_WEIGHT, kind


def test_a_protocol_relative_link_takes_the_scheme_of_the_base_url():
    for kind, (text, _) in link_in_every_format("//www.example.mil/proto",
                                                base="http://www.example.mil/news/").items():
        assert (kind, text) == (kind, "See the page (http://www.example.mil/proto).")


@pytest.mark.parametrize(("href", "named"), [
    ("javascript:void(0)", "javascript:"),
    ("file:///C:/Users/press/sheet.docx", "file:"),
    ("data:text/html,hi", "data:"),
    ("urn:isbn:0451450523", "urn:"),
    ("mailto:not-an-address", "mailto:not-an-address"),
    ("tel:duty-desk", "tel:duty-desk"),
    ("https://", "https:"),
])
def test_a_link_a_reader_cannot_follow_keeps_its_text_and_is_noted(href, named):
    for kind, (text, notes) in link_in_every_format(href).items():
        assert (kind, text) == (kind, "See the page.")
        assert f"1 link(s) with an address a reader of the post cannot follow ({named})" in notes
        assert "--base-url" not in notes


# --- PDF: ligatures and hyphenation (cases 01, 02 and their kind) ----------------------------

def pdf(lines: list[str], heading: str = "Operations") -> bytes:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(TTFont("DV", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"))
    pdfmetrics.registerFont(TTFont("DVB",
                                   "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"))
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer)
    c.setFont("DVB", 18)
    c.drawString(50, 780, "Harbour Task Force")
    c.setFont("DVB", 14)
    c.drawString(50, 740, heading)
    c.setFont("DV", 11)
    y = 716
    for line in lines:
        c.drawString(50, y, line)
        y -= 14
    c.save()
    return buffer.getvalue()


needs_fonts = pytest.mark.skipif(
    not __import__("pathlib").Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf").exists(),
    reason="DejaVu fonts (Debian fonts-dejavu-core) are not installed")


@needs_fonts
def test_pdf_ligatures_of_every_kind_become_letters_and_search_finds_the_words():
    data = pdf(["The Aﬀairs Oﬃce ﬁled the ﬂeet's ﬃrst and ﬄuent", "report."], "Oﬃcial ﬁgures")
    sheet = parse_with_images(data, "f.pdf").sheet
    assert sheet.sections[0].heading == "Official figures"
    assert sheet.sections[0].text == (
        "The Affairs Office filed the fleet's ffirst and ffluent report.")


@needs_fonts
def test_pdf_words_broken_at_line_ends_are_joined_and_compounds_keep_their_hyphen():
    data = pdf(["The task force escorted 1,250 merchant ves-",
                "sels through the strait; its well-",
                "known mine-",
                "countermeasure teams cleared 14 historic muni-",
                "tions, a long-",
                "term task with pre-",
                "and post-deployment checks and COVID-",
                "19 rules, soft\u00ad",
                "ware and all."])
    text = parse_with_images(data, "f.pdf").sheet.sections[0].text
    assert text == ("The task force escorted 1,250 merchant vessels through the strait; its "
                    "well-known mine-countermeasure teams cleared 14 historic munitions, a "
                    "long-term task with pre- and post-deployment checks and COVID-19 rules, "
                    "software and all.")


@pytest.mark.parametrize(("first", "second"), [
    ("ves", "sels"), ("muni", "tions"), ("gov", "ernment"), ("hu", "manitarian"),
    ("recon", "naissance"), ("person", "nel"), ("mari", "time"), ("infra", "structure"),
    ("com", "mander"), ("Opera", "tions"), ("OPERA", "TIONS"), ("head", "quarters"),
])
def test_a_word_broken_by_hyphenation_is_one_word(first, second):
    assert is_line_break(first, second)


@pytest.mark.parametrize(("first", "second"), [
    ("mine", "countermeasure"), ("long", "term"), ("well", "known"), ("follow", "up"),
    ("self", "defense"), ("anti", "aircraft"), ("sea", "based"), ("all", "weather"),
    ("non", "governmental"), ("anti", "American"), ("Al", "Anbar"), ("task", "force"),
])
def test_a_compound_keeps_its_hyphen(first, second):
    assert not is_line_break(first, second)
    assert join_lines(f"the {first}-", f"{second} teams") == f"the {first}-{second} teams"


@pytest.mark.parametrize(("line", "following", "joined"), [
    ("the years 2025-", "2026 plan", "the years 2025-2026 plan"),
    ("the years 2025\u2010", "26 plan", "the years 2025\u201026 plan"),
    ("budget for 2027–", "2028,", "budget for 2027–2028,"),
    ("pages 12–", "14 of", "pages 12–14 of"),
    ("a 12-", "year-old rule", "a 12-year-old rule"),
    ("the Baghdad–", "Basra road", "the Baghdad–Basra road"),
    ("the fleet—", "and its crews", "the fleet—and its crews"),
    ("at https://www.jtf-meridian.mil/", "reports/plan.pdf", "at https://www.jtf-meridian.mil/"
     "reports/plan.pdf"),
    ("the 2025/", "26 figures", "the 2025/26 figures"),
    ("see www.jtf-meridian.mil/", "news/2026/11 today", "see www.jtf-meridian.mil/news/2026/11"
     " today"),
    ("الخطة للأعوام 2025-", "2026 كاملة", "الخطة للأعوام 2025-2026 كاملة"),
])
def test_a_range_compound_or_address_broken_at_a_line_end_joins_as_written(line, following,
                                                                           joined):
    assert join_lines(line, following) == joined


@pytest.mark.parametrize(("line", "following"), [
    ("see https://www.jtf-meridian.mil/", "for the details"),
    ("the words and/", "or phrases"),
    ("A dash -", "then more."),
    ("the fleet —", "and its crews"),
])
def test_a_line_that_ends_before_a_space_is_not_glued_to_the_next(line, following):
    assert join_lines(line, following) is None


@needs_fonts
def test_pdf_numbers_and_ranges_across_line_ends_join_as_written():
    data = pdf(["The plan covers the years 2025-", "2026, with a budget for 2027–",
                "2028 set out on pages 12–", "14 and the fleet—", "and its crews — stay."])
    text = parse_with_images(data, "f.pdf").sheet.sections[0].text
    assert text == ("The plan covers the years 2025-2026, with a budget for 2027–2028 set out "
                    "on pages 12–14 and the fleet—and its crews — stay.")
    plain = parse_with_images(b"Title\n\nPLAN\nThe years 2025-\n2026 and pages 12\xe2\x80\x93"
                              b"\n14 of it.\n", "f.txt").sheet.sections[0].text
    assert plain == "The years 2025-2026 and pages 12–14 of it."


def test_line_ends_without_a_broken_word_are_left_to_the_caller():
    assert join_lines("The fleet", "sailed.") is None
    assert join_lines("A dash -", "then more.") is None
    assert join_lines("soft\u00ad", "ware") == "software"


# --- Word: an embedded part (w:altChunk) is read in its place, or named ------------------------

def docx_with_chunks(*chunks: tuple[str, str, bytes]) -> bytes:
    """A Word file: Title, Heading 1 "Operations", a paragraph, then one w:altChunk per
    (part name, content type, bytes), as document-assembly programs write them."""
    import docx
    from docx.opc.constants import RELATIONSHIP_TYPE
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    document = docx.Document()
    document.add_paragraph("Harbour Task Force", style="Title")
    document.add_heading("Operations", level=1)
    document.add_paragraph("Before the chunk.")
    for name, content_type, blob in chunks:
        part = Part(PackURI(f"/word/{name}"), content_type, blob, document.part.package)
        element = OxmlElement("w:altChunk")
        element.set(qn("r:id"), document.part.relate_to(part, RELATIONSHIP_TYPE.A_F_CHUNK))
        document.element.body[-1].addprevious(element)
    document.add_paragraph("After the chunk.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_an_embedded_html_text_or_word_part_is_read_where_it_stands():
    inner = docx_with_chunks()  # a whole .docx as the embedded part
    data = docx_with_chunks(
        ("afchunk1.html", "text/html",
         b"<p>Escorted <b>1,250</b> vessels.</p><h1>Fuel</h1><p>Twelve barges.</p>"),
        ("afchunk2.txt", "text/plain", b"Crews rest every fourth day.\n"),
        ("afchunk3.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml"
         ".document.main+xml", inner))
    read = read_docx(data, "f.docx")
    texts = [(p.kind, p.text) for p in read.parts]
    assert texts[2:9] == [
        ("text", "Before the chunk."), ("text", "Escorted 1,250 vessels."), ("heading", "Fuel"),
        ("text", "Twelve barges."), ("text", "Crews rest every fourth day."),
        ("title", "Harbour Task Force"), ("heading", "Operations")]
    assert texts[-1] == ("text", "After the chunk.")
    assert read.notes == ()


@pytest.mark.parametrize(("name", "content_type"), [
    ("afchunk.rtf", "application/rtf"), ("afchunk.mht", "message/rfc822")])
def test_an_embedded_part_in_a_format_not_read_is_named_in_a_note(name, content_type):
    read = read_docx(docx_with_chunks((name, content_type, b"{\\rtf1 Hidden figure 77.}")),
                     "f.docx")
    assert [p.text for p in read.parts if p.kind == "text"] == ["Before the chunk.",
                                                                "After the chunk."]
    assert len(read.notes) == 1 and name in read.notes[0] and "save it again" in read.notes[0]


# --- a relative link without a base: text kept, the dropped address noted ---------------------

def test_a_relative_link_without_a_base_is_noted_in_every_format():
    html = b'<h1>T</h1><h2>H</h2><p>See <a href="/factsheets/x">the sheet</a>.</p>'
    markdown = "# T\n\n## H\n\nSee [the sheet](/factsheets/x).\n"
    word = docx_with('<w:hyperlink r:id="rIdLink">' + run("the sheet") + "</w:hyperlink>",
                     link="/factsheets/x")
    for read in (read_html(html, "f"), read_markdown(markdown, "f"), read_docx(word, "f")):
        assert any("the sheet" in p.text and "(" not in p.text for p in read.parts)
        assert len(read.notes) == 1 and "/factsheets/x" in read.notes[0]
        assert "--base-url" in read.notes[0]
    base = "https://www.jtf-meridian.mil/news/"
    for read in (read_html(html, "f", None, base), read_markdown(markdown, "f", None, base),
                 read_docx(word, "f", base)):
        assert any("the sheet (https://www.jtf-meridian.mil/factsheets/x)" in p.text
                   for p in read.parts)
        assert read.notes == ()


def test_preview_and_import_take_a_base_url_and_refuse_one_that_is_not_absolute(tmp_path,
                                                                               monkeypatch):
    from click.testing import CliRunner

    from scheduler.cli import cli

    monkeypatch.chdir(tmp_path)
    page = tmp_path / "sheet.html"
    page.write_bytes(b'<h1>T</h1><h2>H</h2><p>See <a href="x.html">the sheet</a>.</p>')
    good = CliRunner().invoke(cli, ["preview", str(page), "--base-url", "https://a.mil/b/"])
    assert good.exit_code == 0 and "the sheet (https://a.mil/b/x.html)" in good.output
    bad = CliRunner().invoke(cli, ["preview", str(page), "--base-url", "a.mil/b"])
    assert bad.exit_code != 0 and "not an absolute web address" in bad.output
    assert len(bad.output.strip().splitlines()) == 1


def test_a_word_line_break_reads_as_a_line_of_the_plain_text_twin():
    """Shift+Enter (w:br, w:cr) keeps its line for the plain-text rules (README, "Importing
    other formats"): a bullet or contact line after it stays its own line, prose lines join as
    in a hard-wrapped text file, so the Word file posts what its plain-text twin posts."""
    lines = ["Write to the office.", "It answers within a day.", "- Visits on Mondays",
             "Phone: +44 20 7946 0142"]
    brs = "<w:r><w:br/></w:r>".join(run(line) for line in lines[:3])
    data = docx_with(brs + "<w:r><w:cr/></w:r>" + run(lines[3]))
    twin = parse_factsheet("Harbour Task Force\n\nOperations\n\n" + "\n".join(lines) + "\n")
    sheet = parse_with_images(data, "sheet.docx").sheet
    assert sheet.sections == twin.sections
    assert sheet.sections[0].text == ("Write to the office. It answers within a day.\n"
                                      "- Visits on Mondays")
