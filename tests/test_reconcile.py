"""Finding a post on the account's timeline after an unclear outcome: a post is found by its
text as the platform gives it back, and another post is never taken for it, however little
the two differ."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.platforms.base import RemotePost
from scheduler.platforms.x import as_posted
from scheduler.reconcile import (
    CLOCK_SLACK,
    MAX_TIMELINE_POSTS,
    TimelineIncomplete,
    find_on_timeline,
    same_text,
)

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Timeline:
    """An account whose recent posts are given; stands in for a publisher's read side."""

    platform = "facebook"
    account_name = "office-fb"

    def __init__(self, *posts: RemotePost) -> None:
        self.posts = list(posts)

    def recent_posts(self, limit: int = 100, since: datetime | None = None, *,
                     after_id: str | None = None, replies: bool = True) -> list[RemotePost]:
        return self.posts[:limit]


def remote(text, at=NOW, reply_to=None, remote_id="1", **kwargs) -> RemotePost:
    return RemotePost(remote_id, text, at, f"https://example.invalid/{remote_id}", reply_to,
                      **kwargs)


def x_round_trip(text: str, media: bool = False, entities: bool = True):
    """`text` as X stores it and gives it back (the emulator's rendering: escaped, links as
    t.co, an image's link appended), restored by the X publisher: (text, unresolved links)."""
    from emulator.x_reads import rendered
    from emulator.x_state import Tweet

    class Image:
        id = "77"

    tweet = Tweet(id="1900000000000000001", text=text, author_id="42", created_at=NOW,
                  media=[Image()] if media else [])
    returned, urls = rendered(tweet, "OfficeX")
    return as_posted(returned, {"urls": urls} if entities else None)


def test_a_post_is_found_by_its_text():
    found = find_on_timeline(Timeline(remote("Other."), remote("Ours.", remote_id="7")),
                             "Ours.", since=NOW)
    assert found.remote_id == "7"


def test_last_weeks_identical_text_is_not_evidence_for_this_week():
    old = remote("Weekly briefing at 10:00.", at=NOW - timedelta(days=7))
    assert find_on_timeline(Timeline(old), "Weekly briefing at 10:00.", since=NOW) is None
    recent = remote("Weekly briefing at 10:00.", at=NOW - timedelta(minutes=1))
    assert find_on_timeline(Timeline(recent), "Weekly briefing at 10:00.", since=NOW)


def test_the_window_reaches_back_exactly_the_clock_slack_before_the_first_try():
    edge = remote("Ours.", at=NOW - CLOCK_SLACK)
    assert find_on_timeline(Timeline(edge), "Ours.", since=NOW) is edge
    before = remote("Ours.", at=NOW - CLOCK_SLACK - timedelta(microseconds=1))
    assert find_on_timeline(Timeline(before), "Ours.", since=NOW) is None


def test_posts_passed_over_do_not_end_the_search():
    # Each of these carries our text but is not our post; ours is further down. A post dated
    # before the window can still be followed by newer ones: the timeline is in the platform's
    # order, and a date the poster's client sets (Bluesky's createdAt) need not follow it.
    ours = remote("Ours.", remote_id="9")
    timeline = Timeline(remote("Ours.", remote_id="1", reply_to="55"),
                        remote("Ours.", remote_id="2", has_media=True),
                        remote("Ours.", remote_id="3", at=NOW - timedelta(days=7)),
                        remote("Ours.", remote_id="4"),
                        ours)
    assert find_on_timeline(timeline, "Ours.", since=NOW,
                            elsewhere=lambda remote_id: remote_id == "4") is ours


def test_a_thread_part_must_reply_to_the_part_before_it():
    elsewhere = remote("Part 2 2/2", reply_to="999")
    assert find_on_timeline(Timeline(elsewhere), "Part 2 2/2", reply_to="100") is None
    alone = remote("Part 2 2/2")
    assert find_on_timeline(Timeline(alone), "Part 2 2/2", reply_to="100") is None
    right = remote("Part 2 2/2", reply_to="100")
    assert find_on_timeline(Timeline(right), "Part 2 2/2", reply_to="100") is right


def test_a_reply_is_not_taken_for_a_post_that_starts_no_thread():
    reply = remote("Part 1 1/2", reply_to="55")
    assert find_on_timeline(Timeline(reply), "Part 1 1/2") is None


def test_an_image_must_be_there_exactly_when_the_post_has_one():
    with_image = remote("Supplies arrived.", has_media=True)
    without = remote("Supplies arrived.", has_media=False)
    assert find_on_timeline(Timeline(with_image), "Supplies arrived.") is None
    assert find_on_timeline(Timeline(without), "Supplies arrived.", with_media=True) is None
    assert find_on_timeline(Timeline(with_image), "Supplies arrived.", with_media=True)
    # Where the platform does not say (Facebook's feed read), the text decides.
    unknown = remote("Supplies arrived.")
    assert find_on_timeline(Timeline(unknown), "Supplies arrived.", with_media=True)


class RecordingTimeline(Timeline):
    """A Timeline that keeps what it was asked for."""

    def __init__(self, *posts: RemotePost) -> None:
        super().__init__(*posts)
        self.asked: list[tuple] = []

    def recent_posts(self, limit: int = 100, since: datetime | None = None, *,
                     after_id: str | None = None, replies: bool = True) -> list[RemotePost]:
        self.asked.append((limit, since, after_id, replies))
        return super().recent_posts(limit, since, after_id=after_id, replies=replies)


def test_the_timeline_is_read_back_to_the_first_try_or_the_newest_hundred():
    # Back to the first try (less the clock slack), up to MAX_TIMELINE_POSTS, narrowed by
    # an older post's id where the platform has one; without a first try, the newest 100;
    # replies only for a thread part.
    timeline = RecordingTimeline(remote("Ours."))
    find_on_timeline(timeline, "Ours.", since=NOW, after_id="41")
    find_on_timeline(timeline, "Ours.", after_id="41")
    find_on_timeline(timeline, "Ours.", limit=30)
    find_on_timeline(timeline, "Ours.", reply_to="9")
    assert timeline.asked == [(MAX_TIMELINE_POSTS, NOW - CLOCK_SLACK, "41", False),
                              (100, None, "41", False), (30, None, None, False),
                              (100, None, None, True)]


# --- texts as the platform returns them (case 07) --------------------------------------------

SENT = [
    "Search & rescue teams answered 14 calls; range > 2 km, response < 10 min.",
    "Fish & chips <b>not</b> HTML, just text: 5 > 3 & 2 < 4.",
    "A literal entity stays literal: &amp; &lt;tag&gt; &#169; &copy",
    "Links without a scheme are links: mod.gov.iq, www.jtf-meridian.mil/reports and x.com/JTF.",
    "With a scheme and a query: https://www.jtf-meridian.mil/r?year=2026&month=11#top done.",
    "Two lines\n\nand   odd   spacing\u00a0kept.",
    "Unicode as typed: cafe\u0301, ﬁgures, مُحَمَّد, 🇮🇶 👁️‍🗨️",
    "Ends with a link https://t.co/already",
    "Thanks @PartnerOrg and #Relief: more at mod.gov.iq/relief 1/3",
]


@pytest.mark.parametrize("text", SENT)
def test_the_text_x_returns_matches_the_text_sent(text):
    restored, unresolved = x_round_trip(text)
    assert unresolved == ()
    assert same_text(text, restored)
    assert same_text(text, text)  # the Graph API returns the message as posted


@pytest.mark.parametrize("text", SENT)
def test_the_link_x_appends_for_an_image_is_not_text(text):
    restored, unresolved = x_round_trip(text, media=True)
    assert unresolved == () and same_text(text, restored)


@pytest.mark.parametrize(("sent", "other"), [
    # Links: what each points to, not that there is one (review D1).
    ("Details at https://mod.gov.iq/convoy/north", "Details at https://mod.gov.iq/convoy/south"),
    ("Details at mod.gov.iq/north", "Details at mod.gov.iq/south"),
    ("Details at mod.gov.iq", "Details at mod.gov.iq.au"),
    ("Details at https://mod.gov.iq/r?year=2025", "Details at https://mod.gov.iq/r?year=2026"),
    ("Details at https://mod.gov.iq/r#north", "Details at https://mod.gov.iq/r#south"),
    ("Details at https://mod.gov.iq/Report", "Details at https://mod.gov.iq/report"),
    ("Details at http://mod.gov.iq", "Details at https://mod.gov.iq"),
    ("Details at mod.gov.iq", "Details at"),
    ("Details at mod.gov.iq and x.com/JTF", "Details at x.com/JTF and mod.gov.iq"),
    ("Details at https://mod.gov.iq/a%2Fb", "Details at https://mod.gov.iq/a/b"),
    ("Details at https://mod.gov.iq/?q=a%26b", "Details at https://mod.gov.iq/?q=a&b"),
    ("Details at https://mod.gov.iq:8443/r", "Details at https://mod.gov.iq/r"),
    ("Details at https://mod.gov.iq:8443/r", "Details at https://x.com:8443/r"),
    ("Details at mod.gov.iq/north and x.com/JTF", "Details at mod.gov.iq/south and x.com/JTF"),
    # An escaped character is its UTF-8 bytes, a stray byte only itself, a "%" that starts
    # no escape is data: no two of these spellings meet.
    ("Details at https://mod.gov.iq/a%C2%A0b", "Details at https://mod.gov.iq/a%A0b"),
    ("Details at https://mod.gov.iq/a%E2%80%A8", "Details at https://mod.gov.iq/a%2028"),
    ("Details at https://mod.gov.iq/%%41%46", "Details at https://mod.gov.iq/%AF"),
    ("Details at https://mod.gov.iq/a%C2%A0", "Details at https://mod.gov.iq/a%C2XXXX%A0"),
    # A port no browser takes (over 65535): the link is compared as written.
    ("Details at https://mod.gov.iq:99999/north", "Details at https://mod.gov.iq:99999/south"),
    ("Details at http://mod.gov.iq:99999/r", "Details at https://mod.gov.iq:99999/r"),
    ("Details at mod.gov.iq:99999/r", "Details at nod.gov.iq:99999/r"),
    # Everything a reader sees.
    ("Search & rescue > 2 km.", "Search & rescue > 3 km."),
    ("Part one.", "Part two."),
    ("Aid at www.jtf-meridian.mil/aid today.", "Bid at www.jtf-meridian.mil/aid today."),
    ("Convoy update 1/3", "Convoy update 1/2"),
    ("Thanks @PartnerOrg", "Thanks @PartnerOrgs"),
    ("Thanks @PartnerOrg", "Thanks"),
    ("US aid arrived.", "us aid arrived."),
    ("#Relief convoy", "#relief convoy"),
    # A text cut short ("…") is not the whole text, nor the other way round.
    ("The convoy reached the port and unloaded.", "The convoy reached the port…"),
    ("The convoy reached the port.", "The convoy reached the port. More soon."),
    # An entity is text where it was typed.
    ("&amp;", "&"),
    ("A & B", "A &amp; B"),
])
def test_posts_that_differ_are_never_taken_for_each_other(sent, other):
    for restored, _ in (x_round_trip(other), (other, ())):
        assert not same_text(sent, restored)
        assert not same_text(other, x_round_trip(sent)[0])


@pytest.mark.parametrize(("sent", "returned"), [
    ("Details at mod.gov.iq/sar", "Details at http://mod.gov.iq/sar"),
    ("Details at mod.gov.iq/sar", "Details at https://mod.gov.iq/sar"),
    ("Details at https://MOD.gov.iq:443", "Details at https://mod.gov.iq/"),
    ("Details at https://mod.gov.iq/%7Eteam?q=%2a", "Details at https://mod.gov.iq/~team?q=%2A"),
    ("Details at https://mod.gov.iq/%7E%2Dteam", "Details at https://mod.gov.iq/~-team"),
    ("Details at https://mod.gov.iq/sar", "Details at mod.gov.iq/sar"),
    ("Details at mod.gov.iq:80/sar", "Details at http://mod.gov.iq/sar"),
    ("Details at HTTPS://mod.gov.iq:99999/r", "Details at https://mod.gov.iq:99999/r"),
    ("Details at https://mod.gov.iq/a%41%FF", "Details at https://mod.gov.iq/aA%ff"),
    ("Details at https://mod.gov.iq/a%zz", "Details at https://mod.gov.iq/a%25zz"),
    (" \nDetails at mod.gov.iq/sar today.\n", "Details at mod.gov.iq/sar today."),
    ("Two  spaces\nand a line.", "Two spaces and a line."),
    ("ﬁgures", "figures"),
])
def test_differences_no_reader_sees_do_not_hide_a_post(sent, returned):
    assert same_text(sent, returned)


HOSTS = st.sampled_from(["mod.gov.iq", "www.mod.gov.iq", "jtf-meridian.mil", "x.com"])
PATHS = st.lists(st.text("abcXYZ019-_", min_size=1, max_size=6), max_size=3).map("/".join)
LINKS = st.tuples(st.sampled_from(["", "http://", "https://"]), HOSTS, PATHS).map(
    lambda t: t[0] + t[1] + ("/" + t[2] if t[2] else ""))


@settings(max_examples=200, deadline=None)
@given(first=LINKS, second=LINKS, prose=st.sampled_from(
    ["Read {} now.", "{}", "Convoy 2/3: details {}", "Thanks @PartnerOrg, see {} & more"]))
def test_two_posts_are_one_on_x_only_when_their_links_point_to_the_same_place(first, second,
                                                                              prose):
    restored, _ = x_round_trip(prose.format(second))
    # X gives a bare link the scheme http (its expanded_url); a bare link sent matches either.
    given = second if "://" in second else "http://" + second
    same = first in (second, given) or (
        "://" not in first and given.split("://")[1] == first)
    assert same_text(prose.format(first), restored) == same


def test_a_link_x_did_not_resolve_matches_nothing_by_itself():
    text = "Details: mod.gov.iq/sar"
    restored, unresolved = x_round_trip(text, entities=False)
    assert unresolved and not same_text(text, restored)
    assert same_text(text, restored, unresolved=unresolved)
    assert not same_text("Other details: mod.gov.iq/sar", restored, unresolved=unresolved)


def test_after_a_duplicate_refusal_the_one_post_with_unresolved_links_is_taken():
    text = "Details: mod.gov.iq/sar"
    restored, unresolved = x_round_trip(text, entities=False)
    live = remote(restored, unresolved_links=unresolved, remote_id="5")
    assert find_on_timeline(Timeline(live), text, since=NOW) is None
    assert find_on_timeline(Timeline(live), text, since=NOW, links_unknown=True) is live
    twin = remote(restored, unresolved_links=unresolved, remote_id="6")
    assert find_on_timeline(Timeline(live, twin), text, since=NOW, links_unknown=True) is None
    # A post whose links are unknown but whose words differ is not ours, refusal or not.
    other, other_unresolved = x_round_trip("Other details: mod.gov.iq/sar", entities=False)
    stranger = remote(other, unresolved_links=other_unresolved, remote_id="7")
    assert find_on_timeline(Timeline(stranger), text, since=NOW, links_unknown=True) is None


def test_without_entities_the_one_post_is_taken_only_when_no_unsettled_post_could_be_it():
    text = "Details: mod.gov.iq/sar today"
    restored, unresolved = x_round_trip(text, entities=False)
    live = remote(restored, unresolved_links=unresolved, remote_id="5")

    def find(*rivals: str, too_many: bool = False, timeline=None, **kwargs):
        return find_on_timeline(timeline or Timeline(live), text, since=NOW, **kwargs,
                                rivals=lambda: None if too_many else list(rivals))

    assert find() is live
    assert find("Other details: mod.gov.iq/sar today", "Details: mod.gov.iq/sar") is live
    assert find("Details: https://mod.gov.iq/air today") is None  # could be that one's
    assert find("Details: mod.gov.iq/sar today") is None  # a twin of ours: could be either's
    assert find(too_many=True) is None
    assert find(elsewhere=lambda remote_id: remote_id == "5") is None  # another post's
    twin = remote(restored, unresolved_links=unresolved, remote_id="6")
    assert find(timeline=Timeline(live, twin)) is None


def test_a_timeline_longer_than_a_check_reads_is_no_evidence_of_absence():
    busy = Timeline(*[remote(f"Other {n}.", at=NOW + timedelta(seconds=n), remote_id=str(n))
                      for n in reversed(range(12))])  # newest first
    with pytest.raises(TimelineIncomplete) as raised:
        find_on_timeline(busy, "Ours.", since=NOW, limit=10)
    assert str(raised.value) == ("the account has more than 10 posts since the first try, "
                                 "more than factpost reads back")
    # Found among those read is found, however many more there are.
    assert find_on_timeline(busy, "Other 11.", since=NOW, limit=10).remote_id == "11"
    assert find_on_timeline(busy, "Ours.", since=NOW, limit=20) is None
    assert find_on_timeline(Timeline(), "Ours.", since=NOW, limit=10) is None


def test_a_full_read_that_reaches_past_the_first_try_is_the_whole_window():
    def timeline(oldest: datetime) -> Timeline:
        return Timeline(*[remote(f"Other {n}.", at=NOW + timedelta(seconds=n), remote_id=str(n))
                          for n in reversed(range(1, 10))], remote("Old.", at=oldest))

    # Exactly `limit` posts read, the last older than the window: nothing more to read.
    past = NOW - CLOCK_SLACK - timedelta(seconds=1)
    assert find_on_timeline(timeline(past), "Ours.", since=NOW, limit=10) is None
    # The last read exactly at the window's edge: more posts may share its second.
    with pytest.raises(TimelineIncomplete):
        find_on_timeline(timeline(NOW - CLOCK_SLACK), "Ours.", since=NOW, limit=10)
