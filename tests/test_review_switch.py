"""Turning review on strands nothing: posts queued while `require_approval` was off (or approved
by their own writer before the two-person rule) would be passed over by every claim, silently.
The daemon at its start, `factpost status` and `factpost serve` send them back to draft through
the transition function, saying why, and staff are told where they wait."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from conftest import AUTHOR, REVIEW, T0, add_users, approve, sign_in

from posts.states import Action, Actor, NotPermitted, PostStatus, Review, check_actor
from scheduler.cli import cli

S = PostStatus


def queued(store, text: str, *, actor: Actor = AUTHOR) -> int:
    now = datetime.now(UTC)
    return store.posts.add(account="office-x", platform="x", text=text, actor=actor, now=now,
                           status=S.QUEUED, scheduled_at=now - timedelta(seconds=1)).id


def test_the_daemon_sends_posts_queued_before_review_to_the_approvers(make_office, caplog):
    before = make_office()  # review off
    waiting = [queued(before.store, "Queued without review."),
               queued(before.store, "Queued without review, too.")]
    office = make_office(extra="[review]\nrequire_approval = true\n")  # the same database
    dispatcher = office.dispatcher()
    for post_id in waiting:
        post = office.store.history.get(post_id)
        assert post.status == S.DRAFT
        [*_, entry] = office.store.history.audit_trail(post_id)
        assert (entry.actor, entry.action, entry.from_status, entry.to_status) == (
            "test-worker", "await_review", "queued", "draft")
        assert "queued while review was off" in entry.reason
    assert "2 post(s) queued before review was turned on now wait for approval" in caplog.text
    assert dispatcher.tick().published == 0
    assert office.emulator.tweets("OfficeX") == []
    # Approved, they go out as any other post.
    approve(office.store, waiting, actor=Actor("reviewer", "approver"),
            now=datetime.now(UTC))
    assert dispatcher.tick().published == 2
    dispatcher.shutdown()


def test_factpost_status_moves_them_and_says_so(make_office):
    before = make_office()
    waiting = [queued(before.store, "One."), queued(before.store, "Two.")]
    office = make_office(extra="[review]\nrequire_approval = true\n")

    def status(*args):
        result = CliRunner().invoke(cli, ["--config", str(office.config_path), "status", *args])
        assert result.exit_code == 0, result.output
        return result.output

    report = json.loads(status("--json"))
    assert report["held_for_review"]["post_ids"] == waiting
    assert report["posts"]["draft"] == 2 and report["posts"]["queued"] == 0
    assert (f"review: 2 post(s) queued before review was turned on now wait for approval "
            f"(the Approvals page, or factpost post approve ID): {waiting[0]} {waiting[1]}"
            ) in status()
    [*_, entry] = office.store.history.audit_trail(waiting[0])
    assert entry.action == "await_review" and entry.actor.startswith("os:")


def test_the_approvals_page_lists_them(make_office, serve):
    before = make_office()
    post_id = queued(before.store, "Queued before review.")
    office = make_office(extra=REVIEW)
    office.store.queue.hold_unreviewed(actor=Actor("os:ops", "operator"), now=T0)
    add_users(office.store, bashir="approver")
    page = sign_in(serve(office.config, office.store), "bashir").get("/approvals").text
    assert "1 post(s) queued before review was turned on now wait for approval" in page
    assert f'href="/posts/{post_id}"' in page
    assert "queued before review was turned on</small>" in page


def test_an_approval_by_the_writer_is_withdrawn_when_the_two_person_rule_comes(store):
    store.review = Review(require_approval=True)
    own = store.posts.add(account="office-x", platform="x", text="Mine.", actor=AUTHOR,
                          now=T0, status=S.DRAFT, scheduled_at=T0)
    approve(store, [own.id], actor=Actor(AUTHOR.name, "approver"), now=T0)
    other = store.posts.add(account="office-x", platform="x", text="Theirs.", actor=AUTHOR,
                            now=T0, status=S.DRAFT, scheduled_at=T0)
    approve(store, [other.id], actor=Actor("reviewer", "approver"), now=T0)
    store.review = Review(require_approval=True, two_person_rule=True)
    assert store.queue.hold_unreviewed(actor=Actor("w", "daemon"), now=T0) == [own.id]
    post = store.history.get(own.id)
    assert (post.status, post.approved_by) == (S.DRAFT, None)
    assert "before the two-person rule was on" in store.history.audit_trail(own.id)[-1].reason
    assert store.history.get(other.id).status == S.QUEUED
    # Nothing to do when review is off, and staff cannot take the daemon's action.
    store.review = Review()
    assert store.queue.hold_unreviewed(actor=Actor("w", "daemon"), now=T0) == []
    with pytest.raises(NotPermitted):
        check_actor(Actor("ada", "admin"), Action.AWAIT_REVIEW)
