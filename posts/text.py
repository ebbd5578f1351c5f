"""Canonical text: what every other step of the pipeline may assume about its input.

`canonicalise` is applied to everything before it is parsed, weighted or stored, so that the
same document always gives the same bytes. `decode_document` turns a file's bytes into canonical
text, or says in one line what is wrong with the file and what to do about it.

    DocumentError (ValueError)
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

# C0 and C1 control characters, less \t and \n (handled separately), plus U+FEFF (byte-order
# mark / zero-width no-break space) and the noncharacters U+FFFE and U+FFFF. Direction marks
# (U+200E, U+200F, U+061C, U+202A-U+202E, U+2066-U+2069) are format characters, not controls,
# and stay: Arabic text needs them.
_DROPPED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff\ufffe\uffff]")

# Control characters that do not occur in text files (all but \t \n \v \f \r).
_BINARY_CONTROLS = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_NOT_CONTROL_BYTES = bytes(b for b in range(256) if not _BINARY_CONTROLS.match(chr(b)) or b > 0x7F)

#: Share of control characters above which decoded bytes are taken for a binary file.
_BINARY_SHARE = 0.10

# Formats people export fact sheets to by mistake, by their leading bytes.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "a PDF file"),
    (b"PK\x03\x04", "a ZIP archive (a .docx, .xlsx or .odt is one)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Microsoft Office file (.doc)"),
    (b"{\\rtf", "an RTF file"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
)

_FIX_TEXT = "export the fact sheet as plain text (.txt, UTF-8)"


def canonicalise(text: str) -> str:
    """NFC, `\\n` line ends, tabs as spaces, no control characters or byte-order marks.

    Idempotent: `canonicalise(canonicalise(t)) == canonicalise(t)`.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    text = _DROPPED.sub("", text)
    # NFC last: dropping a control character can bring a base and a combining mark together.
    return unicodedata.normalize("NFC", text)


class DocumentError(ValueError):
    """A file cannot be read as a fact sheet; the message names it and says what to do."""


class EmptyDocument(DocumentError):
    pass


class BinaryDocument(DocumentError):
    pass


class NotUtf8(DocumentError):
    pass


class NoUsableText(DocumentError):
    pass


class UnreadableDocument(DocumentError):
    pass


# Arabic Presentation Forms-A and -B: the shaped glyphs (initial, medial, final, ligatures)
# that PDF text extraction often returns instead of letters. Only these ranges are folded, so
# that NFKC does not touch anything else (full-width digits, superscripts, ...).
_PRESENTATION_FORMS = re.compile("[\ufb50-\ufdff\ufe70-\ufeff]+")


def normalise_presentation_forms(text: str) -> str:
    """Arabic presentation forms as the ordinary letters they show ("ﻻ" -> "لا")."""
    return _PRESENTATION_FORMS.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)


def decode_document(data: bytes, name: str) -> str:
    """Decode a fact sheet file's bytes to canonical text.

    Accepts UTF-8 (with or without a byte-order mark) and UTF-16 with a byte-order mark.
    Raises a `DocumentError` subclass with a one-line message naming `name`.
    """
    name = " ".join(name.split()) or "(unnamed)"
    if not data:
        raise EmptyDocument(f"{name}: the file is empty; check that you picked the right file")
    for signature, what in _SIGNATURES:
        if data.startswith(signature):
            raise BinaryDocument(f"{name}: this is {what}, not plain text; {_FIX_TEXT}")
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise NotUtf8(f"{name}: the file is UTF-32 encoded; save it as UTF-8 and try again")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = _decode(data, "utf-16", name)
    else:
        if b"\x00" in data:
            raise BinaryDocument(
                f"{name}: contains NUL bytes, so it is a binary file (or UTF-16 without a "
                f"byte-order mark); {_FIX_TEXT}")
        controls = len(data.translate(None, _NOT_CONTROL_BYTES))
        if controls > _BINARY_SHARE * len(data):
            raise BinaryDocument(
                f"{name}: {controls} of {len(data)} bytes are control bytes, so this is not a "
                f"text document; {_FIX_TEXT}")
        text = _decode(data, "utf-8-sig", name)
    controls = len(_BINARY_CONTROLS.findall(text))
    if controls > _BINARY_SHARE * len(text):
        raise BinaryDocument(
            f"{name}: {controls} of {len(text)} characters are control characters, so this is "
            f"not a text document; {_FIX_TEXT}")
    text = canonicalise(text)
    if not any(unicodedata.category(ch)[0] in "LN" for ch in text):
        raise NoUsableText(
            f"{name}: contains no letters or digits (only whitespace or punctuation); check "
            "that you picked the right file")
    return text


def _decode(data: bytes, encoding: str, name: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        label = "UTF-16" if encoding == "utf-16" else "UTF-8"
        raise NotUtf8(
            f"{name}: not valid {label} (bad bytes {data[exc.start:exc.end].hex(' ')} at offset "
            f"{exc.start}); save the file as UTF-8 and try again") from None
