"""The publisher contract every platform module keeps (scheduler/platforms/base.py), as tests:
its real client code over loopback HTTP to the platform's emulator double, publishing, threads,
images, every failure sorted into its class, reading the timeline back to settle an unclear
outcome, rate limits, and spend where the platform bills.

Nothing here names a platform. A test module runs the whole suite for a platform by defining
a `case` fixture that returns a `Case` and importing the tests:

    from platform_contract import *  # noqa: F403  (the suite)

tests/test_platform_contract.py does so for every module the registry lists;
tests/test_platform_stub.py for a stub platform registered only there.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from types import ModuleType

import pytest

from posts.media import PNG, Media
from scheduler.config import AccountConfig
from scheduler.emulated import demo_credentials
from scheduler.platforms.base import (
    Ambiguous,
    CannotDelete,
    CredentialsRejected,
    Deleted,
    Deleter,
    DuplicateContent,
    Permanent,
    Publisher,
    PublishError,
    RateLimited,
    RateLimitState,
    Retryable,
    delete_post,
)
from scheduler.platforms.registry import build_publisher
from scheduler.platforms.spec import PlatformSpec
from scheduler.reconcile import find_on_timeline, same_text

ALT = "Crew members unloading boxes of medical supplies on a pier"
# A 1x1 PNG.
PIXEL = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgAB"
                         "SK+kcQAAAABJRU5ErkJggg==")


@dataclass
class Case:
    """One platform under test: its module (SPEC and publisher) and the running emulator."""

    module: ModuleType
    emulator: object

    @property
    def spec(self) -> PlatformSpec:
        return self.module.SPEC

    @property
    def handle(self) -> str:
        return "Office" + re.sub(r"\W", "", self.spec.title)

    def account(self, url: str | None = None, **changes) -> AccountConfig:
        changes.setdefault("timeout_seconds", 5.0)
        return AccountConfig(name=f"office-{self.spec.name}", platform=self.spec.name,
                             handle=self.handle, api_url=url or self.emulator.url, **changes)

    def publisher(self, account: AccountConfig | None = None,
                  environ: dict | None = None) -> Publisher:
        account = account or self.account()
        self.emulator.register_accounts([account], demo_credentials(account))
        return build_publisher(account, environ or demo_credentials(account))

    def posts(self) -> list[dict]:
        return self.emulator.posts(self.spec.name, self.handle)


def one_account_office(case, tmp_path, monkeypatch, *, name: str, platform: str, handle: str):
    """An office of one account of `platform` on the case's emulator, its demo credentials in
    the environment and registered with the emulator, and a migrated SQLite store beside its
    config.toml: (config, account, store)."""
    from db import migrate
    from db.store import Store
    from scheduler.config import load_config

    path = tmp_path / "config.toml"
    path.write_text(f'[[accounts]]\nname = "{name}"\nplatform = "{platform}"\n'
                    f'handle = "{handle}"\napi_url = "{case.emulator.url}"\n', encoding="utf-8")
    config = load_config(path)
    [account] = config.accounts
    for variable, value in demo_credentials(account).items():
        monkeypatch.setenv(variable, value)
    case.emulator.register_accounts([account], demo_credentials(account))
    store = Store.open(f"sqlite:///{tmp_path / 'factpost.db'}")
    migrate.upgrade(store.engine)
    return config, account, store


@pytest.fixture
def pub(case) -> Publisher:
    """The case's publisher (named so a platform module's own `publisher` factory, defined in
    a test module that runs this suite, does not hide it)."""
    return case.publisher()


# Publishing -----------------------------------------------------------------------------------

def test_publish_puts_the_text_on_the_account_and_says_where(case, pub):
    published = pub.publish("Aid convoy arrived at Sel Harbour.")
    [post] = case.posts()
    assert post["text"] == "Aid convoy arrived at Sel Harbour."
    assert published.remote_id == post["id"]
    assert published.remote_url.startswith("https://")


def test_publish_takes_the_posts_key_the_same_on_every_attempt(case, pub):
    # A platform with idempotency uses it (a resend cannot duplicate); the others ignore it.
    published = pub.publish("Keyed.", key="factpost-post-1")
    assert [p["id"] for p in case.posts()] == [published.remote_id]


def test_a_thread_is_a_reply_chain_where_the_platform_threads(case, pub):
    if not case.spec.text.threads:
        pytest.skip(f"{case.spec.title} has no threads: long text is refused, not chained")
    first = pub.publish("Thread 1/2")
    second = pub.publish("Thread 2/2", reply_to=first.remote_id)
    assert [p["reply_to"] for p in case.posts()] == [None, first.remote_id]
    if case.spec.timeline:
        newest = pub.recent_posts(5)[0]
        assert (newest.remote_id, newest.reply_to) == (second.remote_id, first.remote_id)


def test_an_image_goes_out_with_its_bytes_and_alt_text(case, pub):
    if PNG not in case.spec.media.types:
        pytest.skip(f"{case.spec.title} takes no PNG")
    published = pub.publish("Medical supplies arrived.",
                                  media=Media(PIXEL, PNG, ALT))
    [post] = case.posts()
    [image] = post["media"]
    # A platform with nowhere to put alt text (its MediaRules say so) is sent none.
    alt = ALT if case.spec.media.alt_text else None
    assert (image["alt_text"], image["sha256"]) == (alt, hashlib.sha256(PIXEL).hexdigest())
    assert case.emulator.image(image["id"])["content"] == PIXEL
    assert published.remote_id == post["id"]
    if case.spec.timeline:
        # The remote id is the post's, so the timeline check finds it after an unclear outcome.
        assert published.remote_id in [p.remote_id for p in pub.recent_posts(5)]


def test_a_file_that_is_not_an_image_is_refused_for_good(case, pub):
    with pytest.raises(Permanent):
        pub.publish("Not a picture.", media=Media(b"%PDF-1.7 pretending", PNG, ALT))
    assert case.posts() == []


def test_check_names_the_account_behind_the_credentials(pub):
    info = pub.check()
    assert info.remote_id and info.handle


# Reading the timeline back --------------------------------------------------------------------

@pytest.fixture
def readable(case) -> None:
    """Skips a test of reading the timeline back for a platform whose API cannot (its spec's
    `timeline`); test_a_timeline_that_cannot_be_read_says_so_for_good covers those."""
    if not case.spec.timeline:
        pytest.skip(f"{case.spec.title}'s API cannot read the account's posts back")


def test_a_timeline_that_cannot_be_read_says_so_for_good(case, pub):
    # Then an unclear outcome goes to needs_review with this reason (scheduler/dispatch.py):
    # a Retryable here would only delay that, an Ambiguous would make no sense.
    if case.spec.timeline:
        pytest.skip(f"{case.spec.title} reads its timeline back")
    pub.publish("Published, but never read back.")
    with pytest.raises(Permanent) as caught:
        pub.recent_posts(10)
    assert caught.value.explanation and caught.value.code


@pytest.mark.usefixtures("readable")
def test_recent_posts_read_the_accounts_own_timeline_newest_first(pub):
    for text in ("First.", "Second.", "Third."):
        pub.publish(text)
    recent = pub.recent_posts(10)
    assert [p.text for p in recent][:3] == ["Third.", "Second.", "First."]
    assert all(isinstance(p.created_at, datetime) for p in recent)


@pytest.mark.usefixtures("readable")
def test_the_timeline_gives_each_post_back_as_it_was_sent(pub):
    # Two posts that differ only in their links are two posts on the timeline too (X's t.co
    # rewriting is undone from the entities it returns; review D1).
    texts = ["Fish & chips > 2 km <away>: mod.gov.iq/north and https://a.gov/r?x=1&y=2",
             "Fish & chips > 2 km <away>: mod.gov.iq/south and https://a.gov/r?x=1&y=3"]
    for text in texts:
        pub.publish(text)
    read = pub.recent_posts(5)[:2][::-1]
    assert [same_text(t, r.text) for t in texts for r in read] == [True, False, False, True]
    assert all(r.unresolved_links == () for r in read)


@pytest.mark.usefixtures("readable")
def test_a_post_whose_answer_was_lost_is_found_on_the_timeline(case, pub):
    first_try = datetime.now(UTC)
    case.emulator.inject("commit_then_error", platform=case.spec.name)
    with pytest.raises(Ambiguous):
        pub.publish("Search & rescue teams reached the ferry > 2 km offshore.")
    found = find_on_timeline(pub, "Search & rescue teams reached the ferry > 2 km "
                                        "offshore.", since=first_try)
    assert found is not None and found.remote_id == case.posts()[0]["id"]


@pytest.mark.usefixtures("readable")
def test_a_post_buried_under_many_newer_ones_is_still_found_since_the_first_try(case, pub):
    # While a dead daemon's lease runs out, the others keep publishing to the same account.
    case.emulator.lift_limits(case.spec.name, case.handle)
    first_try = datetime.now(UTC)
    pub.publish("The post whose outcome was lost.")
    for i in range(230):
        pub.publish(f"Published meanwhile by another daemon, number {i}.")
    found = find_on_timeline(pub, "The post whose outcome was lost.", since=first_try)
    assert found is not None
    # Without a first try to go back to, only the newest 100 are read.
    assert find_on_timeline(pub, "The post whose outcome was lost.") is None


# Every failure in its class -------------------------------------------------------------------

@pytest.mark.parametrize(("fault", "error"), [
    ("error_before", Ambiguous),       # a 5xx on a create may have applied: look first
    ("commit_then_error", Ambiguous),
    ("drop_before", Ambiguous),        # sent, no answer: nobody can tell
    ("drop_after", Ambiguous),
    ("html_error", Ambiguous),         # a proxy's HTML page is not a success
    ("rate_limit", RateLimited),
    ("refuse", Permanent),
])
def test_each_fault_is_sorted_into_its_class(case, pub, fault, error):
    case.emulator.inject(fault, platform=case.spec.name)
    with pytest.raises(error) as caught:
        pub.publish("Faulty moment.")
    assert caught.value.explanation and caught.value.code
    assert not isinstance(caught.value, CredentialsRejected | DuplicateContent)
    if error is RateLimited:
        assert caught.value.reset_at > datetime.now(UTC)


def test_the_rate_limit_the_platform_reports_is_readable_after_a_publish(pub):
    pub.publish("Counting.")
    state = pub.rate_limit
    assert state is None or isinstance(state, RateLimitState)


def test_a_timeout_after_sending_is_ambiguous(case):
    publisher = case.publisher(case.account(timeout_seconds=0.3))
    case.emulator.inject("slow", delay=1.0)
    with pytest.raises(Ambiguous, match="did not answer in time"):
        publisher.publish("Slow.")


def test_a_closed_port_is_retryable_because_nothing_was_sent(case):
    account = case.account("http://127.0.0.1:9")
    with pytest.raises(Retryable) as caught:
        build_publisher(account, demo_credentials(account)).publish("Nobody home.")
    assert not isinstance(caught.value, Ambiguous)


@pytest.mark.usefixtures("readable")
def test_reading_the_timeline_never_counts_as_ambiguous(case, pub):
    case.emulator.stop()
    with pytest.raises(Retryable) as caught:
        pub.recent_posts()
    assert not isinstance(caught.value, Ambiguous)


def test_rejected_credentials_say_so_and_never_show_the_secret(case):
    account = case.account()
    case.emulator.register_accounts([account], demo_credentials(account))
    wrong = {name: "wrong-secret-value" for name in demo_credentials(account)}
    with pytest.raises(CredentialsRejected) as caught:
        build_publisher(account, wrong).publish("Who am I?")
    assert "wrong-secret-value" not in str(caught.value) + (caught.value.message or "")


def test_a_refused_repeat_is_recognised_as_a_duplicate(case, pub):
    # Relies on the refusal: turned on for platforms that (today) accept a repeat, unless the
    # platform has no such refusal at all to switch on (its double's `refusal_exists`).
    if not getattr(case.emulator.double(case.spec.name), "refusal_exists", True):
        pytest.skip(f"{case.spec.title} has no duplicate refusal")
    case.emulator.refuse_duplicates(platform=case.spec.name)
    pub.publish("Said once.")
    with pytest.raises(DuplicateContent):
        pub.publish("Said once.")


def test_a_repeat_the_platform_accepts_is_a_second_post(case, pub):
    case.emulator.refuse_duplicates(False, platform=case.spec.name)
    first, second = pub.publish("Said twice."), pub.publish("Said twice.")
    assert first.remote_id != second.remote_id
    assert [p["text"] for p in case.posts()] == ["Said twice.", "Said twice."]


# Spend, where the platform bills ------------------------------------------------------------

class RecordingMeter:
    def __init__(self) -> None:
        self.events: list[tuple] = []

    def start(self, operation: str) -> object:
        self.events.append(("start", operation))
        return len(self.events)

    def settle(self, token: object, *, charged: bool | None, remote_id: str | None = None
               ) -> None:
        self.events.append(("settle", charged, remote_id))

    def record(self, operation: str, *, units: int = 1, resources=None) -> None:
        self.events.append(("record", operation, units))


def test_every_billed_request_is_reported_with_an_operation_the_platform_prices(case, pub):
    if case.spec.billing is None:
        pytest.skip(f"{case.spec.title} does not bill per request")
    meter = pub.meter = RecordingMeter()
    published = pub.publish("Priced.")
    pub.recent_posts(5)
    prices = case.spec.billing.defaults().prices.micros
    assert ("settle", True, published.remote_id) in meter.events
    operations = [e[1] for e in meter.events if e[0] in ("start", "record")]
    assert operations and all(op in prices for op in operations)
    assert pub.app and pub.app == case.spec.billing.app(build_credentials(case))


def build_credentials(case) -> dict:
    account = case.account()
    return {name[len(account.env_prefix):].lower(): value
            for name, value in demo_credentials(account).items()}


# Secrets and proxies ------------------------------------------------------------------------

def test_no_secret_reaches_errors_repr_or_debug_logs(case, caplog):
    caplog.set_level(logging.DEBUG)
    account = case.account()
    credentials = demo_credentials(account)
    publisher = case.publisher(account)
    seen = [repr(publisher)]
    for fault in ("drop_before", "error_before", "html_error"):
        case.emulator.inject(fault, platform=case.spec.name)
        # The fault is really met (and sorted as the class tests above say): a publish that
        # went through would leave no error text to inspect.
        with pytest.raises(Ambiguous) as caught:
            publisher.publish("Secret-free.")
        exc = caught.value
        seen += [str(exc), repr(exc), str(exc.message or ""), exc.explanation]
    closed = build_publisher(case.account("http://127.0.0.1:9"), credentials)
    try:
        closed.recent_posts()
    except PublishError as exc:
        seen += [str(exc), exc.message or ""]
    seen.append(caplog.text)
    for value in credentials.values():
        assert all(value not in text for text in seen)


def test_environment_proxies_do_not_hijack_loopback_traffic(case, pub, monkeypatch):
    for var in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")  # a proxy that refuses everything
    pub.publish("Straight to the emulator.")
    assert [p["text"] for p in case.posts()] == ["Straight to the emulator."]


# Deleting, where the publisher offers it -----------------------------------------------------

def deleter(pub) -> Deleter:
    if not isinstance(pub, Deleter):
        pytest.skip(f"{pub.platform}'s publisher offers no delete")
    return pub


def test_a_publisher_without_delete_says_it_cannot(pub):
    class Plain:
        platform = pub.platform

    with pytest.raises(CannotDelete, match="remove post 42 by hand"):
        delete_post(Plain(), "42")


def test_a_deleted_post_is_gone_from_the_account_and_its_timeline(case, pub):
    kept, gone = pub.publish("Kept."), pub.publish("Taken down.")
    deleted = deleter(pub).delete(gone.remote_id)
    assert deleted == Deleted(gone.remote_id, already_gone=False)
    assert [p["id"] for p in case.posts()] == [kept.remote_id]
    if case.spec.timeline:
        assert [p.remote_id for p in pub.recent_posts(5)] == [kept.remote_id]


def test_deleting_twice_says_the_post_is_already_gone(case, pub):
    published = pub.publish("Deleted twice.")
    deleter(pub).delete(published.remote_id)
    assert pub.delete(published.remote_id) == Deleted(published.remote_id, already_gone=True)


def test_each_part_of_a_thread_is_deleted_by_itself(case, pub):
    if not case.spec.text.threads:
        pytest.skip(f"{case.spec.title} has no threads")
    first = pub.publish("Thread 1/2")
    second = pub.publish("Thread 2/2", reply_to=first.remote_id)
    deleter(pub).delete(first.remote_id)
    # The platform does not take the replies down with the first post.
    assert [p["id"] for p in case.posts()] == [second.remote_id]
    pub.delete(second.remote_id)
    assert case.posts() == []


@pytest.mark.parametrize("fault", ["commit_then_error", "drop_after", "error_before",
                                   "drop_before"])
def test_a_deletion_whose_answer_is_lost_is_ambiguous_and_asking_again_settles_it(
        case, pub, fault):
    published = pub.publish("Answer lost.")
    case.emulator.inject(fault, platform=case.spec.name)
    with pytest.raises(Ambiguous, match="did not confirm the deletion"):
        deleter(pub).delete(published.remote_id)
    applied = fault in ("commit_then_error", "drop_after")
    assert pub.delete(published.remote_id).already_gone is applied
    assert case.posts() == []


def test_a_refused_deletion_is_permanent_and_leaves_the_post(case, pub):
    published = pub.publish("Refused.")
    case.emulator.inject("refuse", platform=case.spec.name)
    with pytest.raises(Permanent):
        deleter(pub).delete(published.remote_id)
    assert [p["id"] for p in case.posts()] == [published.remote_id]


def test_another_accounts_post_is_not_deleted(case, pub):
    other = case.publisher(replace(case.account(), name=f"other-{case.spec.name}",
                                   handle="Other" + case.handle))
    theirs = other.publish("Not yours.")
    if case.spec.ordered_ids and case.spec.timeline is False:
        # Telegram: a message id names a message of one chat, so theirs cannot even be named
        # from ours; in our channel that id names nothing.
        assert deleter(pub).delete(theirs.remote_id).already_gone
    else:
        with pytest.raises(Permanent):
            deleter(pub).delete(theirs.remote_id)
    assert [p["id"] for p in case.emulator.posts(case.spec.name, "Other" + case.handle)] == [
        theirs.remote_id]


def test_a_billed_deletion_is_reported_and_charged_only_when_it_deleted(case, pub):
    if case.spec.billing is None:
        pytest.skip(f"{case.spec.title} does not bill per request")
    published = pub.publish("Billed deletion.")
    meter = pub.meter = RecordingMeter()
    deleter(pub).delete(published.remote_id)
    pub.delete(published.remote_id)
    prices = case.spec.billing.defaults().prices.micros
    starts = [e[1] for e in meter.events if e[0] == "start"]
    assert len(starts) == 2 and all(op in prices for op in starts)
    assert [e[1] for e in meter.events if e[0] == "settle"] == [True, False]
