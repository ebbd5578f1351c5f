"""Images in imported fact sheets: found with their alt text and section in DOCX, HTML,
Markdown and PDF; listed by preview; attached with --with-images to the first post of their
section where the platform takes them (never without alt text); then published with the post
on X and Facebook over loopback. Nothing is fetched over the network and no path leads out of
the document's folder."""

from __future__ import annotations

import base64
import io
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from db.store import Store
from posts.media import MB
from scheduler.cli import cli
from scheduler.reading import load_document, parse_document

MISSION = ("The task force protects shipping lanes in the northern approaches and keeps the "
           "ports of the region open to trade.")
FACTS = ("Nine patrol vessels and four aircraft keep watch day and night over more than "
         "forty thousand square kilometres of sea.")
PARTNERS = "We work with the coast guards of three neighbouring states."
ALT = "Two patrol vessels escorting a cargo ship out of Sel Harbour"
MAP_ALT = "Map of the patrol area between the northern capes"


def png(width: int = 12, height: int = 8, colour=(10, 90, 160)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "PNG")
    return buffer.getvalue()


def gif() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("P", (4, 4), 1).save(buffer, "GIF")
    return buffer.getvalue()


PHOTO, MAP = png(), png(20, 10, (200, 40, 40))


def data_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def docx_sheet(images: dict[str, list[tuple[bytes, str | None]]]) -> bytes:
    """Title, then three headed sections; `images` puts pictures (with alt text, or none)
    after a section's paragraph, by heading."""
    import docx

    document = docx.Document()
    document.add_paragraph("Joint Task Force Meridian", style="Title")
    for heading, text in (("Our mission", MISSION), ("Key facts", FACTS),
                          ("Who we work with", PARTNERS)):
        document.add_paragraph(heading, style="Heading 2")
        document.add_paragraph(text)
        for content, alt in images.get(heading, ()):
            shape = document.add_paragraph().add_run().add_picture(io.BytesIO(content))
            if alt is not None:
                shape._inline.docPr.set("descr", alt)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def html_sheet(mission_img: str, facts_img: str) -> str:
    return ("<!DOCTYPE html><html><body><nav><img src='logo.png' alt='Site logo'></nav><main>"
            "<h1>Joint Task Force Meridian</h1>"
            f"<h2>Our mission</h2><p>{MISSION}</p>{mission_img}"
            f"<h2>Key facts</h2><figure>{facts_img}</figure><p>{FACTS}</p>"
            f"<h2>Who we work with</h2><p>{PARTNERS}</p></main></body></html>")


def markdown_sheet(mission_img: str, facts_img: str) -> str:
    return (f"# Joint Task Force Meridian\n\n## Our mission\n\n{MISSION}\n\n{mission_img}\n\n"
            f"## Key facts\n\n{facts_img}\n\n{FACTS}\n\n## Who we work with\n\n{PARTNERS}\n")


def pdf_sheet(image: bytes) -> bytes:
    """Headings in bold 14 pt over 10 pt body text; the image under "Key facts"."""
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Image, Paragraph, SimpleDocTemplate

    body = ParagraphStyle("body", fontName="Helvetica", fontSize=10, leading=12, spaceAfter=8)
    heading = ParagraphStyle("heading", fontName="Helvetica-Bold", fontSize=14, leading=17)
    story = [Paragraph("Our mission", heading), Paragraph(MISSION, body),
             Paragraph("Key facts", heading), Image(io.BytesIO(image), 60, 40),
             Paragraph(FACTS, body), Paragraph("Who we work with", heading),
             Paragraph(PARTNERS, body)]
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer).build(story)
    return buffer.getvalue()


def found(path: Path) -> list[tuple[str | None, str | None, bytes | None]]:
    """(section heading, alt text, bytes) of each image the document holds."""
    loaded = load_document(path)
    return [(loaded.sheet.sections[i.section].heading if i.section is not None else None,
             i.alt or None, i.content) for i in loaded.images]


def skipped(path: Path) -> list[tuple[str, str]]:
    return [(i.source, i.skipped) for i in load_document(path).images if i.skipped]


# Finding images -------------------------------------------------------------------------------

def test_docx_pictures_are_found_with_their_alt_text_and_section(tmp_path):
    path = tmp_path / "sheet.docx"
    path.write_bytes(docx_sheet({"Our mission": [(PHOTO, ALT)], "Key facts": [(MAP, None)]}))
    assert found(path) == [("Our mission", ALT, PHOTO), ("Key facts", None, MAP)]


@pytest.mark.parametrize("hide", ["hidden run", "hidden style", "tracked deletion"])
def test_a_docx_picture_word_does_not_show_is_not_found(tmp_path, hide):
    """A picture in hidden text (directly or through a character style) or in a tracked
    deletion (read as accepted) is not shown by Word, so it is not posted either."""
    import docx
    from docx.enum.style import WD_STYLE_TYPE
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    document = docx.Document(io.BytesIO(docx_sheet({"Our mission": [(PHOTO, ALT)],
                                                    "Key facts": [(MAP, None)]})))
    run = document.element.body.xpath(".//w:drawing")[0].getparent()
    if hide == "hidden run":
        run.get_or_add_rPr().append(parse_xml(f'<w:vanish {nsdecls("w")}/>'))
    elif hide == "hidden style":
        style = document.styles.add_style("Draft Picture", WD_STYLE_TYPE.CHARACTER)
        style.element.get_or_add_rPr().append(parse_xml(f'<w:vanish {nsdecls("w")}/>'))
        run.style = style.style_id
    else:
        deletion = parse_xml(f'<w:del {nsdecls("w")} w:id="1" w:author="A"/>')
        run.addprevious(deletion)
        deletion.append(run)
    path = tmp_path / "sheet.docx"
    document.save(str(path))
    assert found(path) == [("Key facts", None, MAP)]


def test_html_images_come_from_data_uris_and_files_next_to_the_page(tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "map.png").write_bytes(MAP)
    path = tmp_path / "sheet.html"
    path.write_text(html_sheet(f'<img src="{data_uri(PHOTO)}" alt="{ALT}">',
                               f'<img src="photos/map.png" alt="{MAP_ALT}">'))
    # The logo in the site menu is page furniture, not part of the fact sheet.
    assert found(path) == [("Our mission", ALT, PHOTO), ("Key facts", MAP_ALT, MAP)]


def test_markdown_images_come_from_files_next_to_the_document(tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "map.png").write_bytes(MAP)
    (tmp_path / "vessels.png").write_bytes(PHOTO)
    path = tmp_path / "sheet.md"
    path.write_text(markdown_sheet(f"![{ALT}](vessels.png)", "![](photos/map.png)"))
    assert found(path) == [("Our mission", ALT, PHOTO), ("Key facts", None, MAP)]


def test_pdf_images_are_found_in_their_section_without_alt_text(tmp_path):
    path = tmp_path / "sheet.pdf"
    path.write_bytes(pdf_sheet(MAP))
    [(section, alt, content)] = found(path)
    assert (section, alt) == ("Key facts", None)
    from PIL import Image

    assert Image.open(io.BytesIO(content)).size == (20, 10)


def test_plain_text_has_no_images(tmp_path):
    path = tmp_path / "sheet.txt"
    path.write_text(f"Our mission\n\n{MISSION}\n")
    assert load_document(path).images == ()


def test_images_leave_the_text_and_sections_as_they_were(tmp_path):
    with_images = html_sheet(f'<img src="{data_uri(PHOTO)}" alt="{ALT}">', "")
    without = html_sheet("", "")
    assert (parse_document(with_images.encode(), "a.html")
            == parse_document(without.encode(), "a.html"))


@pytest.mark.parametrize(("src", "reason"), [
    ("https://www.example.mil/photo.png", "never downloads images"),
    ("//cdn.example.mil/photo.png", "never downloads images"),
    ("../outside.png", "outside the document's folder"),
    ("photos/../../outside.png", "outside the document's folder"),
    ("/etc/hostname", "outside the document's folder"),
    ("missing.png", "no such file next to the document"),
])
def test_web_addresses_and_paths_out_of_the_folder_are_skipped_with_the_reason(tmp_path, src,
                                                                             reason):
    folder = tmp_path / "sheets"
    (folder / "photos").mkdir(parents=True)
    (tmp_path / "outside.png").write_bytes(PHOTO)
    for path, text in ((folder / "sheet.html", html_sheet(f'<img src="{src}" alt="{ALT}">', "")),
                       (folder / "sheet.md", markdown_sheet(f"![{ALT}]({src})", ""))):
        path.write_text(text)
        [(source, why)] = skipped(path)
        assert reason in why and src.endswith(source.lstrip("/").rsplit("/", 1)[-1])
        assert [content for _s, _a, content in found(path)] == [None]


def test_a_symbolic_link_out_of_the_folder_is_refused(tmp_path):
    folder = tmp_path / "sheets"
    folder.mkdir()
    (tmp_path / "secret.png").write_bytes(PHOTO)
    os.symlink(tmp_path / "secret.png", folder / "photo.png")
    path = folder / "sheet.md"
    path.write_text(markdown_sheet(f"![{ALT}](photo.png)", ""))
    assert "outside the document's folder" in skipped(path)[0][1]


# Preview ----------------------------------------------------------------------------------

@pytest.fixture
def sheet_docx(tmp_path) -> Path:
    path = tmp_path / "sheet.docx"
    path.write_bytes(docx_sheet({"Our mission": [(PHOTO, ALT)], "Key facts": [(MAP, None)]}))
    return path


def test_preview_lists_the_images_with_section_type_size_and_alt_text(sheet_docx):
    result = CliRunner().invoke(cli, ["preview", str(sheet_docx)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[lines.index("2 images:") + 1:] == [
        f"  1. Our mission · embedded picture · image/png, {len(PHOTO)} bytes · alt: {ALT}",
        f"  2. Key facts · embedded picture · image/png, {len(MAP)} bytes · no alt text",
    ]
    data = json.loads(CliRunner().invoke(cli, ["preview", str(sheet_docx), "--json"]).output)
    assert [(i["section"], i["type"], i["size"], i["alt_text"]) for i in data["images"]] == [
        ("Our mission", "image/png", len(PHOTO), ALT), ("Key facts", "image/png", len(MAP),
                                                        None)]


# Import --------------------------------------------------------------------------------------

@pytest.fixture
def factpost(office, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def run(*args: str):
        result = CliRunner().invoke(cli, ["--config", str(office.config_path), *args],
                                    catch_exceptions=False)
        return result

    return run


def first_posts(store: Store) -> dict[tuple[str, str | None], int | None]:
    """(account, section heading) -> media id of the section's first post."""
    return {(p.account, p.section.heading if p.section else None): p.media_id
            for p in store.history.upcoming() if p.thread_position == 1}


def all_media(store: Store) -> list[int | None]:
    return [p.media_id for p in store.history.upcoming()]


def test_with_images_the_first_post_of_the_section_carries_the_image(factpost, office,
                                                                     sheet_docx):
    result = factpost("import", str(sheet_docx), "--at", "now", "--every", "0s",
                      "--with-images")
    assert result.exit_code == 0, result.output
    firsts = first_posts(office.store)
    for account in ("office-x", "office-fb"):
        assert firsts[(account, "Our mission")] is not None
        assert firsts[(account, "Key facts")] is None  # no alt text
        assert firsts[(account, "Who we work with")] is None
    assert sum(m is not None for m in all_media(office.store)) == 2
    assert office.store.media.count() == 1  # one image, stored once for both accounts
    post = next(p for p in office.store.history.upcoming() if p.media_id is not None)
    assert office.store.media.for_post(post).content == PHOTO
    assert office.store.media.for_post(post).alt_text == ALT
    assert ("image 2 (embedded picture, section 'Key facts'): not attached, it has no alt "
            "text; add alt text to the image in the document") in result.output
    assert "2 posts with an image" in result.output


def test_the_attached_image_publishes_with_its_alt_text_on_x_and_facebook(factpost, office,
                                                                          sheet_docx):
    assert factpost("import", str(sheet_docx), "--at", "now", "--every", "0s",
                    "--with-images").exit_code == 0
    now = datetime.now(UTC) + timedelta(minutes=1)
    dispatcher = office.dispatcher()
    while dispatcher.tick(now).published:
        pass
    assert office.store.history.upcoming() == []  # all published
    [tweet] = [t for t in office.emulator.tweets("OfficeX") if t.get("media")]
    assert MISSION in tweet["text"]
    held = office.emulator.image(tweet["media"][0]["id"])
    assert (held["content"], held["alt_text"]) == (PHOTO, ALT)
    [photo] = [p for p in office.emulator.page_posts("OfficeFB") if p.get("photo")]
    assert MISSION in photo["message"]
    held = office.emulator.image(photo["photo"]["id"])
    assert (held["content"], held["alt_text"]) == (PHOTO, ALT)


def test_an_image_a_platform_refuses_is_left_out_for_that_account_only(factpost, office,
                                                                       tmp_path):
    path = tmp_path / "sheet.docx"
    path.write_bytes(docx_sheet({"Our mission": [(gif(), ALT)]}))
    result = factpost("import", str(path), "--at", "now", "--every", "0s", "--with-images")
    assert result.exit_code == 0, result.output
    firsts = first_posts(office.store)
    assert firsts[("office-x", "Our mission")] is None
    assert firsts[("office-fb", "Our mission")] is not None
    [note] = [line for line in result.output.splitlines() if "GIF" in line]
    assert note == ("image 1 (embedded picture, section 'Our mission'): GIF images cannot be "
                    "posted to X; convert it to JPEG, PNG, WEBP (not attached for office-x)")


def test_an_image_over_facebooks_limit_goes_to_x_only(factpost, office, tmp_path):
    from PIL import Image

    noisy = Image.frombytes("RGB", (1400, 1000), os.urandom(1400 * 1000 * 3))
    buffer = io.BytesIO()
    noisy.save(buffer, "PNG")
    big = buffer.getvalue()
    assert 4 * MB < len(big) < 5 * MB
    path = tmp_path / "sheet.docx"
    path.write_bytes(docx_sheet({"Key facts": [(big, MAP_ALT)]}))
    result = factpost("import", str(path), "--at", "now", "--every", "0s", "--with-images")
    firsts = first_posts(office.store)
    assert firsts[("office-x", "Key facts")] is not None
    assert firsts[("office-fb", "Key facts")] is None
    assert "over Facebook's 4 MB limit" in result.output and "office-fb" in result.output


def test_a_later_post_of_a_thread_never_carries_the_image(factpost, office, tmp_path):
    long_text = " ".join([FACTS] * 4)  # a thread on X
    import docx

    document = docx.Document()
    document.add_paragraph("Key facts", style="Heading 2")
    document.add_paragraph(long_text)
    shape = document.add_paragraph().add_run().add_picture(io.BytesIO(MAP))
    shape._inline.docPr.set("descr", MAP_ALT)
    path = tmp_path / "thread.docx"
    document.save(path)
    assert factpost("import", str(path), "--account", "office-x", "--at", "now", "--every",
                    "0s", "--with-images").exit_code == 0
    posts = office.store.history.upcoming()
    assert len(posts) > 1
    assert [p.media_id is not None for p in posts] == [True] + [False] * (len(posts) - 1)


def test_without_the_flag_nothing_is_attached_and_the_images_are_mentioned(factpost, office,
                                                                           sheet_docx):
    result = factpost("import", str(sheet_docx), "--at", "now", "--every", "0s")
    assert result.exit_code == 0, result.output
    assert "2 images found; add --with-images to attach them" in result.output
    assert set(all_media(office.store)) == {None} and office.store.media.count() == 0


def test_importing_again_with_images_adds_nothing(factpost, office, sheet_docx):
    assert factpost("import", str(sheet_docx), "--at", "now", "--every", "0s",
                    "--with-images").exit_code == 0
    before = (len(office.store.history.upcoming()), office.store.media.count())
    again = factpost("import", str(sheet_docx), "--at", "now", "--every", "0s",
                     "--with-images")
    assert again.exit_code == 0 and "nothing added" in again.output
    assert "alt text" not in again.output
    assert (len(office.store.history.upcoming()), office.store.media.count()) == before


def test_skipped_images_are_noted_and_the_import_goes_ahead(factpost, office, tmp_path):
    path = tmp_path / "sheet.html"
    path.write_text(html_sheet('<img src="https://www.example.mil/photo.png" alt="A photo">',
                               f'<img src="../outside.png" alt="{MAP_ALT}">'))
    result = factpost("import", str(path), "--at", "now", "--every", "0s", "--with-images")
    assert result.exit_code == 0, result.output
    notes = [line for line in result.output.splitlines() if line.startswith("image ")]
    assert len(notes) == 2
    assert "skipped, a web address; factpost never downloads images" in notes[0]
    assert "skipped, outside the document's folder" in notes[1]
    assert set(all_media(office.store)) == {None}


def test_a_failed_import_stores_neither_posts_nor_images(factpost, office, sheet_docx):
    # Posting slots are the only thing missing: the import fails after planning.
    result = factpost("import", str(sheet_docx), "--with-images")
    assert result.exit_code == 1
    assert (len(office.store.history.upcoming()), office.store.media.count()) == (0, 0)


def test_with_images_cannot_be_combined_with_a_pair(factpost, sheet_docx):
    result = factpost("import", str(sheet_docx), "--pair", str(sheet_docx), "--with-images")
    assert result.exit_code == 2 and "--with-images" in result.output


def test_the_help_documents_the_flag():
    result = CliRunner().invoke(cli, ["import", "--help"])
    assert "--with-images" in result.output and "alt text" in result.output


def test_an_image_under_the_title_or_an_empty_heading_goes_to_the_next_section():
    from posts.factsheet import Part, heading_sections, parse_structured

    parts = [Part("title", "Joint Task Force Meridian"), Part("heading", "Our mission", 2),
             Part("text", MISSION), Part("heading", "Photos", 2),
             Part("heading", "Key facts", 2), Part("text", FACTS),
             Part("heading", "Media contacts", 2)]
    sheet = parse_structured(parts)
    assert [s.heading for s in sheet.sections] == ["Our mission", "Key facts"]
    # Before any heading, the title, "Our mission", "Photos" (empty), "Key facts", the footer.
    assert heading_sections(parts, sheet) == [0, 0, 0, 1, 1, None]


# Which image goes with which post -----------------------------------------------------------

def test_each_section_s_first_post_per_account_gets_the_first_image_its_platform_takes():
    from db.documents import PlannedPost
    from posts.contacts import Contacts
    from posts.factsheet import FactSheet, Section
    from posts.formats.images import FoundImage
    from scheduler.planning import attach_images

    sheet = FactSheet("Joint Task Force Meridian", (
        Section("Our mission", (MISSION,)), Section("Key facts", (FACTS,)),
        Section(None, (PARTNERS,))), Contacts())
    at = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
    # A Telegram post with an image holds 1,024 characters: one over, one exactly at it.
    over, exactly = ("Patrol news. " * 80)[:1025], ("Patrol news. " * 80)[:1024]
    planned = [
        PlannedPost("office-x", "x", MISSION, at, 0),
        PlannedPost("office-x", "x", "1/2 " + PARTNERS, at, 2, 1, 2),
        PlannedPost("office-x", "x", "2/2 " + PARTNERS, at, 2, 2, 2),
        PlannedPost("office-fb", "facebook", MISSION, at, 0),
        PlannedPost("office-fb", "facebook", FACTS, at, 1),
        PlannedPost("office-tg", "telegram", over, at, 0),
        PlannedPost("office-tg", "telegram", exactly, at, 2),
        PlannedPost("office-x", "x", "A post of no section.", at, None),
    ]
    images = [
        FoundImage(1, "https://www.example.mil/photo.png", None, "A photo",
                   skipped="a web address; factpost never downloads images", section=0),
        FoundImage(1, "no-alt.png", PHOTO, None, section=0),
        FoundImage(1, "crest.gif", gif(), ALT, section=0),  # X and Telegram take no GIF
        FoundImage(1, "escort.png", PHOTO, ALT, section=0),
        FoundImage(1, "second.png", MAP, MAP_ALT, section=0),
        FoundImage(3, "map.png", MAP, MAP_ALT, section=2),
        FoundImage(3, "extra.png", PHOTO, ALT, section=2),
        FoundImage(4, "footer.png", PHOTO, ALT),  # after the last section with text
        FoundImage(2, "chart.png", MAP, "A chart of patrols. " * 60, section=1),  # too long
    ]
    posts, notes = attach_images(planned, images, sheet)
    assert [(p.account, p.section_index, p.thread_position,
             p.media and (p.media.content, p.media.alt_text)) for p in posts] == [
        ("office-x", 0, 1, (PHOTO, ALT)), ("office-x", 2, 1, (MAP, MAP_ALT)),
        ("office-x", 2, 2, None), ("office-fb", 0, 1, (gif(), ALT)),
        ("office-fb", 1, 1, None), ("office-tg", 0, 1, None),
        ("office-tg", 2, 1, (MAP, MAP_ALT)), ("office-x", None, 1, None)]
    assert [p.text for p in posts] == [p.text for p in planned]
    assert [str(note) for note in notes] == [
        "image 1 (https://www.example.mil/photo.png, section 'Our mission'): skipped, a web "
        "address; factpost never downloads images",
        "image 2 (no-alt.png, section 'Our mission'): not attached, it has no alt text; add alt "
        "text to the image in the document (people using screen readers need it)",
        "image 8 (footer.png): not attached, it follows the last section with text; move it "
        "into a section",
        "image 3 (crest.gif, section 'Our mission'): GIF images cannot be posted to X; convert "
        "it to JPEG, PNG, WEBP (not attached for office-x)",
        "image 9 (chart.png, section 'Key facts'): the alt text is 1199 characters; the "
        "limit is 1000, so shorten the description (not attached for office-fb)",
        "image 3 (crest.gif, section 'Our mission'): GIF images cannot be posted to Telegram; "
        "convert it to JPEG, PNG, WEBP (not attached for office-tg)",
        "image 4 (escort.png, section 'Our mission'): not attached for office-tg: a Telegram "
        "post with an image holds 1,024 characters (UTF-16) and this one has 1,025",
        "image 5 (second.png, section 'Our mission'): not attached for office-tg: a Telegram "
        "post with an image holds 1,024 characters (UTF-16) and this one has 1,025",
        "image 7 (extra.png, section 3): not attached, a section's first post takes only the "
        "section's first image",
    ]
