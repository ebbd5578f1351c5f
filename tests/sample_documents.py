"""The shipped plain-text sample fact sheet written out as Markdown, HTML, DOCX and PDF, the
way people make them: headings styled as headings, bullets as lists, every footer line its own
paragraph, body text wrapped wherever the format wraps it.

Each twin is written from the sample's own blocks (posts.factsheet.blocks), so the only thing
that can differ between importing it and importing the text is the format's reader.
"""

from __future__ import annotations

import html
import io
import re
import textwrap
from collections.abc import Callable, Sequence
from importlib import resources

from posts.factsheet import Block, blocks
from posts.text import canonicalise

_ACCOUNT_URL = re.compile(r"(?:twitter|facebook)\.com/\w+")


def sample_text(name: str = "factsheet.txt") -> str:
    return resources.files("posts").joinpath("samples", name).read_text("utf-8")


def sample_blocks(name: str = "factsheet.txt") -> list[Block]:
    return blocks(canonicalise(sample_text(name)))


def _wrap(text: str, width: int) -> str:
    """Hard-wrapped at spaces only, as an editor does (never inside a URL)."""
    return textwrap.fill(text, width, break_on_hyphens=False, break_long_words=False)


def _bullets(block: Block) -> list[str] | None:
    """The items of a paragraph that is a bulleted list, without their "- "."""
    lines = block.text.split("\n")
    if len(lines) > 1 and all(line.startswith("- ") for line in lines):
        return [line[2:] for line in lines]
    return None


def markdown(source: Sequence[Block]) -> str:
    out: list[str] = []
    contacts: list[str] = []
    for block in source:
        if block.kind == "contact":
            contacts.append(block.text)
            continue
        if block.kind == "title":
            out.append(f"# {block.text}")
        elif block.kind == "heading":
            out.append(f"## {block.text}")
        elif items := _bullets(block):
            out.append("\n".join(f"* {item}" for item in items))
        else:
            out.append(_wrap(block.text, 72))
    if contacts:  # one paragraph, one line each: soft line breaks
        out.append("\n".join(contacts))
    return "\n\n".join(out) + "\n"


def html_page(source: Sequence[Block]) -> str:
    body: list[str] = []
    contacts: list[str] = []
    for block in source:
        text = html.escape(block.text)
        if block.kind == "contact":
            contacts.append(_ACCOUNT_URL.sub(lambda m: f'<a href="https://{m.group()}">'
                                             f'{m.group()}</a>', text))
        elif block.kind == "title":
            body.append(f"<h1>{text}</h1>")
        elif block.kind == "heading":
            body.append(f"<h2>{text}</h2>")
        elif items := _bullets(block):
            body.append("<ul>\n" + "\n".join(f"  <li>{html.escape(i)}</li>" for i in items)
                        + "\n</ul>")
        else:
            body.append("<p>" + _wrap(text, 80) + "</p>")
    body.append("<p>" + "<br>\n".join(contacts) + "</p>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>Fact sheet | Public Affairs</title><style>h1 {color: navy}</style></head>\n"
            "<body><nav><ul><li>Home</li><li>News</li></ul></nav>\n<main>\n"
            + "\n".join(body) + "\n</main>\n<script>var tracking = 1;</script></body></html>\n")


def docx_bytes(source: Sequence[Block]) -> bytes:
    import docx

    document = docx.Document()
    for block in source:
        if block.kind == "title":
            document.add_paragraph(block.text, style="Title")
        elif block.kind == "heading":
            document.add_paragraph(block.text, style="Heading 2")
        elif items := _bullets(block):
            for item in items:
                document.add_paragraph(item, style="List Bullet")
        else:
            document.add_paragraph(block.text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def pdf_bytes(source: Sequence[Block], *, font: str = "Helvetica",
              bold_font: str = "Helvetica-Bold") -> bytes:
    """Title 20 pt bold, headings 14 pt bold, body 10 pt; list items and footer lines set
    close together, paragraphs apart."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    body = ParagraphStyle("body", fontName=font, fontSize=10, leading=12, spaceAfter=8)
    tight = ParagraphStyle("tight", parent=body, spaceAfter=0)
    heading = ParagraphStyle("heading", fontName=bold_font, fontSize=14, leading=17,
                             spaceBefore=6, spaceAfter=4)
    title = ParagraphStyle("title", parent=heading, fontSize=20, leading=24, spaceAfter=12)
    story = []
    for block in source:
        text = html.escape(block.text, quote=False)
        if block.kind == "title":
            story.append(Paragraph(text, title))
        elif block.kind == "heading":
            story.append(Paragraph(text, heading))
        elif block.kind == "contact":
            story.append(Paragraph(text, tight))
        elif items := _bullets(block):
            for n, item in enumerate(items, 1):
                style = body if n == len(items) else tight
                story.append(Paragraph(f"- {html.escape(item, quote=False)}", style))
        else:
            story.append(Paragraph(text, body))
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4, title="Fact sheet").build(story)
    return buffer.getvalue()


#: File extension -> the sample written in that format, as bytes.
TWINS: dict[str, Callable[[Sequence[Block]], bytes]] = {
    ".md": lambda b: markdown(b).encode("utf-8"),
    ".html": lambda b: html_page(b).encode("utf-8"),
    ".docx": docx_bytes,
    ".pdf": pdf_bytes,
}
