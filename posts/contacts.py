"""Contact details in a fact sheet: which lines are contact lines, and what they hold.

A contact line is a label with or without details ("Follow us", "Phone: +964 750 123 4567"),
or details with few other words ("press@jtf-meridian.mil", "www.jtf-meridian.mil"). A label
opening a sentence of the body ("Online: families can now ...") does not make a contact line,
and a line whose details sit among many other words is text unless it is part of a contact
footer (posts.factsheet reads a footer as a whole). `classify_line` says why where a line was a
close call, for `preview` to show.

Phone numbers are found by their context and shape, not by a numbering plan: international
("+964 750 123 4567") or grouped ("318-555-0142"), national with its trunk "0" ("07701234567",
"0770-1234567"), or any 3-15 digits right after a phone label ("Hotline: 911", "واتساب: …").
A numbering-plan library (libphonenumber) would need the office's region, which the config
does not name, and would reject exactly the short codes and foreign-plan numbers that a
label marks as the office's own.

Lines are read through NFKC (`_folded`), so full-width forms typed with an East Asian input
method or pasted from such a document ("＋９６４ ７５０ １２３ ４５６７", "press＠example.mil")
are found like their ASCII, and listed in it; the post text itself is never changed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from posts.weight import find_urls
from posts.words import Words, words


@dataclass(frozen=True)
class ContactAccount:
    platform: Literal["x", "facebook"]
    handle: str


@dataclass(frozen=True)
class Contacts:
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    accounts: tuple[ContactAccount, ...] = ()


# --- contact lines ----------------------------------------------------------------------------

# A list item ("- ...", "1. ..."), as posts.factsheet reads them, and closing punctuation.
_LIST_ITEM = re.compile(r"(?:[-*•‣◦▪–]|\d{1,3}[.)])\s+\S")
_CLOSING = "\"')]}”’»"

# Labels that make a line a contact line whatever follows them, in English and in Arabic as
# Arabic press releases write them ("للمزيد من المعلومات يرجى التواصل مع ...": for more
# information please contact ...; a leading "و", "and", may join the first word). Arabic is
# written with and without hamza on alif ("الالكتروني"), so both spellings are listed.
_STRONG_LABEL = re.compile(
    r"(?:follow us|find us|connect with us|contact us|call us|e-?mail us|write to us"
    r"|please contact|media (?:contacts?|inquiries|enquiries|queries|desk)"
    r"|for (?:media|press|more|further) (?:inquiries|enquiries|queries|information|details)"
    r"|press (?:contacts?|office|desk|inquiries|enquiries)|public affairs contact"
    r"|و?(?:تابعونا|تابعوا|تواصلوا معنا|تواصل معنا|للتواصل|اتصلوا بنا|اتصل بنا|للاتصال"
    r"|للاستفسارات|للاستفسار|لل?مزيد من (?:المعلومات|التفاصيل|الاستفسارات)"
    r"|(?:يرجى|الرجاء|يمكنكم|بإمكانكم) (?:التواصل|الاتصال|مراسلة|زيارة)"
    r"|(?:معلومات|بيانات|جهات|أرقام|ارقام) (?:الاتصال|التواصل)|المكتب الإعلامي|المكتب الاعلامي"
    r"|(?:الاستفسارات|استفسارات) (?:الإعلامية|الاعلامية|وسائل الإعلام|وسائل الاعلام)))"
    r"(?=$|[\s:：,،|])", re.IGNORECASE)
# Labels that do only when followed by ":" or nothing, or when the line holds contact details.
_WEAK_LABEL = re.compile(
    r"(?:contacts?|e-?mail|phone|tel(?:ephone)?|fax|mobile|cell(?:phone)?|hotline|helpline"
    r"|whatsapp|viber|switchboard|emergenc(?:y|ies)|web(?:site)?|online|twitter|x|facebook"
    r"|social media"
    r"|و?(?:ال)?(?:بريد (?:ال)?(?:إلكتروني|الكتروني)|ايميل|إيميل|هاتف|جوال|موبايل|نقال|فاكس"
    r"|رقم (?:ال)?(?:هاتف|جوال|طوارئ)|خط الساخن|طوارئ|موقع (?:ال)?(?:إلكتروني|الكتروني|رسمي)|موقع"
    r"|فيسبوك|فيس بوك|إكس|اكس|تويتر|واتساب|إنستغرام|انستغرام|يوتيوب|تيليغرام|تلغرام"
    r"|حساباتنا|حسابنا|(?:منصات|وسائل|مواقع) التواصل الاجتماعي))"
    r"(?=$|[\s:：,،|])", re.IGNORECASE)
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A phone number: 7-15 digits, starting with "+" or "(", or in at least three groups
# ("+1 (555) 010-4477", "0750 123 4567"); not a year range like "2024-2026".
# Also a number in national format, as offices write their own ("07701234567", "0770-1234567",
# "0770 1234567", in Arabic-Indic digits too, which `\d` matches): the trunk prefix "0" and
# 9-15 digits in one or two groups, a shape body figures ("1,250", "2024-2026") never take.
_PHONE = re.compile(
    r"(?<![\w/.])(?:[+(]\(?\d[\d ()\-–]{5,}\d|\d+(?:[ \-–]\d+){2,}"
    r"|[0٠۰]\d{8,14}|[0٠۰]\d{1,4}[ \-–]\d{5,10})(?![\w/]|\.\w)")
# A number right after a phone label ("Phone: 07701234567", "Hotline: 911", "هاتف: ٠٧٧٠…",
# "…على الرقم ٠٧٧٠١٢٣٤٥٦٧") is a phone number whatever its shape, short codes included: the
# label, not the digits, says what it is. The label is followed by ":" or the number ends the
# line, so "Mobile 120 units were deployed" holds none.
_PHONE_WORDS = (
    r"(?:phone|tel(?:ephone)?|mobile|cell(?:phone)?|fax|hotline|helpline|whatsapp|viber|sms"
    r"|switchboard|emergenc(?:y|ies)|toll-?free|free ?phone|call(?: us)?"
    r"|و?(?:ال)?(?:هاتف|جوال|موبايل|نقال|فاكس|خط الساخن|واتساب|طوارئ)"
    r"|و?رقم (?:ال)?(?:هاتف|جوال|واتساب|طوارئ)|(?:على |ب)?الرقم"
    r"|و?اتصل(?:وا)?(?: بنا)?(?: على)?)")
# Up to three words may come between the label and its ":" ("Phone line for families: 104",
# "هاتف المكتب الإعلامي: 104"); "." separates groups too after a label ("0770.123.4567").
_LABELLED_NUMBER = r"[+(]?\d(?:[ ().\-–]{0,2}\d)*"
_PHONE_LABEL = re.compile(rf"{_PHONE_WORDS}\.?(?=$|[\s:：])", re.IGNORECASE)
_LABELLED_PHONE = re.compile(
    rf"(?<!\w){_PHONE_WORDS}\.?(?:(?:\s+[^\W\d_]+\.?){{0,3}}\s*[:：]\s*({_LABELLED_NUMBER})(?!\w)"
    rf"|\s+({_LABELLED_NUMBER})\s*$)", re.IGNORECASE)
#: Digits in a phone number: short codes ("911", "104") only after a phone label.
_PHONE_DIGITS = range(7, 16)
_LABELLED_PHONE_DIGITS = range(3, 16)
_HANDLE = re.compile(r"(?<![\w@])@(\w{1,50})")
_DIGIT = re.compile(r"\d")
_WORD = re.compile(r"[^\W\d_]+")
#: Contact lines are short; longer lines are text, whatever they hold.
MAX_CONTACT_LINE_CHARS = 300
#: A line starting with a contact phrase but holding no contact details is a contact line only
#: up to this length.
_SHORT_LABEL_LINE_CHARS = 80
#: Words besides contact details (and a label) that a contact line may have: "Public Affairs
#: Office: press@...", not "Read the full report at www.example.mil".
_CONTACT_LINE_WORDS = 3


ContactKind = Literal["label", "label-only", "details"]
#: Why a line with contact details among other words is text on its own (and a contact line
#: inside a footer). The parser tells these reasons from the others by `among_other_words`,
#: by their wording's identity, never by what a page shows (that is said in the reader's
#: language).
DETAILS_AMONG_WORDS = words("holds a phone number or e-mail address among other words")
LABEL_AMONG_WORDS = words("holds a contact phrase among many other words")
_AMONG_WORDS = frozenset({DETAILS_AMONG_WORDS.text, LABEL_AMONG_WORDS.text})


def among_other_words(why: Words | None) -> bool:
    """Whether `why` (from `classify_line`) says the line's contact details sit among other
    words."""
    return why is not None and why.text in _AMONG_WORDS


def contact_kind(line: str) -> ContactKind | None:
    """Whether `line` is a contact line: a label with or without details, or details alone."""
    return classify_line(line)[0]


def classify_line(line: str) -> tuple[ContactKind | None, Words | None]:
    """`contact_kind`, and why, where the line was a close call (None otherwise). A "why" for
    which `among_other_words` holds marks a line whose contact details sit among other words:
    text on its own, a contact line inside a contact footer."""
    if len(line) > MAX_CONTACT_LINE_CHARS:
        return None, None
    line = _folded(line)
    strong = _STRONG_LABEL.match(line)
    weak = None if strong else _WEAK_LABEL.match(line)
    label = strong or weak
    rest = line[label.end():] if label else line
    rest_text = rest.strip(" :：-–—|,،.")
    if label and not rest_text:
        return "label-only", None
    spans = _detail_spans(rest, label.group() if label else "")
    word_count = len(_WORD.findall(_cut(rest, spans)))
    if weak and rest.lstrip().startswith((":", "：")):
        if spans and word_count <= 2 * _CONTACT_LINE_WORDS:
            return "label", None
        # "Online: families can now track ...", "Phone: the support line now answers ...":
        # a label opening a sentence of the body.
        if spans:
            return None, words("starts like a contact line (%(label)s) but reads as a sentence",
                               label=repr(label.group()))
        return None, words("starts like a contact line (%(label)s) but holds no contact "
                           "details", label=repr(label.group()))
    if strong and (spans or len(line) <= _SHORT_LABEL_LINE_CHARS):
        return "label", None  # not "For more information about the patrols, the report ..."
    if strong:
        # A long "Please contact the Public Affairs Office of ..." line: text on its own, the
        # opening line of a footer when contact lines follow it.
        return None, LABEL_AMONG_WORDS
    if not spans:
        return None, None
    if _LIST_ITEM.match(line) and not label:
        return None, None  # a list item with a link or a number is part of the list
    if word_count <= _CONTACT_LINE_WORDS * (2 if weak else 1) and not (
            word_count >= 2 and not label and line.rstrip(_CLOSING)[-1:] in ".!?؟"):
        # "See the report (https://...)." is a sentence of the body, not a footer line.
        return "details", None
    phones = _phone_spans(rest, label.group() if label else "")
    if any(_EMAIL.fullmatch(rest[s:e]) or (s, e) in phones for s, e in spans):
        return None, DETAILS_AMONG_WORDS
    return None, None


def _folded(line: str) -> str:
    """`line` in NFKC: full-width letters, digits, "＋", "＠" and "＃" as their ASCII."""
    return line if line.isascii() else unicodedata.normalize("NFKC", line)


def _detail_spans(line: str, label: str = "") -> list[tuple[int, int]]:
    """Spans of the contact details in `line`, which followed `label` (cut off by the caller)."""
    spans = [m.span() for m in _EMAIL.finditer(line)]
    spans += [s for s in find_urls(line) if not _overlaps(s, spans)]
    spans += [m.span() for m in _HANDLE.finditer(line) if not _overlaps(m.span(), spans)]
    spans += [s for s in _phone_spans(line, label) if not _overlaps(s, spans)]
    return sorted(spans)


def _phone_spans(line: str, label: str = "") -> list[tuple[int, int]]:
    """Spans of the phone numbers in `line`, left to right; `label` as in `_detail_spans`."""
    if label and _PHONE_LABEL.fullmatch(label.strip()):
        line = label + line  # "Hotline" cut off ": 911": read them together, spans in `line`
        shift = len(label)
    else:
        shift = 0
    spans: list[tuple[int, int]] = []
    for m in _LABELLED_PHONE.finditer(line):
        group = 1 if m.group(1) is not None else 2
        if len(_DIGIT.findall(m.group(group))) in _LABELLED_PHONE_DIGITS:
            spans.append(m.span(group))
    spans += [m.span() for m in _PHONE.finditer(line)
              if len(_DIGIT.findall(m.group())) in _PHONE_DIGITS
              and not _overlaps(m.span(), spans)]
    return sorted((s - shift, e - shift) for s, e in spans if s >= shift)


def _overlaps(span: tuple[int, int], spans: Iterable[tuple[int, int]]) -> bool:
    return any(span[0] < e and s < span[1] for s, e in spans)


def _cut(line: str, spans: list[tuple[int, int]]) -> str:
    parts, at = [], 0
    for s, e in spans:
        parts.append(line[at:s])
        at = e
    parts.append(line[at:])
    return " ".join(parts)


# --- contacts ---------------------------------------------------------------------------------

_X_ACCOUNT = re.compile(
    r"(?:https?://)?(?:www\.|mobile\.|m\.)?(?:twitter|x)\.com/@?(\w{1,15})(?![\w.])", re.I)
_FACEBOOK_ACCOUNT = re.compile(
    r"(?:https?://)?(?:www\.|m\.|web\.)?(?:facebook|fb)\.com/(?:pages/)?"
    r"(?:profile\.php\?id=(\d+)|([\w.\-]*\w))", re.I)
_X_RESERVED = frozenset({"home", "i", "intent", "share", "search", "hashtag", "explore"})
_FACEBOOK_WORDS = re.compile(r"facebook|فيسبوك|فيس بوك", re.I)
_X_WORDS = re.compile(r"twitter|تويتر|إكس|(?<![\w.])x(?![\w.])", re.I)


def extract_contacts(lines: Iterable[str]) -> Contacts:
    """E-mail addresses, phone numbers, web addresses and X/Facebook accounts in `lines`."""
    emails: dict[str, None] = {}
    phones: dict[str, None] = {}
    urls: dict[str, None] = {}
    accounts: dict[ContactAccount, None] = {}
    for line in map(_folded, lines):
        taken: list[tuple[int, int]] = []
        for m in _EMAIL.finditer(line):
            emails[m.group()] = None
            taken.append(m.span())
        for start, end in find_urls(line):
            if _overlaps((start, end), taken):
                continue
            taken.append((start, end))
            account = _account(line[start:end])
            if account:
                accounts[account] = None
            else:
                urls[line[start:end]] = None
        for m in _HANDLE.finditer(line):
            if _overlaps(m.span(), taken):
                continue
            taken.append(m.span())
            facebook = _FACEBOOK_WORDS.search(line) and not _X_WORDS.search(line)
            accounts[ContactAccount("facebook" if facebook else "x", m.group(1))] = None
        for start, end in _phone_spans(line):
            if not _overlaps((start, end), taken):
                phones[line[start:end].strip()] = None
    return Contacts(tuple(emails), tuple(phones), tuple(urls), tuple(accounts))


def _account(url: str) -> ContactAccount | None:
    x = _X_ACCOUNT.fullmatch(url.rstrip("/"))
    if x and x.group(1).lower() not in _X_RESERVED:
        return ContactAccount("x", x.group(1))
    fb = _FACEBOOK_ACCOUNT.fullmatch(url.rstrip("/"))
    if fb:
        return ContactAccount("facebook", fb.group(1) or fb.group(2))
    return None
