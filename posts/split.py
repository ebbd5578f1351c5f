"""Sections -> post-sized snippets, by a platform's text rules.

A platform's spec (scheduler/platforms/) declares its `TextRules`: how long a post may be, how
length is measured (twitter-text's weighted characters, characters, ...), whether a text too
long for one post becomes a thread, and how a thread's parts are numbered. The splitter knows
no platform by name.

Every snippet is at most `rules.limit` long by `rules.measure`, numbering and hashtags
included. Whole sentences are packed greedily (whole paragraphs where the rules pack
paragraphs); a piece too long for a post is cut at the next finer boundary: paragraph -> line
-> sentence -> clause (after , ; : ، ؛) -> word. A single word longer than a post (no
whitespace to cut at) is cut between characters as a last resort, never inside a URL or an
emoji sequence. Whitespace cuts cannot fall inside a URL, e-mail address, @mention, #hashtag or
number, which hold no whitespace.

The heading opens the first snippet ("heading\\n\\nbody"). A section that needs more than one
snippet is numbered: each snippet ends with `rules.numbering` (" i/N"). Configured hashtags go
on the single post or the last snippet of a thread where they fit, and are left off where they
do not; a hashtag the section already holds anywhere (in any letter case, as X matches them)
is not added again.

Nothing is lost, invented or reordered: `reassemble` (which undoes heading, numbering and
hashtags and joins with a space) gives the section body with whitespace runs collapsed to one
space. A word cut between characters is the exception: there the two halves join without a
space.

Links (`links="first-part"`): where a post with a link costs far more than one without (X), a
thread whose links would land in more than one part can carry them all in its first part
instead: each link (once) on a line under the heading, and in the text a link in brackets
"(https://...)" is dropped while any other becomes "the link above". A thread whose links
already sit in one part, and a single post, are left as written.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from posts.factsheet import Section
from posts.hashtags import hashtag_text, missing_hashtags
from posts.sentences import detect_language, sentences
from posts.thread_links import LINK_PLACEMENTS, links_first
from posts.weight import URL_WEIGHT, find_urls

#: The smallest limit the splitter accepts: a URL and a thread suffix must fit in a post.
MIN_LIMIT = 40
#: What one post is packed from.
PACKS = ("sentences", "paragraphs")


def _one(_ch: str) -> int:
    return 1


@dataclass(frozen=True)
class TextRules:
    """How a platform counts and splits post text. Each platform's spec declares its own; the
    splitter, the compose counter and every length check read only this."""

    #: The most one post may hold, in `unit`s of `measure`.
    limit: int
    #: A text's length as the platform counts it.
    measure: Callable[[str], int] = len
    #: What `measure` counts, for people: "weighted characters", "characters".
    unit: str = "characters"
    #: Whether text too long for one post goes out as a thread (a reply chain). Where not, the
    #: numbered parts of an over-long section are separate posts, and a hand-written post must
    #: fit one post.
    threads: bool = False
    #: What a post is packed from first: whole "sentences" or whole "paragraphs" (cut finer
    #: only where one does not fit).
    packs: str = "sentences"
    #: Appended to each part of a text that needs several; `position` and `size` filled in.
    numbering: str = " {position}/{size}"
    #: An upper bound of one character's share of `measure`, for cutting inside a word.
    char_weight: Callable[[str], int] = _one
    #: `measure` is slow on huge text: a piece longer than 4 x `limit` + 4200 characters
    #: cannot fit (no URL, which counts as one link however long, exceeds 4096) and is cut
    #: down unmeasured.
    slow_measure: bool = False
    #: `measure("".join(parts))` for parts alternating text and whitespace, faster when the
    #: texts were measured before (posts.weight.weighted_length_of_parts); None: join, measure.
    measure_parts: Callable[[Sequence[str]], int] | None = None

    def __post_init__(self) -> None:
        if self.limit < MIN_LIMIT:
            raise ValueError(f"limit {self.limit} is too small; a post limit must be at least "
                             f"{MIN_LIMIT}")
        if self.packs not in PACKS:
            raise ValueError(f"unknown packing {self.packs!r}; use one of {', '.join(PACKS)}")

    def fits(self, text: str) -> bool:
        return self.measure(text) <= self.limit

    def part_suffix(self, position: int, size: int) -> str:
        return self.numbering.format(position=position, size=size)


@dataclass(frozen=True)
class Snippet:
    text: str
    #: Its length by the rules it was split by (`TextRules.measure`).
    weighted_length: int
    #: 1-based; 1 of 1 for a single post.
    thread_position: int
    thread_size: int
    #: The configured hashtags appended to this snippet (" #A #B"), if any.
    hashtags: str = ""
    #: The numbering appended to this snippet (" 2/5"), if any.
    suffix: str = ""


def split_section(section: Section, rules: TextRules, *, hashtags: Sequence[str] = (),
                  language: str | None = None, links: str = "as-written") -> list[Snippet]:
    """Snippets of `section` by `rules`: one post, or the numbered parts of a thread.
    `language` ("en"/"ar") picks the sentence rules; detected from the text when None.
    `links` is "as-written" or "first-part" (see the module docstring)."""
    if links not in LINK_PLACEMENTS:
        raise ValueError(f"unknown link placement {links!r}; use 'as-written' or 'first-part'")
    snippets = _split(section, rules, hashtags, language)
    if links == "first-part" and sum(1 for s in snippets if find_urls(s.text)) > 1:
        moved = _split(links_first(section, language), rules, hashtags, language)
        if sum(1 for s in moved if find_urls(s.text)) == 1:
            return moved
    return snippets


# --- checking helpers: the "nothing lost" contract, used by the tests and previews ----------

def collapse_whitespace(text: str) -> str:
    """`text` with every whitespace run as one space, and none at the ends."""
    return " ".join(text.split())


def strip_decorations(snippets: Sequence[Snippet], *, heading: str | None = None,
                      hashtags: Sequence[str] = ()) -> list[str]:
    """Each snippet's text without the heading prefix, numbering and appended hashtags."""
    del hashtags  # each snippet records the hashtags appended to it
    prefix = f"{heading.strip()}\n\n" if heading and heading.strip() else None
    cores = []
    for s in snippets:
        text = s.text.removesuffix(s.suffix) if s.suffix else s.text
        if s.hashtags:
            text = text.removesuffix(s.hashtags)
        if prefix and s.thread_position == 1:
            text = text.removeprefix(prefix)
        cores.append(text)
    return cores


def reassemble(snippets: Sequence[Snippet], *, heading: str | None = None,
               hashtags: Sequence[str] = ()) -> str:
    """Undo the splitting: equals `collapse_whitespace(section.text)` when nothing was lost."""
    return collapse_whitespace(" ".join(
        strip_decorations(snippets, heading=heading, hashtags=hashtags)))


# --- packing levels -------------------------------------------------------------------------

_PARAGRAPH, _LINE, _SENTENCE, _CLAUSE, _WORD = range(5)
_TOO_LONG = 1 << 62


def _start_level(rules: TextRules) -> int:
    return _SENTENCE if rules.packs == "sentences" else _PARAGRAPH


def _max_measured(rules: TextRules) -> int:
    # Longer pieces are cut down unmeasured: whitespace cuts then pack back together as they
    # would have, and a word this long (no whitespace) is cut between characters even if its
    # URLs would have let it fit (a URL, at most 4096 characters, is never cut).
    return 4 * rules.limit + 4200 if rules.slow_measure else _TOO_LONG


@dataclass
class _Piece:
    """A run of text with no whitespace at its ends, and the whitespace that precedes it."""

    text: str
    #: Kept when the piece shares a snippet with the one before; dropped at a snippet boundary.
    sep: str
    level: int
    weight: int | None = None
    #: Measured to fit but did not fit in a snippet (weights are not quite additive): cut it.
    too_long: bool = False


def _split(section: Section, rules: TextRules, hashtags: Sequence[str],
           language: str | None = None) -> list[Snippet]:
    heading = (section.heading or "").strip() or None
    language = language or detect_language(f"{heading or ''}\n{section.text}")
    # Every paragraph, the first too, follows what comes before it (the heading) after "\n\n".
    body = [_Piece(p.strip(), "\n\n", _PARAGRAPH) for p in section.paragraphs if p.strip()]
    body = [q for p in body for q in _down_to(p, _start_level(rules), language)]
    if not body and heading is None:
        return []
    packer = _Packer(rules, heading, body, language)
    cores = packer.pack(tail="", max_snippets=1)
    digits = 0
    while cores is None:
        digits += 1
        # The numbering's width is reserved before packing, for the widest " i/N" with this
        # many digits; a thread that grows past 10**digits - 1 snippets is packed again.
        widest = 10 ** digits - 1
        cores = packer.pack(tail=rules.part_suffix(widest, widest), max_snippets=widest)
    size = len(cores)
    tags = hashtag_text(missing_hashtags(
        "\n".join([heading or "", *section.paragraphs]), hashtags))
    snippets = []
    for position, core in enumerate(cores, 1):
        suffix = rules.part_suffix(position, size) if size > 1 else ""
        text, appended = core + suffix, ""
        if tags and position == size:
            tagged = core + tags + suffix
            if rules.fits(tagged):
                text, appended = tagged, tags
        # A single post without hashtags is the core its packer measured already.
        snippets.append(Snippet(text, packer.measure(text), position, size, appended, suffix))
    return snippets


# --- cutting pieces finer ---------------------------------------------------------------------

_LINE_BREAK = re.compile(r"\s*\n\s*")
# No cut at a no-break space (U+00A0, U+2007 FIGURE SPACE, U+202F NARROW NO-BREAK SPACE) or a
# word joiner (U+2060), nor at whitespace touching one: they bind "1\u202f250\u202f000" and
# "Berth No.\u00a05" (Unicode UAX #14, classes GL and WJ: no break before or after).
_BINDING = "\u00a0\u2007\u202f\u2060"
_BREAK_SPACE = f"(?<![{_BINDING}])[^\\S{_BINDING}]+(?![{_BINDING}])"
_CLAUSE_END = re.compile(f"[,;:،؛](?={_BREAK_SPACE})")
_WHITESPACE = re.compile(_BREAK_SPACE)


def _down_to(piece: _Piece, level: int, language: str) -> list[_Piece]:
    if piece.level >= level:
        return [piece]
    parts = (_finer(piece, language, deepest=level)
             or [_Piece(piece.text, piece.sep, piece.level + 1)])
    return [q for p in parts for q in _down_to(p, level, language)]


def _finer(piece: _Piece, language: str, deepest: int = _WORD) -> list[_Piece] | None:
    """`piece` cut at the next boundary level (down to `deepest`) that has a boundary in it."""
    text = piece.text
    for level in range(piece.level + 1, deepest + 1):
        if level == _LINE:
            cuts = [m.start() for m in _LINE_BREAK.finditer(text)]
        elif level == _SENTENCE:
            cuts = _offsets(sentences(text, language))
        elif level == _CLAUSE:
            cuts = [m.end() for m in _CLAUSE_END.finditer(text)]
        else:
            cuts = [m.start() for m in _WHITESPACE.finditer(text)]
        parts = _cut_at(text, cuts, piece.sep, level)
        if len(parts) > 1:
            return parts
    return None


def _offsets(parts: list[str]) -> list[int]:
    offsets, at = [], 0
    for part in parts[:-1]:
        at += len(part)
        offsets.append(at)
    return offsets


def _cut_at(text: str, cuts: list[int], sep: str, level: int) -> list[_Piece]:
    """Cut `text` at `cuts`; whitespace around a cut becomes the next piece's `sep`."""
    pieces: list[_Piece] = []
    pending = sep
    for start, end in zip([0, *cuts], [*cuts, len(text)], strict=True):
        chunk = text[start:end]
        core = chunk.strip()
        if not core:
            pending += chunk
            continue
        lead = chunk[:len(chunk) - len(chunk.lstrip())]
        if pieces:
            pending += lead
        pieces.append(_Piece(core, pending, level))
        pending = chunk[len(lead) + len(core):]
    return pieces


# A cut between these and what precedes them would break a character sequence: combining marks,
# ZWJ, variation selectors, emoji skin tones, tag characters, the keycap mark.
_EXTENDING = re.compile(
    "[\u0300-\u036f\u0483-\u0489\u0591-\u05bd\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed"
    "\u200c\u200d\u20d0-\u20ff\ufe00-\ufe0f\ufe20-\ufe2f"
    "\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f\U000e0100-\U000e01ef]")
_REGIONAL_INDICATOR = re.compile("[\U0001f1e6-\U0001f1ff]")


def _cuttable(text: str, k: int, urls: list[tuple[int, int]]) -> bool:
    if _EXTENDING.match(text, k) or text[k - 1] == "\u200d":
        return False
    if text[k] in _BINDING or text[k - 1] in _BINDING:
        return False
    if _REGIONAL_INDICATOR.match(text, k) and _REGIONAL_INDICATOR.match(text, k - 1):
        run = 0
        while k - run - 1 >= 0 and _REGIONAL_INDICATOR.match(text, k - run - 1):
            run += 1
        if run % 2:
            return False
    return not any(s < k < e for s, e in urls)


def _hard_cut(text: str, room: int, rules: TextRules, *, relax: bool) -> int:
    """Length of the longest prefix found that weighs at most `room`; 0 if none does.

    Cuts fall outside URLs and character sequences, unless `relax`ed (last resort)."""
    if room <= 0 or len(text) < 2:
        return 0
    window = min(len(text), 4 * room + 64)
    urls = [] if relax else find_urls(text[:window])
    if window < len(text) and any(e >= window for _, e in urls):
        # a URL runs into the window's end; it may be longer than it looks
        window = min(len(text), window + 4200)
        urls = find_urls(text[:window])
    estimate, total = 0, 0
    for i in range(min(window, len(text) - 1)):
        total += rules.char_weight(text[i])
        if total > room:
            break
        estimate = i + 1
    candidates = [k for k in range(1, estimate + 1) if relax or _cuttable(text, k, urls)]
    if not candidates:
        return 0
    if rules.measure(text[:candidates[-1]]) <= room:
        return candidates[-1]
    lo, hi, best = 0, len(candidates) - 2, 0
    while lo <= hi:
        mid = (lo + hi) // 2
        if rules.measure(text[:candidates[mid]]) <= room:
            best, lo = candidates[mid], mid + 1
        else:
            hi = mid - 1
    return best


# --- packing ----------------------------------------------------------------------------------

#: Below this much room, a snippet is closed rather than topped up with part of a long word.
_MIN_FILL = 20


class _Packer:
    """Greedy packing of pieces into snippet texts ("cores", without suffix or hashtags)."""

    def __init__(self, rules: TextRules, heading: str | None, body: list[_Piece],
                 language: str) -> None:
        self.rules = rules
        self.max_measured = _max_measured(rules)
        self.language = language
        self.heading = heading
        self.body = body
        self._weights: dict[str, int] = {}

    def pack(self, *, tail: str, max_snippets: int) -> list[str] | None:
        """Cores each within the limit with `tail` appended; None past `max_snippets`."""
        budget = self.rules.limit - self.rules.measure(tail)
        self.budget = budget
        self.queue = deque(_Piece(p.text, p.sep, p.level) for p in self.body)
        self.cores: list[str] = []
        heading = None
        if self.heading is not None:
            heading = _Piece(self.heading, "", -1)
            if self._cost(heading) + 2 + URL_WEIGHT > budget:
                # Too long to share a post with any text: it opens the body instead.
                heading.level = _SENTENCE
                self.queue.appendleft(heading)
                heading = None
        self.current: list[_Piece] = [heading] if heading else []
        self.heading_piece = heading
        self.estimate = self._cost(heading) if heading else 0
        while self.queue or self.current:
            if len(self.cores) > max_snippets:
                return None
            if not self.queue:
                self._close()
                continue
            self._place(self.queue.popleft())
        return self.cores if len(self.cores) <= max_snippets else None

    def _place(self, piece: _Piece) -> None:
        cost = self._cost(piece)
        sep = self._sep_cost(piece.sep) if self.current else 0
        if self.estimate + sep + cost <= self.budget:
            self.current.append(piece)
            self.estimate += sep + cost
            return
        has_body = self._has_body()
        if has_body and cost <= self.budget:
            # Queued before closing: pieces the close gives back (a snippet that measured
            # longer than its pieces) must go back in front of it, in order.
            self.queue.appendleft(piece)
            self._close()
            return
        # Too long for any snippet, or must follow the heading: cut it finer.
        room = self.budget - self.estimate - sep if self.current else self.budget
        if piece.level < _WORD:
            parts = _finer(piece, self.language)
            if parts is None:
                piece.level = _WORD
                parts = [piece]
            self.queue.extendleft(reversed(parts))
            return
        if has_body and room < _MIN_FILL:
            self.queue.appendleft(piece)
            self._close()
            return
        if piece.too_long and piece.weight is not None:
            room = min(room, piece.weight - 1)
        cut = _hard_cut(piece.text, room, self.rules, relax=False)
        if not cut and has_body:
            self.queue.appendleft(piece)
            self._close()
            return
        cut = cut or _hard_cut(piece.text, room, self.rules, relax=True)
        if cut:
            self.queue.appendleft(_Piece(piece.text[cut:], "", _WORD))
            self.queue.appendleft(_Piece(piece.text[:cut], piece.sep, _WORD))
            return
        if not self.current:  # a single character: it fits any post
            self.current.append(piece)
            self.estimate = self.rules.measure(piece.text)
            return
        # Not one character fits after the heading: the heading goes alone.
        self._emit()
        piece.too_long = False
        self.queue.appendleft(piece)

    def _close(self) -> None:
        """Emit the current snippet if it really fits; else give back pieces and carry on."""
        while True:
            text = self._render()
            if self._measure_rendered(text) <= self.budget or not self._has_body():
                self._emit(text)
                return
            last = self.current.pop()
            if self._has_body():
                self.queue.appendleft(last)
                continue
            # The one piece did not fit although measured to: make it be cut.
            last.too_long = True
            self.queue.appendleft(last)
            self.estimate = self._cost(self.heading_piece) if self.current else 0
            return

    def _emit(self, text: str | None = None) -> None:
        self.cores.append(self._render() if text is None else text)
        self.current = []
        self.estimate = 0

    def _render(self) -> str:
        if not self.current:
            return ""
        return self.current[0].text + "".join(p.sep + p.text for p in self.current[1:])

    def _has_body(self) -> bool:
        return any(p is not self.heading_piece for p in self.current)

    def _cost(self, piece: _Piece | None) -> int:
        if piece is None:
            return 0
        if piece.weight is None:
            piece.weight = (self._measure(piece.text)
                            if len(piece.text) <= self.max_measured else _TOO_LONG)
        return _TOO_LONG if piece.too_long else piece.weight

    def _sep_cost(self, sep: str) -> int:
        return self._measure(sep)

    def _measure_rendered(self, text: str) -> int:
        """The measure of the current snippet, `text` being its rendering."""
        if text in self._weights or self.rules.measure_parts is None or len(self.current) < 2:
            return self._measure(text)
        parts = [self.current[0].text]
        for piece in self.current[1:]:
            parts += [piece.sep, piece.text]
        self._weights[text] = self.rules.measure_parts(parts)
        return self._weights[text]

    def measure(self, text: str) -> int:
        """`rules.measure(text)`, remembered for this section."""
        return self._measure(text)

    def _measure(self, text: str) -> int:
        # Cached: each packing pass (one per thread-suffix width) meets the same pieces.
        if text not in self._weights:
            self._weights[text] = self.rules.measure(text)
        return self._weights[text]
