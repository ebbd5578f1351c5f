"""Hostile documents are refused early, in one line naming the file and the limit, with bounded
memory: `preview` (a child process, its peak RSS measured) stays under PEAK_LIMIT_MB on every
bomb, each built here from a few kilobytes."""

from __future__ import annotations

import re

import pytest
from bombs import (
    GB,
    MB,
    docx_bomb,
    docx_dense_xml,
    docx_lying_bomb,
    docx_many_members,
    docx_nested,
    docx_odd_member,
    nested_html,
    nested_markdown,
    operators,
    pdf_content_bomb,
    pdf_form_fan_out,
    pdf_huge_image,
    pdf_object_stream,
    pdf_pages,
    pdf_repeated_page,
)
from support import PEAK_LIMIT_MB, run_measured

BOMBS = {
    # name: (builder, what the one error line must say)
    "image.docx": (lambda: docx_bomb("image"), "unpacks to more than 64 MB"),
    "mimetype.docx": (lambda: docx_bomb("mimetype"), "unpacks to more than 64 MB"),
    "whitespace.docx": (lambda: docx_bomb("whitespace"),
                        "word/document.xml unpacks to 1,024.0 MB, over the 8 MB"),
    "lying.docx": (docx_lying_bomb, "the archive is damaged"),
    "members.docx": (docx_many_members, "holds 20,017 files, over the 1,000"),
    "bzip2.docx": (lambda: docx_odd_member("bzip2"),
                   "word/media/image1.png is compressed with bzip2, which Word never writes"),
    "paragraphs.docx": (docx_dense_xml, "more than 100,000 elements"),
    "pages-10000.pdf": (lambda: pdf_repeated_page([10, 10, 10, 10]), "more than 100 pages"),
    "pages-40000.pdf": (lambda: pdf_repeated_page([10, 10, 20, 20]), "more than 100 pages"),
    "image-on-1000-pages.pdf": (lambda: pdf_huge_image(pages=1000), "more than 100 pages"),
    "content-stream.pdf": (lambda: pdf_content_bomb(GB), "beyond what factpost reads safely"),
    "text-operators.pdf": (lambda: pdf_pages([operators(900_000)]),
                           "page 1 draws more than 1 MB of content, the limit for one page"),
    "forms.pdf": (pdf_form_fan_out, "page 1 draws forms or images more than 500 times"),
    "object-stream.pdf": (pdf_object_stream, "it holds more than 100,000 objects"),
}


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_preview_refuses_a_bomb_in_one_line_with_bounded_memory(tmp_path, name):
    build, says = BOMBS[name]
    (tmp_path / name).write_bytes(build())
    run = run_measured("preview", name, "--json", cwd=tmp_path)
    assert run.code == 1
    assert run.errors == [run.errors[0]] and run.errors[0].startswith(f"factpost: error: {name}:")
    assert says in run.errors[0]
    assert run.stdout == ""
    assert run.peak_mb < PEAK_LIMIT_MB, f"{name}: peak {run.peak_mb:.0f} MB"


@pytest.mark.parametrize(("kind", "says"), [
    ("deflate64", "its part word/document.xml is compressed with Deflate64, which Word never "
                  "writes (only stored or deflate); save the fact sheet again from Word"),
    ("lzma", "its part word/document.xml is compressed with LZMA, which Word never writes"),
    ("encrypted", "its part word/document.xml is encrypted (password-protected); remove the "
                  "password in Word"),
])
def test_a_docx_member_word_never_writes_is_refused_before_it_is_inflated(kind, says):
    """ECMA-376 Part 2 (Annex C) allows stored and deflated members only, never encrypted
    ones: any other member is refused from the ZIP directory, whatever its size."""
    from scheduler.reading import DocumentImportError, parse_document

    with pytest.raises(DocumentImportError) as refused:
        parse_document(docx_odd_member(kind), "sheet.docx")
    assert str(refused.value).startswith(f"sheet.docx: {says}")


@pytest.mark.parametrize(("name", "build", "says"), [
    ("page.html", lambda: nested_html(100_000), "it has elements nested more than 100 levels"),
    ("quotes.md", lambda: nested_markdown(100_000), "it has quotes or lists nested more than 20"),
    ("quotes-25.md", lambda: nested_markdown(25), "it has quotes or lists nested more than 20"),
    ("lists.md", lambda: nested_markdown(12, "lists"), "it has quotes or lists nested more"),
    ("html-in.md", lambda: b"# Sheet\n\n" + nested_html(100_000)[6:],
     "it has elements nested more than 100 levels"),
    ("sheet.docx", lambda: docx_nested(600), "its XML is nested more than 256 levels deep"),
])
def test_a_deeply_nested_document_is_refused_in_one_line(name, build, says):
    """The readers walk documents recursively; past a depth no fact sheet has, they refuse
    (100,000 nested <div> raised RecursionError; markdown-it, past its own 20 levels, dropped
    the rest of the block without a word)."""
    from scheduler.reading import DocumentImportError, parse_document

    with pytest.raises(DocumentImportError) as refused:
        parse_document(build(), name)
    assert str(refused.value).startswith(f"{name}: {says}")
    assert str(refused.value).endswith("the limit for a fact sheet; save it again from its "
                                       "editor, or as plain text") or name.endswith(".docx")


@pytest.mark.parametrize(("name", "build"), [
    ("page.html", lambda: nested_html(60)),
    ("quotes.md", lambda: nested_markdown(15)),
    ("lists.md", lambda: nested_markdown(8, "lists")),
    ("sheet.docx", lambda: docx_nested(120)),
])
def test_nesting_a_real_document_may_have_loses_no_text(name, build):
    """Deep, but within what the readers walk."""
    from scheduler.reading import parse_document

    text, _sheet = parse_document(build(), name)
    assert "Deep text." in text


_LINE = b"BT /F1 12 Tf 72 720 Td (Joint Task Force Meridian supports partner forces.) Tj ET\n"


@pytest.mark.parametrize(("limit", "pages", "says"), [
    ({"pdf_content_bytes": MB}, [operators(40_000, b"0 0 m")] * 5,
     "its pages draw more than 1 MB of content together, the limit for a fact sheet"),
    ({"pdf_operators": 10_000}, [operators(20_000, b"0 0 m")],
     "it runs more than 10,000 drawing operators, the limit for a fact sheet"),
    ({"pdf_text_operators": 1_000}, [operators(2_000)],
     "it shows text more than 1,000 times, the limit for a fact sheet"),
    ({"pdf_characters": 10_000}, [_LINE + b"BT (" + b"a" * 20_000 + b") Tj ET"],
     "it holds more than 10,000 characters of text, the limit for a fact sheet"),
    ({"pdf_page_content_bytes": MB // 2}, [_LINE, operators(100_000)],
     "page 2 draws more than 0.5 MB of content, the limit for one page"),
])
def test_what_reading_a_pdf_costs_is_counted_and_refused_in_one_line(monkeypatch, limit, pages,
                                                                     says):
    """Content is measured before pypdf parses it (a byte costs ~100 parsed), operators and
    characters while the text is extracted; each limit, made small here, refuses the file."""
    from posts.formats import limits
    from scheduler.reading import DocumentImportError, parse_document

    # Only the counted limit under test: on a loaded machine (the suite's workers, other
    # jobs) reading up to it can pass the 30 s wall-clock limit, which would refuse first.
    monkeypatch.setattr(limits, "DEFAULT_LIMITS", limits.Limits(**limit, parse_seconds=3600))
    with pytest.raises(DocumentImportError) as refused:
        parse_document(pdf_pages(pages), "sheet.pdf")
    assert str(refused.value).startswith(f"sheet.pdf: {says}; ")


def test_a_small_object_stream_is_read():
    from scheduler.reading import parse_document

    text, _sheet = parse_document(pdf_object_stream(1_000), "sheet.pdf")
    assert "partner forces" in text


def test_a_password_protected_word_document_says_so():
    """Word keeps an encrypted .docx in a compound file, not a ZIP ([MS-OFFCRYPTO] 2.3.4)."""
    from scheduler.reading import DocumentImportError, parse_document

    with pytest.raises(DocumentImportError) as refused:
        parse_document(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096), "sheet.docx")
    assert str(refused.value) == (
        "sheet.docx: a password-protected (encrypted) Word document, or an old .doc; remove the "
        "password in Word (File > Info > Protect Document) and save it as .docx")


def test_markdown_that_is_slow_to_parse_is_on_the_clock(monkeypatch):
    """300,000 "[a](" cost markdown-it about a minute, and nothing checked the time."""
    from posts.formats import limits
    from scheduler.reading import DocumentImportError, parse_document

    monkeypatch.setattr(limits, "DEFAULT_LIMITS", limits.Limits(parse_seconds=1))
    with pytest.raises(DocumentImportError) as refused:
        parse_document(b"[a](" * 300_000, "sheet.md")
    assert str(refused.value).startswith("sheet.md: reading it took longer than 1 s, the limit")


def test_a_gigapixel_image_is_listed_as_skipped_without_being_decoded(tmp_path):
    """One 8000 x 8000 picture (192 MB of pixels from 190 KB): the text is read, the image is
    named and left out, never decoded."""
    import json

    (tmp_path / "photo.pdf").write_bytes(pdf_huge_image(pages=1))
    run = run_measured("preview", "photo.pdf", "--json", cwd=tmp_path)
    assert run.code == 0, run.errors
    result = json.loads(run.stdout)
    assert "partner forces" in result["snippets"][0]["text"]
    [image] = result["images"]
    assert image["size"] is None and "64 megapixels, over the 25" in image["skipped"]
    assert run.peak_mb < PEAK_LIMIT_MB, f"peak {run.peak_mb:.0f} MB"


def test_a_section_that_would_be_a_huge_thread_is_refused(tmp_path):
    from click.testing import CliRunner

    from scheduler.cli import cli

    sentence = "The task force repaired twelve schools and four clinics in the district. "
    (tmp_path / "long.txt").write_text(f"FACT SHEET\n\nOPERATIONS\n{sentence * 200}\n",
                                       encoding="utf-8")
    result = CliRunner().invoke(cli, ["preview", str(tmp_path / "long.txt")])
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert re.fullmatch(
        f"factpost: error: {re.escape(str(tmp_path / 'long.txt'))}: section 'OPERATIONS' "
        r"would be a \d\d-part thread on X, over the 25 parts one section may become; split it "
        "under more headings, or shorten it", line), line


def test_a_document_that_takes_too_long_is_refused_naming_the_budget(tmp_path, monkeypatch):
    """Every reader checks the clock as it goes; a budget of nothing shows the refusal."""
    from sample_documents import TWINS, sample_blocks

    from posts.formats import limits
    from scheduler.reading import DocumentImportError, parse_document

    monkeypatch.setattr(limits, "DEFAULT_LIMITS", limits.Limits(parse_seconds=0))
    for extension in (".pdf", ".docx"):
        with pytest.raises(DocumentImportError) as refused:
            parse_document(TWINS[extension](sample_blocks()), f"sheet{extension}")
        assert str(refused.value) == (
            f"sheet{extension}: reading it took longer than 0 s, the limit for one document; "
            "split the document, or export it again (a generated file may repeat its content "
            "many times)")


def test_the_limits_leave_real_fact_sheets_alone(tmp_path):
    """The sample fact sheet in every format, and a long one, read as before."""
    from sample_documents import TWINS, sample_blocks

    from scheduler.reading import parse_document

    for extension, make in TWINS.items():
        _text, sheet = parse_document(make(sample_blocks()), f"sheet{extension}")
        assert len(sheet.sections) >= 3
