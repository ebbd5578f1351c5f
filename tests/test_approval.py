"""Nothing is published that review did not clear: every state change of a post, from the web,
the API, the command line or the daemon, goes through the store's one transition function,
which checks the source state, the actor's role and the review rules, and writes the audit row.
"""

from __future__ import annotations

import contextlib
import itertools
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from conftest import (
    APPROVER,
    AUTHOR,
    REVIEW,
    T0,
    add_users,
    approve,
    link_pair,
    page_csrf,
    sign_in,
    token_for,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from db import migrate
from db.errors import NeedsApproval, NotEditable, SelfApproval, StoreError, VersionMissing
from db.models import Post
from db.queue import held_message
from db.store import Store
from posts.states import (
    DAEMON,
    OPERATOR,
    Actor,
    IllegalTransition,
    NotPermitted,
    PostStatus,
    Review,
)

S = PostStatus
LEASE = timedelta(minutes=2)
REVIEWED = Review(require_approval=True, two_person_rule=True)


def compose(client, text: str) -> int:
    response = client.post("/compose", data={"csrf": page_csrf(client), "account": "office-x",
                                             "text": text, "when": "at", "at": "now"})
    assert response.status_code == 303, response.text
    return int(re.search(r"/posts/(\d+)", response.headers["location"]).group(1))


# -- finding 1: Retry skipped the approval ---------------------------------------------------

def test_retry_cannot_queue_a_draft_from_the_web(newsroom):
    author = sign_in(newsroom.url, "chen")
    post_id = compose(author, "Not yet cleared.")
    response = author.post(f"/posts/{post_id}/retry", data={"csrf": page_csrf(author)})
    assert response.status_code == 409
    assert "is draft; retry works on failed, needs_review posts only" in response.text
    post = newsroom.store.history.get(post_id)
    assert (post.status, post.approved_by) == (S.DRAFT, None)
    assert newsroom.dispatcher().tick().published == 0


def test_an_approver_cannot_retry_their_own_draft_past_the_review(newsroom):
    approver = sign_in(newsroom.url, "bashir")
    post_id = compose(approver, "Mine, uncleared.")
    response = approver.post(f"/posts/{post_id}/retry", data={"csrf": page_csrf(approver)})
    assert response.status_code == 409
    assert newsroom.store.history.get(post_id).status == S.DRAFT


def test_retry_cannot_queue_a_draft_from_the_command_line(newsroom, cli_as):
    from click.testing import CliRunner

    from scheduler.cli import cli

    post_id = compose(sign_in(newsroom.url, "chen"), "Not yet cleared either.")
    cli_as(newsroom.store, "chen", "author")
    result = CliRunner().invoke(cli, ["--config", str(newsroom.config_path), "post", "retry",
                                      str(post_id)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"factpost: error: post {post_id} is draft; retry works on failed, needs_review posts "
        "only"]
    assert newsroom.store.history.get(post_id).status == S.DRAFT


def test_a_failed_post_that_was_never_approved_goes_to_draft_on_retry(make_office):
    """A draft fails with its thread (the first part was refused by the platform): it was
    never approved, so a retry sends it to draft, not to the queue."""
    office = make_office(extra=REVIEW)
    store = office.store
    first = store.posts.add(account="office-x", platform="x", text="First.", actor=AUTHOR,
                            now=T0, status=S.DRAFT, scheduled_at=T0)
    approve(store, [first.id], actor=APPROVER, now=T0)
    with store.session() as s:  # a draft pair partner: fails with the leader
        partner = Post(account="office-fb", platform="facebook", text="Partner.",
                       status=S.DRAFT, scheduled_at=T0, created_by="tester", pair_id=first.id)
        s.add(partner)
        s.flush()
        s.execute(update(Post).where(Post.id == first.id).values(pair_id=partner.id))
        partner_id = partner.id
    store.queue.claim_next("office-x", worker="w", now=T0 + LEASE, lease=LEASE)
    store.outcomes.failed(first.id, worker="w", reason="refused", now=T0 + LEASE)
    assert store.history.get(partner_id).status == S.FAILED
    store.posts.retry(partner_id, actor=AUTHOR, now=T0 + LEASE)
    assert store.history.get(partner_id).status == S.DRAFT


def test_the_daemon_never_claims_an_unapproved_post_whatever_its_status_says(make_office):
    office = make_office(extra=REVIEW)
    post = office.store.posts.add(account="office-x", platform="x", text="Forced in.",
                                  actor=AUTHOR, now=T0, status=S.DRAFT, scheduled_at=T0)
    with office.store.session() as s:  # written behind the store's back
        s.execute(update(Post).where(Post.id == post.id).values(status=S.QUEUED))
    claimed = office.store.queue.claim_next("office-x", worker="w", now=T0 + LEASE, lease=LEASE)
    assert claimed is None
    assert office.dispatcher().tick().published == 0
    assert office.emulator.tweets("OfficeX") == []
    # Nor is an approval by the post's own author enough under the two-person rule.
    with office.store.session() as s:
        s.execute(update(Post).where(Post.id == post.id).values(approved_by="tester"))
    claimed = office.store.queue.claim_next("office-x", worker="w", now=T0 + LEASE, lease=LEASE)
    assert claimed is None


def test_new_posts_cannot_skip_the_draft_state_under_review(make_office):
    office = make_office(extra=REVIEW)
    with pytest.raises(NeedsApproval) as refused:
        office.store.posts.add(account="office-x", platform="x", text="Straight out.",
                               actor=AUTHOR, now=T0, status=S.QUEUED, scheduled_at=T0)
    assert str(refused.value) == ("review is required, so new posts are drafts until an "
                                  "approver approves them")
    assert office.store.history.search() == []


# -- roles, checked by the store itself ------------------------------------------------------

def test_the_store_checks_the_actor_s_role_for_every_action(store):
    store.review = REVIEWED
    post = store.posts.add(account="office-x", platform="x", text="Hello.", actor=AUTHOR,
                           now=T0, status=S.DRAFT, scheduled_at=T0)
    with pytest.raises(NotPermitted, match="approve needs the approver role; tester is an "
                                           "author"):
        approve(store, [post.id], actor=AUTHOR, now=T0)
    with pytest.raises(NotPermitted):
        approve(store, [post.id], actor=Actor("os:root", OPERATOR), now=T0)
    with pytest.raises(NotPermitted):
        approve(store, [post.id], actor=Actor("host:1", DAEMON), now=T0)
    with pytest.raises(NotPermitted, match="pause needs the admin role or the daemon"):
        store.accounts.pause("office-x", actor=APPROVER, reason="x", now=T0)
    with pytest.raises(NotPermitted):
        store.posts.add(account="office-x", platform="x", text="By the daemon.",
                        actor=Actor("host:1", DAEMON), now=T0, status=S.DRAFT, scheduled_at=T0)
    assert [e.action for e in store.history.audit_trail(post.id)] == ["create"]


# -- finding 10: failed posts are editable under review --------------------------------------

def test_a_failed_post_can_be_fixed_under_review_and_needs_approval_again(store):
    store.review = REVIEWED
    post = store.posts.add(account="office-x", platform="x", text="Typo hre.", actor=AUTHOR,
                           now=T0, status=S.DRAFT, scheduled_at=T0)
    approve(store, [post.id], actor=APPROVER, now=T0)
    store.queue.claim_next("office-x", worker="w", now=T0, lease=LEASE)
    store.outcomes.failed(post.id, worker="w", reason="text refused", now=T0)
    fixed = store.posts.edit(post.id, actor=AUTHOR, now=T0, text="Typo here.")
    assert (fixed.status, fixed.approved_by) == (S.DRAFT, None)
    with pytest.raises(SelfApproval):
        approve(store, [post.id], actor=Actor("tester", "approver"), now=T0)
    approve(store, [post.id], actor=APPROVER, now=T0)
    assert store.history.get(post.id).status == S.QUEUED
    assert [(e.action, e.from_status, e.to_status) for e in store.history.audit_trail(post.id)] == [
        ("create", None, "draft"), ("approve", "draft", "queued"),
        ("claim", "queued", "publishing"), ("fail", "publishing", "failed"),
        ("edit", "failed", "draft"), ("approve", "draft", "queued")]


def test_a_failed_post_retimed_under_review_keeps_its_approval(store):
    store.review = REVIEWED
    post = store.posts.add(account="office-x", platform="x", text="On time.", actor=AUTHOR,
                           now=T0, status=S.DRAFT, scheduled_at=T0)
    approve(store, [post.id], actor=APPROVER, now=T0)
    store.queue.claim_next("office-x", worker="w", now=T0, lease=LEASE)
    store.outcomes.failed(post.id, worker="w", reason="gave up", now=T0)
    assert store.posts.edit(post.id, actor=AUTHOR, now=T0,
                            scheduled_at=T0 + LEASE).status == S.QUEUED


def failed_under(store: Store, review: Review) -> Post:
    """A post queued and failed with no review, after which the store's review becomes `review`
    (review turned on after the post failed)."""
    store.review = Review()
    post = store.posts.add(account="office-x", platform="x", text=f"{review}", actor=AUTHOR,
                           now=T0, status=S.QUEUED, scheduled_at=T0)
    assert store.queue.claim_next("office-x", worker="w", now=T0, lease=LEASE).id == post.id
    store.outcomes.failed(post.id, worker="w", reason="gave up", now=T0)
    store.review = review
    return post


def test_a_failed_post_retimed_says_whether_it_is_queued_again_or_needs_an_approval(store):
    later = T0 + timedelta(hours=1)
    reasons = []
    for review in (Review(), REVIEWED):  # review turned on after the post failed
        post = failed_under(store, review)
        store.posts.edit(post.id, actor=AUTHOR, now=T0, scheduled_at=later)
        last = store.history.audit_trail(post.id)[-1]
        reasons.append((last.from_status, last.to_status, last.reason))
    assert reasons == [("failed", "queued", "edited time; queued again"),
                       ("failed", "draft", "edited time; needs approval")]


def test_a_retry_says_whether_the_post_is_queued_again_or_needs_an_approval_first(store):
    later = T0 + timedelta(hours=1)
    seen = []
    for review in (Review(), REVIEWED):  # review turned on after the post failed
        post = failed_under(store, review)
        retried = store.posts.retry(post.id, actor=AUTHOR, now=later)
        last = store.history.audit_trail(post.id)[-1]
        seen.append((retried.scheduled_at, last.action, last.to_status, last.reason))
    assert seen == [(later, "retry", "queued", "queued again by staff"),
                    (later, "retry", "draft",
                     "sent to draft by a retry: it needs an approval first")]


def test_a_retry_queues_a_partner_that_failed_with_its_post_and_says_why(store):
    en, ar = pair_of_drafts(store, AUTHOR, AUTHOR)
    approve(store, [en.id], actor=APPROVER, now=T0)
    assert store.queue.claim_next("office-x", worker="w", now=T0, lease=LEASE).id == en.id
    store.outcomes.failed(en.id, worker="w", reason="refused", now=T0)
    assert store.history.get(ar.id).status == S.FAILED
    store.posts.retry(en.id, actor=AUTHOR, now=T0 + LEASE)
    partner = store.history.get(ar.id)
    last = store.history.audit_trail(ar.id)[-1]
    assert (partner.status, partner.scheduled_at, last.action, last.reason) == (
        S.QUEUED, T0 + LEASE, "retry", f"queued again with its pair partner, post {en.id}")


def test_an_approval_without_the_version_reviewed_says_where_to_read_it(store):
    store.review = REVIEWED
    post = store.posts.add(account="office-x", platform="x", text="Hello.", actor=AUTHOR,
                           now=T0, status=S.DRAFT, scheduled_at=T0)
    with pytest.raises(VersionMissing) as refused:
        store.posts.approve([post.id], seen={}, actor=APPROVER, now=T0)
    assert str(refused.value) == (
        f"approving post {post.id} needs the version you reviewed; open the post (factpost "
        f"post show, the post's page, GET /api/posts/{post.id}) and approve what it shows")
    assert store.history.get(post.id).status == S.DRAFT


# -- finding 9: approving a pair through the API ---------------------------------------------

def test_approving_one_side_of_a_pair_through_the_api_answers_for_that_post(make_office, serve):
    office = make_office(extra=REVIEW)
    add_users(office.store, bashir="approver")
    url = serve(office.config, office.store)
    store = office.store
    en, ar = pair_of_drafts(store, AUTHOR, AUTHOR)
    api = httpx.Client(base_url=url + "/api", timeout=30, headers={
        "Authorization": f"Bearer {token_for(store, 'bashir')}"})
    version = api.get(f"/posts/{en.id}").json()["version"]
    response = api.post(f"/posts/{en.id}/approve", json={"version": version})
    assert response.status_code == 200, response.text
    assert (response.json()["id"], response.json()["status"]) == (en.id, "queued")
    assert store.history.get(ar.id).status == S.QUEUED


def pair_of_drafts(store: Store, en_author: Actor, ar_author: Actor) -> tuple[Post, Post]:
    """An English draft and its Arabic partner, each written by the given person."""
    en = store.posts.add(account="office-x", platform="x", text="Port open.", actor=en_author,
                         now=T0, status=S.DRAFT, scheduled_at=T0)
    ar = store.posts.add(account="office-fb", platform="facebook", text="الميناء مفتوح.",
                         actor=ar_author, now=T0, status=S.DRAFT, scheduled_at=T0)
    link_pair(store, en.id, ar.id)
    return en, ar


def test_the_two_person_rule_covers_the_partner_a_pair_approval_carries(store):
    # The approver wrote the Arabic side only; approving the English side would queue both.
    store.review = REVIEWED
    en, ar = pair_of_drafts(store, AUTHOR, APPROVER)
    with pytest.raises(SelfApproval, match=f"post {ar.id} was written or edited by reviewer"):
        approve(store, [en.id], actor=APPROVER, now=T0)
    for post in (en, ar):  # all or none: the English side is not approved on its own either
        assert store.history.get(post.id).status == S.DRAFT
        assert [e.action for e in store.history.audit_trail(post.id)] == ["create"]
    assert [p.id for p in approve(store, [en.id], actor=Actor("other", "approver"),
                                              now=T0)] == [en.id, ar.id]


def test_an_edit_to_the_partner_s_text_counts_under_the_two_person_rule(store):
    store.review = REVIEWED
    en, ar = pair_of_drafts(store, AUTHOR, AUTHOR)
    store.posts.edit(ar.id, actor=APPROVER, now=T0, text="الميناء مفتوح الآن.")
    with pytest.raises(SelfApproval, match=f"post {ar.id}"):
        approve(store, [en.id], actor=APPROVER, now=T0)
    assert {store.history.get(p.id).status for p in (en, ar)} == {S.DRAFT}


def test_a_post_its_own_author_approved_is_not_queued_again_once_the_two_person_rule_is_on(
        store):
    # Approved by its author while the office had no two-person rule; the rule comes in; a
    # retry must not put it back in the queue on that approval.
    pat = Actor("pat", "approver")
    store.review = Review(require_approval=True, two_person_rule=False)
    post = store.posts.add(account="office-x", platform="x", text="Mine.", actor=pat, now=T0,
                           status=S.DRAFT, scheduled_at=T0)
    approve(store, [post.id], actor=pat, now=T0)
    store.queue.claim_next("office-x", worker="w", now=T0, lease=LEASE)
    store.outcomes.failed(post.id, worker="w", reason="refused", now=T0)
    store.review = REVIEWED
    with pytest.raises(NeedsApproval, match=f"post {post.id} was approved by pat, who wrote or "
                                            "edited it; under the two-person rule another "
                                            "approver must approve it"):
        store.posts.retry(post.id, actor=Actor("ada", "admin"), now=T0)
    assert store.history.get(post.id).status == S.FAILED


def test_an_edit_to_one_partner_takes_the_approval_from_the_other_wherever_it_waits(store):
    store.review = REVIEWED
    for fail_partner in (False, True):
        en, ar = pair_of_drafts(store, AUTHOR, AUTHOR)
        approve(store, [en.id], actor=APPROVER, now=T0)
        edited, partner_id = ar, en.id  # the English side leads: it is claimed first
        if fail_partner:  # a failed partner would otherwise be retried on the old approval
            assert store.queue.claim_next("office-x", worker="w", now=T0, lease=LEASE).id == en.id
            store.outcomes.failed(en.id, worker="w", reason="refused", now=T0)
        edited_at = T0 + timedelta(minutes=5)
        store.posts.edit(edited.id, actor=AUTHOR, now=edited_at, text=f"الميناء ({fail_partner}).")
        partner = store.history.get(partner_id)
        assert (partner.status, partner.approved_by, partner.approved_content) == (
            S.FAILED if fail_partner else S.DRAFT, None, None)
        last = store.history.audit_trail(partner_id)[-1]
        assert (last.at, last.actor, last.action, last.from_status, last.to_status,
                last.reason) == (
            edited_at, "tester", "edit", "failed" if fail_partner else "queued", partner.status,
            f"its pair partner, post {edited.id}, was edited; needs approval again")
        if fail_partner:
            assert store.posts.retry(partner_id, actor=AUTHOR, now=T0).status == S.DRAFT
        else:
            own = store.history.audit_trail(edited.id)[-1]
            assert (own.from_status, own.to_status, own.reason) == (
                "queued", "draft", "edited text; needs approval again")


def test_one_approval_queues_each_post_and_its_partner_once_saying_who_and_which_version(
        store):
    # Both sides of a pair named, then a post after them: the partner already approved with
    # its post is passed over, and the posts after it are still approved.
    store.review = REVIEWED
    en, ar = pair_of_drafts(store, AUTHOR, AUTHOR)
    solo = store.posts.add(account="office-x", platform="x", text="Roads closed.", actor=AUTHOR,
                           now=T0, status=S.DRAFT, scheduled_at=T0)
    seen = store.posts.versions([en.id, ar.id, solo.id])
    at = T0 + timedelta(minutes=3)
    approved = store.posts.approve([en.id, ar.id, solo.id], seen=seen, actor=APPROVER, now=at)
    assert [p.id for p in approved] == [en.id, ar.id, solo.id]
    for post_id, reason in (
            (en.id, f"approved (version {seen[en.id]})"),
            (ar.id, f"approved with its pair partner, post {en.id} (version {seen[en.id]})"),
            (solo.id, f"approved (version {seen[solo.id]})")):
        post = store.history.get(post_id)
        assert (post.status, post.approved_by, post.approved_at) == (S.QUEUED, "reviewer", at)
        assert [(e.at, e.actor, e.action, e.from_status, e.to_status, e.reason)
                for e in store.history.audit_trail(post_id)][1:] == [
            (at, "reviewer", "approve", "draft", "queued", reason)]


def test_approving_a_post_that_is_not_a_draft_says_so_and_approves_none_of_the_list(store):
    store.review = REVIEWED
    waiting = store.posts.add(account="office-x", platform="x", text="Waiting.", actor=AUTHOR,
                              now=T0, status=S.DRAFT, scheduled_at=T0)
    queued = store.posts.add(account="office-x", platform="x", text="Queued.", actor=AUTHOR,
                             now=T0, status=S.DRAFT, scheduled_at=T0)
    approve(store, [queued.id], actor=APPROVER, now=T0)
    with pytest.raises(NotEditable) as refused:
        approve(store, [waiting.id, queued.id], actor=APPROVER, now=T0)
    assert str(refused.value) == f"post {queued.id} is queued; only drafts need approval"
    assert store.history.get(waiting.id).status == S.DRAFT


# -- rejecting: a draft turned down, with its partner, the reason kept for the author --------

def trail_of(store: Store, post_id: int) -> list[tuple]:
    return [(e.actor, e.action, e.from_status, e.to_status, e.reason)
            for e in store.history.audit_trail(post_id)]


def test_a_rejected_draft_is_cancelled_with_its_partner_and_the_reason_kept_for_the_author(
        store):
    store.review = REVIEWED
    en, ar = pair_of_drafts(store, AUTHOR, AUTHOR)
    rejected = store.posts.reject(ar.id, actor=APPROVER, now=T0, reason="figures unchecked")
    assert (rejected.id, rejected.status) == (ar.id, S.CANCELLED)
    assert trail_of(store, ar.id)[1:] == [
        ("reviewer", "reject", "draft", "cancelled", "rejected: figures unchecked")]
    assert trail_of(store, en.id)[1:] == [
        ("reviewer", "reject", "draft", "cancelled",
         f"rejected: figures unchecked (with its pair partner, post {ar.id})")]
    lone = store.posts.add(account="office-x", platform="x", text="Alone.", actor=AUTHOR,
                           now=T0, status=S.DRAFT, scheduled_at=T0)
    store.posts.reject(lone.id, actor=APPROVER, now=T0)
    assert trail_of(store, lone.id)[-1][-1] == "rejected: no reason given"


def test_only_an_approver_rejects_and_only_a_draft(store):
    store.review = REVIEWED
    draft = store.posts.add(account="office-x", platform="x", text="Draft.", actor=AUTHOR,
                            now=T0, status=S.DRAFT, scheduled_at=T0)
    with pytest.raises(NotPermitted, match="reject needs the approver role"):
        store.posts.reject(draft.id, actor=Actor("ann", "author"), now=T0)
    approve(store, [draft.id], actor=APPROVER, now=T0)
    with pytest.raises(NotEditable, match=f"post {draft.id} is queued; only drafts are "
                                          "rejected"):
        store.posts.reject(draft.id, actor=APPROVER, now=T0)
    assert store.history.get(draft.id).status == S.QUEUED
    assert [e.action for e in store.history.audit_trail(draft.id)] == ["create", "approve"]


def test_rejecting_a_draft_leaves_a_partner_that_is_no_longer_a_draft_alone(store):
    # Without review a partner can be queued while its post is still a draft.
    draft = store.posts.add(account="office-x", platform="x", text="Port open.", actor=AUTHOR,
                            now=T0, status=S.DRAFT, scheduled_at=T0)
    queued = store.posts.add(account="office-fb", platform="facebook", text="الميناء مفتوح.",
                             actor=AUTHOR, now=T0, status=S.QUEUED, scheduled_at=T0)
    link_pair(store, draft.id, queued.id)
    store.posts.reject(draft.id, actor=APPROVER, now=T0, reason="wrong day")
    assert store.history.get(draft.id).status == S.CANCELLED
    assert store.history.get(queued.id).status == S.QUEUED
    assert [e.action for e in store.history.audit_trail(queued.id)] == ["create"]


# -- review turned on over a queue: nothing is stranded -------------------------------------

def test_review_turned_on_sends_back_to_draft_each_queued_post_it_does_not_clear_saying_why(
        store):
    store.review = Review(require_approval=True)

    def approved(text: str, minutes: int, by: Actor = APPROVER) -> int:
        post = store.posts.add(account="office-x", platform="x", text=text, actor=AUTHOR,
                               now=T0, status=S.DRAFT, scheduled_at=T0 + timedelta(minutes=minutes))
        approve(store, [post.id], actor=by, now=T0)
        return post.id

    # Looked at in the order they were made, whatever their times: first a pair that review
    # clears (the posts after it are still looked at), then three it does not.
    cleared, partner = pair_of_drafts(store, AUTHOR, AUTHOR)
    with store.session() as s:
        s.execute(update(Post).values(scheduled_at=T0 + timedelta(minutes=4)))
    approve(store, [cleared.id], actor=APPROVER, now=T0)
    cleared = cleared.id
    own = approved("Approved by its writer.", 3, by=Actor(AUTHOR.name, "approver"))
    changed = approved("Changed after its approval.", 2)
    with store.session() as s:  # by a path that left the approval on it
        s.execute(update(Post).where(Post.id == changed).values(text="Changed."))
    store.review = Review()
    unreviewed, draft = (store.posts.add(account="office-x", platform="x", text=text,
                                         actor=AUTHOR, now=T0, status=status,
                                         scheduled_at=T0 + timedelta(minutes=1)).id
                         for text, status in (("Queued without review.", S.QUEUED),
                                              ("A draft.", S.DRAFT)))
    store.review = REVIEWED
    later = T0 + timedelta(hours=1)
    assert store.queue.hold_unreviewed(actor=Actor("w", DAEMON), now=later) == [
        own, changed, unreviewed]
    posts = {i: store.history.get(i)
             for i in (cleared, partner.id, own, changed, unreviewed, draft)}
    assert {i: (p.status, p.approved_by, p.approved_at, p.approved_content is None)
            for i, p in posts.items()} == {
        cleared: (S.QUEUED, "reviewer", T0, False), own: (S.DRAFT, None, None, True),
        partner.id: (S.QUEUED, "reviewer", T0, False),
        changed: (S.DRAFT, None, None, True), unreviewed: (S.DRAFT, None, None, True),
        draft: (S.DRAFT, None, None, True)}
    assert {i: (e.at, e.actor, e.action, e.from_status, e.to_status, e.reason)
            for i in posts for e in store.history.audit_trail(i)[-1:]} == {
        **{i: (T0, "reviewer", "approve", "draft", "queued",
               store.history.audit_trail(i)[-1].reason) for i in (cleared, partner.id)},
        own: (later, "w", "await_review", "queued", "draft",
              "approved by tester, who wrote or edited it, before the two-person rule was on; "
              "another approver must approve it"),
        changed: (later, "w", "await_review", "queued", "draft",
                  "its text, image or pair partner changed after it was approved; it needs "
                  "approval again"),
        unreviewed: (later, "w", "await_review", "queued", "draft",
                     "queued while review was off; review is on now, so it waits for an "
                     "approval"),
        draft: (T0, "tester", "create", None, "draft", "added by hand")}
    # Staff are told where they wait: the approval that was outdated is no news to them.
    assert store.queue.held_for_review() == [own, unreviewed]
    assert held_message(2) == ("2 post(s) queued before review was turned on now wait for "
                               "approval (the Approvals page, or factpost post approve ID)")
    approve(store, [own], actor=APPROVER, now=later)  # approved again: no longer waiting
    assert store.queue.held_for_review() == [unreviewed]
    assert store.queue.hold_unreviewed(actor=Actor("w", DAEMON), now=later) == []
    store.review = Review()
    assert store.queue.held_for_review() == [unreviewed]
    assert store.queue.hold_unreviewed(actor=Actor("w", DAEMON), now=later) == []


# -- the property: random actions by random people -------------------------------------------

PEOPLE = [Actor("ann", "author"), Actor("bob", "author"), Actor("pat", "approver"),
          Actor("quinn", "approver"), Actor("ada", "admin"), Actor("os:ops", OPERATOR),
          Actor("host:1", DAEMON)]
ACTIONS = ["create", "approve", "reject", "edit_text", "edit_time", "cancel", "retry",
           "resolve", "claim", "publish", "fail", "unsure", "requeue", "release"]


@pytest.fixture(scope="module")
def random_store(tmp_path_factory):
    store = Store.open(f"sqlite:///{tmp_path_factory.mktemp('property') / 'factpost.db'}")
    migrate.upgrade(store.engine)
    yield store
    store.close()


def apply(store: Store, action: str, actor: Actor, post_id: int | None, now: datetime) -> None:
    """One action by one person, through the same store calls the CLI, web and daemon make."""
    worker = actor.name
    if action == "create":
        status = S.DRAFT if store.review.require_approval else S.QUEUED
        store.posts.add(account="office-x", platform="x", text=f"Post by {actor.name}.",
                        actor=actor, now=now, status=status, scheduled_at=now)
    elif post_id is None:
        return
    elif action == "approve":
        approve(store, [post_id], actor=actor, now=now)
    elif action == "reject":
        store.posts.reject(post_id, actor=actor, now=now, reason="no")
    elif action == "edit_text":
        store.posts.edit(post_id, actor=actor, now=now, text=f"Edited by {actor.name} {now}.")
    elif action == "edit_time":
        store.posts.edit(post_id, actor=actor, now=now, scheduled_at=now - timedelta(seconds=1))
    elif action == "cancel":
        store.posts.cancel(post_id, actor=actor, now=now)
    elif action == "retry":
        store.posts.retry(post_id, actor=actor, now=now)
    elif action == "resolve":
        store.posts.resolve_published(post_id, remote_id="123", remote_url=None, actor=actor,
                                      now=now)
    elif actor.role != DAEMON:
        return  # no way in for people to the daemon's calls (no command, page or route)
    elif action == "claim":
        store.queue.claim_next("office-x", worker=worker, now=now, lease=LEASE)
    elif action == "publish":
        store.outcomes.published(post_id, worker=worker, remote_id="9", remote_url="u", now=now)
    elif action in ("fail", "unsure"):
        store.outcomes.failed(post_id, worker=worker, reason="refused", now=now,
                              status=S.FAILED if action == "fail" else S.NEEDS_REVIEW)
    elif action == "requeue":
        store.outcomes.requeue(post_id, worker=worker, at=now, reason="retry later", now=now)
    elif action == "release":
        store.queue.release_claims(worker, now=now)


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(two_person=st.booleans(),
       steps=st.lists(st.tuples(st.sampled_from(ACTIONS), st.sampled_from(PEOPLE),
                                st.integers(0, 3)), min_size=1, max_size=40))
def test_no_post_is_published_without_the_approvals_review_requires(random_store, two_person,
                                                                    steps):
    store = random_store
    store.review = Review(require_approval=True, two_person_rule=two_person)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    with store.reading() as s:
        before = s.query(Post.id).count()
    mine: list[int] = []
    for action, actor, index in steps:
        now += timedelta(minutes=1)
        post_id = mine[index % len(mine)] if mine else None
        # A refusal changes nothing (checked below through the audit trail).
        with contextlib.suppress(StoreError, IllegalTransition, NotPermitted, NotEditable):
            apply(store, action, actor, post_id, now)
        with store.reading() as s:
            mine = [p for (p,) in s.query(Post.id).order_by(Post.id).offset(before)]
    for post_id in mine:
        post = store.history.get(post_id)
        trail = store.history.audit_trail(post_id)
        # Every change has its row, and the rows chain: each starts where the last ended.
        assert trail[0].action == "create" and trail[0].from_status is None
        for earlier, later in itertools.pairwise(trail):
            assert later.from_status == earlier.to_status, [(e.action, e.from_status,
                                                              e.to_status) for e in trail]
        assert trail[-1].to_status == post.status
        # Each time it went to the platform, an approver had cleared its text as it stood,
        # and (under the two-person rule) had neither written nor edited it.
        cleared_by, writers = None, {trail[0].actor}
        for e in trail:
            if e.action == "approve":
                cleared_by = e.actor
            elif e.action == "edit" and (e.reason or "").startswith("edited text"):
                cleared_by = None
                writers.add(e.actor)
            elif e.action == "claim":
                assert cleared_by in {"pat", "quinn", "ada"}, [(e.action, e.actor)
                                                                for e in trail]
                assert not two_person or cleared_by not in writers
        assert all(e.actor == "host:1" for e in trail if e.action in
                   ("claim", "publish", "fail", "requeue", "release", "reclaim"))
