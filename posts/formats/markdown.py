"""Markdown fact sheets, through markdown-it-py (CommonMark, plus tables).

    # .. ######, or a line underlined with === / ---  -> heading of that level
    - item, * item, 1. item                           -> list items
    | a | b | table rows                              -> one list item each, cells joined
    paragraphs, block quotes, code blocks             -> text parts; line breaks kept

Emphasis is taken for its text; a link keeps its address after its text
(posts.formats.links); raw HTML blocks are read as HTML. Images,
`![alt](path)` or an inline `<img>`, are noted with their alt text.
"""

from __future__ import annotations

import re
from dataclasses import replace

from posts.factsheet import Part
from posts.formats.html import read_html
from posts.formats.images import FoundImage, Read, Resolver, image_from_address
from posts.formats.limits import check_time, too_deep
from posts.formats.links import dropped_links_note, is_dropped, link_address, link_text
from posts.text import fold_spaces
from posts.words import words

#: markdown-it's own nesting limit (its "commonmark" preset's maxNesting, "internal
#: protection, recursion limit"): raising it to 100 made 200 KB of "[" take four times as long.
#: Block quotes or lists nested deeper are refused, never dropped.
NESTING = 20
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_IMG = re.compile(r"<img\b", re.IGNORECASE)


def read_markdown(text: str, name: str, resolve: Resolver | None = None,
                  base_url: str | None = None) -> Read:
    """The parts and images of a Markdown fact sheet, from its decoded text; `resolve` reads
    an image named by a relative path (see `image_from_address`); relative links resolve
    against `base_url`, or are noted as dropped. Raises only `DocumentTooLarge`: for quotes
    or lists nested deeper than markdown-it reads (NESTING), or past the parse's time budget."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"maxNesting": NESTING}).enable("table")
    # Some inputs (100,000 "[a](") cost markdown-it seconds per hundred kilobytes: a rule
    # tried first at every inline token and every block keeps the parse on the clock.
    md.inline.ruler.before("text", "factpost_clock", _Clock())
    md.block.ruler.before("table", "factpost_clock", _Clock())
    # markdown-it reads a javascript:, vbscript:, file: or data: link as no link at all, to keep
    # the HTML it renders safe, leaving "[text](javascript:...)" in the text. Nothing here is
    # rendered: every link is read as one, and `link_address` decides (a dropped one is noted).
    md.validateLink = lambda url: True
    tokens = md.parse(text)
    # At maxNesting markdown-it stops reading the block and drops the rest of it without a
    # word (parser_block.py: "skip tail to the end"): refuse rather than lose text.
    if any(t.nesting == 1 and t.level >= NESTING - 1 for t in tokens):
        raise too_deep(name, words("quotes or lists"), NESTING)
    parts: list[Part] = []
    images: list[FoundImage] = []
    headings = 0
    heading: int | None = None
    items: list[str] = []  # markers of the open list items, innermost last
    item_started = False
    cells: list[str] | None = None
    dropped: list[str] = []
    notes: list[str] = []
    for token in tokens:
        kind = token.type
        if kind == "heading_open":
            heading = int(token.tag[1])
            headings += 1
        elif kind == "heading_close":
            heading = None
        elif kind == "list_item_open":
            ordered = token.markup in (".", ")")
            items.append(f"{token.info}{token.markup}" if ordered else "-")
            item_started = False
        elif kind == "list_item_close":
            items.pop()
        elif kind == "tr_open":
            cells = []
        elif kind == "tr_close" and cells is not None:
            cells = [c for c in cells if c]
            if cells:
                parts.append(Part("item", ": ".join(cells) if len(cells) == 2
                                  else " | ".join(cells)))
            cells = None
        elif kind == "inline":
            images.extend(_images(token, headings, resolve))
            content = _inline_text(token, base_url, dropped)
            if cells is not None:
                cells.append(fold_spaces(content))
            elif heading is not None:
                parts.append(Part("heading", content, heading))
            elif items and not item_started:
                parts.append(Part("item", content, marker=items[-1]))
                item_started = True
            else:
                parts.append(Part("text", content))
        elif kind in ("fence", "code_block"):
            parts.append(Part("text", token.content))
        elif kind == "html_block":
            block = read_html(token.content.encode("utf-8"), name, resolve, base_url)
            parts.extend(block.parts)
            notes.extend(block.notes)
            images.extend(replace(i, after_headings=i.after_headings + headings)
                          for i in block.images)
            headings += sum(1 for p in block.parts if p.kind == "heading")
    note = dropped_links_note(name, dropped)
    return Read(parts, images, (*notes, *([note] if note else [])))


class _Clock:
    """A markdown-it rule that never matches, and checks the parse's time budget
    (posts.formats.limits.check_time) every thousandth time it is tried."""

    def __init__(self) -> None:
        self.tries = 0

    def __call__(self, state, *args) -> bool:
        self.tries += 1
        if self.tries % 1_000 == 0:
            check_time()
        return False


def _images(token, headings: int, resolve: Resolver | None) -> list[FoundImage]:
    found = []
    for child in token.children or ():
        if child.type == "image":
            found.append(image_from_address(str(child.attrGet("src") or ""), child.content,
                                            headings, resolve))
        elif child.type == "html_inline" and _IMG.match(child.content):
            from bs4 import BeautifulSoup

            tag = BeautifulSoup(child.content, "html.parser").find("img")
            if tag is not None:
                found.append(image_from_address(tag.get("src"), tag.get("alt"), headings,
                                                resolve))
    return found


def _inline_text(token, base_url: str | None, dropped: list[str]) -> str:
    """The text of an inline token, links with their addresses; links whose address was left
    out (`posts.formats.links.is_dropped`) go into `dropped`."""
    out: list[str] = []
    links: list[tuple[int, str | None]] = []  # (where its text starts in `out`, address)
    for child in token.children or ():
        if child.type == "link_open":
            href = str(child.attrGet("href") or "")
            address = link_address(href, base_url)
            if address is None and is_dropped(href, base_url):
                dropped.append(href)
            links.append((len(out), address))
        elif child.type == "link_close" and links:
            start, address = links.pop()
            out[start:] = [link_text("".join(out[start:]), address)]
        elif child.type in ("text", "code_inline"):
            out.append(child.content)
        elif child.type in ("softbreak", "hardbreak") or (
                child.type == "html_inline" and _BR.fullmatch(child.content.strip())):
            out.append("\n")
    return "".join(out)
