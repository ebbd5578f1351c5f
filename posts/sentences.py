"""Sentence segmentation for English and Arabic fact sheets.

sentencex does the segmentation; on top of it, these boundaries are undone:

- those not at breaking whitespace: sentencex splits `3.5.Next`, and at a no-break space
  (`Berth No.\u00a05`), which binds what is on either side;
- a full stop followed by a word in lower case: no English sentence starts in lower case
  (`up to 14 hrs. at a time`, `the Govt. said`);
- a full stop followed by a digit on the same line (`14 hrs. 12 more`, `Mon. 12 January`,
  `alt. 3,000 ft`, `ص.ب. 1234`), whatever the word before it: English style guides have no
  sentence open with a numeral (AP Stylebook, "numerals"; Chicago Manual of Style 9.5: "spell
  out a number beginning a sentence"), so the full stop belongs to an abbreviation;
- titles and ranks, English or Arabic, before the name they qualify (`Dr. Smith`, `Lt. Col.
  Smith`, `Ops. Officer Smith`, `Eng. Ahmed Ali`, `د. أحمد`, `ل. علي`), military unit
  abbreviations before the unit's name (`2 Bn. The Rifles`, `3 Sqn. RAF Regiment`), exercise
  and operation names (`Ex. Eager Lion`) and ship prefixes (`Mv. Ocean Star`), and a day of the
  week before a month (`Mon. Jan. 12`);
- a time of day before what qualifies it (`8 a.m. Monday`, `5 p.m. GMT`) unless that reads as
  the start of a sentence (`at 5 p.m. The minister left.`);
- an Arabic abbreviation of one letter (or several, `ص.ب.`) before an Arabic word
  (`الساعة 8 ص. يوميا`): Arabic has no capitals to mark a sentence start, and no Arabic word
  of one letter stands alone; an era after a year (`1445 هـ.`, `2024 م.`) still ends one;
- an Arabic unit after a number before an Arabic word (`12 كم. من الطريق`, `٥ كم. من الساحل`)
  unless that word opens a sentence (`12 كم. وسيكتمل العمل`, `12 كم. من جهته قال`).

Neither sentencex (1.0.32) nor pysbd (0.3.4, last released 2021) handles these: both split
"8 a.m. Monday", "2 Bn. The Rifles" and "الساعة 8 ص. يوميا". So the lists below add to it; each
names its source.

The sentences returned, concatenated, give back the input exactly.
"""

from __future__ import annotations

import functools
import re

import sentencex

# Abbreviations that are followed by what they qualify, never by a new sentence in a fact sheet:
# titles and ranks, and Latin short forms.
_ALWAYS_JOIN = frozenset({
    "gen.", "lt.", "col.", "maj.", "capt.", "cpt.", "sgt.", "cpl.", "pvt.", "spc.", "adm.",
    "brig.", "cmdr.", "cdr.", "gov.", "sen.", "rep.", "prof.", "pres.", "hon.", "rev.", "amb.",
    "dr.", "mr.", "mrs.", "ms.", "st.", "mt.", "ft.", "approx.", "e.g.", "i.e.", "cf.", "vs.",
    "viz.", "ca.", "lt.col.", "lt.gen.", "maj.gen.", "brig.gen.", "rt.",
})
# Military ranks and appointments as the AP Stylebook abbreviates them before a name ("military
# titles": Pfc., Staff Sgt., Sgt. Maj., Ens., Lt. Cmdr., Rear Adm., ...), with the British and
# Commonwealth forms (Pte., LCpl., Cdre., Wg. Cdr., Sqn. Ldr., Flt. Lt., WO1), police ranks
# (Insp., Supt., Det., Ch. Supt., Cst.), councillors (Cllr.) and office titles (H.E., Dep.,
# Asst., Dir., Cmdt.); and unit abbreviations, which precede the unit's name ("2 Bn. The
# Rifles", "3 Sqn. RAF Regiment", "A Coy. 1 Bn."): the UK MOD's Defence Writing Guide (JSP
# 101) and US Army FM 1-02.1 list them (there without the full stop, which many offices add).
# "Ops." precedes a role ("Ops. Officer Smith").
_MILITARY = frozenset({
    "pfc.", "pte.", "lcpl.", "l/cpl.", "ssgt.", "sfc.", "msgt.", "1sgt.", "cwo.", "wo.",
    "ens.", "lcdr.", "lt.cdr.", "lt.cmdr.", "cdre.", "radm.", "vadm.", "sgt.maj.", "wg.cdr.",
    "sqn.ldr.", "flt.lt.", "gp.capt.", "comdr.", "cmdt.", "insp.", "supt.", "det.", "h.e.",
    "h.h.", "h.r.h.", "dep.", "asst.", "dir.", "midn.", "wg.", "gp.", "ldr.", "wo1.", "wo2.",
    "ch.", "cst.", "cllr.",
    "bn.", "btn.", "sqn.", "sqdn.", "coy.", "regt.", "bde.", "div.", "flt.", "plt.", "pl.",
    "tp.", "bty.", "btry.", "cdo.", "ops.",
})
# Titles, exercise and operation names and ship prefixes, before the name they qualify:
# - "Eng." (engineer) is the English form of the Arabic title م. (مهندس) below, which offices in
#   the region carry into English ("Eng. Ahmed Ali");
# - "Ex." and "Op." (Exercise, Operation) precede the name in the UK MOD's Defence Writing Guide
#   (JSP 101) and are among Unicode CLDR's English sentence-break suppressions
#   (common/segments/en.xml, used by ICU);
# - ship prefixes (MV, MT, MS, SS, FV, RV, HMS, USS, USNS, USCGC, RFA, HMAS, HMCS, HMNZS), as
#   Wikipedia's "Ship prefix" lists them, written with a full stop ("Mv. Ocean Star").
_NAME_PREFIXES = frozenset({
    "eng.", "engr.", "ex.", "exs.", "op.",
    "mv.", "m.v.", "mt.", "m.t.", "ms.", "m.s.", "ss.", "s.s.", "fv.", "f.v.", "rv.", "r.v.",
    "hms.", "h.m.s.", "uss.", "u.s.s.", "usns.", "uscgc.", "rfa.", "hmas.", "hmcs.", "hmnzs.",
})
# A day of the week before the month ("Mon. Jan. 12", "Thurs. June 4"), as AP and Chicago
# abbreviate them in datelines and tables; before a digit the general rule already joins.
_DAYS = frozenset({
    "mon.", "tue.", "tues.", "wed.", "weds.", "thu.", "thur.", "thurs.", "fri.", "sat.", "sun.",
})
_MONTHS = frozenset({
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "jan.", "feb.", "mar.", "apr.", "jun.", "jul.", "aug.",
    "sep.", "sept.", "oct.", "nov.", "dec.",
})
# Arabic titles and ranks, written as a letter and a full stop before a name: Dr. (دكتور),
# Mr./Prof. (أستاذ), Prof. Dr., Eng. (مهندس), Maj. Gen. (لواء), Brig. (عميد), Col. (عقيد),
# Maj. (رائد), Capt. (نقيب).
_ARABIC_TITLES = frozenset({"د.", "أ.", "أ.د.", "م.", "ل.", "ع.", "ر.", "ن."})
# An Arabic abbreviation: one or two letters (a tatweel may follow) and a full stop, repeated
# ("د.", "هـ.", "ص.ب.", "ق.م.").
# Arabic units of measure of more than one letter, with a full stop, after a number: the short
# forms in Unicode CLDR's Arabic unit names (common/main/ar.xml: كم، سم، مم، كغ، ...) and their
# common variants (كلم، ملم، كجم، جم، غم، مل). One letter (م. for metres) is joined already.
_ARABIC_UNITS = frozenset({
    "كم.", "كلم.", "سم.", "مم.", "ملم.", "كغ.", "كجم.", "كلغ.", "جم.", "غم.", "مل.", "لتر.",
    "كم/س.", "كم/ساعة.", "ميل.", "قدم.", "هكتار.", "دونم.",
})
# What opens a sentence in Arabic news prose, which has no capitals: the conjunctions و and ف
# prefixed to the first word ("وسيكتمل", "فقد"), a few connectives and reporting verbs, and
# phrases that open with a preposition ("من جهته", "من المتوقع").
_ARABIC_OPENERS = frozenset({
    "ثم", "كما", "لكن", "لكنه", "لكنها", "إن", "إنه", "إنها", "أما", "بينما", "قال", "قالت",
    "أكد", "أكدت", "أضاف", "أضافت", "هذا", "هذه", "يذكر", "تجدر", "كان", "كانت",
})
_ARABIC_OPENING_PHRASES = frozenset({
    ("من", "جهته"), ("من", "جهتها"), ("من", "جانبه"), ("من", "جانبها"), ("من", "المتوقع"),
    ("من", "المقرر"), ("من", "المنتظر"), ("من", "ناحية"), ("في", "المقابل"), ("في", "حين"),
    ("على", "صعيد"),
})
# Words that start with و or ف and do not carry the conjunction.
_NOT_CONJUNCTION = frozenset({"في", "فوق", "فقط", "وفق", "وفقا", "وفقاً", "وسط"})
_NUMBER = re.compile(r"[0-9٠-٩۰-۹][0-9٠-٩۰-۹.,٫٬]*")
# Number words that stand for a number before a unit ("3 آلاف كم.").
_ARABIC_NUMBER_WORDS = frozenset({"ألف", "آلاف", "الف", "الاف", "مليون", "ملايين", "مئة", "مائة"})
_LINE_BREAKS = "\n\r\v\f\x85\u2028\u2029"
_NO_BREAK = "\u00a0\u2007\u202f"
# Country and organisation initials are usually adjectives ("U.S. Army"): joined unless what
# follows starts like a sentence.
# A time of day is followed by what qualifies it ("8 a.m. Monday through Friday", "5 p.m. GMT",
# "9 a.m. Baghdad time"); Unicode CLDR's sentence-break suppressions for English
# (common/segments/en.xml, used by ICU) list "a.m." and "p.m." as never ending a sentence.
_JOIN_UNLESS_SENTENCE_START = frozenset({
    "u.s.", "u.k.", "u.n.", "u.s.a.", "e.u.", "u.a.e.", "a.m.", "p.m.",
})
# Arabic eras after a year (AH, AD): "بدأ العمل عام 1445 هـ. وقد" ends a sentence there.
_ARABIC_ERAS = frozenset({"هـ.", "ه.", "م."})
_YEAR = re.compile(r"[0-9٠-٩]{3,4}")
_ARABIC_LETTERS_ABBREVIATION = re.compile("[\u0621-\u064a]\u0640?\\.(?:[\u0621-\u064a]"
                                          "\u0640?\\.)*")
_SENTENCE_STARTS = frozenset({
    "a", "all", "also", "an", "and", "as", "at", "because", "before", "both", "but", "by",
    "during", "each", "every", "for", "from", "he", "her", "here", "his", "how", "however", "i",
    "if", "in", "it", "its", "it's", "many", "meanwhile", "more", "most", "no", "not", "of", "on",
    "our", "since", "so", "some", "that", "the", "their", "there", "these", "they", "this",
    "those", "to", "today", "tomorrow", "until", "we", "what", "when", "where", "which", "while",
    "who", "why", "with", "yesterday", "you", "your",
})
_INITIAL = re.compile(r"[A-Z]\.")
_WHITESPACE = re.compile(r"\s+")
_AFTER_SENTENCE_END = re.compile(r"[.!?؟。…]\s+")
#: Text longer than this is segmented block by block.
_BLOCK_CHARS = 5000
_TAIL_CHARS = 200
_OPENING_PUNCTUATION = "([{\"'“‘«"
_ARABIC_LETTER = re.compile(
    "[\u0620-\u064a\u066e-\u06d3\u06d5\u06ee\u06ef\u06fa-\u06fc\u06ff"
    "\u0750-\u077f\u08a0-\u08c9\ufb50-\ufdfb\ufe70-\ufefc]")


@functools.lru_cache(maxsize=256)  # each section is split once per account, in the same language
def detect_language(text: str) -> str:
    """"ar" when Arabic letters are the majority of the letters in `text`, else "en"."""
    arabic = len(_ARABIC_LETTER.findall(text))
    if not arabic:
        # Counting the letters one by one costs seven times the search: an English sheet
        # (a whole 1 MB one, for an import's language warnings) need not.
        return "en"
    letters = sum(map(str.isalpha, text))
    return "ar" if arabic * 2 > letters else "en"


def sentences(text: str, language: str | None = None) -> list[str]:
    """Split `text` into sentences; `"".join(sentences(text)) == text`.

    Each sentence keeps the whitespace that follows it. `language` is "en" or "ar"; detected
    from the text when None. Whitespace-only input gives one "sentence" (or none, if empty).
    """
    if not text:
        return []
    language = language or detect_language(text)
    # Each sentence is kept as its parts, and only its last words are looked at: text where
    # every boundary is undone ("alt. 3 alt. 3 ...") stays linear, not quadratic.
    joined: list[list[str]] = []
    blank = True  # whether the sentence being built is whitespace only
    for block in _blocks(text):
        for n, part in enumerate(_segment(block, language)):
            if joined and (n == 0 or blank or not part.strip()
                           or _continues(_tail(joined[-1]), part)):
                joined[-1].append(part)
            else:
                joined.append([part])
                blank = True
            blank = blank and not part.strip()
    return ["".join(parts) for parts in joined]


def _tail(parts: list[str]) -> str:
    """The end of a sentence built from `parts`: at least its last _TAIL_CHARS characters,
    enough for the last two words that decide a boundary (longer words only by their end)."""
    tail: list[str] = []
    size = 0
    for part in reversed(parts):
        tail.append(part)
        size += len(part)
        if size >= _TAIL_CHARS:
            break
    return "".join(reversed(tail))[-_TAIL_CHARS:]


def _segment(text: str, language: str) -> list[str]:
    if not _WHITESPACE.search(text.strip()):
        return [text]  # only boundaries at whitespace count, and sentencex is slow without any
    parts = [p for p in sentencex.segment(language, text) if p]
    if "".join(parts) != text:  # sentencex promises this; do not depend on it
        return [text]
    return parts


def _blocks(text: str) -> list[str]:
    """Cut long text, at whitespace, into blocks that sentencex segments in reasonable time.

    sentencex takes quadratic time on long runs of CJK text; a block boundary is never taken for
    a sentence boundary (it may hide one, which only makes a longer "sentence")."""
    blocks, start = [], 0
    while len(text) - start > _BLOCK_CHARS:
        end = start + _BLOCK_CHARS
        cut = _AFTER_SENTENCE_END.search(text, start + _BLOCK_CHARS // 2, end)
        cut_at = cut.end() if cut else _last_whitespace_end(text, start, end)
        if cut_at is None:  # no whitespace at all: go on to the next
            space = _WHITESPACE.search(text, end)
            if space is None:
                break
            cut_at = space.end()
        blocks.append(text[start:cut_at])
        start = cut_at
    blocks.append(text[start:])
    return blocks


def _last_whitespace_end(text: str, start: int, end: int) -> int | None:
    found = None
    for m in _WHITESPACE.finditer(text, start + 1, end):
        found = m.end()
    return found


def _continues(before: str, after: str) -> bool:
    """Whether the boundary between `before` and `after` is not really a sentence boundary."""
    gap = before[len(before.rstrip()):] + after[:len(after) - len(after.lstrip())]
    if not gap or all(ch in _NO_BREAK for ch in gap):
        return True  # no whitespace, or only no-break spaces, which bind
    words_before = before.split()
    last = words_before[-1].lstrip(_OPENING_PUNCTUATION)
    following = after.split()[0].lstrip(_OPENING_PUNCTUATION)
    key = last.casefold()
    if last.endswith(".") and following[:1].isdecimal() and not _has_line_break(gap):
        return True  # "Mon. 12 January", "alt. 3,000 ft": no sentence opens with a numeral
    if key in _ARABIC_ERAS and len(words_before) > 1 and _YEAR.fullmatch(words_before[-2]):
        return False  # "عام 1445 هـ. وقد ...": the era closes the sentence
    if _is_title(key):
        return True
    if key in _DAYS and following.rstrip(",").casefold() in _MONTHS:
        return True  # "Mon. Jan. 12"
    if (_ARABIC_LETTERS_ABBREVIATION.fullmatch(last)
            and _ARABIC_LETTER.match(following)):
        return True  # "الساعة 8 ص. يوميا": one letter and a dot is an abbreviation
    if (last in _ARABIC_UNITS and len(words_before) > 1
            and (_NUMBER.fullmatch(words_before[-2]) or words_before[-2] in _ARABIC_NUMBER_WORDS)
            and _ARABIC_LETTER.match(following)):
        return not _opens_arabic_sentence(after.split()[:2])  # "12 كم. من الطريق"
    if last.endswith(".") and following[:1].islower():
        return True  # "up to 14 hrs. at a time": no sentence starts in lower case
    if _INITIAL.fullmatch(last):
        return not _starts_sentence(following)
    if key in _JOIN_UNLESS_SENTENCE_START:
        return not _starts_sentence(following)
    return False


def _is_title(key: str) -> bool:
    """Whether `key` (case-folded, ending in ".") is a title, rank, unit or prefix that precedes
    a name; a compound rank is judged by its last part ("lt.-col.", "sub-lt.", "maj.-gen.")."""
    key = key.rsplit("-", 1)[-1]
    return (key in _ALWAYS_JOIN or key in _MILITARY or key in _ARABIC_TITLES
            or key in _NAME_PREFIXES)


def _has_line_break(gap: str) -> bool:
    # A numbered line ("2. Load the vessel") after a full stop starts anew.
    return any(ch in _LINE_BREAKS for ch in gap)


def _opens_arabic_sentence(words: list[str]) -> bool:
    """Whether Arabic text starting with `words` (its first one or two) opens a sentence."""
    words = [w.lstrip(_OPENING_PUNCTUATION).rstrip("،,:؛.") for w in words]
    first = words[0]
    if first in _ARABIC_OPENERS or tuple(words[:2]) in _ARABIC_OPENING_PHRASES:
        return True
    return first[:1] in "وف" and len(first) > 2 and first not in _NOT_CONJUNCTION


def _starts_sentence(word: str) -> bool:
    return word.strip(".,;:!?\"'”’)").casefold() in _SENTENCE_STARTS
