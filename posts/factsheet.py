"""Plain-text fact sheets: a title, headed sections of paragraphs, and a contact footer.

    Joint Task Force Meridian — Public Affairs Office      <- title (first line(s), own paragraph)

    OUR MISSION                                             <- heading: ALL-CAPS line,
    The task force protects shipping lanes in the           <- paragraph, hard-wrapped lines
    northern approaches ...                                    joined with a space
    Key facts:                                              <- heading: short line ending ":"
    - 1,250 personnel                                       <- bullets: one line each
    Who we work with                                        <- heading: short line, no final
    ...                                                        punctuation, text follows
    For media inquiries: press@jtf-meridian.mil             <- contact lines: metadata only
    Follow us: x.com/JTFMeridian | facebook.com/JTFMeridian

Arabic headings have no case, so they are found by the short-line rule. Contact lines never
become post text; a heading with no paragraph after it is dropped. Everything else is kept, in
order: the letters and digits of the title, headings, paragraphs and contact lines of `blocks`
are those of the input.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from posts.contacts import (
    DETAILS_AMONG_WORDS,
    ContactAccount,
    Contacts,
    among_other_words,
    classify_line,
    contact_kind,
    extract_contacts,
)
from posts.hyphenation import join_marked
from posts.text import canonicalise, fold_spaces
from posts.words import Words, words

__all__ = ["Block", "ContactAccount", "Contacts", "FactSheet", "Part", "Section",
           "blocks", "extract_contacts", "heading_sections", "parse_factsheet",
           "parse_structured", "render_parts", "sheet_from_blocks", "structured_blocks"]


@dataclass(frozen=True)
class Block:
    kind: Literal["title", "heading", "paragraph", "contact"]
    text: str
    #: Why a line went the way it did, where that was a close call (a contact label opening a
    #: sentence, contact details among other words): for a contact line, its one reason; for a
    #: paragraph, one for each such line ("%(line)s %(why)s"). Shown as import notes.
    why: tuple[Words, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class Section:
    heading: str | None
    paragraphs: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


@dataclass(frozen=True)
class FactSheet:
    title: str | None
    sections: tuple[Section, ...]
    contacts: Contacts
    #: Every line of the body that is not post text (contact lines, headings with no text
    #: under them) and every close call, one sentence each: nothing is left out silently.
    notes: tuple[Words | str, ...] = ()


def parse_factsheet(text: str) -> FactSheet:
    """Canonicalise `text` and read it as a fact sheet. Never raises on any string."""
    return parse_canonical(canonicalise(text))


def parse_canonical(text: str) -> FactSheet:
    """`parse_factsheet` of text that is canonical already (what `decode_document` returns):
    canonicalising 1 MB again costs 10-20 ms and changes nothing."""
    return sheet_from_blocks(blocks(text))


def parse_structured(parts: Sequence[Part]) -> FactSheet:
    """Read a document whose format marks its own structure. Never raises."""
    return sheet_from_blocks(structured_blocks(parts))


def sheet_from_blocks(found: Iterable[Block]) -> FactSheet:
    """Headings open sections, paragraphs fill them, contact lines become `contacts`."""
    title: str | None = None
    sections: list[Section] = []
    heading: str | None = None
    paragraphs: list[str] = []
    contact_lines: list[str] = []
    notes: list[Words] = []

    def close_section() -> None:
        if paragraphs:
            sections.append(Section(heading, tuple(paragraphs)))
        elif heading is not None:
            notes.append(words("not posted: the heading %(heading)s has no text under it",
                               heading=_quote(heading)))

    for block in found:
        if block.kind == "title":
            title = block.text
        elif block.kind == "heading":
            close_section()
            heading, paragraphs = block.text, []
        elif block.kind == "paragraph":
            paragraphs.append(block.text)
            notes.extend(words("kept as post text: %(why)s", why=why) for why in block.why)
        else:
            contact_lines.append(block.text)
            notes.append(words("not posted, taken for contact details: %(line)s (%(why)s)",
                               line=_quote(block.text), why=block.why[0]) if block.why else
                         words("not posted, taken for contact details: %(line)s",
                               line=_quote(block.text)))
    close_section()
    return FactSheet(title, tuple(sections), extract_contacts(contact_lines), tuple(notes))


def _quote(text: str, limit: int = 90) -> str:
    flat = " ".join(text.split())
    return f"\"{flat if len(flat) <= limit else flat[:limit - 1] + '…'}\""


# --- blocks ---------------------------------------------------------------------------------

#: Longest line taken for a heading (ALL-CAPS or ending with ":"), and for the title.
MAX_HEADING_CHARS = 100
MAX_TITLE_CHARS = 150
#: A "short line" heading: at most this many characters and words.
SHORT_CHARS = 70
SHORT_WORDS = 10

_BULLET = re.compile(r"(?:[-*•‣◦▪–]|\d{1,3}[.)])\s+\S")
_SENTENCE_END = ".!?؟…。,;،؛"
_CLOSING = "\"')]}”’»"
_RULE_CHARS = frozenset("-=_*~#.·•─━═ ")


def blocks(text: str) -> list[Block]:
    """Split canonical text into classified blocks, in document order."""
    lines = [line.strip() for line in text.split("\n")]
    blank = [_is_blank(line) for line in lines]
    out: list[Block] = []
    start = _title(lines, blank, out)
    _body(lines[start:], blank[start:], out, _Footer(), find_headings=True)
    return out


def _body(lines: list[str], blank: list[bool], out: list[Block], footer: _Footer, *,
          find_headings: bool) -> None:
    """Classify body lines into `out`: paragraphs, contact lines and (if asked) headings."""
    paragraph: list[str] = []
    whys: list[Words] = []

    def flush() -> None:
        if paragraph:
            out.append(Block("paragraph", "\n".join(paragraph), tuple(whys)))
            paragraph.clear()
            whys.clear()

    for i in range(len(lines)):
        line = lines[i]
        if blank[i]:
            flush()
            footer.blank_line()
            continue
        following = _next_in_chunk(lines, blank, i)
        contact, why = classify_line(line)
        if contact is None and among_other_words(why) and (
                footer.state != "off" or (following is not None and contact_kind(following))):
            # A contact footer is read as a whole: "DSN: 318-555-0142 or from overseas DSN:
            # 00-49-555-0199, then ask for extension 77#" between an e-mail and a web line.
            contact, why = "details", words("%(why)s, next to other contact lines", why=why)
        if contact or footer.continues(line, following):
            flush()
            out.append(Block("contact", line, (why,) if why is not None else ()))
            footer.contact_line(label_only=contact == "label-only")
            continue
        if why is not None:
            whys.append(words("%(line)s %(why)s", line=_quote(line), why=why))
        footer.close()
        if _BULLET.match(line):
            paragraph.append(line)
        elif find_headings and not paragraph and _is_heading(lines, blank, i):
            out.append(Block("heading", line))
        elif (find_headings and paragraph and _all_caps(line)
              and _ends_item(paragraph[-1])):
            flush()
            out.append(Block("heading", line))
        elif paragraph:
            # A hard-wrapped line continues the last one, without a space where the wrap fell
            # inside a range or an address ("2025-" / "2026").
            paragraph[-1] = join_marked(paragraph[-1], line) or f"{paragraph[-1]} {line}"
        else:
            paragraph.append(line)
    flush()


def _title(lines: list[str], blank: list[bool], out: list[Block]) -> int:
    """Emit the title block, if the sheet starts with one; return the first line after it."""
    first = next((i for i, b in enumerate(blank) if not b), len(lines))
    end = first
    while end < len(lines) and not blank[end] and _masthead(lines[end]):
        end += 1
    chunk_end = next((i for i in range(first, len(lines)) if blank[i]), len(lines))
    if end == first:
        return first
    if end == chunk_end:  # the whole first paragraph is short unpunctuated lines
        out.append(Block("title", "\n".join(lines[first:end])))
        return end
    if end - first >= 2:  # title, then lines that start the body
        out.append(Block("title", lines[first]))
        return first + 1
    return first


def _masthead(line: str) -> bool:
    return (len(line) <= MAX_TITLE_CHARS and not _ends_sentence(line)
            and not _BULLET.match(line) and contact_kind(line) is None)


def _is_heading(lines: list[str], blank: list[bool], i: int) -> bool:
    line = lines[i]
    if _BULLET.match(line) or len(line) > MAX_HEADING_CHARS:
        return False
    if _all_caps(line):
        return True
    short = len(line) <= SHORT_CHARS and len(line.split()) <= SHORT_WORDS
    if line.endswith((":", "：")):
        return short
    if not short or _ends_sentence(line):
        return False
    j = next((k for k in range(i + 1, len(lines)) if not blank[k]), None)
    if j is None or contact_kind(lines[j]):
        return False  # a one-line paragraph at the end, not a heading of nothing
    following = lines[j]
    if j > i + 1 or _BULLET.match(following):
        return True
    # In the same paragraph: a hard-wrapped paragraph's first line is about as long as the
    # next (unless that is its last), and the next line often starts in lower case.
    if following[0].islower():
        return False
    if _next_in_chunk(lines, blank, j) is None:  # a one-line paragraph
        return len(line) <= max(0.6 * len(following), 40)
    return len(line) <= 0.6 * len(following)


def _next_in_chunk(lines: list[str], blank: list[bool], i: int) -> str | None:
    return lines[i + 1] if i + 1 < len(lines) and not blank[i + 1] else None


def _is_blank(line: str) -> bool:
    """No text: whitespace, invisible format characters, or a decorative rule like `-----`."""
    if line[:1].isalnum():
        return False  # most lines: a letter or digit is visible and no rule character
    visible = [ch for ch in line if not ch.isspace() and unicodedata.category(ch) != "Cf"]
    return not visible or (len(visible) >= 3 and set(visible) <= _RULE_CHARS)


def _ends_sentence(line: str) -> bool:
    return line.rstrip(_CLOSING)[-1:] in tuple(_SENTENCE_END)


def _ends_item(line: str) -> bool:
    return _ends_sentence(line) or bool(_BULLET.match(line.rsplit("\n", 1)[-1]))


def _all_caps(line: str) -> bool:
    if len(line) > MAX_HEADING_CHARS:
        return False  # cheap, and most body lines are longer
    letters = [ch for ch in line if ch.isalpha()]
    cased = [ch for ch in letters if ch.isupper() or ch.islower()]
    return (len(cased) >= 2 and len(cased) * 2 >= len(letters) and len(line) <= MAX_HEADING_CHARS
            and all(ch.isupper() for ch in cased))


# --- structured documents -------------------------------------------------------------------

@dataclass(frozen=True)
class Part:
    """A piece of a document whose format marks its structure (DOCX styles, HTML and Markdown
    elements, PDF fonts). `text` may hold several lines: soft line breaks in a
    paragraph, or the visual lines of a PDF paragraph."""

    kind: Literal["title", "heading", "text", "item"]
    text: str
    #: Headings: 1 is the top level.
    level: int = 1
    #: List items: "-" for a bullet, "1." (etc.) for a numbered item.
    marker: str = "-"


def structured_blocks(parts: Sequence[Part]) -> list[Block]:
    """Blocks of a structured document: headings are the document's own, never guessed.

    A document that marks no heading at all (a DOCX typed in Normal style throughout) is read
    as the plain text it renders to, so the plain-text heuristics find its headings. Lines of
    text parts go through the same rules as plain text: hard-wrapped lines are joined, bullets
    kept one a line, contact lines taken out. A paragraph break does not end a contact footer
    the way a blank line does, because editors make every footer line its own paragraph.
    """
    parts = [_clean(p) for p in parts]
    parts = [p for p in parts if p.text]
    if not any(p.kind in ("title", "heading") for p in parts):
        return blocks(render_parts(parts))
    out: list[Block] = []
    start = 0
    if parts and _is_title(parts):
        out.append(Block("title", parts[0].text))
        start = 1
    footer = _Footer()
    i = start
    while i < len(parts):
        part = parts[i]
        if part.kind in ("title", "heading"):
            line = fold_spaces(part.text)
            contact = contact_kind(line)
            if contact:
                out.append(Block("contact", line))
                footer.contact_line(label_only=contact == "label-only")
            else:
                footer.close()
                out.append(Block("heading", line))
            i += 1
            continue
        if part.kind == "item":
            lines = []
            while i < len(parts) and parts[i].kind == "item":
                lines.append(_item_line(parts[i]))
                i += 1
        else:
            lines = [line.strip() for line in part.text.split("\n")]
            i += 1
        _body(lines, [_is_blank(line) for line in lines], out, footer, find_headings=False)
    return _footer_as_a_whole(out)


def _footer_as_a_whole(found: list[Block]) -> list[Block]:
    """In a structured document every footer line is a paragraph of its own, so a line with
    contact details among other words that opens the footer is only known for a footer line
    by the contact line after it."""
    out = list(found)
    for i in range(len(out) - 1):
        block, following = out[i], out[i + 1]
        if (block.kind == "paragraph" and following.kind == "contact" and len(block.why) == 1
                and "\n" not in block.text and among_other_words(block.why[0].values["why"])):
            out[i] = Block("contact", block.text, (words(
                "%(why)s, next to other contact lines", why=DETAILS_AMONG_WORDS),))
    return out


def render_parts(parts: Sequence[Part]) -> str:
    """`parts` as plain text: blank lines between parts, list items one a line, headings
    marked with "#" as in Markdown (so that a change of structure changes the text)."""
    chunks: list[str] = []
    items: list[str] = []
    for part in (_clean(p) for p in parts):
        if part.kind == "item":
            items.append(_item_line(part))
            continue
        if items:
            chunks.append("\n".join(items))
            items = []
        if part.kind == "title":
            chunks.append(f"# {part.text}")
        elif part.kind == "heading":
            chunks.append(f"{'#' * (part.level + 1)} {part.text}")
        else:
            chunks.append(part.text)
    if items:
        chunks.append("\n".join(items))
    return "\n\n".join(c for c in chunks if c.strip())


def heading_sections(parts: Sequence[Part], sheet: FactSheet) -> list[int | None]:
    """For n = 0 .. the number of headings in `parts`: the section of `sheet` (an index) that
    content after the n-th heading belongs to. Content under the title belongs to the first
    section; under a later heading that opened no section (no text under it, a contact label),
    to the next section, or to none after the last. A document that marks no heading is one
    section as far as this can tell: everything belongs to the first."""
    sections = sheet.sections
    if not sections:
        return [None] * (1 + sum(1 for p in parts if p.kind in ("title", "heading")))
    result: list[int | None] = [0]
    following = start = 1 if sections[0].heading is None else 0
    for part in parts:
        if part.kind not in ("title", "heading"):
            continue
        heading = fold_spaces(canonicalise(part.text))
        if following < len(sections) and sections[following].heading == heading:
            result.append(following)
            following += 1
        elif following == start:
            result.append(0)
        else:
            result.append(following if following < len(sections) else None)
    return result


def _clean(part: Part) -> Part:
    lines = [line.strip() for line in canonicalise(part.text).split("\n")]
    if part.kind in ("heading", "item"):
        text = fold_spaces(" ".join(lines))
    else:
        text = "\n".join(line for line in lines if line)
    return Part(part.kind, text, part.level, part.marker)


def _is_title(parts: list[Part]) -> bool:
    """The first part is the title when marked so, or when it is a heading of a level that no
    other heading has (an `<h1>` over `<h2>` sections)."""
    first = parts[0]
    if first.kind == "title":
        return True
    if first.kind != "heading":
        return False
    others = [p.level for p in parts[1:] if p.kind in ("title", "heading")]
    return all(first.level < level for level in others)


def _item_line(part: Part) -> str:
    text = fold_spaces(part.text)
    return text if _BULLET.match(text) else f"{part.marker} {text}"


# --- a contact footer's lines ----------------------------------------------------------------

class _Footer:
    """Lines under a contact label ("MEDIA CONTACT", then name and title lines) are contacts."""

    def __init__(self) -> None:
        self.state: Literal["off", "chunk", "open"] = "off"

    def contact_line(self, *, label_only: bool) -> None:
        self.state = "open" if label_only else "chunk"

    def blank_line(self) -> None:
        if self.state == "chunk":
            self.state = "off"

    def close(self) -> None:
        self.state = "off"

    def continues(self, line: str, following: str | None) -> bool:
        if self.state == "off" or _BULLET.match(line) or _all_caps(line):
            return False
        short = len(line) <= SHORT_CHARS + 10 and len(line.split()) <= SHORT_WORDS
        before_text = following is not None and len(following) > 2 * max(len(line), 40)
        return short and not before_text
