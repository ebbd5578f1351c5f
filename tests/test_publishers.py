"""The publisher contract, on every platform (one parametrized fixture): real tweepy and
facebook-sdk over loopback HTTP to the emulator, every failure sorted into its class."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
import requests

from scheduler.config import AccountConfig
from scheduler.emulated import demo_credentials
from scheduler.platforms.base import (
    Ambiguous,
    CredentialsRejected,
    DuplicateContent,
    Permanent,
    Publisher,
    RateLimited,
    Retryable,
)
from scheduler.platforms.http import api_session
from scheduler.platforms.registry import build_publisher

HANDLES = {"x": "OfficeX", "facebook": "OfficeFB"}


def account(platform: str, url: str, **changes) -> AccountConfig:
    return AccountConfig(name=f"office-{platform}", platform=platform, handle=HANDLES[platform],
                         api_url=url, timeout_seconds=changes.pop("timeout_seconds", 5.0),
                         **changes)


@pytest.fixture(params=["x", "facebook"])
def platform(request) -> str:
    return request.param


@pytest.fixture
def acct(platform, emulator) -> AccountConfig:
    a = account(platform, emulator.url)
    emulator.register_accounts([a], demo_credentials(a))
    return a


@pytest.fixture
def publisher(acct) -> Publisher:
    return build_publisher(acct, demo_credentials(acct))


def remote_texts(emulator, platform: str) -> list[str]:
    if platform == "x":
        return [t["text"] for t in emulator.tweets("OfficeX")]
    return [p["message"] for p in emulator.page_posts("OfficeFB")]


def test_publish_records_the_remote_id_and_link(publisher, emulator, platform):
    published = publisher.publish("Aid convoy arrived at Sel Harbour.")
    assert remote_texts(emulator, platform) == ["Aid convoy arrived at Sel Harbour."]
    assert published.remote_id
    assert published.remote_url.startswith(
        "https://x.com/OfficeX/status/" if platform == "x" else "https://www.facebook.com/")


def test_recent_posts_read_the_accounts_own_timeline_newest_first(publisher):
    for text in ("First.", "Second.", "Third."):
        publisher.publish(text)
    recent = publisher.recent_posts(10)
    assert [p.text for p in recent] == ["Third.", "Second.", "First."]
    assert all(isinstance(p.created_at, datetime) for p in recent)


def test_a_post_buried_under_many_newer_ones_is_still_found_since_the_first_try(
        publisher, emulator, platform):
    # While a dead daemon's lease runs out, the others keep publishing to the same account.
    from scheduler.reconcile import find_on_timeline

    if platform == "x":
        # More posts at once than X's 100 per 15 minutes allows one account.
        emulator.set_x_limits("OfficeX", window_limit=1_000)

    first_try = datetime.now(UTC)
    publisher.publish("The post whose outcome was lost.")
    for i in range(230):
        publisher.publish(f"Published meanwhile by another daemon, number {i}.")
    found = find_on_timeline(publisher, "The post whose outcome was lost.", since=first_try)
    assert found is not None
    # Without a first try to go back to, only the newest 100 are read.
    assert find_on_timeline(publisher, "The post whose outcome was lost.") is None


def test_check_names_the_account_behind_the_credentials(publisher, platform):
    info = publisher.check()
    assert info.remote_id
    if platform == "x":
        assert info.handle == "OfficeX"


def test_x_threads_are_reply_chains(emulator):
    a = account("x", emulator.url)
    emulator.register_accounts([a], demo_credentials(a))
    x = build_publisher(a, demo_credentials(a))
    first = x.publish("Thread 1/2")
    x.publish("Thread 2/2", reply_to=first.remote_id)
    tweets = emulator.tweets("OfficeX")
    assert tweets[1]["in_reply_to"] == first.remote_id
    assert x.recent_posts(5)[0].reply_to == first.remote_id


def test_facebook_uses_the_configured_graph_version(emulator):
    a = account("facebook", emulator.url, options={"graph_version": "v21.0"})
    emulator.register_accounts([a], demo_credentials(a))
    build_publisher(a, demo_credentials(a)).publish("Versioned.")
    assert any(r["path"].startswith("/v21.0/") for r in emulator.requests_log)


@pytest.mark.parametrize(("fault", "error"), [
    ("error_before", Ambiguous),       # a 5xx on a create may have applied: look first
    ("commit_then_error", Ambiguous),
    ("drop_before", Ambiguous),        # sent, no answer: nobody can tell
    ("drop_after", Ambiguous),
    ("html_error", Ambiguous),         # a proxy's HTML page is not a success
    ("rate_limit", RateLimited),
])
def test_each_fault_is_sorted_into_its_class(publisher, emulator, fault, error):
    emulator.inject(fault)
    with pytest.raises(error) as caught:
        publisher.publish("Faulty moment.")
    assert caught.value.explanation and caught.value.code
    if error is RateLimited:
        assert caught.value.reset_at > datetime.now(UTC)


def test_a_timeout_after_sending_is_ambiguous(emulator, platform):
    a = account(platform, emulator.url, timeout_seconds=0.3)
    emulator.register_accounts([a], demo_credentials(a))
    emulator.inject("slow", delay=1.0)
    with pytest.raises(Ambiguous, match="did not answer in time"):
        build_publisher(a, demo_credentials(a)).publish("Slow.")


def test_a_closed_port_is_retryable_because_nothing_was_sent(platform):
    a = account(platform, "http://127.0.0.1:9")
    with pytest.raises(Retryable) as caught:
        build_publisher(a, demo_credentials(a)).publish("Nobody home.")
    assert not isinstance(caught.value, Ambiguous)


def test_reading_the_timeline_never_counts_as_ambiguous(emulator, publisher):
    emulator.stop()
    with pytest.raises(Retryable):
        publisher.recent_posts()


def test_rejected_credentials(acct, emulator):
    creds = {k: "wrong" for k in demo_credentials(acct)}
    bad = build_publisher(acct, creds)
    with pytest.raises(CredentialsRejected) as caught:
        bad.publish("Who am I?")
    assert "wrong" not in str(caught.value) + (caught.value.message or "")


def test_duplicates_are_recognised(publisher):
    publisher.publish("Said once.")
    with pytest.raises(DuplicateContent):
        publisher.publish("Said once.")


def test_text_the_platform_refuses_is_permanent(emulator):
    a = account("x", emulator.url)
    emulator.register_accounts([a], demo_credentials(a))
    with pytest.raises(Permanent, match="too long"):
        build_publisher(a, demo_credentials(a)).publish("y" * 281)


def test_a_blocked_page_is_permanent(emulator):
    a = account("facebook", emulator.url)
    emulator.register_accounts([a], demo_credentials(a))
    emulator.set_graph_block("OfficeFB")
    with pytest.raises(Permanent, match="blocked"):
        build_publisher(a, demo_credentials(a)).publish("Blocked.")


@pytest.mark.parametrize("code", [4, 17, 32, 613])
def test_graph_throttling_codes_hold_the_page_until_it_regains_access(emulator, code):
    a = account("facebook", emulator.url)
    emulator.register_accounts([a], demo_credentials(a))
    emulator.set_graph_throttle("OfficeFB", code=code)
    with pytest.raises(RateLimited) as caught:
        build_publisher(a, demo_credentials(a)).publish("Throttled.")
    assert caught.value.code.startswith(str(code))
    assert caught.value.reset_at > datetime.now(UTC)


def test_x_rate_limit_headers_are_read_after_each_publish(emulator):
    a = account("x", emulator.url)
    emulator.register_accounts([a], demo_credentials(a))
    emulator.set_x_limits("OfficeX", window_limit=3, window_seconds=900)
    x = build_publisher(a, demo_credentials(a))
    x.publish("One.")
    assert x.rate_limit.remaining == 2
    x.publish("Two.")
    x.publish("Three.")
    assert x.rate_limit.remaining == 0 and x.rate_limit.reset_at > datetime.now(UTC)


def test_environment_proxies_do_not_hijack_loopback_traffic(publisher, emulator, platform,
                                                            monkeypatch):
    for var in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")  # a proxy that refuses everything
    publisher.publish("Straight to the emulator.")
    assert remote_texts(emulator, platform) == ["Straight to the emulator."]


def test_real_hosts_keep_the_normal_proxy_behaviour():
    session = api_session(account("x", "https://api.twitter.com"), "https://api.twitter.com")
    assert session.trust_env


def test_the_session_applies_the_accounts_timeout_to_every_request(emulator):
    a = account("x", emulator.url, timeout_seconds=0.2)
    session = api_session(a, "https://api.twitter.com")
    emulator.latency = 1.0
    with pytest.raises(requests.ReadTimeout):
        session.get("https://api.twitter.com/2/users/me")


def test_no_token_reaches_errors_repr_or_debug_logs(acct, emulator, caplog):
    caplog.set_level(logging.DEBUG)
    creds = demo_credentials(acct)
    publisher = build_publisher(acct, creds)
    seen = [repr(publisher)]
    for fault in ("drop_before", "error_before", "html_error"):
        emulator.inject(fault)
        try:
            publisher.publish("Secret-free.")
        except Exception as exc:  # every error's text is inspected
            seen += [str(exc), repr(exc), str(getattr(exc, "message", ""))]
    closed = build_publisher(account(acct.platform, "http://127.0.0.1:9"), creds)
    try:
        closed.recent_posts()
    except Retryable as exc:
        seen += [str(exc), exc.message or ""]
    seen.append(caplog.text)
    for value in creds.values():
        assert all(value not in text for text in seen)
