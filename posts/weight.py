"""X's weighted length of a post: the one place that counts it.

X limits posts to 280 *weighted* characters (twitter-text v3, the configuration X's own clients
use; https://docs.x.com/fundamentals/counting-characters): after NFC, every URL counts 23 with or
without a scheme (`www.example.mil`, `centcom.global`), an emoji sequence (with ZWJ, skin tones,
flags) counts 2, code points in U+0000-U+10FF, U+2000-U+200D, U+2010-U+201F and U+2032-U+2037
count 1, and everything else (CJK, most emoji) counts 2.

Which sequences are "an emoji" depends on the emoji list a counter carries, and the current
implementations disagree: twitter-text-parser (Python) knows Emoji 13-era sequences, while the
reference JavaScript, npm twitter-text 3.1.0, counts with twemoji-parser 11 (Emoji 11, 2018):
"🤏🏻" is 2 for one and 4 for the other, "👁️‍🗨️" 2 and 5. A post one counter accepts may be
refused by another, so `weighted_length` is the larger of the two counts: twitter-text-parser's,
and the JavaScript's, computed here the way it computes it (its UTF-16 loop, with
twemoji-parser 11.0.2's own regular expression, `posts/data/`, and the URLs its
extractUrlsWithIndices finds, which are more than twitter-text-parser's: "مرحباx.com/a" holds
a link for it, none for the parser, see find_js_urls). Both pass twitter-text's
conformance suite, so where they agree, so does this; tests/test_weight.py checks both against
the conformance data and, where Node.js is installed, against the JavaScript itself.
"""

from __future__ import annotations

import functools
import importlib
import importlib.resources
import re
import sys
import types
import unicodedata
from collections.abc import Sequence


def _import_twitter_text() -> types.ModuleType:
    # twitter-text-parser 3.0.0 does `import pkg_resources` (twitter_text/regexp/emoji.py) only to
    # read its bundled emoji-test.txt, without declaring setuptools, which newer environments no
    # longer ship; and where setuptools is there, importing pkg_resources scans every installed
    # distribution (0.15 s of every command's start). So, unless something already imported
    # the real one, lend twitter_text a stand-in for that one import and take it back
    # afterwards, so nothing else mistakes the stand-in for the real module.
    if "pkg_resources" in sys.modules:
        import twitter_text

        return twitter_text
    stand_in = types.ModuleType("pkg_resources", "factpost stand-in: resource_string only")
    stand_in.resource_string = _resource_string  # type: ignore[attr-defined]
    sys.modules["pkg_resources"] = stand_in
    try:
        import twitter_text
    finally:
        if sys.modules.get("pkg_resources") is stand_in:
            del sys.modules["pkg_resources"]
    return twitter_text


def _resource_string(package: str, resource: str) -> bytes:
    """`pkg_resources.resource_string`: `package` may name a plain module, as twitter_text does."""
    module = sys.modules.get(package)
    if module is not None and not hasattr(module, "__path__"):
        package = module.__package__ or package.rpartition(".")[0]
    return importlib.resources.files(package).joinpath(resource).read_bytes()


_twitter_text = _import_twitter_text()

# parse_tweet's default configuration is twitter-text v3's (twitter_text/config.py "defaults").
_CONFIG = importlib.import_module("twitter_text.config").config["defaults"]

#: The most weighted characters one post may have by twitter-text v3 (its
#: maxWeightedTweetLength, 280): X's limit, https://docs.x.com/fundamentals/counting-characters
MAX_WEIGHTED_LENGTH = _CONFIG["max_weighted_tweet_length"]
#: What every URL counts, however long (X shortens it to a t.co link).
URL_WEIGHT = 23
_SCALE = _CONFIG["scale"]
_RANGES = tuple((r["start"], r["end"], r["weight"] // _SCALE) for r in _CONFIG["ranges"])
_DEFAULT_WEIGHT = _CONFIG["default_weight"] // _SCALE
# The fast path in weighted_length assumes this configuration; any other goes to parse_tweet.
_FAST_PATH = (_CONFIG["transformed_url_length"] == URL_WEIGHT and _DEFAULT_WEIGHT == 2
              and all(weight == 1 for _, _, weight in _RANGES))

# Code points that weigh 2 on their own.
_HEAVY = re.compile("[^" + "".join(f"{chr(s)}-{chr(e)}" for s, e, _ in _RANGES) + "]")


def _emoji_code_points() -> frozenset[str]:
    # Every emoji sequence twitter-text matches holds a non-ASCII code point of its emoji list
    # (keycaps like "1️⃣" hold U+FE0F or U+20E3), so text with none of them has no emoji.
    emoji = importlib.import_module("twitter_text.regexp.emoji")
    points = {int(cp, 16) for e in emoji.emoji_list for cp in e.codepoint.split()}
    for start, end in emoji.single_codepoint_emoji_ranges:
        points.update(range(start, end + 1))
    singles_ascii = [e for e in emoji.emoji_list if len(e.codepoint.split()) == 1
                     and int(e.codepoint, 16) < 0x80]
    if not singles_ascii:
        points = {p for p in points if p >= 0x80}
    return frozenset(map(chr, points))


_EMOJI_CODE_POINTS = _emoji_code_points()
# Every URL twitter-text finds has a domain ending in "." and a TLD, and every TLD in its lists
# starts with a letter: text with no "." before a letter has no URL.
_MAYBE_URL = re.compile(r"\.[^\W\d_]")
_LINE_ENDING = re.compile(r"\r\n|\r|\n")


def weighted_length(text: str) -> int:
    """The weight X counts for `text` (twitter-text v3), in weighted characters: where the
    current twitter-text implementations disagree (newer emoji sequences, a link glued to a
    non-ASCII character), the larger count, so that no counter finds a post over the limit."""
    normalized = _LINE_ENDING.sub("\n", unicodedata.normalize("NFC", text))
    if not _FAST_PATH or _maybe_emoji(normalized):
        return max(_twitter_text.parse_tweet(text).weightedLength,
                   reference_js_length(normalized))
    # No emoji: parse_tweet's count without its emoji scan, which is most of its time on plain
    # text (the splitter measures every sentence). tests/test_weight.py checks both agree.
    # Without emoji or astral characters the two counters differ only in the URLs they find.
    parser_urls, js_urls = _url_spans(normalized)
    count = _count_with_urls(normalized, parser_urls)
    return count if js_urls == parser_urls else max(count, _count_with_urls(normalized, js_urls))


def weighted_length_of_parts(parts: Sequence[str]) -> int:
    """`weighted_length("".join(parts))`, where `parts` alternate text and the whitespace
    between (text, space, text, ...): the splitter measures each sentence once, then many
    candidate posts joined from them. A URL holds no whitespace and twitter-text finds one the
    same after whitespace as at the start of a text, before whitespace as at its end (the
    preceding-character class and the TLD lookahead `(?=[^0-9a-zA-Z@+-]|$)`), so a joined text's
    URLs are its parts' URLs, found once per part and shifted. Where that argument does not
    hold (emoji, text NFC would change, separators other than spaces, tabs and line feeds), the
    whole text is measured. tests/test_weight.py checks both ways agree."""
    text = "".join(parts)
    if not _FAST_PATH or len(parts) < 3 or _maybe_emoji(text):
        return weighted_length(text)
    parser_urls: list[tuple[int, int]] = []
    js_urls: list[tuple[int, int]] = []
    at = 0
    for i, part in enumerate(parts):
        if i % 2:
            if not part or part.strip(" \t\n"):
                return weighted_length(text)
        else:
            spans = _part_url_spans(part)
            if spans is None:
                return weighted_length(text)
            parser_urls.extend((at + a, at + b) for a, b in spans[0])
            js_urls.extend((at + a, at + b) for a, b in spans[1])
        at += len(part)
    count = _count_with_urls(text, parser_urls)
    return count if js_urls == parser_urls else max(count, _count_with_urls(text, js_urls))


@functools.lru_cache(maxsize=4096)  # one section's sentences, met again in every candidate
def _part_url_spans(part: str) -> tuple[tuple[tuple[int, int], ...],
                                         tuple[tuple[int, int], ...]] | None:
    """_url_spans of one text part, or None where joining parts could change what is found:
    empty, whitespace at an end, a line ending other than "\\n", a combining mark first, or
    not in NFC."""
    if (not part or part[0].isspace() or part[-1].isspace() or "\r" in part
            or unicodedata.combining(part[0]) or not unicodedata.is_normalized("NFC", part)):
        return None
    return _url_spans(part)


def _count_with_urls(text: str, spans: list[tuple[int, int]]) -> int:
    """`text`'s weight with URLs at `spans` (code point indices) and no emoji sequences."""
    total, at = 0, 0
    for start, end in sorted(spans):
        if start < at:
            continue  # inside the URL before it
        total += start - at + len(_HEAVY.findall(text, at, start)) + URL_WEIGHT
        at = end
    return total + len(text) - at + len(_HEAVY.findall(text, at))


# --- twitter-text 3.1.0, the reference JavaScript --------------------------------------------

_TWEMOJI_SOURCE = importlib.resources.files("posts").joinpath(
    "data/twemoji-parser-11.0.2-regex.txt").read_text(encoding="utf-8").strip()
# JavaScript's \uXXXX escapes are Python's too; the pattern is matched against UTF-16 code units
# (one str character per unit, lone surrogates included), as JavaScript strings are.
_TWEMOJI = re.compile(_TWEMOJI_SOURCE)
# Every BMP code unit the pattern names; a text without one of these and without an astral
# character holds no twemoji match.
_TWEMOJI_UNITS = frozenset(
    chr(code) for first, last in re.findall(r"\\u([0-9a-f]{4})(?:-\\u([0-9a-f]{4}))?",
                                          _TWEMOJI_SOURCE)
    for code in range(int(first, 16), int(last or first, 16) + 1)
    if not 0xD800 <= code <= 0xDFFF) | {ch for ch in _TWEMOJI_SOURCE if ord(ch) > 0x7F}
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def _maybe_emoji(text: str) -> bool:
    return (not _EMOJI_CODE_POINTS.isdisjoint(text) or not _TWEMOJI_UNITS.isdisjoint(text)
            or _ASTRAL.search(text) is not None)


def reference_js_length(text: str) -> int:
    """`text`'s weight as npm twitter-text 3.1.0's `parseTweet` counts it (twemoji-parser
    11.0.2's emoji list): its loop over UTF-16 code units, a URL 23, a twemoji match 2, any
    other unit by the configured ranges (the low unit of a surrogate pair: 2)."""
    normalized = unicodedata.normalize("NFC", text)
    chars = _utf16_units(normalized)
    urls = dict(_js_unit_spans(chars))
    emoji = {m.start(): m.end() for m in _TWEMOJI.finditer(chars)}
    total, at = 0, 0
    while at < len(chars):
        if at in urls:
            total += URL_WEIGHT
            at = urls[at]
        elif at in emoji:
            total += _DEFAULT_WEIGHT
            at = emoji[at]
        else:
            if ("\ud800" <= chars[at] <= "\udbff" and at + 1 < len(chars)
                    and "\udc00" <= chars[at + 1] <= "\udfff"):
                at += 1  # a surrogate pair weighs as its low unit does
            total += code_point_weight(chars[at])
            at += 1
    return total


def find_urls(text: str) -> list[tuple[int, int]]:
    """Spans `(start, end)` of what X counts as URLs in `text`, as indices into `text`."""
    return [(e["indices"][0], e["indices"][1]) for e in _url_entities(text)]


def has_link(text: str) -> bool:
    """Whether X counts a link in `text`: one that twitter-text-parser or npm twitter-text 3.1.0
    finds, from the same single pass the weighting makes (_url_spans)."""
    parser_spans, js_spans = _url_spans(text)
    return bool(parser_spans or js_spans)


def find_js_urls(text: str) -> list[tuple[int, int]]:
    """Spans `(start, end)`, as code point indices into `text`, of the URLs npm twitter-text
    3.1.0's `extractUrlsWithIndices` finds (src/extractUrlsWithIndices.js): twitter-text-parser's
    regular expressions and loop (the same extractUrl, validUrlPrecedingChars,
    invalidUrlWithoutProtocolPrecedingChars /[-_.\\/]$/ and, for a URL without a scheme, its
    ASCII-only domains by validAsciiDomain), but with the JavaScript's `isValidUrl`.

    That check is where the two differ. twitter-text-parser runs a domain through Python's
    IDNA 2003 codec (nameprep, the bidi rule, Unicode 3.2's list of assigned code points), which
    refuses a domain mixing Arabic and Latin ("مرحباx.com") or holding an emoji
    ("👍🏽t.co"); the URL is then dropped whole, its ASCII-only domain ("x.com") with it. The
    JavaScript's src/lib/idna.js only checks that each label's punycode form is 1-63 characters
    (and that a domain starting "xn--" holds an ASCII domain), so it keeps the ASCII-only
    domain as a link: X counts 23 for it. The regular expressions also run as JavaScript's do:
    over UTF-16 code units, and with its case-insensitive matching (_js_unit_spans).
    """
    units = _utf16_units(text)
    if len(units) == len(text):
        return _js_unit_spans(units)
    code_point = [0] * (len(units) + 1)  # unit index -> index of the code point it is in
    at = 0
    for i, ch in enumerate(text):
        code_point[at] = i
        if ord(ch) > 0xFFFF:
            code_point[at + 1] = i
            at += 2
        else:
            at += 1
    code_point[at] = len(text)
    return [(code_point[s], code_point[e]) for s, e in _js_unit_spans(units)]


def _utf16_units(text: str) -> str:
    """`text` as JavaScript holds it: one character per UTF-16 code unit."""
    return _ASTRAL.sub(lambda m: _surrogates(m[0]), text)


def _surrogates(ch: str) -> str:
    code = ord(ch) - 0x10000
    return chr(0xD800 + (code >> 10)) + chr(0xDC00 + (code & 0x3FF))


def _js_unit_spans(units: str) -> list[tuple[int, int]]:
    """find_js_urls over `units` (_utf16_units), in code unit indices: the regular expressions
    see what JavaScript's do (a surrogate is a character of its own, as without the "u" flag)."""
    if not _MAYBE_URL.search(units):
        return []
    # Python's case-insensitive matching takes the _JS_CASE characters for ASCII letters;
    # JavaScript's (ECMA-262 Canonicalize, no "u" flag) never maps a non-ASCII character to an
    # ASCII one. Stand-ins of the same length, in the same character classes, match as it does.
    matched = units.translate(_JS_CASE) if _PYTHON_ONLY_CASE.search(units) else units
    return _scan(matched, units, parser=False)[1]


# Cached, as tuples no caller can change: the splitter measures the same candidate text again,
# and an import's cost estimate (has_link) scans every planned post the splitter just measured.
@functools.lru_cache(maxsize=8192)
def _url_spans(text: str) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
    """The URL spans twitter-text-parser finds in `text` and those npm twitter-text 3.1.0
    finds; from one pass of their shared loop where they differ only in isValidUrl."""
    if not _MAYBE_URL.search(text):
        return (), ()
    if _ASTRAL.search(text) or _PYTHON_ONLY_CASE.search(text):
        return tuple(_scan(text, text, parser=True)[0]), tuple(find_js_urls(text))
    parser_spans, js_spans = _scan(text, text, parser=True)
    return tuple(parser_spans), tuple(js_spans)


# Code points that Python's re.IGNORECASE matches with [a-z] (re's documentation, "IGNORECASE"),
# and stand-ins with no case mapping in the same ranges of twitter-text's classes (U+0138 is
# in latinAccentChars as U+0130, U+0131 and U+017F are; U+2129 is, as U+212A, in none).
_JS_CASE = str.maketrans({"\u0130": "\u0138", "\u0131": "\u0138", "\u017f": "\u0138",
                          "\u212a": "\u2129"})
_PYTHON_ONLY_CASE = re.compile("[\u0130\u0131\u017f\u212a]")


def _scan(text: str, original: str, *, parser: bool,
          ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """_url_spans over `text`, a same-length copy of `original`, whose own characters the
    validity checks see."""
    parser_spans: list[tuple[int, int]] = []
    js_spans: list[tuple[int, int]] = []
    for match in _EXTRACT_URL.finditer(text):
        _, before, url, protocol, domain, _, path, _ = match.groups()
        end = match.end()
        start = end - len(url)
        targets = []
        if parser and _parser_is_valid_url(url, protocol or "https://", domain):
            targets.append(parser_spans)
        if _js_is_valid_url(original[start:end], protocol or "https://",
                            original[match.start(5):match.end(5)], domain):
            targets.append(js_spans)
        if not targets:
            continue
        if protocol is None:
            if _INVALID_URL_WITHOUT_PROTOCOL_PRECEDING_CHARS.search(before):
                continue
            found = [(start + m.start(), start + m.end())
                     for m in _VALID_ASCII_DOMAIN.finditer(domain)]
            if not found:
                continue
            if path:  # the last ASCII-only domain takes the path and query with it
                found[-1] = (found[-1][0], end)
        else:
            tco = _VALID_TCO_URL.search(url)
            if tco:
                if tco.group(1) and len(tco.group(1)) > 40:  # MAX_TCO_SLUG_LENGTH
                    continue
                end = start + len(tco.group(0))
            found = [(start, end)]
        for spans in targets:
            spans.extend(found)
    return parser_spans, js_spans


_extract_urls_module = importlib.import_module("twitter_text.extract_urls")
_EXTRACT_URL = _extract_urls_module.extract_url
_VALID_ASCII_DOMAIN = _extract_urls_module.valid_ascii_domain
_VALID_TCO_URL = _extract_urls_module.valid_tco_url
_INVALID_URL_WITHOUT_PROTOCOL_PRECEDING_CHARS = (
    _extract_urls_module.invalid_url_without_protocol_preceding_chars)
_parser_is_valid_url = _extract_urls_module.is_valid_url
# punycode.js (Node's built-in `punycode`, which twitter-text's idna.js requires) encodes a
# label holding anything outside U+0000-U+007E, and splits labels at these separators.
_PUNYCODE_SEPARATORS = re.compile("[.\u3002\uff0e\uff61]")
_SURROGATE = re.compile("[\\ud800-\\udfff]")
_PUNYCODE_ENCODED = re.compile("[^\\x00-\\x7e]")  # punycode.js regexNonASCII
_MAX_LABEL = 63  # MAX_DOMAIN_LABEL_LENGTH


def _js_is_valid_url(url: str, protocol: str, domain: str, matched_domain: str) -> bool:
    """twitter-text 3.1.0's isValidUrl with its src/lib/idna.js toAscii, which returns the
    domain unchanged when every label's punycode form is 1-63 characters: so the length limit
    is on the URL as written, in UTF-16 code units (JavaScript's String length).
    `matched_domain` is `domain` as the regular expressions see it (_JS_CASE)."""
    if domain[:4] == "xn--" and not _VALID_ASCII_DOMAIN.search(matched_domain):
        return False
    for label in domain.split("."):
        # A punycode form is never shorter than its label in code points (at most two units
        # each): a long label fails unencoded, so hostile text costs no quadratic encoding.
        if not label or len(label) > 2 * _MAX_LABEL:
            return False
        if _PUNYCODE_ENCODED.search(label):
            if _punycode_length(label) > _MAX_LABEL:
                return False
        elif len(label) > _MAX_LABEL:
            return False
    return len(protocol) + len(url) <= 4096  # MAX_URL_LENGTH, in code units


@functools.lru_cache(maxsize=4096)  # the splitter measures the same words over and over
def _punycode_length(label: str) -> int:
    """The length of punycode.js's toASCII(`label`), a label of at most 126 UTF-16 code units
    (punycode.js pairs surrogates into code points, as decoding them does)."""
    if _SURROGATE.search(label):
        label = label.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    parts = _PUNYCODE_SEPARATORS.split(label)
    return len(parts) - 1 + sum(4 + len(part.encode("punycode"))
                                if _PUNYCODE_ENCODED.search(part) else len(part)
                                for part in parts)


def _url_entities(text: str) -> list[dict]:
    if not _MAYBE_URL.search(text):
        return []
    return _twitter_text.extract_urls_with_indices(text)


def code_point_weight(ch: str) -> int:
    """What one code point counts on its own, outside any URL or emoji sequence (1 or 2)."""
    return 2 if _HEAVY.match(ch) else 1
