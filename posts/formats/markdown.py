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
from posts.formats.links import is_relative, link_address, link_text, relative_links_note
from posts.text import fold_spaces

_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_IMG = re.compile(r"<img\b", re.IGNORECASE)


def read_markdown(text: str, name: str, resolve: Resolver | None = None,
                  base_url: str | None = None) -> Read:
    """The parts and images of a Markdown fact sheet, from its decoded text; `resolve` reads
    an image named by a relative path (see `image_from_address`); relative links resolve
    against `base_url`, or are noted as dropped. Never raises on any text."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    parts: list[Part] = []
    images: list[FoundImage] = []
    headings = 0
    heading: int | None = None
    items: list[str] = []  # markers of the open list items, innermost last
    item_started = False
    cells: list[str] | None = None
    relative: list[str] = []
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
            content = _inline_text(token, base_url, relative)
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
    note = relative_links_note(name, relative)
    return Read(parts, images, (*notes, *([note] if note else [])))


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


def _inline_text(token, base_url: str | None, relative: list[str]) -> str:
    """The text of an inline token, links with their addresses; relative addresses dropped
    for want of a base go into `relative`."""
    out: list[str] = []
    links: list[tuple[int, str | None]] = []  # (where its text starts in `out`, address)
    for child in token.children or ():
        if child.type == "link_open":
            href = str(child.attrGet("href") or "")
            address = link_address(href, base_url)
            if address is None and is_relative(href, base_url):
                relative.append(href)
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
