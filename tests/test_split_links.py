"""`links = "first-part"`: a thread carries its section's links in one part only, the first,
because X charges $0.200 for every post with a link and $0.015 for one without."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from platform_rules import split_for_x

from posts.factsheet import Section
from posts.sentences import detect_language
from posts.weight import MAX_WEIGHTED_LENGTH, find_urls
from scheduler.platforms.x_terms import estimate

FILLER = "Patrols escorted merchant vessels through the strait without any incident. " * 3
REPORTS = Section("REPORTS", (
    "The monthly patrol report is published on the task force website "
    "(https://www.jtf-meridian.mil/reports/2026-11). " + FILLER,
    "Read the full statement at www.jtf-meridian.mil/statement.pdf from the commander. "
    + FILLER))


def links_in(snippets) -> list[list[str]]:
    return [[s.text[a:b] for a, b in find_urls(s.text)] for s in snippets]


def test_as_written_a_thread_can_pay_for_links_in_several_parts():
    assert sum(1 for links in links_in(split_for_x(REPORTS)) if links) == 2


def test_first_part_puts_every_link_once_under_the_heading_of_the_first_part():
    thread = split_for_x(REPORTS, links="first-part")
    links = links_in(thread)
    assert links[0] == ["https://www.jtf-meridian.mil/reports/2026-11",
                        "www.jtf-meridian.mil/statement.pdf"]
    assert not any(links[1:])
    assert thread[0].text.startswith("REPORTS\nhttps://www.jtf-meridian.mil/reports/2026-11 "
                                     "www.jtf-meridian.mil/statement.pdf\n\n")
    text = " ".join(s.text for s in thread)
    # A link in brackets was only an address: it goes; another becomes a pointer to it.
    assert "on the task force website. Patrols" in text
    assert "Read the full statement at the link above from the commander." in text
    assert all(s.weighted_length <= MAX_WEIGHTED_LENGTH for s in thread)
    assert estimate(s.text for s in thread).micros < estimate(
        s.text for s in split_for_x(REPORTS)).micros


def test_first_part_leaves_a_single_post_and_a_thread_with_links_in_one_part_as_written():
    single = Section(None, ("Details at www.jtf-meridian.mil/updates today.",))
    assert split_for_x(single, links="first-part") == split_for_x(single)
    one_part = Section("OPS", (FILLER * 3, "Reports: www.jtf-meridian.mil/patrol-reports."))
    assert split_for_x(one_part, links="first-part") == split_for_x(one_part)


def test_arabic_text_points_to_the_link_in_arabic():
    body = ("تنشر القوة تقريرها الشهري على الموقع www.jtf-meridian.mil/ar/reports للجميع. "
            + "رافقت السفن الدورية السفن التجارية عبر المضيق دون أي حادث يذكر. " * 4)
    section = Section(None, (body, "البيان الكامل على www.jtf-meridian.mil/ar/statement هنا. "
                             + "رافقت السفن الدورية السفن التجارية عبر المضيق. " * 4))
    thread = split_for_x(section, language="ar", links="first-part")
    assert sum(1 for links in links_in(thread) if links) == 1
    assert "الرابط أعلاه" in " ".join(s.text for s in thread)


def test_an_unknown_placement_is_refused():
    with pytest.raises(ValueError, match="unknown link placement"):
        split_for_x(REPORTS, links="last-part")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from(
    ["www.jtf-meridian.mil/a", "https://example.org/report-2026", "(https://reports.example.org/b)"])),
    min_size=1, max_size=4))
def test_first_part_never_leaves_links_in_more_than_one_part_and_keeps_every_link(placed):
    paragraphs = [FILLER] * 4
    for index, link in placed:
        paragraphs[index] += f" See {link} for more."
    section = Section("H", tuple(paragraphs))
    wanted = {link.strip("()") for _, link in placed}
    as_written = split_for_x(section)
    thread = split_for_x(section, links="first-part")
    with_links = [links for links in links_in(thread) if links]
    if sum(1 for links in links_in(as_written) if links) <= 1:
        assert thread == as_written  # nothing to save: left as written
    elif len(with_links) == 1:
        assert set(links_in(thread)[0]) == wanted
    else:  # could not be moved (the links alone would not fit one post): as written
        assert thread == as_written
    assert all(s.weighted_length <= MAX_WEIGHTED_LENGTH for s in thread)


# Mostly Arabic letters, so detection would say "ar"; in English "etc. Then" ends a sentence.
CONVOY = Section("CONVOY", (
    "Manifest: www.jtf-meridian.mil/convoy.pdf. The convoy carried fuel, water, medicine, tents, "
    "blankets, food parcels, generators, spare parts and tools etc. Then the ships sailed north "
    "along the coast to the harbour of the city, where the crews unloaded all of the cargo over "
    "two days and two nights without any incident at all.",
    "رافقت سفن الدوريات السفن التجارية عبر المضيق دون أي حادث يذكر طوال الليل. " * 6
    + "التفاصيل على www.jtf-meridian.mil/ar/convoy"))


@pytest.mark.parametrize("links", ["as-written", "first-part"])
def test_a_thread_is_split_by_the_language_and_hashtags_given_wherever_its_links_go(links):
    assert detect_language(CONVOY.text) == "ar"
    thread = split_for_x(CONVOY, language="en", links=links, hashtags=["#JTFMeridian"])
    assert thread[0].text.endswith(" spare parts and tools etc. 1/4")
    last = "التفاصيل على " + {"as-written": "www.jtf-meridian.mil/ar/convoy",
                              "first-part": "the link above"}[links]
    assert thread[-1].text.endswith(f"{last} #JTFMeridian 4/4")
