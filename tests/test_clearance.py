"""Multi-step clearance (`[review] steps`): a post publishes only after one approval per step,
in order, each by a user holding that step and none by its author; an edit withdraws them; the
two-person rule is the one-step case. On SQLite and PostgreSQL, through the command line, the
web, the API and the daemon."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from click.testing import CliRunner
from conftest import (
    AUTHOR,
    OPERATOR,
    POSTGRES_URL,
    T0,
    add_users,
    approve,
    link_pair,
    page_csrf,
    postgres_store,
    sign_in,
    token_for,
)
from sqlalchemy import event, select, text, update

from db import migrate
from db.errors import PostChanged, SelfApproval, WrongStep
from db.models import AuditEntry, Clearance, Post
from db.store import Store
from db.versions import content_version
from posts.states import Actor, PostStatus, Review
from scheduler.cli import cli

S = PostStatus
LEASE = timedelta(minutes=2)
STEPS = ("legal", "public-affairs", "release")
THREE_STEPS = Review(require_approval=True, two_person_rule=True, steps=STEPS)
STEPS_CONFIG = ('[review]\nsteps = ["legal", "public-affairs", "release"]\n')
LENA, PIA, RAY = (Actor("lena", "approver"), Actor("pia", "approver"),
                  Actor("ray", "approver"))


def give_steps(store: Store, **held: str) -> None:
    """give_steps(store, lena="legal"): add each approver holding the (comma-separated)
    steps."""
    add_users(store, **dict.fromkeys(held, "approver"))
    for name, steps in held.items():
        store.users.set_steps(name, steps.split(","), actor=OPERATOR, now=T0)


def draft(store: Store, words: str = "Port open at ten.", author: Actor = AUTHOR) -> Post:
    return store.posts.add(account="office-x", platform="x", text=words, actor=author, now=T0,
                           status=S.DRAFT, scheduled_at=T0)


def pair(store: Store, arabic_author: Actor = AUTHOR) -> tuple[Post, Post]:
    """An English draft and its Arabic partner, linked both ways as an import links them."""
    en = draft(store)
    ar = store.posts.add(account="office-fb", platform="facebook", text="الميناء مفتوح.",
                         actor=arabic_author, now=T0, status=S.DRAFT, scheduled_at=T0)
    link_pair(store, en.id, ar.id)
    return en, ar


@pytest.fixture
def cleared_store(store):
    store.review = THREE_STEPS
    give_steps(store, lena="legal", pia="public-affairs", ray="release")
    return store


def trail(store: Store, post_id: int) -> list[tuple[str, str, str | None, str | None]]:
    return [(e.actor, e.action, e.to_status, e.reason)
            for e in store.history.audit_trail(post_id)]


# -- the store: order, holders, authors, edits ----------------------------------------------

def test_three_steps_clear_a_post_one_at_a_time_and_only_the_last_queues_it(cleared_store):
    store = cleared_store
    post = draft(store)
    for actor, step, waits in ((LENA, "legal", "public-affairs"),
                               (PIA, "public-affairs", "release")):
        version = store.posts.versions([post.id])[post.id]
        approve(store, [post.id], actor=actor, now=T0)
        assert store.history.get(post.id).status == S.DRAFT
        assert store.history.get(post.id).approved_by is None
        assert store.posts.progress([post.id])[post.id].waiting_for == waits
        assert trail(store, post.id)[-1] == (actor.name, "approve", "draft", (
            f"cleared step {step} ({STEPS.index(step) + 1} of 3, version {version}); waits "
            f"for {waits}"))
        # Not due: the claim asks the one column only the last step sets.
        assert store.queue.claim_next("office-x", worker="w", now=T0, lease=LEASE) is None
    approve(store, [post.id], actor=RAY, now=T0)
    done = store.posts.progress([post.id])[post.id]
    assert (done.waiting_for, [(c.step, c.by) for c in done.cleared]) == (
        None, [("legal", "lena"), ("public-affairs", "pia"), ("release", "ray")])
    assert trail(store, post.id)[-1][1:3] == ("approve", "queued")
    assert trail(store, post.id)[-1][3].endswith("; approved")
    claimed = store.queue.claim_next("office-x", worker="w", now=T0, lease=LEASE)
    assert (claimed.id, claimed.approved_by) == (post.id, "ray")


def test_an_approval_out_of_order_is_refused_and_changes_nothing(cleared_store):
    store = cleared_store
    post = draft(store)
    with pytest.raises(WrongStep, match=re.escape(
            f"post {post.id} waits for step legal (1 of 3); pia holds public-affairs, which "
            "comes after it: clearance goes in order (legal -> public-affairs -> release)")):
        approve(store, [post.id], actor=PIA, now=T0)
    approve(store, [post.id], actor=LENA, now=T0)
    with pytest.raises(WrongStep, match=re.escape(
            f"post {post.id} waits for step public-affairs (2 of 3); ray holds release")):
        approve(store, [post.id], actor=RAY, now=T0)
    assert [a for _, a, _, _ in trail(store, post.id)] == ["create", "approve"]
    with store.reading() as s:
        assert s.scalars(select(Clearance.step).where(Clearance.post_id == post.id)).all() == [
            "legal"]


def test_an_approval_by_someone_without_the_step_names_who_holds_it(cleared_store):
    store = cleared_store
    post = draft(store)
    add_users(store, quinn="approver")
    with pytest.raises(WrongStep, match=re.escape(
            f"post {post.id} waits for step legal (1 of 3), which quinn does not hold; it can "
            "be cleared by lena")):
        approve(store, [post.id], actor=Actor("quinn", "approver"), now=T0)
    # A step nobody holds says how to give it.
    store.users.set_steps("lena", [], actor=OPERATOR, now=T0)
    with pytest.raises(WrongStep, match="it can be cleared by nobody yet; an operator gives "
                                        "it with factpost user set NAME --step legal"):
        approve(store, [post.id], actor=LENA, now=T0)
    assert store.history.get(post.id).status == S.DRAFT


def test_nobody_clears_a_step_of_their_own_post_or_two_steps_of_one(cleared_store):
    store = cleared_store
    # Named steps keep authors out whatever two_person_rule says.
    store.review = Review(require_approval=True, steps=STEPS)
    own = draft(store, author=LENA)
    with pytest.raises(SelfApproval, match=f"post {own.id} was written or edited by lena"):
        approve(store, [own.id], actor=LENA, now=T0)
    # Nor of a post whose text they changed.
    other = draft(store)
    store.posts.edit(other.id, actor=LENA, now=T0, text="Port open at eleven.")
    with pytest.raises(SelfApproval, match=f"post {other.id} was written or edited by lena"):
        approve(store, [other.id], actor=LENA, now=T0)
    # One person holding two steps clears one of them per post.
    store.users.set_steps("pia", ["legal", "public-affairs"], actor=OPERATOR, now=T0)
    post = draft(store, "Roads closed.")
    approve(store, [post.id], actor=PIA, now=T0)
    with pytest.raises(WrongStep, match=re.escape(
            f"post {post.id} waits for step public-affairs (2 of 3); pia cleared an earlier "
            "step of it, so another holder of this step must clear it")):
        approve(store, [post.id], actor=PIA, now=T0)


def test_an_edit_withdraws_every_step_cleared_and_the_old_version_is_refused(cleared_store):
    store = cleared_store
    post = draft(store)
    approve(store, [post.id], actor=LENA, now=T0)
    seen = store.posts.versions([post.id])
    approve(store, [post.id], actor=PIA, now=T0 + timedelta(minutes=1))
    store.posts.edit(post.id, actor=AUTHOR, now=T0 + timedelta(minutes=2),
                     text="Port open at ten thirty.")
    assert trail(store, post.id)[-1] == ("tester", "edit", "draft", "edited text; its "
                                         "clearance starts again at the first step")
    assert store.posts.progress([post.id])[post.id].waiting_for == "legal"
    with pytest.raises(WrongStep, match="waits for step legal"):
        approve(store, [post.id], actor=RAY, now=T0)
    # What an approver read before the edit is not what is there now.
    with pytest.raises(PostChanged, match=f"post {post.id} changed since you opened it"):
        store.posts.approve([post.id], seen=seen, actor=LENA, now=T0)
    with store.reading() as s:  # withdrawn, never deleted: the record keeps them
        rows = s.scalars(select(Clearance).where(Clearance.post_id == post.id)
                         .order_by(Clearance.id)).all()
        assert [(r.step, r.withdrawn_at is not None) for r in rows] == [
            ("legal", True), ("public-affairs", True)]
    for actor in (LENA, PIA, RAY):
        approve(store, [post.id], actor=actor, now=T0 + timedelta(minutes=3))
    assert store.history.get(post.id).status == S.QUEUED
    # A cleared post edited in the queue goes back to draft and starts again too.
    store.posts.edit(post.id, actor=AUTHOR, now=T0 + timedelta(minutes=4), text="Open at 11.")
    assert store.history.get(post.id).status == S.DRAFT
    assert store.posts.progress([post.id])[post.id].cleared == ()


def test_each_partner_of_a_pair_is_cleared_on_its_own_record_and_checks(cleared_store):
    store = cleared_store
    en, ar = pair(store, PIA)
    approve(store, [en.id], actor=LENA, now=T0)
    assert {p: store.posts.progress([p])[p].waiting_for for p in (en.id, ar.id)} == {
        en.id: "public-affairs", ar.id: "public-affairs"}
    # pia wrote the Arabic side: clearing the English one would clear it too (issue 19).
    with pytest.raises(SelfApproval, match=f"post {ar.id} was written or edited by pia"):
        approve(store, [en.id], actor=PIA, now=T0)
    give_steps(store, paul="public-affairs")
    approve(store, [en.id], actor=Actor("paul", "approver"), now=T0)
    approve(store, [ar.id], actor=RAY, now=T0)
    for post_id in (en.id, ar.id):
        assert store.history.get(post_id).status == S.QUEUED
        assert [c.by for c in store.posts.progress([post_id])[post_id].cleared] == [
            "lena", "paul", "ray"]


def test_each_step_of_a_pair_is_on_both_records_with_the_version_the_approver_saw(
        cleared_store):
    store = cleared_store
    en, ar = pair(store)
    version = store.posts.versions([en.id])[en.id]
    for minutes, actor in enumerate((LENA, PIA, RAY)):
        approved = approve(store, [en.id], actor=actor, now=T0 + timedelta(minutes=minutes))
        assert [p.id for p in approved] == [en.id, ar.id]
    done_at = T0 + timedelta(minutes=2)
    for post_id, partner in ((en.id, ""), (ar.id, f" with its pair partner, post {en.id},")):
        assert trail(store, post_id)[1:] == [
            ("lena", "approve", "draft",
             f"cleared step legal (1 of 3,{partner} version {version}); waits for "
             "public-affairs"),
            ("pia", "approve", "draft",
             f"cleared step public-affairs (2 of 3,{partner} version {version}); waits for "
             "release"),
            ("ray", "approve", "queued",
             f"cleared step release (3 of 3,{partner} version {version}); approved")]
        post = store.history.get(post_id)
        assert (post.status, post.approved_by, post.approved_at) == (S.QUEUED, "ray", done_at)


def test_an_edit_to_one_partner_withdraws_the_other_s_steps_on_its_record(cleared_store):
    # The partner's version covers both texts, so its steps no longer count either way; the
    # record must say they were withdrawn, when, and why.
    store = cleared_store
    en, ar = pair(store)
    approve(store, [en.id], actor=LENA, now=T0)
    edited_at = T0 + timedelta(minutes=5)
    store.posts.edit(en.id, actor=AUTHOR, now=edited_at, text="Port open at eleven.")
    assert trail(store, ar.id)[-1] == (
        "tester", "edit", "draft",
        f"its pair partner, post {en.id}, was edited; its clearance starts again at the "
        "first step")
    last = store.history.audit_trail(ar.id)[-1]
    assert (last.at, last.from_status) == (edited_at, "draft")
    with store.reading() as s:
        assert [(r.step, r.withdrawn_at) for r in s.scalars(
            select(Clearance).where(Clearance.post_id == ar.id))] == [("legal", edited_at)]
    # A partner with nothing cleared gets no such row.
    store.posts.edit(en.id, actor=AUTHOR, now=edited_at, text="Port open at noon.")
    assert [e.reason for e in store.history.audit_trail(ar.id)].count(
        f"its pair partner, post {en.id}, was edited; its clearance starts again at the "
        "first step") == 1


def test_an_edit_to_a_cleared_post_in_the_queue_withdraws_its_steps_on_the_record(
        cleared_store):
    store = cleared_store
    post = draft(store)
    for actor in (LENA, PIA, RAY):
        approve(store, [post.id], actor=actor, now=T0)
    edited_at = T0 + timedelta(minutes=5)
    store.posts.edit(post.id, actor=AUTHOR, now=edited_at, text="Port open at noon.")
    with store.reading() as s:
        assert [(r.step, r.withdrawn_at) for r in s.scalars(
            select(Clearance).where(Clearance.post_id == post.id).order_by(Clearance.id))] == [
            (step, edited_at) for step in STEPS]


def test_one_step_is_today_s_approval_and_named_steps_later_hold_what_it_cleared(store):
    store.review = Review(require_approval=True, two_person_rule=True)
    post = draft(store)
    approve(store, [post.id], actor=LENA, now=T0)
    assert store.history.get(post.id).status == S.QUEUED
    assert trail(store, post.id)[-1][3].startswith("approved (version ")
    done = store.posts.progress([post.id])[post.id]
    assert (done.steps, [c.by for c in done.cleared]) == (("approval",), ["lena"])
    # The office names its steps: the post cleared by one approval does not go out on it.
    store.review = THREE_STEPS
    assert store.queue.claim_next("office-x", worker="w", now=T0, lease=LEASE) is None
    assert store.queue.hold_unreviewed(actor=OPERATOR, now=T0) == [post.id]
    assert trail(store, post.id)[-1][2:] == ("draft", (
        f"post {post.id} has not cleared step legal (1 of 3); a holder of that step must "
        f"approve it first (factpost post approve {post.id})"))


# -- the migration: approvals given before steps existed -----------------------------------

@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request, tmp_path):
    if request.param == "sqlite":
        store = Store.open(f"sqlite:///{tmp_path / 'old.db'}")
    else:
        store = postgres_store(migrated=False)
    yield store.engine
    store.close()


def test_the_migration_makes_every_approval_the_clearance_of_the_one_step(empty_engine):
    from alembic import command

    with empty_engine.begin() as connection:
        command.upgrade(migrate._alembic_config(connection), "0009")
        for post_id, approved in ((1, "'bashir'"), (2, "NULL")):
            connection.execute(text(
                "INSERT INTO posts (id, account, platform, text, status, scheduled_at, "
                "thread_position, thread_size, attempt_count, approved_by, approved_at, "
                "approved_content, created_by, created_at, updated_at) VALUES "
                f"({post_id}, 'office-x', 'x', 'Old.', 'queued', '2026-12-01 06:00:00', 1, 1, "
                f"0, {approved}, '2026-11-30 06:00:00', 'abc', 'chen', '2026-11-30 05:00:00', "
                "'2026-11-30 05:00:00')"))
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT post_id, step, position, cleared_by, content, withdrawn_at "
            "FROM clearances")).all()
    assert [tuple(r) for r in rows] == [(1, "approval", 1, "bashir", "abc", None)]
    with empty_engine.begin() as connection:
        command.downgrade(migrate._alembic_config(connection), "0009")
    migrate.upgrade(empty_engine)


# -- config and the people who hold steps --------------------------------------------------

@pytest.mark.parametrize(("review", "message"), [
    ('steps = ["legal", "legal"]', "review.steps: step 'legal' is named twice; name each step "
                                   "once, in the order posts are cleared"),
    ('steps = ["Legal Office"]', "review.steps: 'Legal Office' is not a step name; use "
                                 "lower-case letters"),
    ('steps = "legal"', "review.steps: 'legal' is not a list of step names; write e.g. "
                        'steps = ["legal", "public-affairs"]'),
    ('steps = ["legal"]\nrequire_approval = false',
     "review.require_approval: is false, but review.steps names steps of clearance; remove "
     "review.require_approval or set it to true"),
])
def test_a_bad_step_list_is_one_clear_line(make_office, review, message):
    from scheduler.config import ConfigError

    with pytest.raises(ConfigError) as caught:
        make_office(extra=f"[review]\n{review}\n")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def run(office, *args: str, token: str = "", input: str | None = None):
    return CliRunner().invoke(cli, ["--config", str(office.config_path), *args],
                              env={"FACTPOST_TOKEN": token}, input=input)


def test_users_get_only_configured_steps_and_only_as_approvers(make_office):
    office = make_office(extra=STEPS_CONFIG)
    add_users(office.store, chen="author", lena="approver")
    result = run(office, "user", "set", "lena", "--step", "legal", "--step", "budget")
    assert (result.exit_code, result.output.strip()) == (1, (
        "factpost: error: step 'budget' is not configured; [review] steps names legal, "
        "public-affairs, release"))
    result = run(office, "user", "set", "chen", "--step", "legal")
    assert (result.exit_code, result.output.strip()) == (1, (
        "factpost: error: only approvers clear steps; give chen the approver role too "
        "(--role approver)"))
    assert office.store.users.steps_by_user() == {}
    result = run(office, "user", "set", "lena", "--step", "legal", "--step", "release")
    assert (result.exit_code, result.output.strip()) == (
        0, "user lena: approver, active, clears legal, release")
    result = run(office, "user", "add", "pia", "--role", "approver", "--step",
                 "public-affairs", input="correct horse battery\n")
    assert result.output.strip() == "user pia added as approver, clears public-affairs"
    assert "clears legal" in run(office, "user", "set", "lena", "--enable").output
    listing = run(office, "user", "list").output
    assert re.search(r"lena\s+│\s+approver\s+│\s+legal, release", listing), listing
    with office.store.reading() as s:
        reasons = s.scalars(select(AuditEntry.reason).where(
            AuditEntry.action == "user_change").order_by(AuditEntry.id)).all()
    assert "user lena: steps none -> legal, release" in reasons


# -- end to end: the command line, the web, the API and the daemon ---------------------------

@pytest.fixture(params=["sqlite", "postgresql"])
def stepped_office(request, make_office):
    if request.param == "postgresql":
        postgres_store().close()  # an empty database for the office's own store
        office = make_office(extra=STEPS_CONFIG, database=POSTGRES_URL)
    else:
        office = make_office(extra=STEPS_CONFIG)
    give_steps(office.store, lena="legal", pia="public-affairs", ray="release")
    return office


def test_three_step_clearance_from_the_command_line_publishes_only_after_the_last(
        stepped_office):
    office = stepped_office
    now = datetime.now(UTC)
    post_id = office.store.posts.add(account="office-x", platform="x", text="Bridge reopens.",
                                     actor=AUTHOR, now=now, status=S.DRAFT,
                                     scheduled_at=now - timedelta(seconds=1)).id
    shown = run(office, "post", "show", str(post_id)).output
    assert "clearance: waits for legal; then public-affairs; then release" in shown
    out_of_order = run(office, "post", "approve", str(post_id),
                       token=token_for(office.store, "ray"))
    assert out_of_order.exit_code == 1
    assert out_of_order.stderr.strip() == (
        f"factpost: error: post {post_id} waits for step legal (1 of 3); ray holds release, "
        "which comes after it: clearance goes in order (legal -> public-affairs -> release)")
    for name, expected in (("lena", "cleared step legal (1 of 3); waits for public-affairs"),
                           ("pia", "cleared step public-affairs (2 of 3); waits for release")):
        version = office.store.posts.versions([post_id])[post_id]
        result = run(office, "post", "approve", str(post_id), "--version", version,
                     token=token_for(office.store, name))
        assert result.output.strip() == f"post {post_id}: {expected}", result.output
        assert office.dispatcher().tick().published == 0
        assert office.emulator.tweets("OfficeX") == []
    result = run(office, "post", "approve", str(post_id), token=token_for(office.store, "ray"))
    assert result.output.strip().splitlines()[-1] == (
        f"post {post_id}: cleared step release (3 of 3); approved, queued")
    assert office.dispatcher().tick().published == 1
    assert [t["text"] for t in office.emulator.tweets("OfficeX")] == ["Bridge reopens."]
    shown = run(office, "post", "show", str(post_id), "--json").output
    assert '"waiting_for": null' in shown and '"by": "ray"' in shown


def test_the_approvals_page_and_the_api_show_the_step_each_post_waits_for(make_office, serve):
    office = make_office(extra=STEPS_CONFIG)
    give_steps(office.store, lena="legal", pia="public-affairs")
    add_users(office.store, chen="author")
    url = serve(office.config, office.store)
    post = draft(office.store)
    lena = sign_in(url, "lena")
    page = lena.get("/approvals").text
    assert "<strong>legal</strong> (1 of 3)" in page and "may clear: lena" in page
    version = office.store.posts.versions([post.id])[post.id]
    response = lena.post("/approvals", data={"csrf": page_csrf(lena, "/approvals"),
                                             "post": f"{post.id}:{version}"})
    assert response.status_code == 303
    assert f"post {post.id}: cleared legal, waits for public-affairs" in lena.get(
        response.headers["location"]).text
    page = lena.get("/approvals").text
    assert "<strong>public-affairs</strong> (2 of 3)" in page
    assert "legal: lena; may clear: pia" in page
    assert 'disabled title="It waits for public-affairs, a step you do not hold"' in page
    api = httpx.Client(base_url=url + "/api", timeout=30, headers={
        "Authorization": f"Bearer {token_for(office.store, 'pia')}"})
    detail = api.get(f"/posts/{post.id}").json()
    assert detail["clearance"]["waiting_for"] == "public-affairs"
    response = api.post(f"/posts/{post.id}/approve", json={"version": detail["version"]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["cleared_step"], body["clearance"]["waiting_for"]) == (
        "draft", "public-affairs", "release")
    refused = api.post(f"/posts/{post.id}/approve",
                       json={"version": api.get(f"/posts/{post.id}").json()["version"]})
    assert refused.status_code == 409
    assert "waits for step release (3 of 3), which pia does not hold" in refused.json()[
        "detail"]


def test_a_step_cleared_for_other_content_does_not_count(cleared_store):
    store = cleared_store
    post = draft(store)
    approve(store, [post.id], actor=LENA, now=T0)
    with store.session() as s:  # changed behind the store's back: no edit withdrew the step
        s.execute(update(Post).where(Post.id == post.id).values(text="Port closed."))
    assert store.posts.progress([post.id])[post.id].waiting_for == "legal"
    for actor in (LENA, PIA, RAY):
        approve(store, [post.id], actor=actor, now=T0)
    assert store.queue.claim_next("office-x", worker="w", now=T0, lease=LEASE).id == post.id


def test_a_draft_whose_every_step_counts_starts_again_rather_than_stalling(cleared_store):
    store = cleared_store
    post = draft(store)
    for actor in (LENA, PIA):
        approve(store, [post.id], actor=actor, now=T0)
    # The office drops its last step: the draft cleared both that remain waits for no step,
    # yet nothing approved it; it is cleared again from the first.
    store.review = Review(require_approval=True, two_person_rule=True, steps=STEPS[:2])
    assert store.posts.progress([post.id])[post.id].waiting_for == "legal"
    approve(store, [post.id], actor=LENA, now=T0)
    give_steps(store, paul="public-affairs")
    approve(store, [post.id], actor=Actor("paul", "approver"), now=T0)
    assert store.history.get(post.id).status == S.QUEUED


def test_the_post_page_offers_only_the_step_the_approver_holds(make_office, serve):
    office = make_office(extra=STEPS_CONFIG)
    give_steps(office.store, lena="legal", pia="public-affairs")
    url = serve(office.config, office.store)
    post = draft(office.store)
    page = sign_in(url, "lena").get(f"/posts/{post.id}").text
    assert "waits for <strong>legal</strong> (step 1 of 3; may be cleared by lena)" in page
    assert '<button type="submit">Clear legal</button>' in page
    page = sign_in(url, "pia").get(f"/posts/{post.id}").text
    assert "This post waits for legal, a step you do not hold." in page
    assert "Clear legal" not in page


def test_an_admin_gives_steps_on_the_users_page_and_only_configured_ones(make_office, serve):
    office = make_office(extra=STEPS_CONFIG)
    add_users(office.store, amira="admin", lena="approver", chen="author")
    url = serve(office.config, office.store)
    admin = sign_in(url, "amira")
    csrf = page_csrf(admin, "/users")
    response = admin.post("/users/lena", data={"csrf": csrf, "role": "approver",
                                               "state": "active", "steps_shown": "1",
                                               "step": ["legal", "release"]})
    assert response.status_code == 303, response.text
    assert office.store.users.steps_by_user() == {"lena": ["legal", "release"]}
    assert 'value="legal" checked' in admin.get("/users").text
    refused = admin.post("/users/lena", data={"csrf": csrf, "role": "approver",
                                              "state": "active", "steps_shown": "1",
                                              "step": ["budget"]})
    assert refused.status_code == 400
    assert "step &#39;budget&#39; is not configured" in refused.text
    refused = admin.post("/users/chen", data={"csrf": csrf, "role": "author",
                                              "state": "active", "steps_shown": "1",
                                              "step": ["legal"]})
    assert "only approvers clear steps; give chen the approver role too" in refused.text
    # A form without the step boxes (role only) leaves the steps as they are.
    admin.post("/users/lena", data={"csrf": csrf, "role": "admin", "state": "active"})
    assert office.store.users.steps_by_user() == {"lena": ["legal", "release"]}


# -- what the record says: progress as a line and as JSON, holders, refusals ----------------

def test_a_post_s_clearance_reads_as_one_line_and_as_json_with_who_cleared_each_step_and_when(
        cleared_store):
    store = cleared_store
    post = draft(store)
    approve(store, [post.id], actor=LENA, now=T0)
    approve(store, [post.id], actor=PIA, now=T0 + timedelta(minutes=7))
    done = store.posts.progress([post.id])[post.id]
    assert done.summary() == ("legal cleared by lena; public-affairs cleared by pia; waits for "
                              "release")
    assert done.record() == {
        "steps": ["legal", "public-affairs", "release"], "waiting_for": "release",
        "cleared": [{"step": "legal", "by": "lena", "at": "2026-12-01T06:00:00+00:00"},
                    {"step": "public-affairs", "by": "pia",
                     "at": "2026-12-01T06:07:00+00:00"}]}


def test_an_edit_withdraws_the_steps_of_the_post_edited_and_of_no_other(cleared_store):
    store = cleared_store
    edited, other = draft(store), draft(store, "Roads closed.")
    approve(store, [edited.id, other.id], actor=LENA, now=T0)
    store.posts.edit(edited.id, actor=AUTHOR, now=T0 + timedelta(minutes=5),
                     text="Port open at eleven.")
    assert {p: store.posts.progress([p])[p].waiting_for for p in (edited.id, other.id)} == {
        edited.id: "legal", other.id: "public-affairs"}
    with store.reading() as s:
        assert s.scalars(select(Clearance.withdrawn_at).where(
            Clearance.post_id == other.id)).all() == [None]


def test_a_disabled_approver_holds_no_step_and_is_not_named_as_a_holder(cleared_store):
    store = cleared_store
    post = draft(store)
    store.users.update_user("lena", actor=OPERATOR, now=T0, disabled=True)
    with pytest.raises(WrongStep) as refused:
        approve(store, [post.id], actor=LENA, now=T0)
    assert str(refused.value) == (
        f"post {post.id} waits for step legal (1 of 3), which lena does not hold; it can be "
        "cleared by nobody yet; an operator gives it with factpost user set NAME --step legal")
    assert store.posts.step_holders() == {"public-affairs": ["pia"], "release": ["ray"]}


def test_a_refusal_names_every_later_step_held_and_every_holder_of_the_step_in_name_order(
        cleared_store):
    store = cleared_store
    post = draft(store)
    give_steps(store, zoe="legal", adam="legal", paul="public-affairs,release")
    with pytest.raises(WrongStep) as refused:
        approve(store, [post.id], actor=Actor("paul", "approver"), now=T0)
    assert str(refused.value) == (
        f"post {post.id} waits for step legal (1 of 3); paul holds public-affairs, release, "
        "which come after it: clearance goes in order (legal -> public-affairs -> release)")
    add_users(store, quinn="approver")
    with pytest.raises(WrongStep) as refused:
        approve(store, [post.id], actor=Actor("quinn", "approver"), now=T0)
    assert str(refused.value) == (
        f"post {post.id} waits for step legal (1 of 3), which quinn does not hold; it can be "
        "cleared by adam, lena, zoe")
    assert store.posts.step_holders()["legal"] == ["adam", "lena", "zoe"]


def test_steps_count_in_the_order_they_were_cleared_not_the_order_the_database_keeps_them(
        cleared_store):
    # PostgreSQL returns rows in the order they lie in the table, which after edits and
    # withdrawals need not be the order they were written; rows written out of id order here.
    # SQLite returns them in id order by chance of its storage; its reverse_unordered_selects
    # pragma (https://sqlite.org/pragma.html#pragma_reverse_unordered_selects) turns that
    # chance around, so a query that forgets its ORDER BY fails here too.
    store = cleared_store
    if store.engine.dialect.name == "sqlite":
        event.listen(store.engine, "connect", lambda conn, _record: conn.execute(
            "PRAGMA reverse_unordered_selects = ON"))
        store.engine.dispose()
    post = draft(store)
    with store.session() as s:
        current = content_version(s, s.get(Post, post.id), with_time=False)
        for row_id, position, step, by in ((1002, 2, "public-affairs", "pia"),
                                           (1001, 1, "legal", "lena")):
            s.add(Clearance(id=row_id, post_id=post.id, step=step, position=position,
                            cleared_by=by, cleared_at=T0, content=current))
            s.flush()
    done = store.posts.progress([post.id])[post.id]
    assert (done.waiting_for, [c.by for c in done.cleared]) == ("release", ["lena", "pia"])
