"""Telegram channels beyond the publisher contract: how an unclear send is settled (it cannot
be looked up, so a person decides, and it never goes out twice), splitting by UTF-16 length,
captions, link previews per account, the 429 `retry_after`, and the channel's handle."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import ADMIN, POSTGRES_URL, postgres_store

from posts.factsheet import Section
from posts.media import PNG, Media
from posts.split import split_section
from posts.states import PostStatus
from scheduler.config import ConfigError
from scheduler.emulated import demo_credentials
from scheduler.platforms.base import Permanent, RateLimited
from scheduler.platforms.registry import build_publisher
from scheduler.platforms.telegram import SPEC, chat_id, message_url, utf16_length

PIXEL = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgAB"
                         "SK+kcQAAAABJRU5ErkJggg==")

CHANNEL_CONFIG = """
[database]
url = "{database}"
[schedule]
timezone = "UTC"
max_attempts = 5
[[accounts]]
name = "office-telegram"
platform = "telegram"
handle = "@OfficeChannel"
api_url = "{url}"
timeout_seconds = 5
{extra}
"""


@pytest.fixture
def channel(make_office, emulator):
    def make(extra: str = "", database: str = "sqlite:///factpost.db"):
        if database.startswith("postgresql"):
            postgres_store().close()  # an empty database, or a skip saying why
        return make_office(config_text=CHANNEL_CONFIG.format(url=emulator.url, extra=extra,
                                                             database=database))
    return make


def queue(office, text: str, now: datetime):
    return office.store.posts.add(account="office-telegram", platform="telegram", text=text,
                                  scheduled_at=now - timedelta(seconds=1), actor=ADMIN,
                                  now=now, status=PostStatus.QUEUED)


@pytest.mark.parametrize("fault", ["commit_then_error", "drop_before", "error_before"])
def test_an_unclear_send_goes_to_review_and_is_never_sent_again_unseen(channel, fault):
    office = channel()
    now = datetime.now(UTC)
    post = queue(office, "Aid convoy arrived at Sel Harbour.", now)
    office.emulator.inject(fault, platform="telegram")
    dispatcher = office.dispatcher()
    try:
        assert dispatcher.tick(now).retried == 1
        # However often the daemon comes back, the post is not sent blind.
        report = dispatcher.tick(now + timedelta(hours=1))
        assert (report.needs_review, report.published) == (1, 0)
        assert dispatcher.tick(now + timedelta(hours=2)).published == 0
    finally:
        dispatcher.shutdown()
    stored = office.store.history.get(post.id)
    assert stored.status == PostStatus.NEEDS_REVIEW
    assert "cannot read a channel's posts back" in stored.last_error
    sent = office.emulator.posts("telegram", "OfficeChannel")
    assert len(sent) == (1 if fault == "commit_then_error" else 0)


# Named ids: the PostgreSQL URL differs per xdist worker (and may hold a password), and
# xdist refuses to run when workers collect differently named tests.
@pytest.mark.parametrize("database", ["sqlite:///factpost.db", POSTGRES_URL],
                         ids=["sqlite", "postgresql"])
def test_a_person_settles_the_post_either_way_and_it_goes_out_once(channel, database):
    office = channel(database=database)
    now = datetime.now(UTC)
    live, lost = queue(office, "Went out.", now), queue(office, "Never arrived.", now)
    office.emulator.inject("commit_then_error", platform="telegram")
    office.emulator.inject("drop_before", platform="telegram")
    dispatcher = office.dispatcher()
    try:
        dispatcher.tick(now)
        assert dispatcher.tick(now + timedelta(hours=1)).needs_review == 2
        [message] = office.emulator.posts("telegram", "OfficeChannel")
        office.store.posts.resolve_published(live.id, remote_id=message["id"], remote_url=None,
                                             actor=ADMIN, now=now + timedelta(hours=2))
        # 'factpost post resolve ID --retry': the person looked; it is sent, not looked for.
        office.store.posts.retry(lost.id, actor=ADMIN, now=now + timedelta(hours=2))
        assert dispatcher.tick(now + timedelta(hours=3)).published == 1
    finally:
        dispatcher.shutdown()
    assert [m["text"] for m in office.emulator.posts("telegram", "OfficeChannel")] == [
        "Went out.", "Never arrived."]
    assert {office.store.history.get(p.id).status for p in (live, lost)} == {
        PostStatus.PUBLISHED}


def test_a_long_section_is_a_numbered_reply_chain_measured_in_utf16():
    # Each emoji is one code point but two UTF-16 code units: by code points every part
    # would look half as long as Telegram may count it.
    paragraph = " ".join(["Aid reached the port \U0001F6A2 today."] * 60)
    section = Section("Update", tuple([paragraph] * 6))
    parts = split_section(section, SPEC.text, language="en")
    assert len(parts) > 1
    assert all(utf16_length(p.text) <= 4096 for p in parts)
    assert any(len(p.text) <= 4096 < 2 * len(p.text) for p in parts)
    assert [p.text.endswith(f" {i}/{len(parts)}") for i, p in enumerate(parts, 1)] == [
        True] * len(parts)
    assert utf16_length("a\U0001F6A2") == 3


def test_text_goes_out_verbatim_never_through_a_parse_mode(channel):
    office = channel()
    publisher = build_publisher(office.config.accounts[0])
    text = "*Not bold* <b>not html</b> _nor_ [this](https://x.example) & 2 > 1"
    publisher.publish(text)
    [message] = office.emulator.double("telegram").state_snapshot()["OfficeChannel"]
    assert message["text"] == text


@pytest.mark.parametrize(("setting", "disabled"), [("", False), ("link_previews = false", True)])
def test_link_previews_follow_the_account(channel, setting, disabled):
    office = channel(setting)
    build_publisher(office.config.accounts[0]).publish("See https://mod.gov.iq/news")
    [message] = office.emulator.double("telegram").state_snapshot()["OfficeChannel"]
    assert message["link_preview_options"].get("is_disabled", False) is disabled


def test_a_link_previews_value_that_is_not_true_or_false_is_refused(channel):
    with pytest.raises(ConfigError, match="link_previews"):
        channel('link_previews = "no"')


def test_a_caption_over_1024_is_refused_before_anything_is_sent(channel):
    office = channel()
    publisher = build_publisher(office.config.accounts[0])
    with pytest.raises(Permanent, match="1,024"):
        publisher.publish("x" * 1025, media=Media(PIXEL, PNG, "A pixel"))
    publisher.publish("x" * 1024, media=Media(PIXEL, PNG, "A pixel"))
    assert [len(m["text"]) for m in office.emulator.posts("telegram", "OfficeChannel")] == [1024]


def test_twenty_messages_a_minute_then_429_with_retry_after(channel):
    office = channel()
    publisher = build_publisher(office.config.accounts[0])
    for i in range(20):
        publisher.publish(f"Message {i}.")
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as caught:
        publisher.publish("One too many.")
    assert before < caught.value.reset_at <= before + timedelta(seconds=61)
    assert caught.value.http_status == 429
    assert publisher.rate_limit.remaining == 0


def test_the_handle_names_a_public_or_a_private_channel(channel, emulator):
    assert chat_id("OfficeChannel") == chat_id("@OfficeChannel") == "@OfficeChannel"
    assert chat_id("-1001234567890") == -1001234567890
    assert message_url("OfficeChannel", "7") == "https://t.me/OfficeChannel/7"
    assert message_url("-1001234567890", "7") == "https://t.me/c/1234567890/7"
    office = channel()
    account = office.config.accounts[0]
    assert account.credential_names() == ("FACTPOST_OFFICE_TELEGRAM_BOT_TOKEN",)
    info = build_publisher(account, demo_credentials(account)).check()
    assert (info.handle, info.remote_id.startswith("-100")) == ("OfficeChannel", True)


def test_a_hand_written_post_too_long_to_caption_its_image_is_refused(channel):
    from scheduler.compose import PostTextError, compose

    office = channel()
    account, now = office.config.accounts[0], datetime.now(UTC)
    image = Media(PIXEL, PNG, "A pixel")
    with pytest.raises(PostTextError, match="1,024"):
        compose(office.store, office.config, ADMIN, account, "word " * 300, when=now, now=now,
                media=image)
    [post] = compose(office.store, office.config, ADMIN, account, "word " * 300, when=now,
                     now=now)
    assert post.media_id is None
    compose(office.store, office.config, ADMIN, account, "A caption.", when=now, now=now,
            media=image)


def test_the_emulator_prints_the_bot_token_variable_for_each_channel(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from scheduler.cli import cli

    for var in [v for v in os.environ if v.startswith("FACTPOST_")]:
        monkeypatch.delenv(var)
    config = Path(__file__).resolve().parent.parent / "config.toml"
    result = CliRunner().invoke(cli, ["--config", str(config), "emulator", "--env"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for name in ("MERIDIAN_TELEGRAM", "MERIDIAN_TELEGRAM_AR"):
        assert any(line.startswith(f"export FACTPOST_{name}_BOT_TOKEN=") for line in lines)


@pytest.mark.parametrize("handle", ["@no", "Office Channel", "t.me/OfficeChannel", "12345"])
def test_a_handle_that_names_no_channel_is_refused_in_one_line(write_config, handle):
    from scheduler.config import load_config

    path = write_config(f"""
        [[accounts]]
        name = "office-telegram"
        platform = "telegram"
        handle = "{handle}"
        """)
    with pytest.raises(ConfigError, match="handle") as caught:
        load_config(path)
    assert "@username" in str(caught.value) and "\n" not in str(caught.value)
