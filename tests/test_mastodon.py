"""Mastodon beyond the publisher contract: counting as the instance counts, the instance's own
limits, threads split by them, the Idempotency-Key that keeps a resend from doubling a status
(and its hour), and HTML read back as the text that was sent. Mastodon.py over loopback HTTP
against the emulator's instance throughout."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator import Emulator, mastodon_state
from posts.states import Actor
from scheduler.config import AccountConfig
from scheduler.emulated import demo_credentials
from scheduler.platforms import mastodon
from scheduler.platforms.base import Ambiguous, Permanent, RateLimited
from scheduler.platforms.mastodon_text import plain_text, status_length
from scheduler.platforms.registry import build_publisher
from scheduler.reconcile import find_on_timeline, same_text

PLATFORM = mastodon.SPEC.name


@pytest.fixture(autouse=True)
def fresh_limits(monkeypatch):
    """Each test reads its own emulator's limits, not a cached instance's."""
    monkeypatch.setattr(mastodon, "_limits", {})


def account(url: str, **changes) -> AccountConfig:
    changes.setdefault("timeout_seconds", 5.0)
    return AccountConfig(name="office-mastodon", platform=PLATFORM, handle="OfficeMastodon",
                         api_url=url, **changes)


def publisher_for(emulator, **changes):
    acct = account(emulator.url, **changes)
    emulator.register_accounts([acct], demo_credentials(acct))
    return build_publisher(acct, demo_credentials(acct))


# Counting --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "length"), [
    ("Read https://mod.gov.iq/" + "a" * 200, 5 + 23),      # a URL with a scheme counts 23
    ("Read mod.gov.iq/statement", 25),                     # a bare one counts as written
    ("Thanks @press@mod.gov.iq!", len("Thanks @press!")),  # a remote mention: its local part
    ("👨‍👩‍👧‍👦 family", 8),                                     # one grapheme cluster
    ("مَرْحَبًا", 5),                                          # letters with their marks
])
def test_a_status_is_counted_as_the_instance_counts_it(text, length):
    assert status_length(text) == length
    assert mastodon_state.status_length(text) == length  # the double's own count agrees


def test_the_instance_takes_a_status_at_its_limit_and_refuses_one_past_it(emulator):
    pub = publisher_for(emulator)
    at_limit = "x" * 477 + " https://mod.gov.iq/" + "p" * 300  # 477 + 1 + 23 = 501 - 1
    at_limit = at_limit[1:]
    assert status_length(at_limit) == 500
    pub.publish(at_limit)
    with pytest.raises(Permanent, match="character limit of 500"):
        pub.publish("y" + at_limit)
    assert len(emulator.posts(PLATFORM, "OfficeMastodon")) == 1


# The instance's own limits ---------------------------------------------------------------------

def test_an_accounts_limits_are_its_instances_from_api_v2_instance(emulator):
    emulator.double(PLATFORM).set_limits(max_characters=1_000, url_characters=30)
    rules = account(emulator.url).text
    assert rules.limit == 1_000
    assert rules.measure("see https://mod.gov.iq/" + "a" * 100) == 4 + 30
    # An instance that cannot be reached: Mastodon's defaults, until it can be asked again.
    assert account("http://127.0.0.1:9").text.limit == 500


def test_a_long_arabic_section_becomes_a_reply_chain_within_the_instances_limit(
        emulator, make_office):
    from scheduler.compose import compose

    emulator.double(PLATFORM).set_limits(max_characters=200)
    office = make_office(config_text=f"""
[database]
url = "sqlite:///factpost.db"
[schedule]
timezone = "Asia/Baghdad"
[[accounts]]
name = "office-mastodon-ar"
platform = "{PLATFORM}"
handle = "OfficeMastodonAr"
api_url = "{emulator.url}"
language = "ar"
visibility = "unlisted"
hashtags = ["#ميريديان"]
""")
    [acct] = office.config.accounts
    text = ("رافقت القوة نحو 1,250 سفينة تجارية عبر المضيق؛ وتحمل هذه السفن الغذاء والوقود "
            "والدواء لأكثر من 3.5 مليون شخص على طول الساحل. ") * 4 + \
        "للمزيد: https://jtf-meridian.mil/ar/report " + "تقرير مفصل. " * 20
    now = datetime.now(UTC)
    posts = compose(office.store, office.config, Actor("tester", "author"), acct, text,
                    when=now - timedelta(seconds=1), now=now)
    assert len(posts) > 2 and all(status_length(p.text) <= 200 for p in posts)
    assert posts[-1].text.endswith(f" #ميريديان {len(posts)}/{len(posts)}")
    dispatcher = office.dispatcher()
    try:
        assert dispatcher.tick(now).published == len(posts)
    finally:
        dispatcher.shutdown()
    sent = emulator.double(PLATFORM).statuses("OfficeMastodonAr")
    assert [s["id"] for s in sent[:-1]] == [s["in_reply_to_id"] for s in sent[1:]]
    assert {(s["visibility"], s["language"]) for s in sent} == {("unlisted", "ar")}
    assert [plain_text(s["content"], s["mentions"]) for s in sent] == [p.text for p in posts]


# The Idempotency-Key ---------------------------------------------------------------------------

def _wait_for_creates(emulator, count: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        creates = [r for r in emulator.requests_log
                   if (r["method"], r["path"]) == ("POST", "/api/v1/statuses")]
        if len(creates) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"the emulator answered fewer than {count} creates in 30 s")


@pytest.mark.parametrize(("key", "copies"), [("factpost-post-7", 1), (None, 2)])
def test_a_resend_while_the_first_send_is_still_being_made_is_not_a_second_status(
        emulator, key, copies):
    # The first request outlives its timeout, so the timeline does not show it yet, and the
    # post is sent again: with the post's key the instance answers one status for both.
    pub = publisher_for(emulator, timeout_seconds=0.5)
    first_try = datetime.now(UTC)
    emulator.inject("slow", platform=PLATFORM, delay=3.0)
    with pytest.raises(Ambiguous):
        pub.publish("Ferry service resumes at 06:00.", key=key)
    assert find_on_timeline(pub, "Ferry service resumes at 06:00.", since=first_try) is None
    pub.publish("Ferry service resumes at 06:00.", key=key)
    _wait_for_creates(emulator, 2)
    assert len(emulator.posts(PLATFORM, "OfficeMastodon")) == copies


def test_the_key_is_remembered_for_an_hour_then_only_the_timeline_tells(make_office):
    clock = [time.time()]
    with Emulator(port=0, clock=lambda: clock[0]) as em:
        pub = publisher_for(em)
        em.inject("commit_then_error", platform=PLATFORM)
        with pytest.raises(Ambiguous):
            pub.publish("Port open.", key="factpost-post-1")
        clock[0] += 3_590
        again = pub.publish("Port open.", key="factpost-post-1")
        assert [p["id"] for p in em.posts(PLATFORM, "OfficeMastodon")] == [again.remote_id]
        clock[0] += 20  # past the hour: the instance no longer knows the key
        pub.publish("Port open.", key="factpost-post-1")
        assert len(em.posts(PLATFORM, "OfficeMastodon")) == 2


def test_an_unclear_send_is_settled_from_the_accounts_statuses(emulator, make_office):
    office = make_office(config_text=f"""
[database]
url = "sqlite:///factpost.db"
[schedule]
timezone = "Asia/Baghdad"
retry_base_seconds = 0.01
retry_max_seconds = 0.02
[[accounts]]
name = "office-mastodon"
platform = "{PLATFORM}"
handle = "OfficeMastodon"
api_url = "{emulator.url}"
""")
    post_id = office.add("Convoy arrived.", account="office-mastodon")
    emulator.inject("drop_after", platform=PLATFORM)
    dispatcher = office.dispatcher()
    try:
        dispatcher.tick(datetime.now(UTC))
        dispatcher.tick(datetime.now(UTC) + timedelta(minutes=5))
    finally:
        dispatcher.shutdown()
    [status] = emulator.posts(PLATFORM, "OfficeMastodon")
    post = office.store.history.get(post_id)
    assert (post.status, post.remote_id) == ("published", status["id"])


def test_a_throttled_account_waits_until_the_reset_the_instance_names(emulator):
    pub = publisher_for(emulator)
    emulator.inject("rate_limit", platform=PLATFORM)
    with pytest.raises(RateLimited) as caught:
        pub.publish("Too soon.")
    assert caught.value.reset_at > datetime.now(UTC) + timedelta(minutes=4)


# Reading back ----------------------------------------------------------------------------------

WORDS = st.sampled_from(["Aid", "arrived", "&", "<b>", "x > 2", "\"quoted\"", "it's",
                         "https://mod.gov.iq/a?b=1&c=2", "mod.gov.iq", "#Relief", "#إغاثة",
                         "@press", "@press@mod.gov.iq", "قوة", "1/3", "\n", "\n\n", "—"])


@settings(max_examples=150, deadline=None)
@given(st.lists(WORDS, min_size=1, max_size=25))
def test_a_statuses_html_reads_back_as_the_text_that_was_sent(words):
    text = " ".join(words).strip()
    if not text:
        return
    content, mentions = mastodon_state.format_status(text, "social.example")
    assert same_text(text, plain_text(content, mentions))


def test_the_emulator_prints_the_shipped_mastodon_accounts_credentials():
    from pathlib import Path

    from click.testing import CliRunner

    from scheduler.cli import cli

    shipped = Path(__file__).resolve().parent.parent / "config.toml"
    result = CliRunner().invoke(cli, ["--config", str(shipped), "emulator", "--env"])
    assert result.exit_code == 0, result.output
    assert ("export FACTPOST_MERIDIAN_MASTODON_ACCESS_TOKEN="
            "emulator-meridian-mastodon-access-token") in result.output.splitlines()


def test_a_visibility_mastodon_does_not_have_is_refused_at_start_up(write_config):
    from scheduler.config import ConfigError, load_config

    path = write_config(f'[[accounts]]\nname = "office-mastodon"\nplatform = "{PLATFORM}"\n'
                        'handle = "OfficeMastodon"\nvisibility = "everyone"\n')
    with pytest.raises(ConfigError, match=r"accounts\[0\]\.visibility: 'everyone' is not a "
                                          r"Mastodon visibility.*\"unlisted\""):
        load_config(path)
