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
from conftest import Office, page_csrf, sign_in

from posts.states import PostStatus
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
