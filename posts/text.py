"""Canonical text: what every other step of the pipeline may assume about its input.

`canonicalise` is applied to everything before it is parsed, weighted or stored, so that the
same document always gives the same bytes. `decode_document` turns a file's bytes into canonical
text, or says in one line what is wrong with the file and what to do about it.

    DocumentError (a FactpostError)
     ├── EmptyDocument     zero bytes
     ├── BinaryDocument    NUL bytes, mostly control characters, or a known binary format
     ├── NotUtf8           neither UTF-8 nor UTF-16 with a byte-order mark
     ├── NoUsableText      nothing but whitespace and punctuation
     └── UnreadableDocument  a PDF, DOCX or HTML file that is damaged, encrypted or not what
                           its name says (raised by posts.formats)
"""

from __future__ import annotations

import codecs
import re
import unicodedata

from posts.errors import FactpostError
from posts.words import Words, words

# C0 and C1 control characters, less \t and \n (handled separately), plus U+FEFF (byte-order
# mark / zero-width no-break space), the noncharacters U+FFFE and U+FFFF, and U+00AD (soft
# hyphen: a place where a word *may* break, invisible unless it does; PDF and Word text carry
# them mid-word, where they would only hide the word from search). Direction marks (U+200E,
# U+200F, U+061C, U+202A-U+202E, U+2066-U+2069) are format characters, not controls, and stay:
# Arabic text needs them.
_DROPPED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\ufeff\ufffe\uffff]")

# Compatibility characters that stand for plain letters: typographic ligatures (U+FB00-U+FB06
# "ﬀ ﬁ ﬂ ﬃ ﬄ ﬅ ﬆ", which InDesign, LaTeX and Word PDFs carry; pypdf returns them as they are,
# https://github.com/py-pdf/pypdf/issues/2046), the Armenian and Hebrew presentation forms of
# the same block (U+FB13-U+FB4F), the Latin digraph letters (Ĳ ĳ Ŀ ŀ ŉ ſ, U+01C4-U+01CC
# "Ǆ ǅ ǆ Ǉ ǈ ǉ Ǌ ǋ ǌ", U+01F1-U+01F3), and Arabic presentation forms (U+FB50-U+FDFF,
# U+FE70-U+FEFE: the shaped glyphs PDF extraction gives for Arabic letters). Text pasted from a
# PDF carries them too, so every input is folded, not only PDFs. Only these are folded: NFKC
# would also change full-width forms, superscripts, fractions and symbols that are meant.
_COMPATIBILITY = re.compile(
    "[\ufb00-\ufb4f\u0132\u0133\u013f\u0140\u0149\u017f\u01c4-\u01cc\u01f1-\u01f3"
    "\ufb50-\ufdff\ufe70-\ufefe]+")

# Control characters that do not occur in text files (all but \t \n \v \f \r).
_BINARY_CONTROLS = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_NOT_CONTROL_BYTES = bytes(b for b in range(256) if not _BINARY_CONTROLS.match(chr(b)) or b > 0x7F)

#: Share of control characters above which decoded bytes are taken for a binary file.
_BINARY_SHARE = 0.10

# Formats people export fact sheets to by mistake, by their leading bytes.
_SIGNATURES: tuple[tuple[bytes, Words], ...] = (
    (b"%PDF-", words("a PDF file")),
    (b"PK\x03\x04", words("a ZIP archive (a .docx, .xlsx or .odt is one)")),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", words("an old Microsoft Office file (.doc)")),
    (b"{\\rtf", words("an RTF file")),
    (b"\x89PNG", words("a PNG image")),
    (b"\xff\xd8\xff", words("a JPEG image")),
    (b"GIF8", words("a GIF image")),
)


def canonicalise(text: str) -> str:
    """NFC, `\\n` line ends, tabs as spaces, no control characters or byte-order marks.

    Idempotent: `canonicalise(canonicalise(t)) == canonicalise(t)`.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    text = _DROPPED.sub("", text)
    text = fold_compatibility(text)
    # NFC last: dropping a control character can bring a base and a combining mark together.
    return unicodedata.normalize("NFC", text)


#: No-break spaces: no line, sentence or post may be cut at them ("1\u202f250\u202f000",
#: "Berth No.\u00a05"). U+2060 WORD JOINER is not a space but binds the same way.
NO_BREAK_SPACES = "\u00a0\u2007\u202f"
_BREAKING_SPACE = re.compile(f"[^\\S{NO_BREAK_SPACES}]+")


def fold_spaces(text: str) -> str:
    """Each run of breaking whitespace as one space, none at the ends; no-break spaces kept.
    (`" ".join(text.split())` would turn no-break spaces into breaking ones.)"""
    return _BREAKING_SPACE.sub(" ", text).strip()


def split_words(text: str) -> list[str]:
    """`text.split()`, but never at a no-break space."""
    return [w for w in _BREAKING_SPACE.split(text) if w]


def fold_compatibility(text: str) -> str:
    """Ligatures and other compatibility letters as the plain letters they show ("ﬁ" -> "fi",
    "ﻻ" -> "لا"); every other character as it is."""
    return _COMPATIBILITY.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)


class DocumentError(FactpostError):
    """A file cannot be read as a fact sheet; the message names it and says what to do."""


class EmptyDocument(DocumentError):
    pass


class BinaryDocument(DocumentError):
    pass


def empty_document(name: str) -> EmptyDocument:
    """The error for a file `name` of zero bytes, whatever its format."""
    return EmptyDocument(words(
        "%(name)s: the file is empty; check that you picked the right file", name=name))


class NotUtf8(DocumentError):
    pass


class NoUsableText(DocumentError):
    pass


class UnreadableDocument(DocumentError):
    pass


def normalise_presentation_forms(text: str) -> str:
    """Arabic presentation forms (and the other compatibility letters `fold_compatibility`
    folds) as the ordinary letters they show ("ﻻ" -> "لا")."""
    return fold_compatibility(text)


def decode_document(data: bytes, name: str) -> str:
    """Decode a fact sheet file's bytes to canonical text.

    Accepts UTF-8 (with or without a byte-order mark) and UTF-16 with a byte-order mark.
    Raises a `DocumentError` subclass with a one-line message naming `name`.
    """
    name = " ".join(name.split()) or "(unnamed)"
    if not data:
        raise empty_document(name)
    for signature, what in _SIGNATURES:
        if data.startswith(signature):
            raise BinaryDocument(words(
                "%(name)s: this is %(what)s, not plain text; export the fact sheet as plain "
                "text (.txt, UTF-8)", name=name, what=what))
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise NotUtf8(words(
            "%(name)s: the file is UTF-32 encoded; save it as UTF-8 and try again", name=name))
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = _decode(data, "utf-16", name)
    else:
        if b"\x00" in data:
            raise BinaryDocument(words(
                "%(name)s: contains NUL bytes, so it is a binary file (or UTF-16 without a "
                "byte-order mark); export the fact sheet as plain text (.txt, UTF-8)",
                name=name))
        controls = len(data.translate(None, _NOT_CONTROL_BYTES))
        if controls > _BINARY_SHARE * len(data):
            raise BinaryDocument(words(
                "%(name)s: %(controls)s of %(total)s bytes are control bytes, so this is not a "
                "text document; export the fact sheet as plain text (.txt, UTF-8)",
                name=name, controls=controls, total=len(data)))
        text = _decode(data, "utf-8-sig", name)
    controls = len(_BINARY_CONTROLS.findall(text))
    if controls > _BINARY_SHARE * len(text):
        raise BinaryDocument(words(
            "%(name)s: %(controls)s of %(total)s characters are control characters, so this is "
            "not a text document; export the fact sheet as plain text (.txt, UTF-8)",
            name=name, controls=controls, total=len(text)))
    text = canonicalise(text)
    if not any(unicodedata.category(ch)[0] in "LN" for ch in text):
        raise NoUsableText(words(
            "%(name)s: contains no letters or digits (only whitespace or punctuation); check "
            "that you picked the right file", name=name))
    return text


def _decode(data: bytes, encoding: str, name: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        label = "UTF-16" if encoding == "utf-16" else "UTF-8"
        raise NotUtf8(words(
            "%(name)s: not valid %(encoding)s (bad bytes %(bytes)s at offset %(offset)s); save "
            "the file as UTF-8 and try again", name=name, encoding=label,
            bytes=data[exc.start:exc.end].hex(" "), offset=exc.start)) from None
