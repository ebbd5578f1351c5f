"""Retracting a published post and correcting it in public (issue 18, point 2), end to end:
the command line, the web UI and /api over a real store, publishing to and deleting from the
emulator over loopback HTTP."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from click.testing import CliRunner
from conftest import (
    APPROVER,
    AUTHOR,
    POSTGRES_URL,
    add_users,
    form_fields,
    postgres_store,
    sign_in,
    token_for,
)
from sqlalchemy import update

from db.models import Post
from posts.states import Action, IllegalTransition, NotPermitted, PostStatus, check_move
from scheduler.cli import cli

S = PostStatus
ARABIC_ACCOUNT = """
[[accounts]]
name = "office-x-ar"
platform = "x"
handle = "OfficeXAr"
language = "ar"
api_url = "{url}"
"""


def run(office, *args: str, token: str):
    return CliRunner().invoke(cli, ["--config", str(office.config_path), *args],
                              env={"FACTPOST_TOKEN": token})


def published(office, text: str, account: str = "office-x") -> Post:
    post_id = office.add(text, account)
    office.dispatcher().tick()
    post = office.store.history.get(post_id)
    assert post.status == S.PUBLISHED, post.last_error
    return post


def texts(office, account: str = "office-x") -> list[str]:
    handle = office.config.account(account).handle
    return [p["text"] for p in office.emulator.posts(office.config.account(account).platform,
                                                      handle)]


def trail(office, post_id: int) -> list[tuple[str, str | None, str | None, str | None]]:
    return [(e.action, e.from_status, e.to_status, e.reason)
            for e in office.store.history.audit_trail(post_id)]


@pytest.fixture
def approver(office) -> str:
    add_users(office.store, bashir="approver", chen="author")
    return token_for(office.store, "bashir")


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
@pytest.mark.parametrize("account", ["office-x", "office-fb"])
def test_a_retracted_post_is_gone_from_the_platform_and_kept_with_its_reason(
        make_office, account, database):
    if database == "postgresql":
        postgres_store().close()  # an empty database, or a skip where no server answers
    office = make_office(**({"database": POSTGRES_URL} if database == "postgresql" else {}))
    add_users(office.store, bashir="approver")
    approver = token_for(office.store, "bashir")
    post = published(office, "The casualty figure was 14.", account)
    office.add("Another post stays up.", account)
    office.dispatcher().tick()
    result = run(office, "post", "retract", str(post.id), "--reason", "factual-error",
                 "--note", "the figure was 12", token=approver)
    assert result.exit_code == 0, result.output
    assert f"retracted: post {post.id}" in result.output
    assert texts(office, account) == ["Another post stays up."]
    kept = office.store.history.get(post.id)
    assert (kept.status, kept.text, kept.remote_id) == (S.RETRACTED, post.text, post.remote_id)
    platform = office.config.account(account).spec.title
    assert trail(office, post.id)[-2:] == [
        ("retract", "published", "retracting", "factual-error: the figure was 12"),
        ("retract", "retracting", "retracted", f"deleted {post.remote_id} on {platform}")]
    assert [a.actor for a in office.store.history.audit_trail(post.id)][-1] == "bashir"
    assert len(office.store.history.search()) == 2  # nothing of the records is deleted
    # The records archive keeps it: the post as it was, and why and by whom it came down.
    archive = office.config_path.parent / "records"
    exported = run(office, "archive", "export", str(archive), token=approver)
    assert exported.exit_code == 0, exported.output
    [record] = [p for p in map(json.loads, (archive / "posts.jsonl").read_text(
        encoding="utf-8").splitlines()) if p["id"] == post.id]
    assert (record["status"], record["text"], record["remote_id"]) == (
        S.RETRACTED, post.text, post.remote_id)
    assert {(r["action"], r["actor"], r["reason"]) for r in map(json.loads, (
        archive / "audit.jsonl").read_text(encoding="utf-8").splitlines())
            if r["post_id"] == post.id} >= {
        ("retract", "bashir", "factual-error: the figure was 12")}
    assert run(office, "archive", "verify", str(archive), token=approver).exit_code == 0
    if account == "office-x":  # X bills the delete: on the ledger as the emulator bills it
        [charge] = [(c.operation, c.purpose, c.state, c.micros)
                    for c in office.store.spend.charges(post_id=post.id)
                    if c.operation == "post_delete"]
        [billed] = [e["micros"] for e in office.emulator.bill()
                    if e["endpoint"] == "DELETE /2/tweets/:id"]
        assert charge == ("post_delete", "retract", "charged", billed)


def test_retracting_any_part_of_a_thread_takes_the_whole_thread_down(office, approver):
    now = datetime.now(UTC)
    first_id = office.store.posts.add_thread(
        account="office-x", platform="x", texts=["Relief 1/3", "Relief 2/3", "Relief 3/3"],
        scheduled_at=now - timedelta(seconds=1), actor=AUTHOR, now=now,
        status=S.QUEUED)[0].id
    tick = office.dispatcher()
    for _ in range(3):
        tick.tick()
    parts = office.store.history.thread_of(office.store.history.get(first_id))
    assert [p.status for p in parts] == [S.PUBLISHED] * 3
    result = run(office, "post", "retract", str(parts[1].id), "--reason", "policy",
                 "--note", "not cleared", token=approver)
    assert result.exit_code == 0, result.output
    assert texts(office) == []
    assert [office.store.history.get(p.id).status for p in parts] == [S.RETRACTED] * 3


def test_parts_never_sent_are_cancelled_and_parts_in_doubt_stop_the_retraction(office,
                                                                               approver):
    now = datetime.now(UTC)
    parts = office.store.posts.add_thread(
        account="office-x", platform="x", texts=["Aid 1/3", "Aid 2/3", "Aid 3/3"],
        scheduled_at=now - timedelta(seconds=1), actor=AUTHOR, now=now, status=S.QUEUED)
    with office.store.db.session() as s:  # the last part not due yet
        s.execute(update(Post).where(Post.id == parts[2].id).values(
            scheduled_at=datetime(2099, 1, 1, tzinfo=UTC)))
    office.dispatcher().tick()
    assert [office.store.history.get(p.id).status for p in parts] == [
        S.PUBLISHED, S.PUBLISHED, S.QUEUED]
    with office.store.db.session() as s:  # as if a daemon died sending it
        s.execute(update(Post).where(Post.id == parts[2].id).values(status=S.NEEDS_REVIEW))
    doubt = run(office, "post", "retract", str(parts[0].id), "--reason", "policy", "--note",
                "not cleared", token=approver)
    assert doubt.exit_code == 1 and "is needs_review" in doubt.output
    assert [office.store.history.get(p.id).status for p in parts] == [
        S.PUBLISHED, S.PUBLISHED, S.NEEDS_REVIEW]
    with office.store.db.session() as s:
        s.execute(update(Post).where(Post.id == parts[2].id).values(status=S.QUEUED))
    result = run(office, "post", "retract", str(parts[0].id), "--reason", "policy",
                 "--note", "not cleared", token=approver)
    assert result.exit_code == 0, result.output
    assert texts(office) == []
    assert [office.store.history.get(p.id).status for p in parts] == [
        S.RETRACTED, S.RETRACTED, S.CANCELLED]


def test_a_deletion_whose_answer_is_lost_is_asked_again_not_guessed(office, approver):
    post = published(office, "Answer lost on the way back.")
    office.emulator.inject("drop_after", platform="x")  # deleted, then no answer
    result = run(office, "post", "retract", str(post.id), "--reason", "typo", "--note",
                 "wrong date", token=approver)
    assert result.exit_code == 0, result.output
    assert texts(office) == []
    assert trail(office, post.id)[-1] == (
        "retract", "retracting", "retracted",
        f"{post.remote_id} is gone from X (it says no such post exists)")


def test_no_answer_twice_leaves_the_post_retracting_until_asked_again(office, approver):
    post = published(office, "Nobody answers.")
    office.emulator.inject("drop_before", platform="x", count=2)  # nothing deleted, no answer
    result = run(office, "post", "retract", str(post.id), "--reason", "security", "--note",
                 "location shown", token=approver)
    assert result.exit_code == 1
    assert "still retracting" in result.output and "not wholly retracted" in result.output
    assert office.store.history.get(post.id).status == S.RETRACTING
    assert texts(office) == ["Nobody answers."]
    again = run(office, "post", "retract", str(post.id), "--reason", "security", "--note",
                "location shown", token=approver)
    assert again.exit_code == 0, again.output
    assert office.store.history.get(post.id).status == S.RETRACTED
    assert texts(office) == []
    assert [t[2] for t in trail(office, post.id)][-4:] == [
        "retracting", "retracting", "retracting", "retracted"]


def test_a_refused_deletion_leaves_the_post_published_with_why(office, approver):
    post = published(office, "The platform keeps this one.")
    office.emulator.inject("refuse", platform="x")
    result = run(office, "post", "retract", str(post.id), "--reason", "legal", "--note",
                 "court order", token=approver)
    assert result.exit_code == 1
    assert office.store.history.get(post.id).status == S.PUBLISHED
    assert texts(office) == ["The platform keeps this one."]
    assert "still live" in trail(office, post.id)[-1][3]


def test_only_approvers_retract_and_only_for_a_listed_reason(office, approver):
    post = published(office, "Stays up.")
    author = token_for(office.store, "chen")
    refused = run(office, "post", "retract", str(post.id), "--reason", "typo", "--note",
                  "x", token=author)
    assert refused.exit_code == 1 and "needs the approver role" in refused.output
    bad = run(office, "post", "retract", str(post.id), "--reason", "embarrassing", "--note",
              "x", token=approver)
    assert bad.exit_code == 2 and "embarrassing" in bad.output
    blank = run(office, "post", "retract", str(post.id), "--reason", "typo", "--note", " ",
                token=approver)
    assert blank.exit_code == 1 and blank.output.count("\n") == 1
    assert "--note" in blank.output
    not_out = office.add("Not yet out.", at=datetime(2099, 1, 1, tzinfo=UTC))
    early = run(office, "post", "retract", str(not_out), "--reason", "typo", "--note", "x",
                token=approver)
    assert early.exit_code == 1 and "only a published post" in early.output
    assert texts(office) == ["Stays up."]
    assert office.store.history.get(post.id).status == S.PUBLISHED


def test_a_pair_is_retracted_together_and_acknowledged_in_both_languages(make_office,
                                                                           emulator):
    office = make_office(extra=ARABIC_ACCOUNT.format(url=emulator.url))
    add_users(office.store, bashir="approver")
    en, ar = office.add("Convoy arrived."), office.add("وصلت القافلة.", "office-x-ar")
    with office.store.db.session() as s:
        s.execute(update(Post).where(Post.id == en).values(pair_id=ar))
        s.execute(update(Post).where(Post.id == ar).values(pair_id=en))
    dispatcher = office.dispatcher()
    dispatcher.tick()
    dispatcher.tick()
    assert office.store.history.get(ar).status == S.PUBLISHED
    result = run(office, "post", "retract", str(en), "--reason", "factual-error", "--note",
                 "wrong day", "--acknowledge", token=token_for(office.store, "bashir"))
    assert result.exit_code == 0, result.output
    assert texts(office) == [] and texts(office, "office-x-ar") == []
    acks = office.store.retractions.answers_to(en) + office.store.retractions.answers_to(ar)
    assert [(p.account, p.status) for p in acks] == [("office-x", S.DRAFT),
                                                   ("office-x-ar", S.DRAFT)]
    assert acks[0].text.startswith("We removed an earlier post because of a factual error")
    assert acks[1].text.startswith("حذفنا منشورًا سابقًا بسبب خطأ في المعلومات.")
    assert (acks[0].pair_id, acks[1].pair_id) == (acks[1].id, acks[0].id)
    assert not acks[0].reply_to_corrected  # the post it answers is gone
    assert trail(office, en)[-1][0] == "correct"


def test_a_correction_replies_where_the_platform_threads_and_stands_alone_elsewhere(
        office, approver):
    x_post = published(office, "Briefing at 10:00.")
    fb_post = published(office, "Briefing at 10:00 today.", "office-fb")
    for post, text in ((x_post, "Correction: the briefing is at 11:00."),
                       (fb_post, "Correction: the briefing today is at 11:00.")):
        result = run(office, "post", "correct", str(post.id), "--text", text, token=approver)
        assert result.exit_code == 0, result.output
    office.dispatcher().tick()
    [x_original, x_correction] = office.emulator.posts("x", "OfficeX")
    assert x_correction["reply_to"] == x_original["id"] == x_post.remote_id
    [fb_original, fb_correction] = office.emulator.posts("facebook", "OfficeFB")
    assert (fb_original["id"], fb_correction["reply_to"]) == (fb_post.remote_id, None)
    for post in (x_post, fb_post):
        [correction] = office.store.retractions.answers_to(post.id)
        assert correction.status == S.PUBLISHED
        assert office.store.history.get(post.id).status == S.PUBLISHED
        assert trail(office, post.id)[-1][:3] == ("correct", None, None)
        shown = json.loads(run(office, "post", "show", str(post.id), "--json",
                               token=approver).output)
        assert shown["answered_by"] == [correction.id]
        linked = run(office, "post", "show", str(correction.id), token=approver).output
        assert f"answers: post {post.id}" in linked


def test_the_web_retracts_for_approvers_only_with_csrf_and_the_api_too(newsroom):
    post_id = newsroom.add("Posted in error.")
    other_id = newsroom.add("Also posted in error.", "office-fb")
    newsroom.dispatcher().tick()
    chen, bashir = sign_in(newsroom.url, "chen"), sign_in(newsroom.url, "bashir")
    assert "/retract" not in chen.get(f"/posts/{post_id}").text
    page = bashir.get(f"/posts/{post_id}").text
    csrf = re.search(r'action="/posts/\d+/retract".*?name="csrf" value="([^"]+)"', page,
                     re.S).group(1)
    form = {"reason": "policy", "note": "not cleared", "acknowledge": "yes",
            "acknowledgment": ""}
    assert chen.post(f"/posts/{post_id}/retract", data={**form, "csrf": csrf}
                     ).status_code == 403
    assert bashir.post(f"/posts/{post_id}/retract", data=form).status_code == 403  # no CSRF
    assert newsroom.store.history.get(post_id).status == S.PUBLISHED
    done = bashir.post(f"/posts/{post_id}/retract", data={**form, "csrf": csrf})
    assert done.status_code == 303
    assert newsroom.store.history.get(post_id).status == S.RETRACTED
    assert texts(newsroom) == []
    assert "retracted" in bashir.get(f"/posts/{post_id}").text
    api = httpx.Client(base_url=newsroom.url, timeout=30, headers={
        "Authorization": f"Bearer {token_for(newsroom.store, 'bashir')}"})
    answer = api.post(f"/api/posts/{other_id}/retract",
                      json={"reason": "terms-of-service", "note": "image rights"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["retracted"] == [other_id]
    assert texts(newsroom, "office-fb") == []
    author_api = httpx.Client(base_url=newsroom.url, timeout=30, headers={
        "Authorization": f"Bearer {token_for(newsroom.store, 'chen')}"})
    assert author_api.post(f"/api/posts/{other_id}/correct",
                           json={"text": "Correction."}).status_code == 403
    kept = api.get(f"/api/posts/{other_id}").json()
    assert kept["status"] == "retracted"
    assert [a["reason"] for a in kept["audit"]][-2] == "terms-of-service: image rights"
    acknowledgment = bashir.get(f"/posts/{post_id}").text
    assert "Answered by" in acknowledgment  # the drafted acknowledgment, linked
    again = api.post(f"/api/posts/{other_id}/retract", json={"reason": "typo", "note": "x"})
    assert again.status_code == 409


def test_retraction_state_moves_need_the_approver_role():
    assert check_move(1, Action.RETRACT, APPROVER, S.PUBLISHED, S.RETRACTING) is None
    with pytest.raises(NotPermitted):
        check_move(1, Action.RETRACT, AUTHOR, S.PUBLISHED, S.RETRACTING)
    with pytest.raises(IllegalTransition):
        check_move(1, Action.RETRACT, APPROVER, S.QUEUED, S.RETRACTING)


def test_x_and_facebook_publishers_can_delete_so_the_contract_runs_for_them(office):
    from scheduler.platforms.base import Deleter

    assert all(isinstance(p, Deleter) for p in office.publishers().values())


def test_the_web_correction_is_a_draft_under_review_linked_to_its_post(newsroom):
    post_id = newsroom.add("Briefing at 10:00.")
    newsroom.dispatcher().tick()
    bashir = sign_in(newsroom.url, "bashir")
    fields = form_fields(bashir, f"/posts/{post_id}", f"/posts/{post_id}/correct")
    sent = bashir.post(f"/posts/{post_id}/correct",
                       data={**fields, "text": "Correction: the briefing is at 11:00."})
    assert sent.status_code == 303
    [correction] = newsroom.store.retractions.answers_to(post_id)
    assert (correction.status, correction.reply_to_corrected) == (S.DRAFT, True)
    assert sent.headers["location"] == f"/posts/{correction.id}"
    assert f'href="/posts/{post_id}"' in bashir.get(f"/posts/{correction.id}").text
    assert trail(newsroom, post_id)[-1][0] == "correct"


def test_undoing_the_retractions_migration_keeps_search_and_history_indexes(tmp_path):
    # A rebuild of `posts` on SQLite would drop the search triggers and expression indexes.
    from alembic import command
    from sqlalchemy import text

    from db import migrate
    from db.store import Store

    store = Store.open(f"sqlite:///{tmp_path / 'down.db'}")
    # At the retractions migration itself: later ones change the indexes on their own way down.
    with store.engine.begin() as connection:
        command.upgrade(migrate._alembic_config(connection), "0011")

    def schema() -> set[str]:
        with store.engine.connect() as connection:
            return {name for (name,) in connection.execute(text(
                "SELECT name FROM sqlite_master WHERE type IN ('trigger', 'index') "
                "AND tbl_name = 'posts'"))}

    before = schema()
    assert {"posts_fts_insert", "ix_posts_history"} <= before
    with store.engine.begin() as connection:
        command.downgrade(migrate._alembic_config(connection), "0010")
    assert schema() == before
    with store.engine.connect() as connection:
        columns = {row[1] for row in connection.execute(text("PRAGMA table_info(posts)"))}
    assert not {"corrects_id", "reply_to_corrected"} & columns
    migrate.upgrade(store.engine)
    store.close()
