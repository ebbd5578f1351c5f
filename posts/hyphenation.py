"""Words broken across lines: joining the two lines of a typeset paragraph back together.

Typeset documents (PDFs above all) break long words at the end of a line with a hyphen
("ves-" / "sels"), and the text extracted from them keeps the break. A hyphen at a line end is
either such a break, to be removed ("vessels"), or a real compound hyphen that happens to fall
there, to be kept ("mine-" / "countermeasure" -> "mine-countermeasure"). What decides is whether
the two halves together are a word of the language, and whether they are not rather two words
of their own that the hyphen joins ("long-" / "term" -> "long-term", not "longterm"). The word
list is wordfreq's (https://github.com/rspeer/wordfreq, frequencies from Wikipedia, subtitles,
news, books and the web, bundled with the package: no download at run time), loaded on first
use.

A soft hyphen (U+00AD) at a line end is always a break: it exists only to mark one.

Numbers, ranges and addresses are never hyphenated, but a line may still end inside one, at a
hyphen, a dash or a slash the author wrote: "2025-" / "2026", "pages 12–" / "14",
"Baghdad–" / "Basra", "the fleet—" / "and", "https://www.example.mil/" / "reports/". The two
lines join there as written, with the mark and without a space ("2025-2026").
"""

from __future__ import annotations

import re
from functools import lru_cache

# Zipf frequency (log10 of occurrences per billion words) from which a joined string is taken
# for a word: "munitions" is 3.3, "countermeasure" 2.4, "hydrographic" 2.7; strings that are
# no word ("minecountermeasure") are 0.
MIN_WORD_ZIPF = 1.5
# Halves at least this common are words in their own right ("long", "term", "follow", "up").
COMMON_WORD_ZIPF = 3.0
# After these, a hyphen at a line end is a suspended one: "pre- and post-deployment".
_SUSPENDED_BEFORE = frozenset({"and", "or", "to", "nor"})

_HYPHENS = "-\u2010"  # HYPHEN-MINUS, HYPHEN (U+2011 NON-BREAKING HYPHEN never breaks a line)
_TRAILING_WORD = re.compile(r"([^\W\d_]+)[-\u2010]$")
# A hyphen after a digit ("2025-", "12-" before "year-old"), or a figure, en or em dash straight
# after what precedes it: a mark the author wrote inside a range or a compound, never a place
# to add a space.
_TRAILING_MARK = re.compile(r"(?:\d[-\u2010]|[^\s\-\u2010][\u2012\u2013\u2014])$")
# A slash ends a line inside "2025/26" (a digit follows) or inside an address, where the next
# line goes on with the path ("https://x.mil/" + "reports/plan.pdf"); an address that merely
# ends in "/" before the next word ("https://x.mil/" + "for details") is followed by a space.
_TRAILING_SLASH = re.compile(r"\S/$")
_ADDRESS = re.compile(r"(?:https?://|www\.)\S*$", re.IGNORECASE)
_PATH_GOES_ON = re.compile(r"[^\s/]*[/.?=#&_-]\S")
_LEADING_WORD = re.compile(r"[^\W\d_]+")


def join_lines(line: str, following: str) -> str | None:
    """The two lines as one when `line` ends in a hyphen that joins it to `following`
    ("ves-" + "sels" -> "vessels", "mine-" + "countermeasure" -> "mine-countermeasure"), or in
    a hyphen, dash or slash inside a number range, compound or address ("2025-" + "2026" ->
    "2025-2026"); None otherwise (join them as usual)."""
    if line.endswith("\u00ad"):
        return line[:-1] + following
    marked = join_marked(line, following)
    if marked is not None:
        return marked
    broken = _TRAILING_WORD.search(line)
    if broken is None:
        return None
    start = _LEADING_WORD.match(following)
    if start is None:  # "COVID-" + "19", "pre-" + "(and post-)": the hyphen belongs there
        return line + following
    first, second = broken.group(1), start.group()
    if second.lower() in _SUSPENDED_BEFORE:
        return f"{line} {following}"
    if is_line_break(first, second):
        return line[:-1] + following
    return line + following


def join_marked(line: str, following: str) -> str | None:
    """The two lines as one where `line` ends inside a number range, compound or address (see
    the module docstring): "2025-" + "2026" -> "2025-2026"; None otherwise. Plain text too:
    editors that wrap lines break them after hyphens and slashes."""
    if _TRAILING_MARK.search(line) and following[:1].isalnum():
        return line + following
    if _TRAILING_SLASH.search(line) and following[:1].isalnum() and (
            following[:1].isdigit()
            or (_ADDRESS.search(line) and _PATH_GOES_ON.match(following))):
        return line + following
    return None


def is_line_break(first: str, second: str) -> bool:
    """Whether "first-" at a line end and "second" at the next line's start are one word that
    a hyphenation broke, rather than a compound whose hyphen stays."""
    if second[0].isupper() and not first.isupper():
        return False  # "anti-" + "American", "Al-" + "Anbar": a hyphen before a name stays
    if not (first.isascii() and second.isascii()):
        return False  # only English is hyphenated in the languages factpost supports
    joined = _zipf((first + second).lower())
    if joined < MIN_WORD_ZIPF:
        return False
    halves = min(_zipf(first.lower()), _zipf(second.lower()))
    return not (halves >= COMMON_WORD_ZIPF and joined < halves)


@lru_cache(maxsize=4096)
def _zipf(word: str) -> float:
    # Imported here, not at the top: wordfreq and its word list take 0.4 s and tens of MB, and
    # only a PDF with a hyphen at a line end needs them.
    from wordfreq import zipf_frequency

    return zipf_frequency(word, "en")
