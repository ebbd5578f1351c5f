"""HTML fact sheets, through Beautiful Soup with lxml's lenient parser.

    h1..h6                         -> heading of that level
    li                             -> list item ("1." in an <ol>)
    p, div, td, blockquote, ...    -> a text part; <br> is a line break
    script, style, nav, forms, ... -> left out

Inline markup (emphasis) is taken for its text; a link keeps its address after its text
(posts.formats.links); `<img>` is noted as an image with its `alt`. No-break spaces (`&nbsp;`)
stay no-break. When the page has a <main> or a single
<article>, only that is read: site menus and page furniture are not part of the fact sheet.
"""

from __future__ import annotations

import re

from posts.factsheet import Part
from posts.formats.images import FoundImage, Read, Resolver, image_from_address
from posts.formats.limits import current_limits, too_deep
from posts.formats.links import dropped_links_note, is_dropped, link_address, link_text, web_address
from posts.text import NO_BREAK_SPACES, UnreadableDocument, fold_spaces
from posts.words import words

_SKIPPED = frozenset({"script", "style", "noscript", "template", "nav", "form", "button",
                      "select", "svg", "head", "title", "iframe", "object", "canvas"})
_WHITESPACE = re.compile(f"[^\\S{NO_BREAK_SPACES}]+")
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
# Elements that start a new part; everything else is inline and joins the text around it.
_BLOCKS = frozenset({"p", "div", "li", "ul", "ol", "dl", "dt", "dd", "table", "tr", "td",
                     "th", "thead", "tbody", "tfoot", "caption", "blockquote", "pre",
                     "section", "article", "main", "header", "footer", "aside", "figure",
                     "figcaption", "address", "hr", "body", "html", *_HEADINGS})


def read_html(data: bytes, name: str, resolve: Resolver | None = None,
              base_url: str | None = None) -> Read:
    """The parts and images of an HTML fact sheet; `resolve` reads an image named by a
    relative path (see `image_from_address`); relative links resolve against the page's
    `<base href>`, else `base_url`, else are noted as dropped. Raises `UnreadableDocument`."""
    from bs4 import BeautifulSoup

    try:
        soup = BeautifulSoup(data, "lxml")
    except Exception as exc:  # the parser is lenient; this is a file it cannot even start on
        raise UnreadableDocument(f"{name}: not readable as HTML ({type(exc).__name__}); save "
                                 "the page again or export the fact sheet as text") from None
    articles = soup.find_all("article")
    root = soup.find("main") or (articles[0] if len(articles) == 1 else None) or soup
    base = soup.find("base", href=True)
    if base is not None:
        # The page's base is itself resolved against the address the page is at (WHATWG
        # HTML, "document base URL"): <base href="/news/"> with --base-url https://x.mil.
        given = str(base["href"]).strip()
        base_url = (web_address(given, base_url) if base_url else None) or given
    walker = _Walker(resolve, base_url)
    walker.nesting = current_limits().nesting
    try:
        walker.walk(root)
    except _TooDeep:
        raise too_deep(name, words("elements")) from None
    walker.flush()
    note = dropped_links_note(name, walker.dropped)
    return Read(walker.parts, walker.images, (note,) if note else ())


class _TooDeep(Exception):
    pass


class _Walker:
    """Reads the tree recursively (bs4 builds any depth; lxml's HTML parser caps none), so
    `nesting` bounds the depth: 100,000 nested <div> would end in RecursionError."""

    nesting = 100

    def __init__(self, resolve: Resolver | None, base: str | None = None) -> None:
        self.depth = 0
        self.resolve = resolve
        self.base = base
        self.flushes = 0
        self.parts: list[Part] = []
        self.images: list[FoundImage] = []
        self.headings = 0
        self.buffer: list[str] = []
        #: The innermost heading or list item being read, if any: (kind, level, marker).
        self.context: tuple[str, int, str] = ("text", 1, "-")
        self.counters: list[int] = []
        #: Relative link addresses dropped for want of a base.
        self.dropped: list[str] = []

    def walk(self, node) -> None:
        self.depth += 1
        if self.depth > self.nesting:
            raise _TooDeep
        try:
            self._walk(node)
        finally:
            self.depth -= 1

    def _walk(self, node) -> None:
        from bs4 import Comment, NavigableString, Tag

        for child in node.children:
            if isinstance(child, Comment):
                continue
            if isinstance(child, NavigableString):
                if type(child) is NavigableString:  # not a CDATA, doctype, or declaration
                    # Source line breaks are spaces; only <br> breaks a line.
                    self.buffer.append(_WHITESPACE.sub(" ", str(child)))
                continue
            if not isinstance(child, Tag) or child.name in _SKIPPED:
                continue
            if child.name == "br":
                self.buffer.append("\n")
            elif child.name == "img":
                # An image inside a heading belongs under it.
                after = self.headings + (self.context[0] == "heading")
                self.images.append(image_from_address(child.get("src"), child.get("alt"),
                                                      after, self.resolve))
            elif child.name in _BLOCKS:
                self.block(child)
            elif child.name == "a" and child.get("href"):
                self.link(child)
            else:
                self.walk(child)

    def link(self, tag) -> None:
        start, flushes = len(self.buffer), self.flushes
        self.walk(tag)
        if self.flushes != flushes:  # a block inside the link: its text is out already
            return
        anchor = "".join(self.buffer[start:])
        href = str(tag.get("href"))
        address = link_address(href, self.base)
        if address is None and is_dropped(href, self.base):
            self.dropped.append(href)
        self.buffer[start:] = [link_text(anchor, address)]

    def block(self, tag) -> None:
        self.flush()
        saved = self.context
        if tag.name in _HEADINGS:
            self.context = ("heading", _HEADINGS[tag.name], "-")
        elif tag.name == "li":
            marker = "-"
            if tag.parent is not None and tag.parent.name == "ol" and self.counters:
                self.counters[-1] += 1
                marker = f"{self.counters[-1]}."
            self.context = ("item", 1, marker)
        elif tag.name in ("ul", "ol"):
            self.counters.append(_start(tag) - 1)
        self.walk(tag)
        self.flush()
        if tag.name in ("ul", "ol"):
            self.counters.pop()
        self.context = saved

    def flush(self) -> None:
        text = "".join(self.buffer)
        self.buffer = []
        self.flushes += 1
        lines = [fold_spaces(line) for line in text.split("\n")]
        text = "\n".join(line for line in lines if line)
        if text:
            kind, level, marker = self.context
            self.parts.append(Part(kind, text, level, marker))  # type: ignore[arg-type]
            self.headings += kind == "heading"


def _start(tag) -> int:
    value = str(tag.get("start", "1"))
    return int(value) if value.isdigit() else 1
