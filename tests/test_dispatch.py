"""The dispatch tick against the emulator over loopback, with the real tweepy and facebook-sdk
code paths: every class of platform failure leads to its documented outcome, and nothing is
ever published twice."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta

import pytest

from db.store import PlannedPost
from posts.states import Actor, PostStatus

S = PostStatus
LATER = timedelta(hours=2)  # past any backoff


def now():
    return datetime.now(UTC)


def test_a_due_post_is_published_and_its_link_recorded(office):
    post_id = office.add("Convoy delivered 40 tonnes of aid.")
    report = office.dispatcher().tick(now())
    post = office.store.history.get(post_id)
    [tweet] = office.emulator.tweets("OfficeX")
    assert report.published == 1
    assert (post.status, post.remote_id, post.attempt_count) == (S.PUBLISHED, tweet["id"], 1)
    assert post.remote_url == f"https://x.com/OfficeX/status/{tweet['id']}"
    assert tweet["text"] == "Convoy delivered 40 tonnes of aid."
    assert [a.outcome for a in post.attempts] == ["published"]
    assert [(e.action, e.account, e.from_status, e.to_status, e.reason)
            for e in office.store.history.audit_trail(post_id)][1:] == [
        ("claim", "office-x", "queued", "publishing", None),
        ("publish", "office-x", "publishing", "published", "published")]


def test_posts_not_yet_due_wait(office):
    office.add("tomorrow", at=now() + timedelta(days=1))
    assert office.dispatcher().tick(now()).published == 0
    assert office.emulator.tweets("OfficeX") == []


def test_a_thread_is_a_reply_chain_in_order(office):
    at = now() - timedelta(seconds=1)
    office.store.documents.add(
        source_name="s.txt", content_hash="h", title=None, sections=[("H", "b")],
        posts=[PlannedPost(account="office-x", platform="x", text=f"Part {i} {i}/3",
                           scheduled_at=at, section_index=0, thread_position=i, thread_size=3)
               for i in (1, 2, 3)],
        actor=Actor("t", "admin"), now=at, status=S.QUEUED)
    office.dispatcher().tick(now())
    tweets = office.emulator.tweets("OfficeX")
    assert [t["text"] for t in tweets] == ["Part 1 1/3", "Part 2 2/3", "Part 3 3/3"]
    assert [t["in_reply_to"] for t in tweets] == [None, tweets[0]["id"], tweets[1]["id"]]


def test_facebook_pages_get_whole_posts(office):
    post_id = office.add("A long section.\n\nWith two paragraphs.", account="office-fb")
    office.dispatcher().tick(now())
    [fb] = office.emulator.page_posts("OfficeFB")
    post = office.store.history.get(post_id)
    assert fb["message"] == "A long section.\n\nWith two paragraphs."
    assert post.status == S.PUBLISHED and post.remote_id == fb["id"]
    assert post.remote_url.startswith("https://www.facebook.com/")


def settle(office, post_id, ticks=3):
    """A few more ticks, each after the (millisecond) backoff of the test config."""
    dispatcher = office.dispatcher()
    for _ in range(ticks):
        time.sleep(0.06)
        dispatcher.tick()
    return office.store.history.get(post_id)


def test_an_error_after_the_platform_stored_the_post_is_settled_from_the_timeline(office):
    office.emulator.inject("commit_then_error", platform="x")
    post_id = office.add("Stored, then the server failed.")
    office.dispatcher().tick(now())
    assert office.store.history.get(post_id).status == S.QUEUED  # outcome unknown: wait, look
    post = settle(office, post_id)
    [tweet] = office.emulator.tweets("OfficeX")
    assert (post.status, post.remote_id) == (S.PUBLISHED, tweet["id"])
    assert [a.outcome for a in post.attempts] == ["ambiguous"]  # found, never resent


def test_a_dropped_connection_after_storing_is_not_published_twice(office):
    office.emulator.inject("drop_after", platform="facebook")
    post_id = office.add("Dropped after commit.", account="office-fb")
    post = settle(office, post_id)
    assert post.status == S.PUBLISHED
    assert len(office.emulator.page_posts("OfficeFB")) == 1


def test_a_failure_before_storing_is_sent_again_after_checking(office):
    office.emulator.inject("error_before", platform="x")
    office.emulator.inject("drop_before", platform="facebook")
    x_id = office.add("Server error before commit.")
    fb_id = office.add("Dropped before commit.", account="office-fb")
    office.dispatcher().tick(now())
    assert settle(office, x_id).status == S.PUBLISHED
    assert office.store.history.get(fb_id).status == S.PUBLISHED
    assert len(office.emulator.tweets("OfficeX")) == 1
    assert len(office.emulator.page_posts("OfficeFB")) == 1


def test_a_timeout_is_ambiguous_and_settled_without_a_second_post(make_office):
    office = make_office(timeout=0.5)
    office.emulator.inject("slow", platform="x", delay=1.5)
    post_id = office.add("Slow platform.")
    office.dispatcher().tick(now())
    assert office.store.history.get(post_id).attempts[0].outcome == "ambiguous"
    # The slow request goes on at the emulator: look only once it has stored the tweet.
    deadline = time.monotonic() + 30
    while not office.emulator.tweets("OfficeX") and time.monotonic() < deadline:
        time.sleep(0.05)
    post = settle(office, post_id)
    assert post.status == S.PUBLISHED
    assert len(office.emulator.tweets("OfficeX")) == 1


def test_a_duplicate_refusal_counts_as_evidence_of_an_earlier_success(office):
    # The store lost track of a success (restored from a backup taken just before it): the
    # post is queued again, X refuses it as a duplicate, and the live post is found.
    office.emulator.refuse_duplicates(platform="x")  # relies on X's refusal of a repeat
    live = office.publishers()["office-x"].publish("Same words twice.")
    post_id = office.add("Same words twice.")
    office.dispatcher().tick(now())
    post = office.store.history.get(post_id)
    assert (post.status, post.remote_id) == (S.PUBLISHED, live.remote_id)
    assert [a.outcome for a in post.attempts] == ["duplicate"]
    assert len(office.emulator.tweets("OfficeX")) == 1


def test_another_posts_live_twin_is_not_taken_for_a_post_refused_as_a_duplicate(office):
    # Two posts with the same words: the first is live and recorded as the first's. The
    # second is not live and never can be (X refuses the text); a person decides.
    office.emulator.refuse_duplicates(platform="x")  # relies on X's refusal of a repeat
    first = office.add("Same words twice.")
    office.dispatcher().tick(now())
    second = office.add("Same words twice.")
    office.dispatcher().tick(now())
    post = office.store.history.get(second)
    assert post.status == S.NEEDS_REVIEW and post.remote_id is None
    assert "duplicate" in post.last_error
    assert office.store.history.get(first).status == S.PUBLISHED
    assert len(office.emulator.tweets("OfficeX")) == 1


def test_unreadable_timeline_after_an_unclear_outcome_goes_to_review(office):
    office.emulator.inject("commit_then_error", platform="x")
    post_id = office.add("Nobody can tell.")
    dispatcher = office.dispatcher()
    dispatcher.tick(now())
    office.emulator.stop()
    dispatcher.tick(now() + LATER)
    post = office.store.history.get(post_id)
    assert post.status == S.NEEDS_REVIEW
    assert "timeline could not be read" in post.last_error
    assert "factpost post resolve" in post.last_error


def test_a_rate_limited_account_waits_while_the_others_keep_publishing(office):
    office.emulator.inject("rate_limit", platform="x")
    x_id = office.add("Hits the limit.")
    fb_id = office.add("Goes out anyway.", account="office-fb")
    report = office.dispatcher().tick(now())
    x_post = office.store.history.get(x_id)
    held = office.store.accounts.state("office-x")
    assert office.store.history.get(fb_id).status == S.PUBLISHED
    assert x_post.status == S.QUEUED and x_post.attempts[0].outcome == "rate_limited"
    assert held.held_until > now() and report.retried == 1
    assert x_post.scheduled_at >= held.held_until - timedelta(seconds=1)


def test_a_rate_limit_whose_reset_has_already_passed_waits_only_a_backoff(office):
    # X gives the reset in whole epoch seconds, often one second away: by the time the answer
    # is handled it can be in the past, which means the window is open again.
    office.emulator.set_x_limits("OfficeX", window_limit=100, window_seconds=1)
    office.emulator.inject("rate_limit", platform="x")
    x_id = office.add("Hits a limit that resets at once.")
    later = now() + timedelta(seconds=30)
    office.dispatcher().tick(later)
    x_post = office.store.history.get(x_id)
    assert x_post.attempts[0].outcome == "rate_limited"
    assert x_post.status == S.QUEUED
    # The test config's backoff is at most 0.05 s; the old fallback waited 15 minutes.
    assert x_post.scheduled_at <= later + timedelta(seconds=1)
    assert office.store.accounts.state("office-x").held_until <= later + timedelta(seconds=1)


def test_the_rate_limit_headers_pace_the_account_before_any_429(office):
    office.emulator.set_x_limits("OfficeX", window_limit=2, window_seconds=900)
    ids = [office.add(f"Update number {i}.") for i in range(4)]
    office.dispatcher().tick(now())
    statuses = [office.store.history.get(i).status for i in ids]
    assert statuses == [S.PUBLISHED, S.PUBLISHED, S.QUEUED, S.QUEUED]
    assert not [r for r in office.emulator.requests_log if r["status"] == 429]
    assert office.store.accounts.state("office-x").held_until > now()


def test_the_posting_budget_holds_an_account(make_office):
    office = make_office(budget=2)
    ids = [office.add(f"Budgeted post {i}.") for i in range(3)]
    office.dispatcher().tick(now())
    assert [office.store.history.get(i).status for i in ids] == [S.PUBLISHED, S.PUBLISHED,
                                                               S.QUEUED]
    state = office.store.accounts.state("office-x")
    assert "budget of 2" in state.held_reason


def test_rejected_credentials_pause_the_account_until_staff_resume_it(office, monkeypatch):
    monkeypatch.setenv("FACTPOST_OFFICE_X_ACCESS_TOKEN", "revoked")
    post_id = office.add("Needs good tokens.")
    office.dispatcher().tick(now())
    state = office.store.accounts.state("office-x")
    assert state.paused and "credentials" in state.paused_reason
    assert office.store.history.get(post_id).status == S.QUEUED
    office.dispatcher().tick(now() + LATER)
    assert office.store.history.get(post_id).attempt_count == 1  # paused: not tried again
    monkeypatch.undo()
    from scheduler.emulated import demo_credentials

    for account in office.config.accounts:
        for name, value in demo_credentials(account).items():
            monkeypatch.setenv(name, value)
    office.store.accounts.resume("office-x", actor=Actor("ops", "admin"), now=now())
    office.dispatcher().tick(now())
    assert office.store.history.get(post_id).status == S.PUBLISHED


def test_text_the_platform_rejects_fails_at_once_with_the_reason(office):
    post_id = office.add("x" * 300)  # the CLI refuses this; the platform must too
    office.dispatcher().tick(now())
    post = office.store.history.get(post_id)
    assert post.status == S.FAILED and post.attempt_count == 1
    assert post.attempts[0].error_code and post.attempts[0].error_message
    assert post.last_error == post.attempts[0].explanation


def test_retryable_errors_back_off_then_fail_when_attempts_are_used_up(make_office):
    office = make_office(max_attempts=3, url="http://127.0.0.1:9")  # nothing listens there
    post_id = office.add("Cannot connect.")
    dispatcher = office.dispatcher()
    times = []
    for i in range(4):
        dispatcher.tick(now() + LATER * i * 4)
        post = office.store.history.get(post_id)
        times.append(post.scheduled_at)
    assert post.status == S.FAILED and post.attempt_count == 3
    assert [a.outcome for a in post.attempts] == ["retryable"] * 3
    assert "gave up after 3 attempts" in post.last_error
    assert times[0] < times[1]  # backed off


@pytest.mark.parametrize("slow", ["x", "facebook"])
def test_a_slow_account_does_not_delay_another(make_office, slow):
    office = make_office(timeout=15)
    office.emulator.inject("slow", platform=slow, delay=5)
    x_id = office.add("To X.")
    fb_id = office.add("To the Page.", account="office-fb")
    office.dispatcher().tick()
    x, fb = office.store.history.get(x_id), office.store.history.get(fb_id)
    slowed, quick = (x, fb) if slow == "x" else (fb, x)
    # The quick account's post went out while the other's request waited 5 s for its answer.
    # Both ways round, so the order in which the tick reaches the accounts cannot decide it: a
    # tick that sends one account after the other fails one of the two, whichever it starts
    # with. (Comparing the quick post with the slow one's start, as before, was a race.)
    assert quick.published_at < slowed.published_at
    assert slowed.published_at - slowed.attempts[0].started_at >= timedelta(seconds=5)


def test_overdue_posts_go_out_no_faster_than_they_were_spaced(office):
    # "times in the past" (shared cases): eleven posts planned ten minutes apart, three hours
    # ago. The first goes now; each next one ten minutes after the one before, not all at once.
    start = now().replace(microsecond=0)
    planned = start - timedelta(hours=3)
    ids = [office.add(f"Update {n}.", at=planned + n * timedelta(minutes=10))
           for n in range(11)]
    dispatcher = office.dispatcher()
    assert dispatcher.tick(start).published == 1
    assert dispatcher.next_wakeup(start) == start + timedelta(minutes=10)
    assert dispatcher.tick(start + timedelta(minutes=9)).published == 0
    assert dispatcher.tick(start + timedelta(minutes=10)).published == 1
    for n in range(2, 11):
        dispatcher.tick(start + n * timedelta(minutes=10))
    published = [office.store.history.get(i).published_at for i in ids]
    assert [b - a for a, b in itertools.pairwise(published)] == [timedelta(minutes=10)] * 10
    assert [t["text"] for t in office.emulator.tweets("OfficeX")] == [
        f"Update {n}." for n in range(11)]


def test_a_post_not_yet_due_when_the_last_went_out_keeps_its_own_time(office):
    start = now().replace(microsecond=0)
    late = office.add("Late one.", at=start - timedelta(hours=3))
    planned = office.add("On time.", at=start + timedelta(minutes=1))
    dispatcher = office.dispatcher()
    dispatcher.tick(start)
    assert office.store.history.get(late).status == S.PUBLISHED
    # Three hours late did not push the next post three hours back: it goes at its time.
    assert dispatcher.next_wakeup(start) == start + timedelta(minutes=1)
    assert dispatcher.tick(start + timedelta(minutes=1)).published == 1
    assert office.store.history.get(planned).status == S.PUBLISHED


def test_a_post_with_entities_and_links_is_found_as_x_returns_it(office):
    # Case 07: X answers the create after the client gave up, and its timeline returns the
    # text HTML-escaped with every link (with or without a scheme) rewritten to t.co.
    office.emulator.inject("commit_then_error", platform="x")
    text = "Search & rescue: 14 calls, range > 2 km, < 10 min. Details: mod.gov.iq/sar"
    post_id = office.add(text)
    office.dispatcher().tick(now())
    post = settle(office, post_id)
    [tweet] = office.emulator.tweets("OfficeX")
    assert (post.status, post.remote_id) == (S.PUBLISHED, tweet["id"])
    assert [a.outcome for a in post.attempts] == ["ambiguous"]  # found, never sent again


# Without entities (an older API shape, a proxy that strips fields; the mock of case 07) a t.co
# link could be any link: it is taken for ours only where the post can be no other one's.

@pytest.mark.parametrize("text", [
    "Search & rescue > 2 km. Details at https://example.org today.",
    "Search & rescue > 2 km. Details at example.org.",
    "Details (www.mod.gov.iq/sar?a=1&b=2) and   https://mod.gov.iq/air, < 10 min.",
    "التسجيل مفتوح اليوم: mod.gov.iq/ar",
])
def test_a_post_whose_links_come_back_without_entities_is_found_after_one_send(office, text):
    office.emulator.omit_x_entities()
    office.emulator.inject("commit_then_error", platform="x")
    post_id = office.add(text)
    office.dispatcher().tick(now())
    post = settle(office, post_id)
    [tweet] = office.emulator.tweets("OfficeX")
    assert (post.status, post.remote_id) == (S.PUBLISHED, tweet["id"])
    assert [a.outcome for a in post.attempts] == ["ambiguous"]  # found, never sent again


def test_without_entities_a_post_unsure_of_its_twin_is_not_taken_for_it(office):
    # North fails before X creates it; south goes out but its answer is lost. Both are
    # unsettled and differ only by link, so the one entity-less post on the timeline may be
    # either's: north is not taken for it (it is sent), south finds its own.
    office.emulator.omit_x_entities()
    north, south = (LINKED.format(link=f"https://mod.gov.iq/convoy/{w}")
                    for w in ("north", "south"))
    office.emulator.inject("error_before", platform="x")
    office.emulator.inject("commit_then_error", platform="x")
    north_id = office.add(north, at=now() - timedelta(seconds=2))
    south_id = office.add(south, at=now() - timedelta(seconds=1))
    office.dispatcher().tick(now())
    settle(office, north_id)
    tweets = {t["text"]: t["id"] for t in office.emulator.tweets("OfficeX")}
    assert set(tweets) == {north, south}
    for post_id, text in ((north_id, north), (south_id, south)):
        post = office.store.history.get(post_id)
        assert (post.status, post.remote_id) == (S.PUBLISHED, tweets[text])


def test_without_entities_two_unsure_twins_are_neither_taken_blindly(office):
    # Both went out, both answers were lost: each entity-less post could be either's.
    office.emulator.omit_x_entities()
    north, south = (LINKED.format(link=f"mod.gov.iq/{w}") for w in ("north", "south"))
    office.emulator.inject("commit_then_error", platform="x", count=2)
    ids = [office.add(text, at=now() - timedelta(seconds=n))
           for n, text in ((2, north), (1, south))]
    office.dispatcher().tick(now())
    settle(office, ids[0])
    assert len(office.emulator.tweets("OfficeX")) == 2  # never sent twice
    for post_id in ids:
        post = office.store.history.get(post_id)
        assert (post.status, post.remote_id) == (S.NEEDS_REVIEW, None)


# Two posts that differ only in their link are two posts (review D1). X returns every link as a
# t.co address, so the text alone cannot tell them apart; what each link points to can.

LINKED = "Registration for the relief convoy opens today; details at {link}"


def ambiguous_then_other(office, ours: str, other: str, *, account: str = "office-x",
                         fault: str = "error_before") -> int:
    """`ours` meets `fault` on its first send; `other` goes out right after it, before `ours`
    is looked for on the timeline (as when a backlog drains, or another daemon publishes)."""
    office.emulator.inject(fault, platform=office.config.account(account).platform)
    ours_id = office.add(ours, account=account, at=now() - timedelta(seconds=2))
    office.add(other, account=account, at=now() - timedelta(seconds=1))
    office.dispatcher().tick(now())
    return ours_id


@pytest.mark.parametrize("entities", [True, False], ids=["entities", "no-entities"])
def test_a_post_that_differs_from_a_live_one_only_in_its_link_is_not_taken_for_it(office,
                                                                                 entities):
    office.emulator.omit_x_entities(not entities)
    south, north = (LINKED.format(link=f"https://mod.gov.iq/convoy/{w}")
                    for w in ("south", "north"))
    post_id = ambiguous_then_other(office, south, north)
    post = settle(office, post_id)
    tweets = {t["text"]: t["id"] for t in office.emulator.tweets("OfficeX")}
    assert set(tweets) == {north, south}
    assert (post.status, post.remote_id) == (S.PUBLISHED, tweets[south])
    assert [a.outcome for a in post.attempts] == ["ambiguous", "published"]


@pytest.mark.parametrize("entities", [True, False], ids=["entities", "no-entities"])
def test_a_post_that_differs_only_in_a_bare_domain_link_is_not_taken_for_it(office, entities):
    office.emulator.omit_x_entities(not entities)
    south, north = (LINKED.format(link=f"mod.gov.iq/{w}") for w in ("south", "north"))
    post_id = ambiguous_then_other(office, south, north, fault="drop_before")
    post = settle(office, post_id)
    tweets = {t["text"]: t["id"] for t in office.emulator.tweets("OfficeX")}
    assert (post.status, post.remote_id) == (S.PUBLISHED, tweets[south])


def test_on_facebook_a_post_that_differs_only_in_its_link_is_not_taken_for_it(office):
    south, north = (LINKED.format(link=f"https://mod.gov.iq/convoy/{w}")
                    for w in ("south", "north"))
    post_id = ambiguous_then_other(office, south, north, account="office-fb")
    post = settle(office, post_id)
    messages = {p["message"]: p["id"] for p in office.emulator.page_posts("OfficeFB")}
    assert set(messages) == {north, south}
    assert (post.status, post.remote_id) == (S.PUBLISHED, messages[south])


def test_a_post_whose_link_went_out_is_found_by_where_its_link_points(office):
    south = LINKED.format(link="www.mod.gov.iq/convoy/south")
    north = LINKED.format(link="https://mod.gov.iq/convoy/north")
    post_id = ambiguous_then_other(office, south, north, fault="commit_then_error")
    post = settle(office, post_id)
    tweets = {t["text"]: t["id"] for t in office.emulator.tweets("OfficeX")}
    assert set(tweets) == {north, south}
    assert (post.status, post.remote_id) == (S.PUBLISHED, tweets[south])
    assert [a.outcome for a in post.attempts] == ["ambiguous"]  # found, never sent again


def test_a_timeline_too_busy_to_read_back_to_the_first_try_goes_to_review(office, monkeypatch):
    # Not found among the posts a check may read is no evidence that it is not further down.
    monkeypatch.setattr("scheduler.reconcile.MAX_TIMELINE_POSTS", 5)
    post_id = ambiguous_then_other(office, "Ours, unclear.", "Another one.")
    publisher = office.publishers()["office-x"]
    for n in range(5):
        publisher.publish(f"Posted meanwhile {n}.")
    post = settle(office, post_id)
    assert post.status == S.NEEDS_REVIEW
    assert "more than 5 posts since the first try" in post.last_error
    assert "Ours, unclear." not in [t["text"] for t in office.emulator.tweets("OfficeX")]
