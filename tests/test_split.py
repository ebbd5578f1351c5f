"""Splitting sections into X posts and threads, and Facebook posts."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from importlib import resources
from pathlib import Path

import pytest
import sentencex
from determinism import across_hash_seeds
from platform_rules import rules, split_for_facebook, split_for_x

from posts import sentences as sentences_module
from posts.factsheet import Section, parse_factsheet
from posts.sentences import detect_language, sentences
from posts.split import (
    Snippet,
    TextRules,
    collapse_whitespace,
    reassemble,
    split_section,
    strip_decorations,
)
from posts.weight import MAX_WEIGHTED_LENGTH, find_urls, weighted_length

# A sentence of 152 characters: one fits in a post, two together do not.
LONG = ("The patrol ships of the task force escorted merchant vessels through the northern "
        "approaches of the strait during the night without any incident at all.")


def sample(name: str = "factsheet.txt") -> str:
    return resources.files("posts").joinpath("samples", name).read_text("utf-8")


def section_of(heading: str | None, *paragraphs: str) -> Section:
    return Section(heading, paragraphs)


def assert_fits(snippets: list[Snippet], limit: int = MAX_WEIGHTED_LENGTH) -> None:
    for n, s in enumerate(snippets, 1):
        assert s.weighted_length == weighted_length(s.text) <= limit
        assert (s.thread_position, s.thread_size) == (n, len(snippets))


# --- single posts and threads ---------------------------------------------------------------

def test_a_short_section_is_one_post_that_starts_with_its_heading():
    section = section_of("OUR MISSION", "We keep the sea lanes open.")
    [snippet] = split_for_x(section)
    assert snippet == Snippet("OUR MISSION\n\nWe keep the sea lanes open.", 40, 1, 1)


def test_a_section_without_heading_starts_with_its_text():
    [snippet] = split_for_x(section_of(None, "We keep the sea lanes open."))
    assert snippet.text == "We keep the sea lanes open."


def test_a_long_section_becomes_a_numbered_thread_with_the_heading_first():
    section = section_of("OPERATIONS", LONG, LONG, LONG)
    snippets = split_for_x(section)
    assert_fits(snippets)
    assert [s.text[-4:] for s in snippets] == [" 1/3", " 2/3", " 3/3"]
    assert snippets[0].text.startswith("OPERATIONS\n\nThe patrol ships")
    assert not any(s.text.startswith("OPERATIONS") for s in snippets[1:])
    assert reassemble(snippets, heading="OPERATIONS") == collapse_whitespace(section.text)


def test_whole_sentences_are_packed_greedily_and_never_cut_when_they_fit():
    short = "Patrols run day and night."
    snippets = split_for_x(section_of(None, f"{short} {short} {LONG} {LONG} {short}"))
    assert strip_decorations(snippets) == [f"{short} {short} {LONG}", f"{LONG} {short}"]
    # A paragraph of one sentence is not cut at its commas to top up the post before it.
    sentence = "At dawn, at noon and at night, t" + LONG[1:]
    snippets = split_for_x(section_of(None, LONG, sentence))
    assert strip_decorations(snippets) == [LONG, sentence]
    # Nor is a sentence that fills a post to the last character (276 beside " 1/2").
    full = "Patrol " + "patrol " * 38 + "go."
    assert len(full) == MAX_WEIGHTED_LENGTH - len(" 1/2")
    assert strip_decorations(split_for_x(section_of(None, f"{short} {full}"))) == [short, full]


def test_on_x_a_post_is_topped_up_with_the_first_sentences_of_the_next_paragraph():
    short = "Patrols run day and night."
    snippets = split_for_x(section_of(None, LONG, f"{short} {LONG}"))
    assert strip_decorations(snippets) == [f"{LONG}\n\n{short}", LONG]


def test_the_thread_suffix_width_is_reserved_for_two_digit_counts():
    section = section_of("OPERATIONS", " ".join([LONG] * 12))
    snippets = split_for_x(section)
    assert len(snippets) == 12
    assert_fits(snippets)
    assert snippets[0].text.endswith(" 1/12") and snippets[-1].text.endswith(" 12/12")


def test_a_thread_that_grows_past_nine_is_packed_again_for_the_wider_suffix():
    # A 275-character word fits a post beside " i/N" (4 characters), not beside " ii/NN" (6).
    sentence = "x" * 274 + "."
    nine = split_for_x(section_of(None, " ".join([sentence] * 9)))
    assert strip_decorations(nine) == [sentence] * 9
    ten = split_for_x(section_of(None, " ".join([sentence] * 10)))
    assert_fits(ten)
    assert len(ten) > 10 and ten[-1].text.endswith(f" {len(ten)}/{len(ten)}")
    assert "".join(strip_decorations(ten)).replace(" ", "") == sentence * 10


def test_paragraph_breaks_inside_a_post_stay_and_boundary_whitespace_goes():
    section = section_of("KEY POINTS", "First point.", "Second point.", LONG, LONG)
    snippets = split_for_x(section)
    assert snippets[0].text.startswith("KEY POINTS\n\nFirst point.\n\nSecond point.\n\n")
    for core in strip_decorations(snippets, heading="KEY POINTS"):
        assert core == core.strip()


def test_bullets_stay_on_their_own_lines():
    section = section_of("Key facts:", "- Headquarters: Port Halden\n- Ships: 9 patrol vessels")
    [snippet] = split_for_x(section)
    assert snippet.text == "Key facts:\n\n- Headquarters: Port Halden\n- Ships: 9 patrol vessels"


def test_splitting_gives_the_same_posts_in_processes_with_different_hash_seeds():
    script = ("from pathlib import Path\nfrom platform_rules import rules\n"
              "from posts.factsheet import parse_factsheet\nfrom posts.split import split_section\n"
              "for path in sorted(Path('posts/samples').glob('*.txt')):\n"
              "    for section in parse_factsheet(path.read_text('utf-8')).sections:\n"
              "        for platform in ('x', 'facebook'):\n"
              "            print(repr(split_section(section, rules(platform),\n"
              "                                     hashtags=['#JTFMeridian', 'Aid'])))\n")
    first, second = across_hash_seeds(script)
    assert first == second and first.count("Snippet(") >= 10


# --- sentences ------------------------------------------------------------------------------

@pytest.mark.parametrize("sentence", [
    "The force has approx. 1,250 sailors.", "Approx. 40 vessels sailed.",
    "U.S. Army units lead.", "It acts under Art. 51 of the U.N. Charter.",
    "Gen. Smith and Lt. Col. Reyes spoke.", "Dr. Who and Ms. Jones met St. John.",
    "Patrols, e.g. at night, are planned.", "Ships, i.e. patrol vessels, left.",
    "It began on Jan. 5 at 10 a.m. sharp.", "John F. Kennedy spoke.", "It holds No. 5 now.",
    "The value is 3.5 today.", "Write to press@jtf-meridian.mil today.",
])
def test_abbreviations_numbers_and_addresses_do_not_end_sentences(sentence):
    assert sentences(f"{sentence} Next one here.") == [f"{sentence} ", "Next one here."]


@pytest.mark.parametrize(("text", "expected"), [
    ("The answer was No. It is final.", ["The answer was No. ", "It is final."]),
    ("They live in the U.S. The rest do not.", ["They live in the U.S. ", "The rest do not."]),
    ("We chose Plan B. The others agreed.", ["We chose Plan B. ", "The others agreed."]),
    ("هل تعلم؟ نعم، نحن هنا؛ للمساعدة. وهذا كل شيء.",
     ["هل تعلم؟ ", "نعم، نحن هنا؛ للمساعدة. ", "وهذا كل شيء."]),
])
def test_real_sentence_ends(text, expected):
    assert sentences(text) == expected


def test_language_is_detected_from_the_majority_of_letters():
    assert detect_language("مهمتنا حماية الممرات البحرية JTF") == "ar"
    assert detect_language("Our mission: حماية") == "en"


# English sentence rules end a sentence at "etc. Then"; Arabic ones do not (no capitals).
CARGO = ("Cargo:\nThe convoy carried fuel, water, medicine, tents, blankets, food parcels, "
         "generators, spare parts and tools etc. Then the ships sailed north along the coast to "
         "the harbour of the city, where the crews unloaded all of the cargo over two days and "
         "two nights without any incident at all.")
ESCORT = "رافقت سفن الدوريات السفن التجارية عبر المضيق دون أي حادث يذكر طوال الليل. "


@pytest.mark.parametrize(("heading", "margin", "split"), [
    (None, 1, split_for_x),
    ("القافلة", -2, split_for_x),
    ("القافلة", -2, lambda section, **options: split_for_facebook(section, limit=200, **options)),
], ids=["one Arabic letter more", "the heading tips it", "facebook, by paragraphs"])
def test_a_section_is_split_by_the_language_of_most_of_its_letters_in_every_paragraph(
        heading, margin, split):
    # The body holds `margin` more Arabic letters than Latin ones (a run of one letter sets the
    # balance); the heading's letters count too. The English paragraph, in an Arabic section,
    # is cut by the Arabic rules like the rest.
    arabic = ESCORT * 3
    pad = "ب" * (sum(map(str.isalpha, CARGO)) + margin - sum(map(str.isalpha, arabic)))
    section = Section(heading, (CARGO, arabic + pad))
    assert detect_language(CARGO) == "en" and detect_language(section.text) == (
        "ar" if margin > 0 else "en")
    assert split(section) == split(section, language="ar") != split(section, language="en")


def _sentencex_lengths(monkeypatch) -> list[int]:
    """The length of each text handed to sentencex from now on. sentencex takes quadratic time
    on a long run of text (CJK, or any without sentence ends), so each call must stay short; a
    call past 10,000 characters fails at once instead of running for minutes."""
    lengths: list[int] = []
    real = sentencex.segment

    def spy(language: str, text: str):
        lengths.append(len(text))
        assert len(text) <= 10_000, f"sentencex was handed {len(text):,} characters at once"
        return real(language, text)

    monkeypatch.setattr(sentencex, "segment", spy)
    return lengths


def test_long_unspaced_text_is_segmented_in_short_blocks_and_exactly(monkeypatch):
    text = ("故人西辞黄鹤楼，烟花三月下扬州。" * 20_000 + " The end. ") * 3
    lengths = _sentencex_lengths(monkeypatch)
    parts = sentences(text)
    assert "".join(parts) == text
    # Each character reaches sentencex at most once, in blocks short enough for it (the
    # 320,000-character runs hold no whitespace, so no boundary, and are not handed over).
    assert lengths and sum(lengths) <= len(text)


def _boundary_work(monkeypatch, text: str) -> int:
    """Characters of sentence text looked at to decide boundaries while segmenting `text`."""
    looked_at = 0
    real = sentences_module._continues

    def spy(before: str, after: str) -> bool:
        nonlocal looked_at
        looked_at += len(before) + len(after)
        return real(before, after)

    with monkeypatch.context() as patch:
        patch.setattr(sentences_module, "_continues", spy)
        assert sentences(text) == [text]  # every boundary is undone: one sentence
    return looked_at


@pytest.mark.parametrize("unit", ["up to 14 hrs. at alt. 3 ", "تم إنجاز 12 كم. من "])
def test_text_where_every_boundary_is_undone_is_segmented_in_linear_time(monkeypatch, unit):
    # Twice the text, twice the work: a sentence kept growing and looked at whole at each
    # boundary (as before 3efd441; 300 KB took 34 s) makes it four times the work.
    n = 60_000 // len(unit)
    once, twice = (_boundary_work(monkeypatch, unit * k) for k in (n, 2 * n))
    assert once > 0
    assert twice <= 2.2 * once, f"{once:,} characters looked at, then {twice:,} for twice the text"


# --- where a sentence that is too long is cut -------------------------------------------------

@pytest.mark.parametrize("line", ["", "Escorts:\n"], ids=["alone", "on a line of its own"])
def test_a_sentence_too_long_for_a_post_is_cut_after_a_clause(line):
    clause = "the ships of the task force escorted merchant vessels"
    sentence = ", ".join([clause] * 8) + "."
    snippets = split_for_x(section_of("OPERATIONS", line + sentence))
    assert_fits(snippets)
    assert len(snippets) == 2
    assert strip_decorations(snippets, heading="OPERATIONS")[0].endswith(f"{clause},")
    assert reassemble(snippets, heading="OPERATIONS") == collapse_whitespace(line + sentence)


def test_arabic_clause_marks_are_cut_points():
    clause = "رافقت سفن الدوريات السفن التجارية عبر المضيق"
    sentence = "، ".join([clause] * 8) + "."
    snippets = split_for_x(section_of("عملياتنا", sentence))
    assert_fits(snippets)
    assert len(snippets) > 1
    assert strip_decorations(snippets, heading="عملياتنا")[0].endswith(f"{clause}،")
    assert reassemble(snippets, heading="عملياتنا") == sentence


def test_arabic_question_marks_end_sentences():
    question = "هل تعلم أن الدوريات تعمل على مدار الساعة في المضيق وفي المياه القريبة منه؟"
    answer = "نعم، " + "تعمل الدوريات ليلاً ونهاراً لحماية السفن التجارية " * 4 + "في المنطقة."
    snippets = split_for_x(section_of(None, f"{question} {answer} {question}"))
    assert_fits(snippets)
    cores = strip_decorations(snippets)
    assert cores[0] == f"{question}"  # the answer does not fit after it: cut at the "؟"
    assert reassemble(snippets) == collapse_whitespace(f"{question} {answer} {question}")


def test_no_split_after_abbreviations():
    # Without the guard "The force has approx." would be a sentence short enough to ride along
    # with the first one, leaving "1,250 sailors ..." to the next post.
    body = f"{LONG} The force has approx. 1,250 sailors and {LONG.lower()}"
    snippets = split_for_x(section_of(None, body))
    assert len(snippets) == 2
    assert strip_decorations(snippets)[1].startswith("The force has approx. 1,250 sailors")


@pytest.mark.parametrize("abbreviation", ["U.S.", "Art.", "Gen.", "Dr.", "e.g.", "No.", "Jan."])
def test_no_post_ends_on_an_abbreviation(abbreviation):
    body = f"{LONG} It cites {abbreviation} 51 and {LONG.lower()}"
    cores = strip_decorations(split_for_x(section_of(None, body)))
    assert not any(core.endswith(abbreviation) for core in cores)


@pytest.mark.parametrize("token", [
    "https://www.jtf-meridian.mil/patrol-reports?year=2026", "www.example.mil",
    "centcom.global", "press@jtf-meridian.mil", "@JTFMeridian", "#Meridian2026", "1,250",
    "3.5", "+1-555-010-4477",
])
def test_urls_addresses_mentions_hashtags_and_numbers_are_never_cut(token):
    # One sentence, no punctuation, far over the limit: it must be cut between words, and the
    # token sits at every possible offset from a cut.
    words = [f"w{n}" + "x" * (n % 7) for n in range(150)]
    body = " ".join(w if n % 5 else token for n, w in enumerate(words))
    snippets = split_for_x(section_of(None, body))
    assert_fits(snippets)
    found = sum(s.text.split().count(token) for s in snippets)
    assert found == body.split().count(token)
    assert reassemble(snippets) == body


def test_a_word_longer_than_a_post_is_cut_between_characters_without_loss():
    word = "Meridian" * 100
    snippets = split_for_x(section_of("HUGE", f"Before {word} after."))
    assert_fits(snippets)
    joined = "".join(strip_decorations(snippets, heading="HUGE"))
    assert joined.replace(" ", "") == f"Before{word}after."


def test_a_cut_inside_a_huge_word_keeps_its_urls_whole():
    url = "https://www.jtf-meridian.mil/reports/" + "a" * 60
    word = ",".join([url] * 30)  # one whitespace-free word, far heavier than a post
    snippets = split_for_x(section_of(None, word))
    assert_fits(snippets)
    assert "".join(strip_decorations(snippets)) == word
    for core in strip_decorations(snippets):
        assert all(part in ("", url) for part in core.split(",")), core


# One character as the reader sees it, made of several code points.
SEQUENCES = {
    "family (ZWJ)": "\U0001F468\u200d\U0001F469\u200d\U0001F467",
    "skin tone": "\U0001F44D\U0001F3FD",
    "keycap": "1\ufe0f\u20e3",
    "flag (regional indicators)": "\U0001F1EE\U0001F1F6",
    "subdivision flag (tags)": "\U0001F3F4\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074"
                               "\U000E007F",
    "Arabic letter with shadda and fatha": "\u0628\u064e\u0651",
    "e and a combining acute": "e\u0301",
}


@pytest.mark.parametrize("lead", ["", "x"], ids=["at the start", "after a letter"])
@pytest.mark.parametrize("sequence", SEQUENCES.values(), ids=SEQUENCES.keys())
def test_a_word_longer_than_a_post_is_never_cut_inside_a_character_sequence(sequence, lead):
    # A flag is a pair of regional indicators: which pair a cut falls in is counted from the
    # start of the run, so the run is tried at the start of the word and after a letter.
    word = lead + sequence * 300
    snippets = split_for_x(section_of(None, word))
    assert_fits(snippets)
    cores = strip_decorations(snippets)
    assert len(cores) > 1 and "".join(cores) == word
    for n, core in enumerate(cores):
        assert core.removeprefix(lead if n == 0 else "").replace(sequence, "") == "", core


FLAG, INDICATOR = "\U0001F1EE\U0001F1F6", "\U0001F1EE"


@pytest.mark.parametrize(("before", "flags", "first"), [
    (270, FLAG + FLAG, "a" * 270 + FLAG),  # between two flags
    (272, FLAG + FLAG, "a" * 272 + FLAG),  # not inside the last flag of a run
    (273, FLAG + FLAG, "a" * 273),  # not inside the first
    (270, FLAG + INDICATOR, "a" * 270 + FLAG + INDICATOR),  # after an unpaired indicator
], ids=["between", "last", "first", "unpaired"])
def test_a_word_is_cut_between_whole_flags_wherever_the_post_ends(before, flags, first):
    word = "a" * before + flags + "b" * 300
    snippets = split_for_x(section_of(None, word))
    assert_fits(snippets)
    cores = strip_decorations(snippets)
    assert cores[0] == first and "".join(cores) == word


@pytest.mark.parametrize("binder", ["\u00a0", "\u202f", "\u2007", "\u2060"])
@pytest.mark.parametrize("shift", range(8))
def test_a_word_longer_than_a_post_is_never_cut_beside_a_no_break_space_or_word_joiner(
        binder, shift):
    word = "x" * shift + ",".join([binder.join(["1", "250", "000"])] * 80)
    snippets = split_for_x(section_of(None, word))
    assert_fits(snippets)
    cores = strip_decorations(snippets)
    assert len(cores) > 1 and "".join(cores) == word
    for core in cores:
        assert not core.startswith(binder) and not core.endswith(binder), core


@pytest.mark.parametrize(("before", "link"), [
    (259, "https://example.org/abc"),  # its characters run past the post's 276 of room
    (270, "ab.co"),  # its characters end where the room does; it counts 23
], ids=["running past the post", "ending with the post"])
def test_a_word_longer_than_a_post_is_cut_just_before_a_link_that_would_not_fit(before, link):
    word = "a" * before + "(" + link + ")" + "b" * 300
    snippets = split_for_x(section_of(None, word))
    assert_fits(snippets)
    cores = strip_decorations(snippets)
    assert cores[0] == "a" * before + "("
    assert "".join(cores[1:]) == link + ")" + "b" * 300


def test_a_word_longer_than_a_post_is_cut_just_after_a_link_that_fills_the_post():
    # The link's 29 characters end exactly where the post's 276 characters of room do.
    link = "https://example.org/abcdefghi"
    word = "a" * 246 + "(" + link + ")" + "b" * 300
    snippets = split_for_x(section_of(None, word))
    assert_fits(snippets)
    assert strip_decorations(snippets) == ["a" * 246 + "(" + link, ")" + "b" * 275, "b" * 25]


def test_an_address_longer_than_a_link_can_be_is_cut_like_any_word():
    # X counts no link past 4,096 characters, but the first thousand or so (the window looked
    # at for a cut) look like one: the cut must look further before passing it over.
    word = "x" * 100 + "(https://example.org/" + "a" * 5000 + ")"
    assert find_urls(word) == []
    snippets = split_for_x(section_of(None, f"See {word}"))
    assert_fits(snippets)
    cores = strip_decorations(snippets)
    assert "".join(cores) == f"See {word}"
    assert cores[0].startswith("See " + "x" * 100 + "(https://example.org/aaa")


def test_a_word_whose_link_is_near_the_longest_x_counts_is_measured_and_fits_one_post():
    # 4,278 characters, but the link counts 23: far longer pieces are cut without measuring.
    link = "https://example.org/" + "a" * 4056
    word = "(" + link + ")" + "x" * 200
    assert find_urls(word) == [(1, 4077)]
    [snippet] = split_for_x(section_of(None, word))
    assert snippet.text == word and snippet.weighted_length == 225


@pytest.mark.parametrize(("long_word", "taken"), [
    ("W" * 600, "W" * 20),
    ("(ab.co," * 60, "("),  # then a link, which counts 23
    ("ab.co," * 60, ""),  # it opens with a link: nothing of it fits
], ids=["letters", "one character", "nothing"])
def test_the_room_left_in_a_post_is_topped_up_with_what_fits_of_a_word_too_long_for_any_post(
        long_word, taken):
    # 20 characters of room are left after the words: enough to take part of the long word.
    words = " ".join(["patrol"] * 36) + " sea"  # 255 characters, and a space
    snippets = split_for_x(section_of(None, f"{words} {long_word}"))
    assert_fits(snippets)
    cores = strip_decorations(snippets)
    assert cores[0] == f"{words} {taken}".strip()
    assert "".join(cores[1:]) == long_word.removeprefix(taken)


@pytest.mark.parametrize("lead", range(26))
def test_a_word_of_short_links_is_cut_at_the_longest_start_that_fits(lead):
    # Each "ab.co" counts 23 though it has 5 characters, so the cut is found by measuring; the
    # letters before the links move the post's end across each place a cut can fall.
    word = "w" * lead + "(ab.co," * 60
    snippets = split_for_x(section_of(None, word))
    assert_fits(snippets)
    assert len(snippets) <= 9
    cores = strip_decorations(snippets)
    assert "".join(cores) == word
    # 276 of room beside " 1/N": whole "(ab.co," (25 each), then "(" if one more fits, then
    # its link if 23 more do; never part of a link.
    units, rest = divmod(MAX_WEIGHTED_LENGTH - len(" 9/9") - lead, 25)
    assert cores[0] == ("w" * lead + "(ab.co," * units + "(" * (rest >= 1)
                        + "ab.co" * (rest >= 24))


def test_a_word_heavier_than_a_post_but_short_in_characters_is_cut_as_late_as_it_fits():
    # The sentence leaves too little room; the word, 79 characters that count 277, starts the
    # next post and loses only its last character to a third.
    sentence = " ".join(["patrol"] * 37) + "."
    word = "(ab.co," * 11 + "aa"
    snippets = split_for_x(section_of(None, sentence, word))
    assert_fits(snippets)
    assert strip_decorations(snippets) == [sentence, word[:-1], "a"]


def test_a_link_that_opens_a_word_too_long_for_a_post_stays_whole():
    link = "https://example.org/" + "a" * 400
    word = link + ")" + "b" * 300
    snippets = split_for_x(section_of(None, word))
    assert_fits(snippets)
    cores = strip_decorations(snippets)
    assert "".join(cores) == word
    assert cores[0].startswith(link + ")")


def test_a_word_longer_than_a_post_fills_each_post_where_every_character_counts_one():
    snippets = split_for_facebook(section_of(None, "z" * 2500), limit=1000)
    assert strip_decorations(snippets) == ["z" * 996, "z" * 996, "z" * 508]


def test_a_heading_too_long_to_share_a_post_opens_the_body_instead():
    heading = "WHAT " * 60
    snippets = split_for_x(section_of(heading, "Short text."))
    assert_fits(snippets)
    assert reassemble(snippets) == collapse_whitespace(f"{heading} Short text.")


@pytest.mark.parametrize(("limit", "opens_alone"), [(278, False), (277, True)],
                         ids=["a link fits after it", "one character short"])
def test_a_heading_keeps_its_post_only_where_a_link_would_fit_after_it(limit, opens_alone):
    # 249 characters: beside " i/N", a limit of 278 leaves "\n\n" and a link's 23 after it.
    heading = ("SEA LANES " * 25).strip()
    snippets = split_for_x(section_of(heading, LONG, LONG), limit=limit)
    assert_fits(snippets, limit)
    # Kept, it is topped up with the words that fit; in the body, it is a sentence like any.
    assert strip_decorations(snippets)[0] == (
        heading if opens_alone else f"{heading}\n\nThe patrol ships of the")
    assert reassemble(snippets) == collapse_whitespace(f"{heading} {LONG} {LONG}")


# --- hashtags ---------------------------------------------------------------------------------

def test_hashtags_are_appended_to_a_single_post():
    [snippet] = split_for_x(section_of(None, "Patrols run day and night."),
                            hashtags=["#JTFMeridian", "MaritimeSecurity"])
    assert snippet.text == "Patrols run day and night. #JTFMeridian #MaritimeSecurity"


def test_hashtags_go_on_the_last_post_of_a_thread_only():
    snippets = split_for_x(section_of(None, LONG, LONG), hashtags=["#JTFMeridian"])
    assert snippets[0].text.endswith("at all. 1/2")
    assert snippets[1].text.endswith("at all. #JTFMeridian 2/2")


def test_hashtags_that_do_not_fit_are_left_off_and_never_add_a_post():
    body = "y" * 270 + "."
    without = split_for_x(section_of(None, body))
    with_tags = split_for_x(section_of(None, body), hashtags=["#JTFMeridian"])
    assert with_tags == without
    assert "#" not in with_tags[0].text


def test_hashtags_are_counted_within_the_limit():
    body = "y" * (MAX_WEIGHTED_LENGTH - len(" #JTFMeridian") - 1) + "."
    [snippet] = split_for_x(section_of(None, body), hashtags=["#JTFMeridian"])
    assert snippet.text.endswith(" #JTFMeridian") and snippet.weighted_length == MAX_WEIGHTED_LENGTH


# --- the sample fact sheets -----------------------------------------------------------------

@pytest.mark.parametrize("name", ["factsheet.txt", "factsheet_ar.txt"])
def test_the_sample_sheets_split_within_the_limit_and_lose_nothing(name):
    for section in parse_factsheet(sample(name)).sections:
        snippets = split_section(section, rules("x"), hashtags=["#JTFMeridian"])
        assert_fits(snippets)
        assert snippets[0].text.startswith(f"{section.heading}\n\n")
        assert reassemble(snippets, heading=section.heading, hashtags=["#JTFMeridian"]) == (
            collapse_whitespace(section.text))


def test_the_long_sample_section_is_a_thread_of_three_or_more():
    sheet = parse_factsheet(sample())
    operations = next(s for s in sheet.sections if s.heading == "OPERATIONS")
    snippets = split_for_x(operations)
    assert len(snippets) >= 3
    assert all(re.search(rf" {n}/{len(snippets)}$", s.text) for n, s in enumerate(snippets, 1))


# --- Facebook -------------------------------------------------------------------------------

def test_facebook_gets_the_whole_section_in_one_post():
    section = section_of("OUR MISSION", "First paragraph.", "- one\n- two", LONG)
    [snippet] = split_for_facebook(section)
    assert snippet == Snippet(f"OUR MISSION\n\n{section.text}", len(snippet.text), 1, 1)


def test_facebook_splits_only_past_its_limit_at_paragraph_boundaries():
    paragraphs = [f"Paragraph {n}. " + "word " * 70 for n in range(6)]
    section = section_of("OPERATIONS", *paragraphs)
    assert len(split_for_facebook(section)) == 1
    snippets = split_for_facebook(section, limit=1000)
    assert len(snippets) > 1
    for n, s in enumerate(snippets, 1):
        assert len(s.text) <= 1000 and s.text.endswith(f" {n}/{len(snippets)}")
        assert strip_decorations([s], heading="OPERATIONS")[0].startswith(
            ("OPERATIONS", "Paragraph"))
    assert reassemble(snippets, heading="OPERATIONS") == collapse_whitespace(section.text)


def test_on_facebook_a_paragraph_that_does_not_fit_after_another_starts_the_next_post_whole():
    short = "Patrols run day and night."
    snippets = split_for_facebook(section_of(None, LONG, f"{short} {LONG}"), limit=300)
    assert strip_decorations(snippets) == [LONG, f"{short} {LONG}"]


def test_facebook_limit_is_the_graph_api_one():
    assert rules("facebook").limit == 63_206
    section = section_of(None, "z" * 63_206)
    assert len(split_for_facebook(section)) == 1
    assert len(split_for_facebook(section_of(None, "z" * 63_207))) == 2


# --- dispatch and arguments -------------------------------------------------------------------

def test_the_splitter_takes_a_platforms_text_rules_not_its_name():
    # A platform unknown to factpost's registry, with its own limit, measure and numbering.
    rules_300 = TextRules(limit=300, measure=len, unit="graphemes", threads=True,
                          numbering=" ({position}/{size})")
    section = section_of("OPERATIONS", LONG, LONG)
    snippets = split_section(section, rules_300)
    assert len(snippets) > 1 and all(len(s.text) <= 300 for s in snippets)
    assert all(s.text.endswith(f" ({n}/{len(snippets)})") for n, s in enumerate(snippets, 1))
    assert reassemble(snippets, heading="OPERATIONS") == collapse_whitespace(section.text)
    assert split_section(section, rules("x")) == split_for_x(section)
    with pytest.raises(ValueError, match="unknown packing"):
        TextRules(limit=300, packs="words")


def test_text_rules_refuse_a_limit_under_40_and_an_unknown_packing_saying_what_to_use():
    assert TextRules(limit=40).limit == 40
    with pytest.raises(ValueError) as too_small:
        TextRules(limit=39)
    assert str(too_small.value) == "limit 39 is too small; a post limit must be at least 40"
    with pytest.raises(ValueError) as unknown:
        TextRules(limit=300, packs="words")
    assert str(unknown.value) == "unknown packing 'words'; use one of sentences, paragraphs"


def _trimmed(per_line: int = 0) -> Callable[[str], int]:
    """A platform's measure that trims a post's end before counting, and counts each line
    break `per_line` more."""
    def measure(text: str) -> int:
        kept = text.rstrip()
        return len(kept) + per_line * kept.count("\n")
    return measure


@pytest.mark.parametrize(("measure", "section", "first"), [
    (_trimmed(), section_of("OPS", LONG, LONG), None),
    (_trimmed(), section_of("OPERATIONS", "Ships sail at dawn and dusk. " * 6), None),
    (_trimmed(), section_of("HEAD", "x" * 36, "y" * 37), None),
    (_trimmed(), section_of(None, "w " * 30), None),
    (_trimmed(per_line=30), section_of("HEAD", "xy"), "HEAD"),
    (_trimmed(per_line=14), section_of("HEADS", "xy", "z" * 30), "HEADS\n\nx"),
], ids=["sentences", "a heading", "words measured to fit", "short words",
        "not one character after the heading", "one character after the heading"])
def test_posts_fit_where_the_measure_weighs_joined_text_more_than_its_pieces(
        measure, section, first):
    # Whitespace alone counts nothing, so a post packed by its pieces' weights can come out
    # too long: it gives pieces back, in order, and a piece measured to fit is cut again.
    rules = TextRules(limit=40, measure=measure, threads=True)
    snippets = split_section(section, rules)
    assert len(snippets) > 1
    for n, s in enumerate(snippets, 1):
        assert s.weighted_length == measure(s.text) <= 40
        assert s.text.endswith(f" {n}/{len(snippets)}")
    cores = strip_decorations(snippets)  # the heading kept: it may go alone
    assert re.sub(r"\s", "", "".join(cores)) == re.sub(
        r"\s", "", (section.heading or "") + section.text)
    assert all(core == core.strip() for core in cores)
    assert first is None or cores[0] == first


def test_a_limit_too_small_for_a_url_is_refused():
    with pytest.raises(ValueError, match="too small"):
        split_for_x(section_of(None, "text"), limit=20)


def test_an_empty_section_gives_no_posts_and_a_heading_alone_one_post():
    assert split_for_x(section_of(None, "  ", "\n")) == []
    assert split_for_x(section_of("OUR MISSION", "  ")) == [Snippet("OUR MISSION", 11, 1, 1)]


# --- efficiency -----------------------------------------------------------------------------

def _split_work(document: str) -> tuple[int, int, int]:
    """Splitting `document` for X: (posts, characters measured, longest text measured). Both
    ways of measuring are counted: whole texts (`measure`) and joined candidates
    (`measure_parts`)."""
    x = rules("x")
    assert x.measure_parts is not None
    measured = longest = 0

    def count(length: int) -> None:
        nonlocal measured, longest
        measured += length
        longest = max(longest, length)

    def measure(text: str) -> int:
        count(len(text))
        return x.measure(text)

    def measure_parts(parts) -> int:
        count(sum(map(len, parts)))
        return x.measure_parts(parts)

    spied = replace(x, measure=measure, measure_parts=measure_parts)
    posts = sum(len(split_section(s, spied)) for s in parse_factsheet(document).sections)
    return posts, measured, longest


def test_a_large_document_is_split_measuring_only_post_sized_text_in_linear_work():
    # The time it takes is `make bench`'s business ("import a 1.0 MB fact sheet"); this checks
    # the work, on a document of many sections and one long section (a thread of hundreds of
    # posts), of about 225 KB and twice that.
    body = sample().split("OUR MISSION")[1].split("For media inquiries")[0]
    # Its prose only: a short first line ("Key facts:", "Who we work with") is a heading.
    paragraphs = "\n\n".join(p for p in body.split("\n\n") if len(p.split("\n")[0]) > 60)
    copies = 125_000 // len(body) + 1

    def document(k: int) -> str:
        return f"OUR MISSION{body * k}\n\nTHE YEAR IN FULL\n\n" + "\n\n".join([paragraphs] * k)

    half, whole = document(copies), document(2 * copies)
    posts, measured, longest = _split_work(half)
    posts_whole, measured_whole, longest_whole = _split_work(whole)
    assert posts_whole >= 2 * posts - 10 > 2000
    assert max(longest, longest_whole) < 2_000  # sentences and candidates, never the document
    # Each character is measured a few times (as a sentence, in the candidates it joins), not
    # once per post; and twice the document is twice the work.
    assert measured_whole <= 4 * len(whole), f"{measured_whole / len(whole):.1f} per character"
    assert measured_whole <= 2.2 * measured, f"{measured:,}, then {measured_whole:,}"


# --- abbreviations before a lower-case word or a digit (case 06), English and Arabic ---------

@pytest.mark.parametrize("text", [
    "Crews flew patrols of up to 14 hrs. at a time over the strait.",
    "The Govt. said the port would reopen on Monday.",
    "Soldiers of 2 Bn. 14 were on duty, and 3 Sqn. 12 flew.",
    "The total, incl. 12 fuel barges, was 40 vessels.",
    "Flights lasted approx. 9 hours and cost est. 2 million dinars.",
    "It took 40 mins. to reach the vessel and 3 yrs. to build the base.",
    "The Dept. of Ports wrote at 5 p.m. to the harbour master.",
    "قال د. أحمد علي إن الدورية استمرت طوال الليل.",
    "وصل ل. محمد حسن إلى الميناء صباحا.",
    "أرسلوا الطلبات إلى ص.ب. 1234 في بغداد.",
    "بلغت المسافة 12 كم. 5 منها في المياه الإقليمية.",
])
def test_an_abbreviation_before_a_lower_case_word_or_a_digit_ends_no_sentence(text):
    assert sentences(text) == [text]


@pytest.mark.parametrize(("text", "first"), [
    ("The convoy arrived at dawn. Twelve ships followed it.", "The convoy arrived at dawn. "),
    ("Patrols rose in 2025. The minister said so.", "Patrols rose in 2025. "),
    ("The answer was No. It came from the port.", "The answer was No. "),
    ("Crews flew at alt. Most flights were short.", "Crews flew at alt. "),
    ("The crew wore green. The rest wore grey.", "The crew wore green. "),
    ("The referee showed a red card. The game ended.", "The referee showed a red card. "),
    ("Aircraft flew on Mon. The ships sailed on Tue.", "Aircraft flew on Mon. "),
    ("وانتهت الدورية في الساعة الخامسة. وعادت السفن إلى الميناء.",
     "وانتهت الدورية في الساعة الخامسة. "),
    ("بدأ العمل عام 1445 هـ. وقد استمر عامين.", "بدأ العمل عام 1445 هـ. "),
])
def test_a_full_stop_after_a_word_still_ends_a_sentence(text, first):
    assert sentences(text)[0] == first


@pytest.mark.parametrize("text", [
    "The next exercise begins on Mon. 12 January at the port.",
    "Aircraft will climb to alt. 3,000 ft over the strait.",
    "The buoy lies at lat. 29.5 north and long. 48.1 east.",
    "Write to Ste. 200 or to Apt. 4 at the harbour office.",
    "It starts Thurs. 4 June and ends Sat. 6 June.",
    "The convoy arrived at dawn. 12 ships followed it.",
    "Patrols rose in 2024. 14 more began this year.",
    "The mission ended. ١٢ ships stayed in port.",
    "انتهت الدورية في الساعة الخامسة. 12 سفينة عادت إلى الميناء.",
    "بلغ العدد ٢٠. ٥ منها في الميناء.",
])
def test_a_full_stop_before_a_digit_ends_no_sentence(text):
    # Case 06's right value: a full stop followed by a digit does not end a sentence, whatever
    # the word before it; style guides spell out a number that would open a sentence.
    assert sentences(text) == [text]


def test_a_numbered_line_after_a_full_stop_still_starts_anew():
    assert sentences("Load the vessel.\n2. Sail at dawn.")[0] == "Load the vessel.\n"


@pytest.mark.parametrize("text", [
    "Eng. Ahmed Ali opened the new coastal road.",
    "The road was opened by Eng. Ahmed Ali on Sunday.",
    "Ships joined Ex. Eager Lion and Op. Inherent Resolve this year.",
    "The Mv. Ocean Star and the M.V. Sea Breeze docked, as did HMS. Defender.",
    "The next exercise begins on Mon. Jan. 12 and ends Fri. January 16.",
    "Lt.-Col. Reyes, Maj.-Gen. Hale and Sub-Lt. Grey met Sqn. Ldr. Smith.",
    "Ch. Supt. Moore, Cllr. Jones and WO1. Hale spoke.",
    "The Rt. Hon. Jane Grey met the crews.",
])
def test_a_title_exercise_or_ship_prefix_before_a_name_ends_no_sentence(text):
    assert sentences(text) == [text]


@pytest.mark.parametrize("text", [
    "تم إنجاز 12 كم. من الطريق الساحلي الجديد حتى الآن.",
    "تقع المنارة على بعد ٥ كم. من الساحل الشمالي.",
    "بلغ المطر 12 ملم. في الساعة الأولى.",
    "حملت الطائرة 500 كغ. من المساعدات و20 سم. من الأنابيب.",
    "تمتد الأنابيب 3.5 كلم. تحت الماء.",
    "قطعت القافلة 3 آلاف كم. من الطريق الساحلي.",
    "تقع العلامة على بعد ٥ م.م. من الحافة.",
])
def test_an_arabic_unit_after_a_number_before_an_arabic_word_ends_no_sentence(text):
    assert sentences(text) == [text]


@pytest.mark.parametrize(("text", "first"), [
    ("بلغ طول الطريق 12 كم. وسيكتمل العمل في الربيع.", "بلغ طول الطريق 12 كم. "),
    ("بلغ طول الطريق 12 كم. من جهته، قال الوزير إن العمل مستمر.", "بلغ طول الطريق 12 كم. "),
    ("بلغ طول الطريق 12 كم. كما بدأ العمل في الميناء.", "بلغ طول الطريق 12 كم. "),
])
def test_an_arabic_unit_still_ends_a_sentence_before_an_opening_word(text, first):
    assert sentences(text)[0] == first


@pytest.mark.parametrize("text", [
    "Doors open at 8 a.m. Monday through Friday.",
    "The line is staffed from 9 A.M. Saturday to 4 P.M. Sunday.",
    "Briefings start at 10 a.m. GMT and at 5 p.m. Baghdad time.",
    "Soldiers of 2 Bn. The Rifles arrived at the port.",
    "Aircraft of 3 Sqn. RAF Regiment and A Coy. The Royal Anglian Regiment stood by.",
    "Ops. Officer Smith briefed the crews.",
    "Pte. Jones, LCpl. Brown and Staff Sgt. Lee were commended by Lt. Cmdr. Grey.",
    "H.E. Ambassador Ali met Wg. Cdr. Hale and Det. Insp. Moore.",
    "الساعة 8 ص. يوميا يبدأ العمل في الميناء.",
    "تفتح المكاتب من 9 ص. حتى 5 م. يوميا.",
    "أرسلوا الطلبات إلى ص.ب. بغداد المركزي.",
])
def test_an_abbreviation_that_precedes_a_name_or_a_time_ends_no_sentence(text):
    # A capitalised word after a rank, a unit or a time of day is what it qualifies; Arabic has
    # no capitals, and one letter and a full stop is always an abbreviation.
    assert sentences(text) == [text]


@pytest.mark.parametrize(("text", "first"), [
    ("The talks ended at 5 p.m. The minister left the port.", "The talks ended at 5 p.m. "),
    ("The ferry leaves at 9 a.m. Tomorrow it leaves at noon.", "The ferry leaves at 9 a.m. "),
])
def test_a_time_of_day_still_ends_a_sentence_before_a_new_one(text, first):
    assert sentences(text)[0] == first


def test_case_06_the_post_is_not_cut_after_hrs():
    section = parse_factsheet(
        (Path(__file__).parent / "corpus" / "06-abbreviation-before-lowercase" /
         "factsheet.txt").read_text("utf-8")).sections[0]
    texts = [s.text for s in split_for_x(section)]
    assert not any(t.endswith("hrs. 1/2") for t in texts)
    assert any("up to 14 hrs. at a time" in t for t in texts)


# --- no cut at a no-break space or a word joiner (case 08) -----------------------------------

FILLER = "The task force escorted merchant vessels along the northern coast " * 3


@pytest.mark.parametrize("binder", ["\u00a0", "\u202f", "\u2007", "\u2060"])
@pytest.mark.parametrize("shift", range(0, 30, 3))
def test_no_post_is_cut_at_a_no_break_space_or_a_word_joiner(binder, shift):
    number = binder.join(["1", "250", "000"]) + binder + "dinars"
    text = FILLER[:150 + shift] + " worth " + number + " in total " + FILLER
    snippets = split_for_x(Section("SUPPLIES", (text,)))
    assert len(snippets) > 1
    assert any(number in s.text for s in snippets)


@pytest.mark.parametrize("binder", ["\u00a0", "\u202f", "\u2007"])
def test_no_sentence_ends_at_a_no_break_space(binder):
    text = f"Questions about Berth No.{binder}5 go to the harbour master. Next one."
    assert sentences(text)[0] == f"Questions about Berth No.{binder}5 go to the harbour master. "


# --- configured hashtags: once, only where missing -------------------------------------------

@pytest.mark.parametrize(("body", "tags", "expected_end"), [
    ("Crews patrolled the strait. #JTFMeridian", ["#JTFMeridian"], "strait. #JTFMeridian"),
    ("Crews patrolled the strait. #jtfmeridian", ["#JTFMeridian"], "strait. #jtfmeridian"),
    ("Crews patrolled the strait. ＃JTFMeridian", ["JTFMeridian"], "strait. ＃JTFMeridian"),
    ("#JTFMeridian crews patrolled the strait.", ["#JTFMeridian", "#Harbour"],
     "strait. #Harbour"),
    ("Crews patrolled the strait.", ["#JTFMeridian", "jtfmeridian", "#Harbour"],
     "strait. #JTFMeridian #Harbour"),
    ("Crews patrolled the strait (see jtf.mil/#JTFMeridian).", ["#JTFMeridian"],
     "jtf.mil/#JTFMeridian). #JTFMeridian"),
])
def test_a_configured_hashtag_is_added_once_and_only_where_missing(body, tags, expected_end):
    for split in (split_for_x, split_for_facebook):
        [snippet] = split(Section("PATROLS", (body,)), hashtags=tags)
        assert snippet.text.endswith(expected_end)
        assert reassemble([snippet], heading="PATROLS", hashtags=tags) == body


def test_a_hashtag_anywhere_in_a_thread_is_not_added_to_its_last_part():
    body = "#JTFMeridian " + " ".join(["Crews patrolled the northern approaches."] * 12)
    snippets = split_for_x(Section("PATROLS", (body,)), hashtags=["#JTFMeridian"])
    assert len(snippets) > 1
    assert sum(s.text.lower().count("#jtfmeridian") for s in snippets) == 1
