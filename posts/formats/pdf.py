"""PDF fact sheets, through pypdf's text visitor (https://pypdf.readthedocs.io/en/stable/
user/extract-text.html#using-a-visitor): every visual line with its font size and weight.

    larger than the body text, or bold      -> heading (level by size, largest first)
    body lines closer than the usual gap    -> one text part (its lines are hard-wrapped)
    a wider gap                             -> the next text part

A PDF set in one size and weight throughout marks no heading, and is then read by the
plain-text rules. Ligatures ("ﬁ") and Arabic presentation forms, which many PDF producers write
instead of letters, are folded back to letters, and words broken across lines by a hyphen are
joined again (posts.hyphenation) while compound hyphens stay.
"""

from __future__ import annotations

import io
import logging
import math
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field

from posts.factsheet import Part
from posts.formats.images import FoundImage, Read
from posts.formats.limits import (
    PdfWork,
    check_pdf_objects,
    check_pdf_pages,
    check_time,
    image_too_large,
    pdf_image_pixels,
    pdf_limit_reached,
    pdf_page_content,
    pdf_reading,
)
from posts.hyphenation import join_lines
from posts.text import (
    NoUsableText,
    UnreadableDocument,
    fold_spaces,
    normalise_presentation_forms,
)
from posts.words import Words, words

#: A line this much larger than the body text is a heading.
HEADING_SIZE_RATIO = 1.15
#: A gap between lines this much wider than the usual line spacing starts a new paragraph.
PARAGRAPH_GAP_RATIO = 1.3
#: Bold lines at body size longer than this are emphasis, not headings.
MAX_BOLD_HEADING_CHARS = 100

_BOLD_NAMES = ("bold", "black", "heavy", "semibold", "demi")
_SENTENCE_END = tuple(".!?؟…。;,،؛")


@dataclass
class _Line:
    page: int
    y: float
    #: (text, size, bold) runs, in order.
    runs: list[tuple[str, float, bool]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return fold_spaces("".join(r[0] for r in self.runs))

    def style(self) -> tuple[float, bool]:
        """The size and weight of most of the line's characters."""
        sizes: Counter[float] = Counter()
        bold: Counter[bool] = Counter()
        for text, size, is_bold in self.runs:
            visible = len(text.strip())
            sizes[size] += visible
            bold[is_bold] += visible
        return sizes.most_common(1)[0][0], bold.most_common(1)[0][0]


def read_pdf(data: bytes, name: str) -> Read:
    """The parts and images of a PDF fact sheet. Raises `UnreadableDocument` or
    `NoUsableText`. PDF images carry no alt text that factpost reads."""
    collector = _lines(data, name)
    lines = collector.lines
    if not any(ch.isalnum() for line in lines for ch in line.text):
        raise NoUsableText(f"{name}: the PDF has no text to read (a scanned image?); export "
                           "the fact sheet from its editor as PDF, or as plain text")
    parts, headings_after = _parts(lines)
    images = [FoundImage(headings_after[after - 1] if after else 0, source, content, None,
                         skipped)
              for after, source, content, skipped in collector.images]
    return Read(parts, images)


def _lines(data: bytes, name: str) -> _Collector:
    """The collector after reading every page: the lines with text, and the images."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, LimitReachedError

    collector = _Collector(PdfWork(name))
    with _quiet(), pdf_reading():
        try:
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted and not reader.decrypt(""):
                raise UnreadableDocument(f"{name}: the PDF is password-protected; save an "
                                         "unprotected copy and import that")
            check_pdf_objects(reader, name)
            check_pdf_pages(reader, name)
            for number, page in enumerate(reader.pages):
                check_time()
                # Measured before pypdf parses it: parsed, a byte of content costs ~100.
                collector.work.add_page(number + 1, pdf_page_content(page, name, number + 1))
                collector.page = number
                collector.start_page(page)
                page.extract_text(visitor_text=collector.visit,
                                  visitor_operand_before=collector.operator)
                collector.end_line()
                collector.end_page()
        except UnreadableDocument:
            raise
        except LimitReachedError as exc:
            raise pdf_limit_reached(name, exc) from None
        except DependencyError:
            raise UnreadableDocument(f"{name}: the PDF is encrypted; save an unprotected copy and "
                                     "import that") from None
        except Exception as exc:  # pypdf raises many types on damaged files; all mean the same
            raise UnreadableDocument(f"{name}: not a readable PDF ({type(exc).__name__}); check "
                                     "that the file is complete, or export it again") from None
    return collector


class _Collector:
    def __init__(self, work: PdfWork) -> None:
        #: What reading has cost so far; refuses the document past its limits.
        self.work = work
        self.page = 0
        self.lines: list[_Line] = []
        self.current: _Line | None = None
        #: (lines before it, source, content, skipped): images where the page draws them.
        self.images: list[tuple[int, str, bytes | None, str | None]] = []
        self.pending: dict[str, tuple[bytes | None, str | None]] = {}

    def start_page(self, page) -> None:
        self.pending = {}
        try:
            ids = list(page.images.keys())
        except Exception as exc:  # pypdf raises many types on damaged resources
            self.pending["?"] = (None, _not_extracted(exc))
            return
        for image_id in ids:
            # "/Im1" on the page; ["/Fm0", "/Im1"] inside a form, whose Do names the form.
            key = (image_id if isinstance(image_id, str) else image_id[-1]).lstrip("/")
            too_large = image_too_large(pdf_image_pixels(page, image_id))
            if too_large:  # refused before decoding: one such image costs gigabytes
                self.pending[key] = (None, too_large)
                continue
            try:
                self.pending[key] = (page.images[image_id].data, None)
            except Exception as exc:  # an unsupported filter or colour space; no Pillow
                self.pending[key] = (None, _not_extracted(exc))

    def operator(self, operator: bytes, args: list, cm: list[float], tm: list[float]) -> None:
        self.work.add_operator(operator)
        # Content streams draw in reading order, so an image sits after the lines drawn
        # before it.
        if operator == b"Do" and args:
            key = str(args[0]).lstrip("/")
            if key in self.pending:
                self.end_line()
                self._place(key)

    def end_page(self) -> None:
        for key in list(self.pending):  # drawn from inside a form, or not at all: page end
            self._place(key)

    def _place(self, key: str) -> None:
        content, skipped = self.pending.pop(key)
        self.images.append((len(self.lines), f"image on page {self.page + 1}", content,
                            skipped))

    def visit(self, text: str, cm: list[float], tm: list[float], font: dict | None,
              font_size: float) -> None:
        if not text:
            return
        self.work.add_characters(len(text))
        # The text matrix times the current transformation matrix places and scales the text.
        m2 = tm[2] * cm[0] + tm[3] * cm[2]
        m3 = tm[2] * cm[1] + tm[3] * cm[3]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        size = round(font_size * (math.hypot(m2, m3) or 1.0) * 2) / 2
        bold = _is_bold(font)
        text = normalise_presentation_forms(text)
        pieces = text.split("\n")
        for i, piece in enumerate(pieces):
            if i > 0:
                self.end_line()
            if not piece:
                continue
            line = self.current
            if line is not None and line.runs and abs(line.y - y) > max(size, 1.0) / 2:
                self.end_line()  # moved to another line without a line break in the text
                line = None
            if line is None:
                line = self.current = _Line(self.page, y)
            line.runs.append((piece, size, bold))

    def end_line(self) -> None:
        if self.current is not None and self.current.runs and self.current.text:
            self.lines.append(self.current)
        self.current = None


def _is_bold(font: dict | None) -> bool:
    if not font:
        return False
    base = str(font.get("/BaseFont", "")).lower()
    if any(word in base for word in _BOLD_NAMES):
        return True
    try:
        descriptor = font.get("/FontDescriptor")
        descriptor = descriptor.get_object() if descriptor is not None else {}
        weight = float(descriptor.get("/FontWeight", 400))
        flags = int(descriptor.get("/Flags", 0))
    except (AttributeError, TypeError, ValueError):
        return False
    return weight >= 600 or bool(flags & (1 << 18))  # ForceBold, PDF 32000-1 table 123


@contextmanager
def _quiet():
    """pypdf logs every repair it makes to a damaged file; the caller gets one clear error."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _parts(lines: list[_Line]) -> tuple[list[Part], list[int]]:
    """The parts, and for each line the number of heading parts up to and including it."""
    styles = [line.style() for line in lines]
    weight: Counter[tuple[float, bool]] = Counter()
    for line, style in zip(lines, styles, strict=True):
        weight[style] += len(line.text)
    body_size, body_bold = weight.most_common(1)[0][0]

    def heading(line: _Line, style: tuple[float, bool]) -> bool:
        size, bold = style
        if size >= body_size * HEADING_SIZE_RATIO:
            return True
        return (bold and not body_bold and size >= body_size / HEADING_SIZE_RATIO
                and len(line.text) <= MAX_BOLD_HEADING_CHARS
                and not line.text.endswith(_SENTENCE_END))

    is_heading = [heading(line, style) for line, style in zip(lines, styles, strict=True)]
    sizes = sorted({s[0] for s, h in zip(styles, is_heading, strict=True)
                    if h and s[0] >= body_size * HEADING_SIZE_RATIO}, reverse=True)
    leading = _usual_gap(lines, is_heading) or body_size * 1.2

    parts: list[Part] = []
    headings_after: list[int] = []
    headings = 0
    previous: _Line | None = None
    previous_style: tuple[float, bool] | None = None
    for line, style, head in zip(lines, styles, is_heading, strict=True):
        gap = previous.y - line.y if previous and previous.page == line.page else None
        if head:
            level = sizes.index(style[0]) + 1 if style[0] in sizes else len(sizes) + 1
            close = gap is not None and 0 < gap <= style[0] * 1.6
            if parts and parts[-1].kind == "heading" and previous_style == style and close:
                # A heading wrapped onto a second line.
                parts[-1] = Part("heading", f"{parts[-1].text} {line.text}", level)
            else:
                parts.append(Part("heading", line.text, level))
                headings += 1
        else:
            if parts and parts[-1].kind == "text" and not _new_paragraph(previous, gap, leading):
                parts[-1] = Part("text", _continue(parts[-1].text, line.text))
            else:
                parts.append(Part("text", line.text))
        previous, previous_style = line, (style if head else None)
        headings_after.append(headings)
    return parts, headings_after


def _continue(text: str, line: str) -> str:
    """`text` (a paragraph so far) continued by its next visual `line`: on a new line, or
    joined to it where the last line ended in a word broken by a hyphen."""
    head, _, last = text.rpartition("\n")
    joined = join_lines(last, line)
    if joined is None:
        return f"{text}\n{line}"
    return f"{head}\n{joined}" if head else joined


def _new_paragraph(previous: _Line | None, gap: float | None, leading: float) -> bool:
    if previous is None:
        return True
    if gap is None or gap <= 0:
        # A new page or column: a paragraph carries on unless the last line ended one.
        return previous.text.endswith(_SENTENCE_END)
    return gap > leading * PARAGRAPH_GAP_RATIO


def _usual_gap(lines: list[_Line], is_heading: list[bool]) -> float | None:
    """The most common spacing between consecutive body lines on a page."""
    gaps: Counter[float] = Counter()
    for i in range(1, len(lines)):
        a, b = lines[i - 1], lines[i]
        if a.page == b.page and not is_heading[i - 1] and not is_heading[i]:
            gap = round((a.y - b.y) * 2) / 2
            if gap > 0:
                gaps[gap] += 1
    return gaps.most_common(1)[0][0] if gaps else None


def _not_extracted(exc: Exception) -> Words:
    """Why an image of the page was skipped: pypdf could not decode it."""
    return words("cannot be extracted (%(error)s)", error=type(exc).__name__)
