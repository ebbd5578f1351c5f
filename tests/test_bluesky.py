"""Bluesky beyond the shared contract (tests/platform_contract.py): the record key that makes a
resend land on the same record, facets at UTF-8 byte offsets, threads with root and parent
refs, the 300-grapheme limit and the session's renewal. The atproto SDK talks to the
emulator's PDS over loopback HTTP."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from platform_contract import Case, one_account_office

from posts.factsheet import Section
from posts.split import split_section
from scheduler.emulated import demo_credentials
from scheduler.platforms import bluesky, registry
from scheduler.platforms.base import Ambiguous, CredentialsRejected, DuplicateContent
from scheduler.platforms.registry import build_publisher


@pytest.fixture
def case(emulator) -> Case:
    return Case(bluesky, emulator)


@pytest.fixture
def pub(case):
    return case.publisher()


def test_the_record_key_is_a_tid_fixed_by_the_posts_key():
    keys = [bluesky.record_key(f"factpost-post-{i}") for i in range(2_000)]
    assert all(re.fullmatch(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}", k)
               for k in keys)
    assert len(set(keys)) == len(keys)
    assert bluesky.record_key("factpost-post-7") == bluesky.record_key("factpost-post-7")


@pytest.mark.parametrize("fault", ["commit_then_error", "drop_after"])
def test_a_create_whose_answer_was_lost_is_settled_by_reading_its_record(case, pub, fault):
    case.emulator.inject(fault, platform="bluesky")
    published = pub.publish("Convoy reached the port.", key="factpost-post-41")
    [post] = case.posts()
    assert published.remote_id == post["id"]
    assert post["id"].endswith("/app.bsky.feed.post/" + bluesky.record_key("factpost-post-41"))


def test_a_create_that_was_not_applied_stays_ambiguous_and_the_resend_goes_out_once(case, pub):
    case.emulator.inject("error_before", platform="bluesky")
    with pytest.raises(Ambiguous):
        pub.publish("Convoy reached the port.", key="factpost-post-42")
    assert case.posts() == []
    first = pub.publish("Convoy reached the port.", key="factpost-post-42")
    # The same post sent again (a daemon that missed the first answer): the PDS refuses a
    # second record at the key with its 500, and the record there is the post.
    again = pub.publish("Convoy reached the port.", key="factpost-post-42")
    assert first == again
    assert [p["id"] for p in case.posts()] == [first.remote_id]


def test_a_different_text_at_the_posts_key_is_never_taken_for_it(case, pub):
    pub.publish("The first version.", key="factpost-post-43")
    with pytest.raises(DuplicateContent, match="different post"):
        pub.publish("The edited version.", key="factpost-post-43")
    assert [p["text"] for p in case.posts()] == ["The first version."]


def test_links_mentions_and_tags_are_facets_at_utf8_byte_offsets(case, pub):
    case.emulator.double("bluesky").register(
        "press.mod.gov.iq", {"handle": "press.mod.gov.iq", "app_password": "elsewhere"})
    text = "تحديث: see mod.gov.iq/north and https://a.gov/r?x=1 via @press.mod.gov.iq #Aid"
    pub.publish(text)
    [stored] = case.emulator.double("bluesky").accounts["officebluesky"].records.values()
    encoded = text.encode("utf-8")
    found = {}
    for facet in stored["value"]["facets"]:
        start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
        found[encoded[start:end].decode("utf-8")] = facet["features"][0]
    assert found["mod.gov.iq/north"]["uri"] == "https://mod.gov.iq/north"
    assert found["https://a.gov/r?x=1"]["uri"] == "https://a.gov/r?x=1"
    assert found["@press.mod.gov.iq"]["did"] == (
        case.emulator.double("bluesky").accounts["press.mod.gov.iq"].did)
    assert found["#Aid"]["tag"] == "Aid"
    assert stored["value"]["langs"] == ["en"]


def test_a_mention_of_a_handle_that_does_not_resolve_stays_plain_text(case, pub):
    pub.publish("Thanks to @nobody.example.org for the photos.")
    [stored] = case.emulator.double("bluesky").accounts["officebluesky"].records.values()
    assert not stored["value"].get("facets")


def test_a_thread_part_names_its_root_and_its_parent(case, pub):
    first = pub.publish("Part 1/3", key="factpost-post-1")
    second = pub.publish("Part 2/3", reply_to=first.remote_id, key="factpost-post-2")
    third = pub.publish("Part 3/3", reply_to=second.remote_id, key="factpost-post-3")
    records = {r["uri"]: r for r in
               case.emulator.double("bluesky").accounts["officebluesky"].records.values()}
    reply = records[third.remote_id]["value"]["reply"]
    assert (reply["root"]["uri"], reply["root"]["cid"]) == (first.remote_id,
                                                            records[first.remote_id]["cid"])
    assert (reply["parent"]["uri"], reply["parent"]["cid"]) == (
        second.remote_id, records[second.remote_id]["cid"])
    assert [p.reply_to for p in pub.recent_posts(3)] == [second.remote_id, first.remote_id,
                                                         None]


def test_text_is_measured_in_graphemes_and_utf8_bytes():
    family = "\U0001f469\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # 1 grapheme, 25 bytes
    assert bluesky.post_length(family * 120) == 300  # 120 graphemes, but 3,000 bytes
    assert bluesky.post_length(family * 121) > 300
    assert bluesky.post_length("e\u0301" * 300) == 300  # e and a combining accent: one grapheme
    assert bluesky.post_length("س" * 300) == 300
    rules = registry.spec("bluesky").text
    assert (rules.limit, rules.unit, rules.threads) == (300, "graphemes", True)


def test_a_long_section_splits_into_numbered_parts_within_300_graphemes(case, pub):
    rules = registry.spec("bluesky").text
    body = " ".join(f"Sentence {i} of the statement from the ministry 🇮🇶." for i in range(40))
    parts = split_section(Section("Statement", body), rules)
    assert len(parts) > 1 and all(bluesky.post_length(p.text) <= 300 for p in parts)
    assert parts[-1].text.endswith(f" {len(parts)}/{len(parts)}")
    previous = None
    for i, part in enumerate(parts):
        previous = pub.publish(part.text, reply_to=previous and previous.remote_id,
                               key=f"factpost-post-{100 + i}")
    assert [p["text"] for p in case.posts()] == [p.text for p in parts]


def test_text_over_300_graphemes_is_refused_by_the_pds_for_good(pub):
    from scheduler.platforms.base import Permanent

    with pytest.raises(Permanent, match="300 graphemes"):
        pub.publish("a" * 301)


def test_a_revoked_session_is_renewed_with_the_app_password_without_a_second_post(case, pub):
    pub.publish("Before.")
    case.emulator.double("bluesky").expire_sessions(case.handle)
    pub.publish("After.", key="factpost-post-9")
    assert [p["text"] for p in case.posts()] == ["Before.", "After."]
    sessions = [e for e in case.emulator.requests_log
                if e["path"].endswith("createSession")]
    assert len(sessions) == 2


def test_a_session_close_to_expiry_is_refreshed_before_the_request(case, pub, monkeypatch):
    pub.publish("Before.")
    # The SDK renews an access token in its last 15 minutes (refreshSession).
    monkeypatch.setattr(pub._client, "get_current_time",
                        lambda: datetime.now(UTC) + timedelta(hours=1, minutes=50))
    pub.publish("After.")
    paths = [e["path"].rsplit(".", 1)[-1] for e in case.emulator.requests_log]
    assert paths.count("refreshSession") == 1 and paths.count("createSession") == 1


def test_a_wrong_app_password_pauses_the_account(case):
    account = case.account()
    case.emulator.register_accounts([account], demo_credentials(account))
    wrong = {**demo_credentials(account)}
    wrong[account.env_prefix + "APP_PASSWORD"] = "not-the-app-password"
    with pytest.raises(CredentialsRejected, match="app password"):
        build_publisher(account, wrong).publish("Hello.")


def test_the_write_limit_is_read_from_the_ratelimit_headers(pub):
    pub.check()
    assert pub.rate_limit is None  # createSession's own limit says nothing about posting
    pub.publish("Counting.")
    state = pub.rate_limit
    assert state.remaining == 5_000 - 3 and state.reset_at > datetime.now(UTC)


def test_the_feed_says_which_posts_carry_an_image(pub):
    from platform_contract import ALT, PIXEL

    from posts.media import PNG, Media

    pub.publish("With a picture.", media=Media(PIXEL, PNG, ALT), key="factpost-post-60")
    pub.publish("Without one.", key="factpost-post-61")
    assert [(p.text, p.has_media) for p in pub.recent_posts(2)] == [
        ("Without one.", False), ("With a picture.", True)]


def test_signing_in_more_than_30_times_in_5_minutes_waits_for_the_reset(case):
    from scheduler.platforms.base import RateLimited

    # 31 sign-ins in a row: on a loaded machine one can take longer than the contract's 5 s
    # timeout, and a timeout is not what this test is about.
    account = case.account(timeout_seconds=60)
    case.emulator.register_accounts([account], demo_credentials(account))
    for _ in range(30):
        build_publisher(account, demo_credentials(account)).check()
    with pytest.raises(RateLimited) as caught:
        build_publisher(account, demo_credentials(account)).check()
    assert datetime.now(UTC) < caught.value.reset_at <= datetime.now(UTC) + timedelta(minutes=5)


def test_a_dead_daemons_post_the_feed_does_not_show_yet_is_settled_without_a_second_post(
        case, tmp_path, monkeypatch):
    from posts.states import Actor, PostStatus
    from scheduler.dispatch import Dispatcher

    config, account, store = one_account_office(
        case, tmp_path, monkeypatch, name="office-bluesky", platform="bluesky",
        handle="OfficeBluesky")
    now = datetime.now(UTC)
    post = store.posts.add(account=account.name, platform="bluesky", text="Convoy arrived.",
                           scheduled_at=now - timedelta(seconds=1), actor=Actor("t", "admin"),
                           now=now, status=PostStatus.QUEUED)
    # A daemon claims the post, records its attempt, sends it and dies before the answer is
    # recorded; the AppView has not indexed the post when the next daemon looks.
    store.queue.claim_next(account.name, worker="dead", now=now, lease=timedelta(seconds=60))
    store.outcomes.start_attempt(post.id, worker="dead", now=now)
    sent = build_publisher(account).publish("Convoy arrived.", key=f"factpost-post-{post.id}")
    case.emulator.double("bluesky").feed_lag_seconds = 3_600
    dispatcher = Dispatcher(store, config, {account.name: build_publisher(account)},
                            worker="next")
    try:
        dispatcher.tick(now + timedelta(minutes=5))
        settled = store.history.get(post.id)
    finally:
        dispatcher.shutdown()
        store.close()
    assert (settled.status, settled.remote_id) == (PostStatus.PUBLISHED, sent.remote_id)
    assert [p["id"] for p in case.posts()] == [sent.remote_id]
    creates = [e for e in case.emulator.requests_log if e["path"].endswith("createRecord")]
    assert [e["status"] for e in creates] == [200, 500]  # the resend, refused at the key
