"""Finding a post on the account's timeline after an unclear outcome."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scheduler.publishers.base import RemotePost
from scheduler.reconcile import comparable, find_on_timeline

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
