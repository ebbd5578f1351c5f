"""English/Arabic pairs: which English post goes out together with which Arabic post.

The rule, kept as simple as correct allows:

1. Sections are matched by position: the English sheet's n-th section with the Arabic sheet's
   n-th. Both sheets must have the same number of sections.
2. Within a matched section, snippets are matched by index when both sides split into the same
   number of snippets (part i with part i of the thread).
3. When the counts differ (Arabic often needs more X posts than English), the two sections are
   paired as a unit: only their first snippets are linked, so the two threads start together
   and each then continues as an ordinary thread.
"""

from __future__ import annotations

from collections.abc import Sequence

from posts.errors import FactpostError
from posts.factsheet import FactSheet
from posts.sentences import detect_language

#: A pair key: (section index, snippet index) shared by the two posts of one pair.
PairKey = tuple[int, int]


class PairingError(FactpostError):
    """Two versions of a fact sheet cannot be paired; the message says why and what to do."""


def check_sections(english: FactSheet, arabic: FactSheet) -> None:
    """Raise PairingError unless the two sheets can be matched section by section."""
    if len(english.sections) != len(arabic.sections):
        raise PairingError(
            f"the English version has {len(english.sections)} sections and the Arabic "
            f"{len(arabic.sections)}; sections are paired by position, so give both versions "
            "the same sections in the same order")


def pair_keys(english_counts: Sequence[int], arabic_counts: Sequence[int]
              ) -> tuple[list[list[PairKey | None]], list[list[PairKey | None]]]:
    """Per section, per snippet, the pair key of each side (None: not paired).

    `*_counts[i]` is how many snippets section i split into on that side.
    """
    if len(english_counts) != len(arabic_counts):
        raise PairingError("both versions must have the same number of sections")
    en_keys: list[list[PairKey | None]] = []
    ar_keys: list[list[PairKey | None]] = []
    for i, (n_en, n_ar) in enumerate(zip(english_counts, arabic_counts, strict=True)):
        if n_en == 0 or n_ar == 0:  # nothing to post on one side: nothing to pair
            en_keys.append([None] * n_en)
            ar_keys.append([None] * n_ar)
        elif n_en == n_ar:
            en_keys.append([(i, j) for j in range(n_en)])
            ar_keys.append([(i, j) for j in range(n_ar)])
        else:  # a unit: the threads start together
            en_keys.append([(i, 0) if j == 0 else None for j in range(n_en)])
            ar_keys.append([(i, 0) if j == 0 else None for j in range(n_ar)])
    return en_keys, ar_keys


def split_bilingual(sheet: FactSheet) -> tuple[FactSheet, FactSheet]:
    """One sheet holding both versions -> (English, Arabic), by each section's language.

    The title goes to the side whose language it is written in; contacts go to both.
    """
    languages = [detect_language(f"{s.heading or ''}\n{s.text}") for s in sheet.sections]
    english = [s for s, lang in zip(sheet.sections, languages, strict=True) if lang == "en"]
    arabic = [s for s, lang in zip(sheet.sections, languages, strict=True) if lang == "ar"]
    if not english or not arabic:
        raise PairingError("the file does not hold both an English and an Arabic version; "
                           "give the two versions as two files with --pair")
    title_ar = sheet.title is not None and detect_language(sheet.title) == "ar"
    return (FactSheet(title=None if title_ar else sheet.title, sections=tuple(english),
                      contacts=sheet.contacts),
            FactSheet(title=sheet.title if title_ar else None, sections=tuple(arabic),
                      contacts=sheet.contacts))
