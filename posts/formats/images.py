"""Images found in a fact sheet, with their alt text and where they sit.

A reader notes each image with the number of headings before it in its own parts
(`after_headings`); `posts.factsheet.heading_sections` turns that into a section of the parsed
sheet. HTML and Markdown name their images by address: a `data:` URI carries the bytes, a
relative path is read through the caller's `Resolver` (`posts/` does no I/O), and anything with
a scheme or a host is never fetched: it is listed with the reason it was skipped.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from posts.factsheet import Part
from posts.words import Words, words


class ImageUnavailable(Exception):
    """A resolver cannot supply an image; the message says why, in a few words."""


#: Relative path (as written in the document, percent-decoded) -> the file's bytes.
#: Raises `ImageUnavailable`.
Resolver = Callable[[str], bytes]


@dataclass(frozen=True)
class FoundImage:
    """An image in a document. `content` is None when it cannot be used, and `skipped` says
    why; `section` is filled in once the document's sections are known."""

    #: How many heading parts the reader emitted before the image (0: before any heading).
    after_headings: int
    #: Where it came from, for messages: "embedded picture", "data: URI", a path or a URL.
    source: str
    content: bytes | None
    alt_text: str | None
    skipped: str | None = None
    #: Index into the sheet's sections; None for an image outside every section.
    section: int | None = None

    @property
    def alt(self) -> str:
        """The alt text with its whitespace collapsed; empty when there is none."""
        return " ".join((self.alt_text or "").split())

    def __repr__(self) -> str:  # never dump megabytes into a log line
        size = "no content" if self.content is None else f"{len(self.content)} bytes"
        return f"FoundImage({self.source!r}, {size}, alt={self.alt[:30]!r})"


@dataclass(frozen=True)
class Read:
    """What a structured reader returns: the document's parts and its images, in order."""

    parts: list[Part]
    images: list[FoundImage]
    #: What the reader did that the reader of the preview should know, one line each
    #: ("read with its tracked changes accepted").
    notes: tuple[Words | str, ...] = ()


_DATA_URI = re.compile(r"data:(?P<type>[^,;]*)(?P<params>(?:;[^,;]*)*),(?P<data>.*)",
                       re.IGNORECASE | re.DOTALL)
#: A data: URI or relative file holding more than this is no fact-sheet image (every platform
#: refuses it); it is skipped without being decoded.
MAX_IMAGE_BYTES = 5 * 1024 * 1024


def image_from_address(src: str | None, alt: str | None, after_headings: int,
                       resolve: Resolver | None) -> FoundImage:
    """The image an HTML `src` or Markdown link names, or why it was skipped."""
    src = (src or "").strip()
    if not src:
        return FoundImage(after_headings, "(no address)", None, alt,
                          words("the image has no address"))
    if src[:5].lower() == "data:":
        return _from_data_uri(src, alt, after_headings)
    parts = urlsplit(src)
    if parts.scheme or parts.netloc or src.startswith("//"):
        return FoundImage(after_headings, _short(src), None, alt,
                          words("a web address; factpost never downloads images, so save it "
                                "next to the document and link it by a relative path"))
    path = unquote(parts.path)
    if resolve is None:
        return FoundImage(after_headings, path, None, alt,
                          words("a file next to the document, which was not uploaded with it; "
                                "use a DOCX or PDF with the picture inside, or import from the "
                                "command line"))
    try:
        content = resolve(path)
    except ImageUnavailable as exc:
        return FoundImage(after_headings, path, None, alt, str(exc))
    return FoundImage(after_headings, path, content, alt)


def _from_data_uri(src: str, alt: str | None, after_headings: int) -> FoundImage:
    source = "data: URI"
    match = _DATA_URI.fullmatch(src)
    if match is None:
        return FoundImage(after_headings, source, None, alt, words("a malformed data: URI"))
    payload = match.group("data")
    if len(payload) > MAX_IMAGE_BYTES * 4 // 3 + 4:
        return FoundImage(after_headings, source, None, alt,
                          words("over the 5 MB that any platform takes for an image"))
    try:
        if ";base64" in match.group("params").lower():
            content = base64.b64decode("".join(unquote(payload).split()), validate=True)
        else:
            content = unquote_to_bytes(payload)
    except (binascii.Error, ValueError):
        return FoundImage(after_headings, source, None, alt,
                          words("a data: URI that is not valid base64"))
    return FoundImage(after_headings, source, content, alt)


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"
