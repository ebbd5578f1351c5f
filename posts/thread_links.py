"""Where a thread's links go: as written, or all in its first part.

Where a post with a link costs far more than one without (X bills a post whose text holds a
link at $0.200 against $0.015), a thread whose links would land in several parts can carry them
all in its first part instead: each link (once) on a line under the heading, and in the text a
link in brackets "(https://...)" is dropped while any other becomes "the link above"
(`posts.split.split_section(..., links="first-part")` decides when).
"""

from __future__ import annotations

from posts.factsheet import Section
from posts.sentences import detect_language
from posts.weight import find_urls

LINK_PLACEMENTS = ("as-written", "first-part")
#: What a link moved to the first part is called where it stood, per language.
_LINK_ABOVE = {"en": "the link above", "ar": "الرابط أعلاه"}
_BRACKETED = {"(": ")", "[": "]", "<": ">"}


def links_first(section: Section, language: str | None) -> Section:
    """The section with its links listed once under the heading and gone from the text."""
    heading = (section.heading or "").strip()
    language = language or detect_language(f"{heading}\n{section.text}")
    found: list[str] = []
    paragraphs = []
    for paragraph in section.paragraphs:
        out, at = [], 0
        for start, end in find_urls(paragraph):
            link = paragraph[start:end]
            if link not in found:
                found.append(link)
            before, after = paragraph[:start].rstrip(), paragraph[end:]
            closer = _BRACKETED.get(before[-1:]) if before else None
            if closer and after.lstrip().startswith(closer):
                # "website (https://...)": the brackets held only the address.
                out.append(paragraph[at:len(before) - 1].rstrip())
                at = end + after.index(closer) + 1
            else:
                out.append(paragraph[at:start] + _LINK_ABOVE.get(language, _LINK_ABOVE["en"]))
                at = end
        out.append(paragraph[at:])
        paragraphs.append("".join(out).strip())
    head = "\n".join(part for part in (heading, " ".join(found)) if part)
    return Section(head or None, tuple(p for p in paragraphs if p))
