"""Canonical text, and turning a fact sheet file's bytes into it."""

from __future__ import annotations

import codecs

import pytest

from posts.errors import FactpostError
from posts.text import (
    BinaryDocument,
    DocumentError,
    EmptyDocument,
    NotUtf8,
    NoUsableText,
    canonicalise,
    decode_document,
    normalise_presentation_forms,
)

ARABIC = "مهمتنا: حماية الممرات البحرية؟ نعم، دائماً؛ وبلا توقف."


# --- canonicalise ---------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "canonical"), [
    ("cafe\u0301", "café"),                             # NFC
    ("one\r\ntwo\rthree\n", "one\ntwo\nthree\n"),       # line ends
    ("\ufeffstart", "start"),                           # byte-order mark
    ("a\ufffeb\uffffc", "abc"),                         # noncharacters
    ("a\x00b\x07c\x1bd\x7fe\x85f\x9fg", "abcdefg"),     # C0 and C1 controls
    ("a\x0bb\x0cc", "abc"),                             # vertical tab, form feed
    ("col1\tcol2", "col1 col2"),                        # tab becomes a space
    ("e\x00\u0301", "é"),                               # composed once the control is gone
])
def test_canonicalise(raw, canonical):
    assert canonicalise(raw) == canonical


@pytest.mark.parametrize("mark", ["\u200e", "\u200f", "\u061c", "\u202b", "\u202c", "\u2067",
                                  "\u2069", "\u200d"])
def test_direction_marks_and_joiners_are_kept(mark):
    assert canonicalise(f"{ARABIC}{mark}JTF") == f"{ARABIC}{mark}JTF"


@pytest.mark.parametrize("text", [
    ARABIC, "故人西辞黄鹤楼", "👨‍👩‍👧‍👦 🙋🏽", "plain text\n\nparagraph"])
def test_canonical_text_is_left_alone(text):
    assert canonicalise(text) == text


def test_canonicalise_is_idempotent():
    messy = "\ufeffe\u0301\r\n\t\x00x\u0301\r"
    assert canonicalise(canonicalise(messy)) == canonicalise(messy)


# --- decode_document ------------------------------------------------------------------------

def test_utf8_with_or_without_byte_order_mark():
    text = "OUR MISSION\r\nWe keep the sea lanes open. " + ARABIC
    expected = canonicalise(text)
    assert decode_document(text.encode("utf-8"), "sheet.txt") == expected
    assert decode_document(codecs.BOM_UTF8 + text.encode("utf-8"), "sheet.txt") == expected


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_byte_order_mark(encoding):
    text = "OUR MISSION\n" + ARABIC
    data = text.encode(encoding)
    if encoding != "utf-16":  # the plain codec writes its own byte-order mark
        data = (codecs.BOM_UTF16_LE if encoding.endswith("le") else codecs.BOM_UTF16_BE) + data
    assert decode_document(data, "sheet.txt") == text


def test_utf16_without_byte_order_mark_is_refused():
    with pytest.raises(BinaryDocument, match="UTF-16 without a byte-order mark"):
        decode_document("OUR MISSION".encode("utf-16-le"), "sheet.txt")


@pytest.mark.parametrize(("data", "error", "message"), [
    (b"", EmptyDocument, "sheet.txt: the file is empty"),
    (b"%PDF-1.7\n%\xe2\xe3", BinaryDocument, "sheet.txt: this is a PDF file"),
    (b"PK\x03\x04\x14\x00\x06\x00", BinaryDocument, "a .docx"),
    (bytes(range(1, 32)) * 10, BinaryDocument, "control bytes"),
    ("Caf\u00e9 au lait".encode("cp1252"), NotUtf8, "bad bytes e9 at offset 3"),
    ("مهمتنا".encode("cp1256"), NotUtf8, "save the file as UTF-8"),
    (codecs.BOM_UTF32_LE + "x".encode("utf-32-le"), NotUtf8, "UTF-32"),
    (codecs.BOM_UTF16_LE + b"\x00\xd8", NotUtf8, "not valid UTF-16"),
    (b"  \n\n --- ... !!! \t", NoUsableText, "no letters or digits"),
    (codecs.BOM_UTF8 + b"\r\n\x00", BinaryDocument, "NUL"),
])
def test_unreadable_files_get_a_specific_error(data, error, message):
    with pytest.raises(error, match=message) as caught:
        decode_document(data, "sheet.txt")
    # One base for every error factpost shows to people (scheduler/errors.py).
    assert isinstance(caught.value, DocumentError) and isinstance(caught.value, FactpostError)
    text = str(caught.value)
    assert text.startswith("sheet.txt: ") and "\n" not in text
    assert ";" in text  # problem; what to do


def test_the_error_message_stays_on_one_line_whatever_the_name():
    with pytest.raises(EmptyDocument) as caught:
        decode_document(b"", "odd\nname.txt")
    assert str(caught.value).startswith("odd name.txt: ")


def test_mostly_control_characters_after_decoding_is_binary():
    with pytest.raises(BinaryDocument, match="control characters"):
        decode_document(("\x85\x86\x87\x88" * 20 + "text").encode("utf-8"), "sheet.txt")


def test_a_few_stray_control_characters_are_dropped_not_refused():
    data = b"OUR MISSION\x07\nWe help\x0c."
    assert decode_document(data, "sheet.txt") == "OUR MISSION\nWe help."


# --- Arabic presentation forms (what PDF text extraction often gives) ------------------------

@pytest.mark.parametrize(("shaped", "letters"), [
    ("\ufee3\ufeec\ufee4\ufe98\ufee8\ufe8e", "مهمتنا"),  # initial, medial, final forms
    ("\ufefb", "لا"),                                      # lam-alef ligature: two letters
    ("\ufdf2", "الله"),                                    # a word ligature (Forms-A)
    ("\ufe8d\ufedf\ufecc\ufeae\ufe91\ufef4\ufe94", "العربية"),
])
def test_presentation_forms_become_ordinary_arabic_letters(shaped, letters):
    assert normalise_presentation_forms(f"({shaped}) 2024") == f"({letters}) 2024"


def test_only_compatibility_letters_are_folded():
    # NFKC would change all of these; they are symbols meant as they are, so they stay.
    untouched = "\uff11\uff12 \u00b2 \u00bd \u2122 \u2460 \u3000 \u2103 café"
    assert normalise_presentation_forms(untouched) == untouched
    assert canonicalise(untouched) == untouched
    assert normalise_presentation_forms(ARABIC) == ARABIC


# --- ligatures and other compatibility letters (case 01: PDF text, pasted text) -------------

@pytest.mark.parametrize(("raw", "plain"), [
    ("Oﬃcial ﬁgures", "Official figures"),            # U+FB03, U+FB01
    ("Aﬀairs Staﬀ ﬂeet ﬄuent", "Affairs Staff fleet ffluent"),  # U+FB00, U+FB02, U+FB04
    ("\ufb05 and \ufb06", "st and st"),                 # long-s t and st ligatures
    ("\u0132sselmeer \u0133s", "IJsselmeer ijs"),       # Dutch IJ digraph letters
    ("\u01c4 \u01c5 \u01c6 \u01c7 \u01c8 \u01c9 \u01ca \u01cb \u01cc \u01f1 \u01f2 \u01f3",
     "DŽ Dž dž LJ Lj lj NJ Nj nj DZ Dz dz"),
    ("\u013fa \u0140a", "L·a l·a"),                    # Catalan middle-dot L
    ("\u0149 \u017fea", "ʼn sea"),                      # ŉ, long s
    ("\ufb13\ufb14", "մնմե"),                          # Armenian ligatures
    ("ﬁ\u0301", "fí"),                                 # a mark lands on its last letter
])
def test_ligatures_and_compatibility_letters_become_plain_letters(raw, plain):
    assert canonicalise(raw) == plain
    assert canonicalise(plain) == plain


def test_soft_hyphens_are_dropped_everywhere():
    assert canonicalise("counter\u00admeasure") == "countermeasure"
