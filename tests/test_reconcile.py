"""Finding a post on the account's timeline after an unclear outcome."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scheduler.platforms.base import RemotePost
from scheduler.reconcile import comparable, find_on_timeline, same_text

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Timeline:
    """An account whose recent posts are given; stands in for a publisher's read side."""

    platform = "facebook"
    account_name = "office-fb"

    def __init__(self, *posts: RemotePost) -> None:
        self.posts = list(posts)

    def recent_posts(self, limit: int = 100, since: datetime | None = None, *,
                     after_id: str | None = None) -> list[RemotePost]:
        return self.posts[:limit]


def remote(text, at=NOW, reply_to=None, remote_id="1") -> RemotePost:
    return RemotePost(remote_id, text, at, f"https://example.invalid/{remote_id}", reply_to)


def test_x_link_rewriting_and_spacing_do_not_hide_a_match():
    assert comparable("Read more at www.jtf-meridian.mil/report now.") == comparable(
        "Read more at https://t.co/AbC123  now.")


def test_a_post_is_found_by_its_text():
    found = find_on_timeline(Timeline(remote("Other."), remote("Ours.", remote_id="7")),
                             "Ours.", since=NOW)
    assert found.remote_id == "7"


def test_last_weeks_identical_text_is_not_evidence_for_this_week():
    old = remote("Weekly briefing at 10:00.", at=NOW - timedelta(days=7))
    assert find_on_timeline(Timeline(old), "Weekly briefing at 10:00.", since=NOW) is None
    recent = remote("Weekly briefing at 10:00.", at=NOW - timedelta(minutes=2))
    assert find_on_timeline(Timeline(recent), "Weekly briefing at 10:00.", since=NOW)


def test_a_thread_part_must_reply_to_the_part_before_it():
    elsewhere = remote("Part 2 2/2", reply_to="999")
    assert find_on_timeline(Timeline(elsewhere), "Part 2 2/2", reply_to="100") is None
    right = remote("Part 2 2/2", reply_to="100")
    assert find_on_timeline(Timeline(right), "Part 2 2/2", reply_to="100") is right


class RecordingTimeline(Timeline):
    """A Timeline that keeps what it was asked for."""

    def __init__(self, *posts: RemotePost) -> None:
        super().__init__(*posts)
        self.asked: list[tuple] = []

    def recent_posts(self, limit: int = 100, since: datetime | None = None, *,
                     after_id: str | None = None) -> list[RemotePost]:
        self.asked.append((limit, since, after_id))
        return super().recent_posts(limit, since, after_id=after_id)


def test_the_timeline_is_read_back_to_the_first_try_or_the_newest_hundred():
    # Back to the first try (less the platform's clock slack), up to 1,000 posts, narrowed by
    # an older post's id where the platform has one; without a first try, the newest 100.
    timeline = RecordingTimeline(remote("Ours."))
    find_on_timeline(timeline, "Ours.", since=NOW, after_id="41")
    find_on_timeline(timeline, "Ours.", after_id="41")
    find_on_timeline(timeline, "Ours.", limit=30)
    assert timeline.asked == [(1000, NOW - timedelta(minutes=10), "41"), (100, None, "41"),
                              (30, None, None)]


def test_an_image_link_after_the_text_counts_only_for_a_post_with_an_image():
    with_image = remote("Convoy arrived. https://t.co/Img0cD3fGh")
    assert find_on_timeline(Timeline(with_image), "Convoy arrived.") is None
    assert find_on_timeline(Timeline(with_image), "Convoy arrived.", with_media=True)


# --- texts as the platform returns them (case 07) --------------------------------------------

def x_returns(text: str, media: bool = False) -> str:
    """What X's timeline gives back for `text`: the emulator's own rendering."""
    from emulator.x_reads import returned_text
    from emulator.x_state import Tweet

    tweet = Tweet(id="1900000000000000001", text=text, author_id="42", created_at=0.0,
                  in_reply_to=None, in_reply_to_user_id=None, conversation_id="1",
                  media=[object()] if media else [])
    return returned_text(tweet)


SENT = [
    "Search & rescue teams answered 14 calls; range > 2 km, response < 10 min.",
    "Fish & chips <b>not</b> HTML, just text: 5 > 3 & 2 < 4.",
    "A literal entity stays literal: &amp; &lt;tag&gt; &#169; &copy",
    "Links without a scheme are links: mod.gov.iq, www.jtf-meridian.mil/reports and x.com/JTF.",
    "With a scheme and a query: https://www.jtf-meridian.mil/r?year=2026&month=11#top done.",
    "Two lines\n\nand   odd   spacing\u00a0kept.",
    "Unicode as typed: cafe\u0301, ﬁgures, مُحَمَّد, 🇮🇶 👁️‍🗨️",
    "Ends with a link https://t.co/already",
]


@pytest.mark.parametrize("text", SENT)
def test_the_text_x_returns_matches_the_text_sent(text):
    assert same_text(text, x_returns(text))
    assert same_text(text, text)  # the Graph API returns the message as posted


@pytest.mark.parametrize("text", SENT)
def test_an_image_link_x_appends_matches_only_for_a_post_with_an_image(text):
    assert same_text(text, x_returns(text, media=True), with_media=True)
    assert not same_text(text, x_returns(text, media=True))


@pytest.mark.parametrize(("sent", "returned"), [
    ("Search & rescue > 2 km.", "Search &amp; rescue &gt; 3 km."),
    ("Read mod.gov.iq today.", "Read today."),
    ("Read mod.gov.iq today.", "Read https://t.co/Ab0cD3fGh1 https://t.co/Xy1 today."),
    ("Part one.", "Part two."),
    ("&amp;", "&amp;amp;amp;"),
    # Texts that differ only before their first link (each character counts, the first too).
    ("Aid at www.jtf-meridian.mil/aid today.", "Bid at www.jtf-meridian.mil/aid today."),
])
def test_different_texts_do_not_match(sent, returned):
    assert not same_text(sent, returned)


def test_the_timeline_check_finds_an_escaped_post_with_its_links_rewritten():
    text = "Search & rescue at berth 5 > 2 km out; report at www.jtf-meridian.mil."
    found = find_on_timeline(Timeline(remote("Other."), remote(x_returns(text), remote_id="9")),
                             text)
    assert found is not None and found.remote_id == "9"
