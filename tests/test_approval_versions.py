"""An approval is for the post its approver saw: it carries the post's version (text, time,
image and alt text, pair partner), and the store refuses it once the post has changed since,
from the web form, the Approvals page, the JSON API and the command line alike. Every change
to what an approval covered takes the approval away again, the pair partner's too."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from click.testing import CliRunner
from conftest import APPROVER, AUTHOR, REVIEW, T0, add_users, sign_in, token_for
from sqlalchemy import update

from db.errors import PostChanged, VersionMissing
from db.models import Post
from posts.media import Media
from posts.states import Actor, PostStatus, Review
from scheduler.cli import cli

S = PostStatus
EDITOR = Actor("editor", "author")
REVIEWED = Review(require_approval=True, two_person_rule=True)
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x00\x00\x00"
       b"\x00:~\x9bU\x00\x00\x00\nIDATx\x9cc`\x00\x00\x00\x02\x00\x01H\xaf\xa4q\x00\x00\x00"
       b"\x00IEND\xaeB`\x82")
CHANGED = "post {} changed since you opened it; review it again"


def draft(store, text="Convoy arrives at ten.", account="office-x", platform="x",
          media=None) -> int:
    return store.posts.add(account=account, platform=platform, text=text, actor=AUTHOR,
                           now=T0, status=S.DRAFT, scheduled_at=T0 + timedelta(hours=1),
                           media=media).id


def pair(store) -> tuple[int, int]:
    en, ar = draft(store, "Port open."), draft(store, "الميناء مفتوح.", "office-fb", "facebook")
    with store.session() as s:
        s.execute(update(Post).where(Post.id == en).values(pair_id=ar))
        s.execute(update(Post).where(Post.id == ar).values(pair_id=en))
    return en, ar


@pytest.mark.parametrize("change", ["text", "time", "partner's text", "image alt text"])
def test_an_approval_given_for_an_older_version_is_refused(store, change):
    store.review = REVIEWED
    media = Media(PNG, "image/png", "Trucks on the pier")
    post_id, partner = (pair(store) if change == "partner's text"
                        else (draft(store, media=media), None))
    seen = store.posts.versions([post_id])
    if change == "text":
        store.posts.edit(post_id, actor=EDITOR, now=T0, text="Convoy arrives at noon.")
    elif change == "time":
        store.posts.edit(post_id, actor=EDITOR, now=T0, scheduled_at=T0 + timedelta(hours=5))
    elif change == "partner's text":
        store.posts.edit(partner, actor=EDITOR, now=T0, text="الميناء مغلق.")
    else:
        # No command changes an image today; whatever path does one day, the version shows it.
        from db.media import stored_media

        with store.session() as s:
            row = stored_media(s, Media(PNG, "image/png", "Empty pier"), T0)
            s.execute(update(Post).where(Post.id == post_id).values(media_id=row.id))
    assert store.posts.versions([post_id]) != seen
    with pytest.raises(PostChanged, match=re.escape(CHANGED.format(post_id))):
        store.posts.approve([post_id], seen=seen, actor=APPROVER, now=T0)
    post = store.history.get(post_id)
    assert (post.status, post.approved_by) == (S.DRAFT, None)
    # Read again, it is approved, and the audit trail names the version.
    fresh = store.posts.versions([post_id])
    store.posts.approve([post_id], seen=fresh, actor=APPROVER, now=T0)
    assert store.history.audit_trail(post_id)[-1].reason == (
        f"approved (version {fresh[post_id]})")


def test_an_approval_that_names_no_version_is_refused(store):
    store.review = REVIEWED
    post_id = draft(store)
    with pytest.raises(VersionMissing, match=f"approving post {post_id} needs the version"):
        store.posts.approve([post_id], seen={}, actor=APPROVER, now=T0)
    assert store.history.get(post_id).status == S.DRAFT


def test_editing_one_side_of_an_approved_pair_takes_the_approval_from_both_wherever_they_wait(
        store):
    store.review = Review(require_approval=True)
    en, ar = pair(store)
    store.posts.approve([en], seen=store.posts.versions([en]), actor=APPROVER, now=T0)
    # Both sides failed (the partner with its leader), both still carrying the approval.
    claimed = store.queue.claim_next("office-x", worker="w", now=T0 + timedelta(hours=2),
                                     lease=timedelta(minutes=2))
    store.outcomes.failed(claimed.id, worker="w", reason="refused", now=T0)
    assert {store.history.get(i).status for i in (en, ar)} == {S.FAILED}
    store.posts.edit(en, actor=EDITOR, now=T0, text="Port open from six.")
    leader, partner = store.history.get(en), store.history.get(ar)
    assert (leader.status, leader.approved_by) == (S.DRAFT, None)
    assert (partner.status, partner.approved_by) == (S.FAILED, None)
    assert "its pair partner, post" in store.history.audit_trail(ar)[-1].reason
    # Retried, the partner cannot go out on the approval its old pair had.
    assert store.posts.retry(ar, actor=EDITOR, now=T0).status == S.DRAFT


# -- the web, the API and the command line carry the version ---------------------------------

def hidden_fields(page: str, action: str) -> dict[str, str]:
    form = re.search(r'<form[^>]*action="' + re.escape(action) + r'"[^>]*>(.*?)</form>', page,
                     re.S)
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"',
                           form.group(1)))


@pytest.fixture
def newsroom(make_office, serve):
    office = make_office(extra=REVIEW)
    add_users(office.store, bashir="approver", chen="author")
    office.url = serve(office.config, office.store)
    return office


def test_the_approve_button_approves_the_text_its_page_showed(newsroom):
    store = newsroom.store
    post_id = draft(store)
    approver = sign_in(newsroom.url, "bashir")
    # The approver opens the post; meanwhile its author rewrites it.
    page = approver.get(f"/posts/{post_id}").text
    store.posts.edit(post_id, actor=Actor("chen", "author"), now=datetime.now(UTC),
                     text="Convoy cancelled.")
    response = approver.post(f"/posts/{post_id}/approve",
                             data=hidden_fields(page, f"/posts/{post_id}/approve"))
    assert response.status_code == 409
    assert CHANGED.format(post_id) in response.text
    assert store.history.get(post_id).status == S.DRAFT
    # Opened again, the page shows the new text and its button approves it.
    page = approver.get(f"/posts/{post_id}").text
    assert "Convoy cancelled." in page
    assert approver.post(f"/posts/{post_id}/approve",
                         data=hidden_fields(page, f"/posts/{post_id}/approve")
                         ).status_code == 303
    assert store.history.get(post_id).status == S.QUEUED


def test_the_approvals_page_approves_what_it_listed(newsroom):
    store = newsroom.store
    kept, changed = draft(store, "Briefing at ten."), draft(store, "Briefing at noon.")
    approver = sign_in(newsroom.url, "bashir")
    page = approver.get("/approvals").text
    boxes = re.findall(r'name="post" value="([^"]+)"', page)
    store.posts.edit(changed, actor=Actor("chen", "author"), now=datetime.now(UTC),
                     text="Briefing cancelled.")
    response = approver.post("/approvals", data={**hidden_fields(page, "/approvals"),
                                                 "post": boxes})
    assert response.status_code == 409 and CHANGED.format(changed) in response.text
    # All or none: the unchanged draft was not approved on its own either.
    assert {store.history.get(i).status for i in (kept, changed)} == {S.DRAFT}


def test_the_api_approves_the_version_it_was_given(newsroom):
    store = newsroom.store
    post_id = draft(store)
    api = httpx.Client(base_url=newsroom.url + "/api", timeout=30, headers={
        "Authorization": f"Bearer {token_for(store, 'bashir')}"})
    version = api.get(f"/posts/{post_id}").json()["version"]
    store.posts.edit(post_id, actor=Actor("chen", "author"), now=datetime.now(UTC),
                     text="Convoy cancelled.")
    stale = api.post(f"/posts/{post_id}/approve", json={"version": version})
    assert (stale.status_code, stale.json()["detail"]) == (409, CHANGED.format(post_id))
    blind = api.post(f"/posts/{post_id}/approve")
    assert blind.status_code == 400 and "needs the version you reviewed" in blind.text
    assert store.history.get(post_id).status == S.DRAFT
    current = api.get(f"/posts/{post_id}").json()["version"]
    assert api.post(f"/posts/{post_id}/approve",
                    json={"version": current}).json()["status"] == "queued"


def test_the_command_line_approves_the_version_it_prints_or_the_one_given(newsroom):
    store = newsroom.store
    first, second = draft(store, "Briefing at ten."), draft(store, "Briefing at noon.")
    token = token_for(store, "bashir")

    def factpost(*args):
        return CliRunner().invoke(cli, ["--config", str(newsroom.config_path), *args],
                                  env={"FACTPOST_TOKEN": token})

    shown = json.loads(factpost("post", "show", str(first), "--json").output)["version"]
    assert f"version: {shown}" in factpost("post", "show", str(first)).output
    store.posts.edit(first, actor=Actor("chen", "author"), now=datetime.now(UTC),
                     text="Briefing cancelled.")
    refused = factpost("post", "approve", str(first), "--version", shown)
    assert (refused.exit_code, refused.output.strip()) == (
        1, f"factpost: error: {CHANGED.format(first)}")
    both = factpost("post", "approve", str(first), str(second), "--version", shown)
    assert both.exit_code == 2 and "--version goes with one post id" in both.output
    assert store.history.get(first).status == S.DRAFT
    # Without --version it approves each post as it prints it.
    current = store.posts.versions([first, second])
    approved = factpost("post", "approve", str(first), str(second))
    assert approved.exit_code == 0, approved.output
    assert approved.output.splitlines() == [
        f"post {first}, version {current[first]}: Briefing cancelled.",
        f"post {second}, version {current[second]}: Briefing at noon.",
        f"approved 2 post(s): {first} {second}"]


def test_a_claim_never_sends_content_that_changed_after_its_approval(store):
    # Defence in depth: a path that changed an approved post without withdrawing the approval
    # (here, a direct write) does not get the new text out; the post goes back to draft.
    store.review = Review(require_approval=True)
    post_id = draft(store)
    store.posts.approve([post_id], seen=store.posts.versions([post_id]), actor=APPROVER,
                        now=T0)
    with store.session() as s:
        s.execute(update(Post).where(Post.id == post_id).values(text="Nobody cleared this."))
    later = T0 + timedelta(hours=2)
    assert store.queue.claim_next("office-x", worker="w", now=later,
                                  lease=timedelta(minutes=2)) is None
    post = store.history.get(post_id)
    assert (post.status, post.approved_by) == (S.DRAFT, None)
    [*_, entry] = store.history.audit_trail(post_id)
    assert (entry.actor, entry.action, entry.reason) == (
        "w", "await_review", "its text, image or pair partner changed after it was approved; "
        "it needs approval again")
    # A new time alone keeps the approval (the daemon itself moves times as it retries).
    store.posts.approve([post_id], seen=store.posts.versions([post_id]), actor=APPROVER,
                        now=T0)
    store.posts.edit(post_id, actor=EDITOR, now=T0, scheduled_at=T0 + timedelta(minutes=30))
    assert store.queue.claim_next("office-x", worker="w", now=later,
                                  lease=timedelta(minutes=2)).id == post_id
