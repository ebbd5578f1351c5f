"""Staff settling a post in doubt, from the command line (`post retry`, `post resolve`) and the
web (Retry, Resolve): a post whose last send may have gone out is looked for on the timeline
before it is sent again, however staff queue it, so a retry never publishes it twice.

The posts here go to Facebook, which takes a repeated text as a second post: only the look at
the timeline keeps it from going out twice."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from conftest import APPROVER, T0, Office, page_csrf, sign_in

from db.errors import BadLink, NotEditable
from posts.states import Actor, NotPermitted, PostStatus
from scheduler.cli import cli

S = PostStatus
LATER = timedelta(hours=2)  # past any backoff


def in_doubt(office: Office, text: str) -> int:
    """A Facebook post that went out although the send failed (a 500 after storing it), then
    needs_review because the page could not be read when the daemon looked for it."""
    assert not office.emulator.refuses_duplicates("facebook")
    office.emulator.inject("commit_then_error", platform="facebook")
    post_id = office.add(text, account="office-fb")
    dispatcher = office.dispatcher()
    dispatcher.tick(datetime.now(UTC))
    port = int(office.emulator.url.rsplit(":", 1)[1])
    office.emulator.stop()
    dispatcher.tick(datetime.now(UTC) + LATER)
    office.emulator.port = port  # back where the config points
    office.emulator.start()
    post = office.store.history.get(post_id)
    assert post.status == S.NEEDS_REVIEW, post.last_error
    assert [p["message"] for p in office.emulator.page_posts("OfficeFB")] == [text]
    return post_id


def settle(office: Office, post_id: int):
    dispatcher = office.dispatcher()
    for _ in range(3):
        time.sleep(0.06)  # past the test config's millisecond backoff
        dispatcher.tick()
    return office.store.history.get(post_id)


def factpost(office: Office, *args: str):
    return CliRunner().invoke(cli, ["--config", str(office.config_path), *args],
                              catch_exceptions=False)


def assert_found_not_resent(office: Office, post_id: int, text: str) -> None:
    post = settle(office, post_id)
    [page_post] = office.emulator.page_posts("OfficeFB")
    assert (post.status, post.remote_id) == (S.PUBLISHED, page_post["id"])
    assert page_post["message"] == text
    assert [a.outcome for a in post.attempts] == ["ambiguous"]  # found, never sent again


@pytest.mark.parametrize("command", [["post", "retry"], ["post", "resolve", "--retry"]])
def test_a_post_in_doubt_retried_from_the_command_line_is_looked_for_before_it_is_sent(
        office, cli_as, command):
    post_id = in_doubt(office, "Port reopened at dawn.")
    cli_as(office.store, "duty-officer", "admin")
    result = factpost(office, *command, str(post_id))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"post {post_id} queued again"
    retried = office.store.history.get(post_id)
    assert (retried.status, retried.attempt_count) == (S.QUEUED, 1)  # the count stays
    assert_found_not_resent(office, post_id, "Port reopened at dawn.")


def test_a_post_in_doubt_retried_from_the_web_is_looked_for_before_it_is_sent(newsroom):
    post_id = in_doubt(newsroom, "Convoy crossed the bridge.")
    staff = sign_in(newsroom.url, "amira")
    response = staff.post(f"/posts/{post_id}/retry", data={"csrf": page_csrf(staff)})
    assert response.status_code == 303, response.text
    assert newsroom.store.history.get(post_id).status == S.QUEUED
    assert_found_not_resent(newsroom, post_id, "Convoy crossed the bridge.")


def test_a_post_found_by_hand_is_resolved_as_published_and_never_sent_again(office, cli_as):
    post_id = in_doubt(office, "Clinic open on Fridays.")
    [page_post] = office.emulator.page_posts("OfficeFB")
    cli_as(office.store, "duty-officer", "approver")
    result = factpost(office, "post", "resolve", str(post_id), "--published", page_post["id"],
                      "--url", f"https://www.facebook.com/{page_post['id']}")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"post {post_id} marked published as {page_post['id']}"
    post = office.store.history.get(post_id)
    assert (post.status, post.remote_id) == (S.PUBLISHED, page_post["id"])
    assert post.remote_url == f"https://www.facebook.com/{page_post['id']}"
    trail = office.store.history.audit_trail(post_id)
    assert (trail[-1].action, trail[-1].actor) == ("resolve", "duty-officer")
    assert office.dispatcher().tick(datetime.now(UTC) + LATER).published == 0
    assert len(office.emulator.page_posts("OfficeFB")) == 1


def test_a_post_resolved_from_the_web_is_published_under_the_id_staff_give(newsroom):
    post_id = in_doubt(newsroom, "Water trucks arrive at noon.")
    [page_post] = newsroom.emulator.page_posts("OfficeFB")
    approver = sign_in(newsroom.url, "bashir")
    response = approver.post(f"/posts/{post_id}/resolve",
                             data={"csrf": page_csrf(approver), "remote_id": page_post["id"]})
    assert response.status_code == 303, response.text
    post = newsroom.store.history.get(post_id)
    assert (post.status, post.remote_id) == (S.PUBLISHED, page_post["id"])


@pytest.mark.parametrize("args", [[], ["--published", "1", "--retry"]])
def test_resolve_needs_exactly_one_answer(office, cli_as, args):
    post_id = in_doubt(office, "Bakery reopened.")
    cli_as(office.store, "duty-officer", "admin")
    result = factpost(office, "post", "resolve", str(post_id), *args)
    assert result.exit_code == 2
    assert "give exactly one of --published REMOTE_ID and --retry" in result.output
    assert office.store.history.get(post_id).status == S.NEEDS_REVIEW


# -- what staff may type as the answer: checked by the store, whatever the way in ------------

def needs_review(store, text: str = "Clinic open.", account: str = "office-fb") -> int:
    post_id = store.posts.add(account=account, platform="facebook", text=text,
                              scheduled_at=T0, actor=Actor("ann", "author"), now=T0,
                              status=S.QUEUED).id
    assert store.queue.claim_next(account, worker="w", now=T0,
                                  lease=timedelta(minutes=2)).id == post_id
    store.outcomes.failed(post_id, worker="w", reason="no answer", now=T0, status=S.NEEDS_REVIEW)
    return post_id


@pytest.mark.parametrize("remote_id, message", [
    ("", "'' is not a post id"),
    ("   ", "'' is not a post id"),
    ("12 34", "'12 34' is not a post id; give the id the platform shows for the post (at "
              "most 100 characters, no spaces)"),
    ("1\x00", "is not a post id"),
    ("9" * 101, f"'{'9' * 40}' is not a post id"),
])
def test_a_post_id_staff_give_is_one_printable_word_of_at_most_100_characters(
        store, remote_id, message):
    post_id = needs_review(store)
    with pytest.raises(BadLink) as refused:
        store.posts.resolve_published(post_id, remote_id=remote_id, remote_url=None,
                                      actor=APPROVER, now=T0)
    assert message in str(refused.value)
    assert store.history.get(post_id).status == S.NEEDS_REVIEW


@pytest.mark.parametrize("remote_url", [
    "javascript:alert(1)", "data:text/html,hi", "ftp://example.com/1", "https://",
    "https://example.com/" + "a" * 481, "https://example.com/a b", "https://example.com/\x07",
])
def test_a_link_staff_give_is_an_http_address_of_at_most_500_characters(store, remote_url):
    post_id = needs_review(store)
    with pytest.raises(BadLink, match=r"is not a web address; give the post's link starting "
                                      r"with https:// \(at most 500 characters\), or none"):
        store.posts.resolve_published(post_id, remote_id="555", remote_url=remote_url,
                                      actor=APPROVER, now=T0)
    assert store.history.get(post_id).status == S.NEEDS_REVIEW


def test_a_post_resolved_by_hand_keeps_the_id_and_link_given_trimmed(store):
    post_id = needs_review(store)
    longest = "HTTPS://example.com/" + "a" * 480  # 500 characters, the scheme in capitals
    post = store.posts.resolve_published(post_id, remote_id=" " + "7" * 100 + " ",
                                         remote_url=f" {longest} ", actor=APPROVER,
                                         now=T0 + timedelta(minutes=5))
    assert (post.status, post.remote_id, post.remote_url) == (
        S.PUBLISHED, "7" * 100, longest)
    assert post.published_at == T0 + timedelta(minutes=5)
    trail = store.history.audit_trail(post_id)
    assert (trail[-1].actor, trail[-1].action, trail[-1].reason) == (
        "reviewer", "resolve", f"confirmed published as {'7' * 100} by staff")
    other = needs_review(store, "Bakery open.", account="office-fb-2")
    assert store.posts.resolve_published(other, remote_id="8", remote_url="  ", actor=APPROVER,
                                         now=T0).remote_url is None
    plain = needs_review(store, "Market open.", account="office-fb-3")
    assert store.posts.resolve_published(plain, remote_id="9", remote_url="http://example.com/9",
                                         actor=APPROVER, now=T0).remote_url == (
        "http://example.com/9")


def test_a_refused_link_is_quoted_by_its_first_60_characters(store):
    post_id = needs_review(store)
    link = "javascript:" + "x" * 100
    with pytest.raises(BadLink) as refused:
        store.posts.resolve_published(post_id, remote_id="1", remote_url=link, actor=APPROVER,
                                      now=T0)
    assert str(refused.value).startswith(f"{link[:60]!r} is not a web address")


def test_only_an_approver_resolves_and_only_a_post_in_doubt(store):
    post_id = needs_review(store)
    with pytest.raises(NotPermitted, match="resolve needs the approver role"):
        store.posts.resolve_published(post_id, remote_id="1", remote_url=None,
                                      actor=Actor("ann", "author"), now=T0)
    queued = store.posts.add(account="office-x", platform="x", text="Not sent yet.",
                             scheduled_at=T0, actor=Actor("ann", "author"), now=T0,
                             status=S.QUEUED).id
    with pytest.raises(NotEditable, match=f"post {queued} is queued; only needs_review posts "
                                          "are resolved by hand"):
        store.posts.resolve_published(queued, remote_id="1", remote_url=None, actor=APPROVER,
                                      now=T0)
    assert {store.history.get(p).status for p in (post_id, queued)} == {
        S.NEEDS_REVIEW, S.QUEUED}
