"""Images with alt text: checked before anything is stored, kept in the database, and published
with their alt text on X (upload, metadata, post) and Facebook (one photo request), over real
loopback HTTP to the emulator. That every platform publishes an image with its alt text is part
of the publisher contract (tests/platform_contract.py)."""

from __future__ import annotations

import hashlib
import struct
import zlib
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from db.store import Store
from posts.media import MB, Media, MediaError, check_image, sniff_image_type
from posts.states import Actor, PostStatus
from scheduler.cli import cli
from scheduler.config import AccountConfig
from scheduler.emulated import demo_credentials
from scheduler.platforms.base import Ambiguous, Permanent, Retryable
from scheduler.platforms.registry import build_publisher, spec

ALT = "Crew members unloading boxes of medical supplies on a pier"
HANDLES = {"x": "OfficeX", "facebook": "OfficeFB"}


def png(width: int = 2, height: int = 2, *, pad: int = 0) -> bytes:
    """A real PNG (grey pixels); `pad` adds an ancillary chunk to reach a size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + (chunk(b"tEXt", b"pad\x00" + b"\r\n\x00x" * (pad // 4)) if pad else b"")
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"  # noqa: E501
WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"  # noqa: E501


def media(content: bytes | None = None, alt: str = ALT, mime: str = "image/png") -> Media:
    return Media(content=content if content is not None else png(), mime_type=mime,
                 alt_text=alt)


# The checks ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "mime"), [
    (png(), "image/png"), (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),
    (GIF, "image/gif"), (WEBP, "image/webp"), (b"%PDF-1.7", None), (b"", None),
])
def test_the_type_is_read_from_the_bytes_not_the_name(data, mime):
    assert sniff_image_type(data) == mime


@pytest.mark.parametrize(("platform", "data", "alt", "problem"), [
    ("x", png(), "", "alt text is required"),
    ("x", png(), "x" * 1001, "1001 characters"),
    ("x", b"%PDF-1.7 not an image", ALT, "not a JPEG, PNG, GIF or WEBP"),
    ("x", GIF, ALT, "GIF images cannot be posted to X"),
    ("facebook", WEBP, ALT, "WEBP images cannot be posted to Facebook"),
    ("x", png(pad=5 * MB + 8), ALT, "over X's 5 MB limit"),
    ("facebook", png(pad=4 * MB + 8), ALT, "over Facebook's 4 MB limit"),
])
def test_what_a_platform_would_refuse_is_refused_with_one_clear_line(platform, data, alt,
                                                                     problem):
    with pytest.raises(MediaError, match=problem) as caught:
        check_image(data, alt, spec(platform).media, platform=spec(platform).title,
                    name="photo.png")
    assert "\n" not in str(caught.value) and str(caught.value).startswith("photo.png: ")


def test_each_platform_takes_its_documented_formats():
    x, facebook = spec("x"), spec("facebook")
    assert check_image(WEBP, ALT, x.media, platform="X").mime_type == "image/webp"
    assert check_image(GIF, ALT, facebook.media, platform="Facebook").mime_type == "image/gif"
    assert check_image(png(pad=4 * MB + 8), ALT, x.media, platform="X").size > 4 * MB  # 5 MB


# Publishing: each platform's own ways (the rest is the contract, tests/platform_contract.py)

def stored_image(emulator, platform: str) -> tuple[str, dict]:
    """(text, image) of the only post on the emulated account."""
    if platform == "x":
        [tweet] = emulator.tweets("OfficeX")
        [item] = tweet["media"]
        return tweet["text"], emulator.image(item["id"])
    [post] = emulator.page_posts("OfficeFB")
    return post["message"], emulator.image(post["photo"]["id"])


def test_x_uploads_then_describes_then_posts(emulator):
    _publisher(emulator, "x").publish("Three requests.", media=media())
    paths = [r["path"] for r in emulator.requests_log if r["method"] == "POST"]
    assert paths == ["/2/media/upload", "/2/media/metadata", "/2/tweets"]


def test_x_refuses_a_gif_through_the_one_request_upload(emulator):
    pub = _publisher(emulator, "x")
    with pytest.raises(Permanent, match="media_type"):
        pub.publish("Animated.", media=media(GIF, mime="image/gif"))


def test_x_refuses_a_post_naming_media_it_never_uploaded(emulator):
    pub = _publisher(emulator, "x")
    with pytest.raises(Permanent, match="media IDs are invalid"):
        pub._call(lambda: pub.client.create_tweet(text="Ghost image.", media_ids=["1234567890"],
                                                  user_auth=True), creating=True)
    assert emulator.tweets("OfficeX") == []


def test_x_refuses_alt_text_over_1000_characters(emulator):
    pub = _publisher(emulator, "x")
    with pytest.raises(Permanent):
        pub.publish("Too much description.", media=media(alt="d" * 1001))
    assert emulator.tweets("OfficeX") == []


def test_graph_refuses_a_photo_request_without_a_file(emulator):
    pub = _publisher(emulator, "facebook")
    with pytest.raises(Permanent, match="324"):
        pub._call(lambda: pub.graph.request(f"{pub.graph.version}/OfficeFB/photos",
                                            post_args={"caption": "No file."}), creating=True)
    assert emulator.page_posts("OfficeFB") == []


def test_an_x_upload_that_fails_is_retryable_because_no_post_exists_yet(emulator):
    pub = _publisher(emulator, "x")
    for fault in ("error_before", "html_error", "drop_before", "commit_then_error"):
        emulator.inject(fault, platform="x")
        with pytest.raises(Retryable) as caught:
            pub.publish("Upload trouble.", media=media())
        assert not isinstance(caught.value, Ambiguous), fault
    assert emulator.tweets("OfficeX") == []
    pub.publish("Upload trouble.", media=media())  # and the retry goes through
    assert len(emulator.tweets("OfficeX")) == 1


def test_a_facebook_photo_that_fails_after_sending_is_ambiguous(emulator):
    # The photo and its feed story are created by the one request that failed.
    pub = _publisher(emulator, "facebook")
    emulator.inject("commit_then_error", platform="facebook")
    with pytest.raises(Ambiguous):
        pub.publish("Photo trouble.", media=media())
    assert [p["message"] for p in emulator.page_posts("OfficeFB")] == ["Photo trouble."]


def _publisher(emulator, platform: str):
    account = AccountConfig(name=f"office-{platform}", platform=platform,
                            handle=HANDLES[platform], api_url=emulator.url, timeout_seconds=5)
    emulator.register_accounts([account], demo_credentials(account))
    return build_publisher(account, demo_credentials(account))


# Through the store and the dispatcher -------------------------------------------------------

@pytest.mark.parametrize("account", ["office-x", "office-fb"])
def test_the_dispatcher_publishes_a_stored_image_with_its_post(office, account):
    now = datetime.now(UTC)
    image = check_image(png(32, 32), ALT, office.config.account(account).spec.media,
                        platform=office.config.account(account).spec.title)
    post_id = office.store.posts.add(account=account, platform=office.config.account(account)
                                     .platform, text="Harbour open again.",
                                     scheduled_at=now - timedelta(seconds=1),
                                     actor=Actor("t", "admin"), now=now,
                                     status=PostStatus.QUEUED, media=image).id
    assert office.dispatcher().tick(now).published == 1
    post = office.store.history.get(post_id)
    platform = office.config.account(account).platform
    text, held = stored_image(office.emulator, platform)
    assert post.status == PostStatus.PUBLISHED
    assert (text, held["content"], held["alt_text"]) == ("Harbour open again.", image.content,
                                                         ALT)


def test_an_x_upload_failure_sends_the_post_again_without_a_timeline_check(office):
    now = datetime.now(UTC)
    office.emulator.inject("error_before", platform="x")
    post_id = office.store.posts.add(account="office-x", platform="x", text="Retry me.",
                                     scheduled_at=now - timedelta(seconds=1),
                                     actor=Actor("t", "admin"), now=now,
                                     status=PostStatus.QUEUED, media=media()).id
    office.dispatcher().tick(now)
    post = office.store.history.get(post_id)
    assert post.status == PostStatus.QUEUED
    assert [a.outcome for a in post.attempts] == ["retryable"]


def test_the_same_image_with_the_same_alt_text_is_stored_once(store: Store):
    now = datetime.now(UTC)
    for text in ("One.", "Two."):
        store.posts.add(account="office-x", platform="x", text=text, scheduled_at=now,
                        actor=Actor("t", "admin"), now=now, status=PostStatus.QUEUED, media=media())
    store.posts.add(account="office-x", platform="x", text="Three.", scheduled_at=now,
                    actor=Actor("t", "admin"), now=now, status=PostStatus.QUEUED,
                    media=media(alt="Another view"))
    assert store.media.count() == 2
    posts = store.history.upcoming("office-x")
    assert posts[0].media_id == posts[1].media_id != posts[2].media_id
    assert store.media.for_post(posts[0]) == media()


# The command line ---------------------------------------------------------------------------

CONFIG = """
[database]
url = "sqlite:///factpost.db"
[schedule]
timezone = "Asia/Baghdad"
[[accounts]]
name = "office-x"
platform = "x"
handle = "OfficeX"
api_url = "http://127.0.0.1:9"
[[accounts]]
name = "office-fb"
platform = "facebook"
handle = "OfficeFB"
api_url = "http://127.0.0.1:9"
"""


@pytest.fixture
def factpost(write_config, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_config(CONFIG)
    assert CliRunner().invoke(cli, ["init"]).exit_code == 0

    def run(*args: str):
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return run


def counts(tmp_path) -> tuple[int, int]:
    store = Store.open(f"sqlite:///{tmp_path / 'factpost.db'}")
    try:
        return len(store.history.upcoming()), store.media.count()
    finally:
        store.close()


def test_post_add_stores_the_image_in_the_database(factpost, tmp_path):
    path = tmp_path / "convoy.png"
    path.write_bytes(png(8, 8))
    result = factpost("post", "add", "Convoy arrived.", "--account", "office-x",
                      "--image", str(path), "--alt", ALT)
    assert result.exit_code == 0, result.output
    path.unlink()  # publishing must not depend on the file
    assert counts(tmp_path) == (1, 1)
    shown = factpost("post", "show", "1", "--json").output
    assert '"alt_text": "' + ALT in shown
    assert hashlib.sha256(png(8, 8)).hexdigest() in shown


@pytest.mark.parametrize(("account", "content", "alt", "problem"), [
    ("office-x", b"%PDF-1.7", ALT, "not a JPEG, PNG, GIF or WEBP image"),
    ("office-x", GIF, ALT, "GIF images cannot be posted to X"),
    ("office-fb", png(pad=4 * MB + 8), ALT, "over the 4 MB limit"),
    ("office-x", png(pad=5 * MB + 8), ALT, "over the 5 MB limit"),
    ("office-x", png(), None, "alt text is required"),
    ("office-x", None, ALT, "image file not found"),
])
def test_a_bad_image_is_refused_at_post_add_and_nothing_is_stored(factpost, tmp_path, account,
                                                                  content, alt, problem):
    path = tmp_path / "picture.png"
    if content is not None:
        path.write_bytes(content)
    args = ["post", "add", "With a picture.", "--account", account, "--image", str(path)]
    result = factpost(*args, *(["--alt", alt] if alt is not None else []))
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert line.startswith("factpost: error: ") and problem in line
    assert counts(tmp_path) == (0, 0)


def test_alt_text_without_an_image_is_a_usage_error(factpost, tmp_path):
    result = factpost("post", "add", "Text only.", "--account", "office-x", "--alt", ALT)
    assert result.exit_code == 2 and "--image" in result.output
    assert counts(tmp_path) == (0, 0)
