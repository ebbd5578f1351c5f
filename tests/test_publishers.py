"""What each platform's publisher does beyond the contract every platform keeps
(tests/platform_contract.py): the Graph API version, X's refusals and rate-limit headers,
Graph's throttling codes, and the HTTP session under every publisher."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests

from scheduler.config import AccountConfig
from scheduler.emulated import demo_credentials
from scheduler.platforms.base import (
    Permanent,
    RateLimited,
)
from scheduler.platforms.http import api_session
from scheduler.platforms.registry import build_publisher

HANDLES = {"x": "OfficeX", "facebook": "OfficeFB"}


def account(platform: str, url: str, **changes) -> AccountConfig:
    return AccountConfig(name=f"office-{platform}", platform=platform, handle=HANDLES[platform],
                         api_url=url, timeout_seconds=changes.pop("timeout_seconds", 5.0),
                         **changes)


def test_facebook_uses_the_configured_graph_version(emulator):
    a = account("facebook", emulator.url, options={"graph_version": "v21.0"})
    emulator.register_accounts([a], demo_credentials(a))
    build_publisher(a, demo_credentials(a)).publish("Versioned.")
    assert any(r["path"].startswith("/v21.0/") for r in emulator.requests_log)


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


def test_real_hosts_keep_the_normal_proxy_behaviour():
    session = api_session(account("x", "https://api.twitter.com"), "https://api.twitter.com")
    assert session.trust_env


def test_the_session_applies_the_accounts_timeout_to_every_request(emulator):
    a = account("x", emulator.url, timeout_seconds=0.2)
    session = api_session(a, "https://api.twitter.com")
    emulator.latency = 1.0
    with pytest.raises(requests.ReadTimeout):
        session.get("https://api.twitter.com/2/users/me")


