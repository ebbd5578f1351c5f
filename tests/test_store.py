"""The store: claims, thread order, transitions with their audit entries, idempotent imports."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from conftest import T0, approve, link_pair
from sqlalchemy import select, text, update

from db import migrate, prepared
from db.errors import EmptySearch, NotEditable, PostNotFound, StoreError
from db.models import Attempt, AuditEntry, Post, XReservation
from db.queue import Budget
from db.reservations import CapRules
from db.retractions import Answer
from db.staff import ComposedThread
from db.store import AttemptResult, Due, HistoryFilter, PlannedPost, Store, history_key
from posts.media import Media
from posts.states import Actor, IllegalTransition, PostStatus, Review

S = PostStatus
LEASE = timedelta(minutes=2)


def staff(name: str) -> Actor:
    """A member of staff for tests about something other than roles: an admin may do all."""
    return Actor(name, "admin")


def add(store: Store, text="hello", at=T0, account="office-x", status=S.QUEUED) -> int:
    return store.posts.add(account=account, platform="x", text=text, scheduled_at=at,
                           actor=staff("tester"), now=T0, status=status).id


def import_thread(store: Store, parts=3, account="office-x", content_hash="h1"):
    planned = [PlannedPost(account=account, platform="x", text=f"part {i}", scheduled_at=T0,
                           section_index=0, thread_position=i, thread_size=parts)
               for i in range(1, parts + 1)]
    return store.documents.add(source_name="sheet.txt", content_hash=content_hash,
                               title="T", sections=[("HEADING", "body")], posts=planned,
                               actor=staff("tester"), now=T0, status=S.QUEUED)


def test_migrations_bring_an_empty_database_to_the_newest_schema(tmp_path):
    s = Store.open(f"sqlite:///{tmp_path / 'new.db'}")
    assert not migrate.is_current(s.engine)
    migrate.upgrade(s.engine)
    migrate.upgrade(s.engine)  # idempotent
    assert migrate.is_current(s.engine)


def test_sqlite_runs_in_wal_mode_with_foreign_keys(store):
    if store.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with store.engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_times_come_back_in_utc(store):
    post = store.history.get(add(store))
    assert post.scheduled_at == T0 and post.scheduled_at.utcoffset() == timedelta(0)


def test_only_due_posts_are_claimed_soonest_first(store):
    later = add(store, "later", at=T0 + timedelta(hours=1))
    first = add(store, "first", at=T0 - timedelta(minutes=5))
    second = add(store, "second", at=T0)
    now = T0 + timedelta(minutes=1)
    claimed = [store.queue.claim_next("office-x", worker="w", now=now, lease=LEASE)
               for _ in range(3)]
    assert [p.id if p else None for p in claimed] == [first, second, None]
    assert store.history.get(later).status == S.QUEUED
    # The claim hands back each post as it now stands.
    for post in claimed[:2]:
        held = store.history.get(post.id)
        assert [(p.status, p.claimed_by, p.lease_until, p.updated_at) for p in (post, held)] == [
            (S.PUBLISHING, "w", now + LEASE, now)] * 2


def test_the_next_claim_passes_over_the_posts_left_out_and_one_over_the_monthly_cap(store):
    first, second = add(store, "first, over the cap", at=T0 - timedelta(minutes=5)), add(store)
    rules = CapRules(price=lambda post: ("app", 15_000 if post.id == first else 5_000),
                     caps={"app": 10_000},
                     explain=lambda post, refusal: f"post {post.id} would cost "
                                                   f"{refusal.unit_micros} of {refusal.cap}")
    claimed = store.queue.claim_next("office-x", worker="w", now=T0, lease=LEASE, exclude=[first])
    assert claimed.id == second
    assert store.queue.claim_next("office-x", worker="w", now=T0, lease=LEASE, cap=rules) is None
    waiting = store.history.get(first)
    assert (waiting.status, waiting.claimed_by, waiting.lease_until, waiting.last_error) == (
        S.QUEUED, None, None, f"post {first} would cost 15000 of 10000")
    third = add(store, "third, under the cap")
    claimed = store.queue.claim_next("office-x", worker="w", now=T0, lease=LEASE, cap=rules,
                                     exclude=[first])
    assert claimed.id == third
    held = store.history.get(third)
    assert (held.status, held.claimed_by, held.lease_until) == (S.PUBLISHING, "w", T0 + LEASE)
    with store.reading() as s:
        assert [(r.post_id, r.app, r.month, r.micros, r.reserved_at)
                for r in s.scalars(select(XReservation))] == [
            (third, "app", f"{T0:%Y-%m}", 5_000, T0)]


def test_of_many_racing_claimers_exactly_one_wins_each_post(store):
    ids = {add(store, f"post {i}") for i in range(20)}
    won: list[int] = []
    lock = threading.Lock()

    def claimer(name):
        while (p := store.queue.claim_next("office-x", worker=name, now=T0, lease=LEASE)):
            with lock:
                won.append(p.id)

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(won) == sorted(ids)


def test_a_claim_passes_over_a_post_another_daemon_is_claiming_instead_of_waiting_for_it(
        store):
    if store.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: on SQLite a claim holds the one write lock")
    # db/claims.py `claiming`: FOR UPDATE SKIP LOCKED, so daemons sharing the database do not
    # queue behind each other's claim of the same post.
    busy, free = add(store, "busy", at=T0 - timedelta(minutes=1)), add(store, "free")
    with store.engine.connect() as other:  # another daemon, mid-claim of the soonest post
        other.execute(select(Post.id).where(Post.id == busy).with_for_update())
        claim = store.queue.claim(
            "office-x", worker="w", now=T0, lease=LEASE,
            # Waiting for the other daemon's lock would hang the test: fail after a second.
            settle=lambda s: s.connection.execute(text("SET LOCAL lock_timeout = '1s'")))
        other.rollback()
    assert claim.post.id == free
    assert store.history.get(busy).status == S.QUEUED


def test_a_claim_under_a_monthly_cap_waits_for_another_daemon_s_admission_to_the_same_cap(
        store):
    if store.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: on SQLite a claim holds the one write lock")
    # db/reservations.py `_lock`: admissions under one app's cap take its month's row in turn,
    # so each reads the reservations of the one before it, committed, and two daemons never
    # both reserve the last of the cap. Room for one post of two, on two accounts of one app.
    rules = CapRules(price=lambda post: ("app", 6_000), caps={"app": 10_000},
                     explain=lambda post, refusal: f"post {post.id} waits for the cap")
    first, second = add(store, "first"), add(store, "second", account="office-y")
    admitted, release = threading.Event(), threading.Event()
    claims = {}

    def daemon(account: str, **steps) -> None:
        claims[account] = store.queue.claim(account, worker=account, now=T0, lease=LEASE,
                                            cap=rules, **steps)

    def mid_admission(s, post) -> None:  # the first daemon, admitted, has not committed yet
        admitted.set()
        release.wait(timeout=30)

    def waiting_for_a_lock() -> bool:
        with store.engine.connect() as c:
            return c.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                                 "current_database() AND wait_event_type = 'Lock'")) > 0

    one = threading.Thread(target=daemon, args=("office-x",), kwargs={"prepay": mid_admission})
    one.start()
    assert admitted.wait(timeout=30)
    other = threading.Thread(target=daemon, args=("office-y",))
    other.start()
    deadline = time.monotonic() + 30  # the other daemon waits for the first (or claims at once)
    while other.is_alive() and not waiting_for_a_lock() and time.monotonic() < deadline:
        time.sleep(0.01)
    release.set()
    one.join(timeout=30)
    other.join(timeout=30)
    assert claims["office-x"].post.id == first
    assert claims["office-y"] is None
    waiting = store.history.get(second)
    assert (waiting.status, waiting.claimed_by, waiting.last_error) == (
        S.QUEUED, None, f"post {second} waits for the cap")
    with store.reading() as s:
        assert [(r.post_id, r.micros) for r in s.scalars(select(XReservation))] == [
            (first, 6_000)]


def test_a_thread_part_waits_until_the_part_before_it_is_published(store):
    import_thread(store)
    first = store.queue.claim_next("office-x", worker="w", now=T0, lease=LEASE)
    assert first.thread_position == 1
    assert store.queue.claim_next("office-x", worker="w", now=T0, lease=LEASE) is None
    store.outcomes.published(first.id, worker="w", remote_id="100", remote_url="u", now=T0)
    second = store.queue.claim_next("office-x", worker="w", now=T0, lease=LEASE)
    assert second.thread_position == 2
    assert store.history.parent_remote_id(second) == "100"


def test_a_correction_is_claimed_as_a_reply_to_the_post_it_corrects_only_when_it_says_so(
        store):
    original = add(store, "Briefing at 10:00.")
    store.queue.claim_next("office-x", worker="w", now=T0, lease=LEASE)
    store.outcomes.published(original, worker="w", remote_id="100", remote_url="u", now=T0)

    def correct(texts: list[str], reply: bool) -> list[int]:
        answer = Answer(account="office-x", platform="x", texts=texts, reply=reply)
        return [p.id for p in store.retractions.answer(original, [answer], why="correction",
                                                       actor=staff("editor"), now=T0,
                                                       status=S.QUEUED)]

    first, second = correct(["Correction: the briefing is at 11:00.", "Sorry."], reply=True)
    [alone] = correct(["Correction, on its own: 11:00."], reply=False)

    def claim() -> tuple[int, str | None]:
        claimed = store.queue.claim("office-x", worker="w", now=T0, lease=LEASE,
                                    start_attempt=False)
        return claimed.post.id, claimed.reply_to

    assert [claim(), claim()] == [(first, "100"), (alone, None)]
    store.outcomes.published(first, worker="w", remote_id="101", remote_url="u", now=T0)
    assert claim() == (second, "101")  # the thread's next part answers its own first part


def test_a_failed_thread_part_fails_the_parts_after_it(store):
    import_thread(store)
    first = store.queue.claim_next("office-x", worker="w", now=T0, lease=LEASE)
    changed = store.outcomes.failed(first.id, worker="w", reason="rejected", now=T0)
    assert [p.status for p in changed] == [S.FAILED] * 3
    assert "part 1/3 of this thread was not published" in changed[2].last_error


def test_every_transition_writes_an_audit_entry_in_the_same_transaction(store):
    post_id = add(store, status=S.DRAFT)
    version = store.posts.versions([post_id])[post_id]
    approve(store, [post_id], actor=staff("approver"), now=T0)
    store.posts.cancel(post_id, actor=staff("editor"), now=T0, reason="superseded")
    trail = [(e.actor, e.action, e.from_status, e.to_status, e.reason)
             for e in store.history.audit_trail(post_id)]
    assert trail == [("tester", "create", None, "draft", "added by hand"),
                     ("approver", "approve", "draft", "queued", f"approved (version {version})"),
                     ("editor", "cancel", "queued", "cancelled", "superseded")]


def test_illegal_transitions_change_nothing(store):
    post_id = add(store)
    store.posts.cancel(post_id, actor=staff("a"), now=T0)
    with pytest.raises(IllegalTransition) as refused:
        store.posts.cancel(post_id, actor=staff("a"), now=T0)
    assert str(refused.value) == (f"post {post_id} is cancelled; cancel works on draft, failed, "
                                  "needs_review, queued posts only")
    assert len(store.history.audit_trail(post_id)) == 2


PHOTO = Media(content=b"\x89PNG\r\n\x1a\n a harbour at dawn", mime_type="image/png",
              alt_text="Two patrol vessels escorting a cargo ship")


def row(post) -> tuple:
    """What a post added by hand is stored as (the image by whether there is one)."""
    return (post.account, post.platform, post.text, post.status, post.scheduled_at,
            post.thread_position, post.thread_size, post.parent_id, post.media_id is not None,
            post.pair_id, post.created_by, post.created_at, post.updated_at)


def created(store: Store, post_id: int) -> tuple:
    [entry] = store.history.audit_trail(post_id)
    return (entry.at, entry.actor, entry.action, entry.from_status, entry.to_status,
            entry.account, entry.reason)


def test_a_thread_added_by_hand_is_stored_in_order_each_part_a_reply_with_the_image_on_the_first(
        store):
    at = T0 + timedelta(hours=3)
    parts = store.posts.add_thread(account="office-fb", platform="facebook",
                                   texts=["One.", "Two.", "Three."], scheduled_at=at,
                                   actor=staff("tester"), now=T0, status=S.QUEUED, media=PHOTO)
    one, two, three = (store.history.get(p.id) for p in parts)
    assert [p.id for p in parts] == [one.id, two.id, three.id] and one.id < two.id < three.id
    assert [row(p) for p in (one, two, three)] == [
        ("office-fb", "facebook", "One.", S.QUEUED, at, 1, 3, None, True, None, "tester", T0, T0),
        ("office-fb", "facebook", "Two.", S.QUEUED, at, 2, 3, one.id, False, None, "tester", T0,
         T0),
        ("office-fb", "facebook", "Three.", S.QUEUED, at, 3, 3, two.id, False, None, "tester",
         T0, T0)]
    assert store.media.for_post(one) == PHOTO
    assert [created(store, p.id) for p in (one, two, three)] == [
        (T0, "tester", "create", None, "queued", "office-fb", "added by hand with an image"),
        (T0, "tester", "create", None, "queued", "office-fb", "added by hand"),
        (T0, "tester", "create", None, "queued", "office-fb", "added by hand")]


def test_a_post_added_by_hand_with_an_image_keeps_it_and_says_so(store):
    post = store.posts.add(account="office-x", platform="x", text="Port open.",
                           scheduled_at=T0 + timedelta(hours=1), actor=staff("tester"), now=T0,
                           status=S.DRAFT, media=PHOTO)
    stored = store.history.get(post.id)
    assert row(stored) == ("office-x", "x", "Port open.", S.DRAFT, T0 + timedelta(hours=1), 1,
                           1, None, True, None, "tester", T0, T0)
    assert store.media.for_post(stored) == PHOTO
    assert created(store, post.id) == (T0, "tester", "create", None, "draft", "office-x",
                                       "added by hand with an image")
    # The records say when the image was stored (docs/RECORDS.md): the time of the action.
    with store.records.snapshot(until=T0 + timedelta(days=1)) as records:
        assert [(m.id, m.sha256, m.alt_text, m.created_at) for m in records.media()] == [
            (stored.media_id, PHOTO.sha256, PHOTO.alt_text, T0)]


def test_threads_added_together_are_linked_part_by_part_where_they_share_a_pair_key(store):
    at = T0 + timedelta(hours=1)
    threads = [ComposedThread(account="office-x", platform="x", texts=("Port open.", "Until 6."),
                              scheduled_at=at, pair_keys=("x:0:1", "x:0:2")),
               ComposedThread(account="office-fb", platform="facebook", texts=("Roads shut.",),
                              scheduled_at=at),
               ComposedThread(account="office-fb-ar", platform="facebook",
                              texts=("الميناء مفتوح.", "حتى السادسة."), scheduled_at=at,
                              pair_keys=("x:0:1", "x:0:2"))]
    [en1, en2], [alone], [ar1, ar2] = store.posts.add_threads(
        threads, actor=staff("tester"), now=T0, status=S.QUEUED)
    stored = {p.id: store.history.get(p.id) for p in (en1, en2, alone, ar1, ar2)}
    assert [(stored[p.id].account, stored[p.id].text, stored[p.id].pair_id)
            for p in (en1, en2, alone, ar1, ar2)] == [
        ("office-x", "Port open.", ar1.id), ("office-x", "Until 6.", ar2.id),
        ("office-fb", "Roads shut.", None),
        ("office-fb-ar", "الميناء مفتوح.", en1.id), ("office-fb-ar", "حتى السادسة.", en2.id)]
    # The side stored first leads (the lower id), as an import's English side does.
    assert en1.id < ar1.id and en2.id < ar2.id
    assert [stored[p.id].parent_id for p in (en2, ar2)] == [en1.id, ar1.id]


@pytest.mark.parametrize("pair_keys", [("x:0:1",), ("x:0:1", "x:0:2", "x:0:3")],
                         ids=["fewer", "more"])
def test_a_thread_whose_pair_keys_do_not_match_its_parts_is_refused_and_nothing_is_stored(
        store, pair_keys):
    threads = [ComposedThread(account="office-x", platform="x", texts=("One.", "Two."),
                              scheduled_at=T0, pair_keys=pair_keys),
               ComposedThread(account="office-fb", platform="facebook", texts=("واحد.", "اثنان."),
                              scheduled_at=T0, pair_keys=("x:0:1", "x:0:2"))]
    with pytest.raises(ValueError):
        store.posts.add_threads(threads, actor=staff("tester"), now=T0, status=S.QUEUED)
    assert store.history.upcoming() == []


def test_a_pair_key_held_by_one_part_refuses_the_whole_compose(store):
    threads = [ComposedThread(account="office-x", platform="x", texts=("Stored?",),
                              scheduled_at=T0, media=PHOTO),
               ComposedThread(account="office-fb", platform="facebook", texts=("Alone.",),
                              scheduled_at=T0, pair_keys=("x:0:1",))]
    with pytest.raises(StoreError) as refused:
        store.posts.add_threads(threads, actor=staff("tester"), now=T0, status=S.QUEUED)
    assert str(refused.value) == ("pair 'x:0:1' has 1 post(s), not 2; add both language "
                                  "versions together")
    assert (store.history.upcoming(), store.media.count()) == ([], 0)


def test_cancelling_a_post_withdraws_its_partner_unless_the_partner_is_out(store):
    first, second = add(store, "Port open."), add(store, "الميناء مفتوح.", account="office-fb")
    link_pair(store, first, second)
    store.posts.cancel(first, actor=staff("editor"), now=T0)
    assert [(e.actor, e.action, e.from_status, e.to_status, e.reason)
            for e in store.history.audit_trail(second)][1:] == [
        ("editor", "cancel", "queued", "cancelled",
         f"its pair partner, post {first}, was cancelled")]
    assert store.history.audit_trail(first)[-1].reason == "cancelled"
    # A partner already published stays published; its post can still be withdrawn.
    out, waiting = published_at(store, T0), add(store, "Later.")
    link_pair(store, out, waiting)
    assert store.posts.cancel(waiting, actor=staff("editor"), now=T0).status == S.CANCELLED
    assert store.history.get(out).status == S.PUBLISHED


def test_approving_is_all_or_nothing(store):
    draft = add(store, status=S.DRAFT)
    queued = add(store, "other")
    with pytest.raises(NotEditable, match=f"post {queued} is queued"):
        approve(store, [draft, queued], actor=staff("a"), now=T0)
    assert store.history.get(draft).status == S.DRAFT


def test_editing_the_text_of_an_approved_post_needs_approval_again(store):
    store.review = Review(require_approval=True)
    post_id = add(store, status=S.DRAFT)
    approve(store, [post_id], actor=staff("a"), now=T0)
    store.posts.edit(post_id, actor=staff("b"), now=T0, scheduled_at=T0 + timedelta(hours=1))
    assert store.history.get(post_id).status == S.QUEUED  # a new time keeps the approval
    store.posts.edit(post_id, actor=staff("b"), now=T0, text="changed")
    post = store.history.get(post_id)
    assert (post.status, post.text, post.approved_by) == (S.DRAFT, "changed", None)


def test_once_review_is_off_a_post_approved_before_and_edited_since_is_due_like_any_other(
        store):
    store.review = Review(require_approval=True)
    post_id = add(store, status=S.DRAFT)
    approve(store, [post_id], actor=staff("a"), now=T0)
    store.review = Review()
    store.posts.edit(post_id, actor=staff("b"), now=T0, text="changed")  # keeps its approval
    assert [p.id for p in store.queue.due_posts("office-x", T0)] == [post_id]
    assert store.queue.claim_next("office-x", worker="w", now=T0, lease=LEASE).id == post_id


def test_every_row_of_a_post_s_trail_says_who_when_what_its_account_the_states_and_why(store):
    post_id = add(store)
    minute = timedelta(minutes=1)
    store.posts.edit(post_id, actor=staff("editor"), now=T0 + minute, text="hello again")
    store.queue.claim_next("office-x", worker="w", now=T0 + 2 * minute, lease=LEASE)
    store.outcomes.published(post_id, worker="w", remote_id="1", remote_url="https://x.com/1",
                             now=T0 + 3 * minute)
    assert [(e.at, e.actor, e.action, e.account, e.from_status, e.to_status, e.reason)
            for e in store.history.audit_trail(post_id)] == [
        (T0, "tester", "create", "office-x", None, "queued", "added by hand"),
        (T0 + minute, "editor", "edit", "office-x", "queued", "queued", "edited text"),
        (T0 + 2 * minute, "w", "claim", "office-x", "queued", "publishing", None),
        (T0 + 3 * minute, "w", "publish", "office-x", "publishing", "published", "published")]
    assert store.history.get(post_id).updated_at == T0 + 3 * minute


def test_a_text_is_kept_once_and_again_only_when_a_move_comes_with_a_new_one(store):
    from db.models import PostText

    post_id = add(store, status=S.DRAFT)
    approve(store, [post_id], actor=staff("approver"), now=T0)
    store.posts.edit(post_id, actor=staff("editor"), now=T0, scheduled_at=T0 + LEASE)
    store.posts.edit(post_id, actor=staff("editor"), now=T0, text="hello again")
    store.posts.cancel(post_id, actor=staff("editor"), now=T0)
    with store.db.reading() as s:
        kept = s.execute(select(PostText.text, AuditEntry.action, AuditEntry.reason)
                         .join(AuditEntry, AuditEntry.id == PostText.audit_id)
                         .where(PostText.post_id == post_id).order_by(PostText.id)).all()
    assert [tuple(row) for row in kept] == [("hello", "create", "added by hand"),
                                            ("hello again", "edit", "edited text")]


def test_published_posts_cannot_be_edited(store):
    post_id = add(store)
    store.queue.claim_next("office-x", worker="w", now=T0, lease=LEASE)
    store.outcomes.published(post_id, worker="w", remote_id="1", remote_url="u", now=T0)
    with pytest.raises(NotEditable, match="only draft, queued"):
        store.posts.edit(post_id, actor=staff("a"), now=T0, text="x")


def test_an_edit_s_audit_row_says_what_changed_and_an_edit_that_changes_nothing_writes_none(
        store):
    post_id = add(store)
    later = T0 + timedelta(hours=1)
    store.posts.edit(post_id, actor=staff("b"), now=T0, scheduled_at=later)
    store.posts.edit(post_id, actor=staff("b"), now=T0, text="new", scheduled_at=T0)
    store.posts.edit(post_id, actor=staff("b"), now=T0, text="new", scheduled_at=T0)
    assert [(e.action, e.from_status, e.to_status, e.reason)
            for e in store.history.audit_trail(post_id)][1:] == [
        ("edit", "queued", "queued", "edited time"),
        ("edit", "queued", "queued", "edited text and time")]


def test_a_post_that_is_out_says_which_posts_can_be_edited(store):
    post_id = add(store)
    store.queue.claim_next("office-x", worker="w", now=T0, lease=LEASE)
    with pytest.raises(NotEditable) as refused:
        store.posts.edit(post_id, actor=staff("a"), now=T0, text="x")
    assert str(refused.value) == (f"post {post_id} is publishing; only draft, queued, failed or "
                                  "needs_review posts can be edited")


def test_unknown_posts_say_where_to_look(store):
    with pytest.raises(PostNotFound, match="no post with id 99; 'factpost history'"):
        store.history.get(99)


def test_importing_the_same_document_twice_adds_nothing(store):
    first = import_thread(store)
    again = import_thread(store)
    assert (first.created, again.created) == (3, 0)
    assert again.already_imported_accounts == ("office-x",)
    assert again.document_id == first.document_id
    other = import_thread(store, account="office-fb")  # a new account still gets its posts
    assert other.created == 3


def test_an_expired_lease_is_taken_over_and_its_attempt_marked_abandoned(store):
    post_id = add(store)
    store.queue.claim_next("office-x", worker="dead", now=T0, lease=LEASE)
    store.outcomes.start_attempt(post_id, worker="dead", now=T0)
    assert store.queue.reclaim_expired("office-x", worker="w2", now=T0 + LEASE / 2,
                                       lease=LEASE) is None
    post = store.queue.reclaim_expired("office-x", worker="w2", now=T0 + LEASE * 2, lease=LEASE)
    assert (post.id, post.claimed_by) == (post_id, "w2")
    assert store.outcomes.last_outcome(post_id) == "abandoned"


def test_a_stopping_worker_hands_back_claims_it_never_sent(store):
    sent, unsent = add(store, "a"), add(store, "b")
    store.queue.claim_next("office-x", worker="w", now=T0, lease=LEASE)
    store.outcomes.start_attempt(sent, worker="w", now=T0)
    store.queue.claim_next("office-x", worker="w", now=T0, lease=LEASE)
    assert store.queue.release_claims("w", now=T0) == 1
    assert store.history.get(unsent).status == S.QUEUED
    assert store.history.get(sent).status == S.PUBLISHING  # outcome unknown: stays leased


def test_expired_leases_are_taken_over_per_account_oldest_post_first(store):
    from sqlalchemy import update

    from db.models import Post

    first, second = add(store, "part one"), add(store, "part two")
    other = add(store, "the page's", account="office-fb")
    for account in ("office-x", "office-x", "office-fb"):
        store.queue.claim_next(account, worker="dead", now=T0, lease=LEASE)
    with store.session() as s:  # the older row rewritten last (on PostgreSQL: last on disk)
        s.execute(update(Post).where(Post.id == first).values(updated_at=T0))
    later = T0 + LEASE * 2
    taken = [store.queue.reclaim_expired("office-x", worker="w2", now=later, lease=LEASE)
             for _ in range(3)]
    assert [p and p.id for p in taken] == [first, second, None]
    assert store.history.get(first).lease_until == later + LEASE  # a lease of its own
    assert store.history.get(other).claimed_by == "dead"  # another account's: not taken


def test_a_publish_recorded_for_a_post_no_longer_publishing_is_refused_and_writes_nothing(
        store):
    # The tick records a publish by a conditional UPDATE (`publishing`): if the post left
    # `publishing` meanwhile (here failed by another worker), nothing of the publish is kept.
    post_id = add(store)
    post = store.queue.claim_next("office-x", worker="w", now=T0, lease=LEASE)
    attempt = store.outcomes.start_attempt(post_id, worker="w", now=T0)
    store.outcomes.failed(post_id, worker="other", reason="gave up", now=T0)
    step = store.outcomes.publishing(post, worker="w", remote_id="1", remote_url="u", now=T0,
                                     attempt=AttemptResult(attempt, "published"))
    with pytest.raises(IllegalTransition) as refused:
        store.outcomes.commit(step)
    assert str(refused.value) == (f"post {post_id} is failed; publish works on publishing "
                                  "posts only")
    assert [e.action for e in store.history.audit_trail(post_id)] == ["create", "claim", "fail"]
    assert store.queue.budget_reopens_at("office-x", since=T0, posts=1) is None


def test_a_stopping_worker_hands_back_exactly_its_claims_with_nothing_in_flight(store):
    in_flight, unsent, tried_before, elsewhere = (add(store, t) for t in "abcd")
    claim = store.queue.claim_next
    assert claim("office-x", worker="w", now=T0, lease=LEASE).id == in_flight
    store.outcomes.start_attempt(in_flight, worker="w", now=T0)
    assert claim("office-x", worker="w", now=T0, lease=LEASE).id == unsent
    # Tried once already (a closed, retryable attempt), then claimed again: nothing is out.
    assert claim("office-x", worker="w", now=T0, lease=LEASE).id == tried_before
    attempt = store.outcomes.start_attempt(tried_before, worker="w", now=T0)
    store.outcomes.requeue(tried_before, worker="w", at=T0, reason="retry", now=T0,
                           attempt=AttemptResult(attempt, "retryable"))
    assert claim("office-x", worker="w", now=T0, lease=LEASE).id == tried_before
    assert claim("office-x", worker="other", now=T0, lease=LEASE).id == elsewhere
    assert store.queue.release_claims("w", now=T0) == 2
    posts = {i: store.history.get(i) for i in (in_flight, unsent, tried_before, elsewhere)}
    assert {i: (p.status, p.claimed_by) for i, p in posts.items()} == {
        in_flight: (S.PUBLISHING, "w"), unsent: (S.QUEUED, None),
        tried_before: (S.QUEUED, None), elsewhere: (S.PUBLISHING, "other")}
    assert posts[unsent].lease_until is None
    last = store.history.audit_trail(unsent)[-1]
    assert (last.action, last.actor, last.from_status, last.to_status, last.reason) == (
        "release", "w", "publishing", "queued", "daemon stopping")


def test_an_overdue_post_scheduled_exactly_at_the_cut_keeps_its_spacing():
    cut, late = T0, timedelta(minutes=40)
    due = Due("office-x", now=T0 + late, overdue_until=cut, lateness=late)
    assert due.at(cut - timedelta(minutes=10)) == cut - timedelta(minutes=10) + late
    assert due.at(cut) == cut + late  # already overdue at the cut: spaced too
    assert due.at(cut + timedelta(seconds=1)) == cut + timedelta(seconds=1)  # its own time


def test_the_next_wake_up_is_not_held_back_by_posts_outside_the_pair(store):
    # A pair whose partner is ready, beside an unrelated draft: only the partner counts.
    later = T0 + timedelta(hours=1)
    en, ar = add(store, "Port open.", at=later), add(store, "الميناء مفتوح.", at=later,
                                                     account="office-fb")
    add(store, "An unrelated draft.", status=S.DRAFT)
    link_pair(store, en, ar)
    assert store.queue.next_due_at("office-x", now=T0) == later
    store.accounts.pause("office-fb", actor=staff("tester"), reason="page review", now=T0)
    assert store.queue.next_due_at("office-x", now=T0) is None  # the partner cannot go
    assert store.history.get(en).status == S.QUEUED


def test_a_partner_that_will_not_go_holds_the_pair_s_wake_up(store):
    later = T0 + timedelta(hours=1)
    en, ar = add(store, "Port open.", at=later), add(store, "الميناء مفتوح.", at=later,
                                                     account="office-fb", status=S.DRAFT)
    link_pair(store, en, ar)  # the partner is a draft: neither goes yet
    assert store.queue.next_due_at("office-x", now=T0) is None


def test_the_next_wake_up_skips_excluded_posts_and_counts_an_expiring_lease(store):
    soon, later = T0 + timedelta(minutes=5), T0 + timedelta(hours=1)
    first, second = add(store, "first", at=soon), add(store, "second", at=later)
    add(store, "the page's", account="office-fb")  # its lease runs out first: not ours
    store.queue.claim_next("office-fb", worker="w", now=T0, lease=LEASE)
    assert store.queue.next_due_at("office-x", now=T0) == soon
    assert store.queue.next_due_at("office-x", now=T0, exclude=[first]) == later
    claimed = store.queue.claim_next("office-x", worker="w", now=soon, lease=LEASE)
    assert claimed.id == first
    # A claim runs out before the next queued post: wake up then to take it over.
    assert store.queue.next_due_at("office-x", now=soon) == soon + LEASE
    assert store.queue.next_due_at("office-x", now=soon, exclude=[second]) == soon + LEASE
    store.outcomes.published(first, worker="w", remote_id="1", remote_url="u", now=soon)
    assert store.queue.next_due_at("office-x", now=soon) == later


def published_at(store: Store, when, account="office-x") -> int:
    post_id = add(store, f"out at {when:%H:%M}", at=when, account=account)
    assert store.queue.claim_next(account, worker="w", now=when, lease=LEASE).id == post_id
    store.outcomes.published(post_id, worker="w", remote_id=str(post_id), remote_url="u",
                             now=when)
    return post_id


def test_a_posting_budget_reopens_when_the_oldest_counted_post_leaves_the_window(store):
    minute = timedelta(minutes=1)
    published_at(store, T0 - minute)  # before the window
    for n in (1, 2, 3):
        published_at(store, T0 + n * minute)
    published_at(store, T0 + 4 * minute, account="office-fb")
    add(store, "still queued", at=T0 + 5 * minute)
    reopens = store.queue.budget_reopens_at
    assert reopens("office-x", since=T0, posts=2) == T0 + 2 * minute  # 2nd most recent
    assert reopens("office-x", since=T0, posts=3) == T0 + minute
    assert reopens("office-x", since=T0, posts=4) is None  # three in the window
    assert reopens(["office-x", "office-fb"], since=T0, posts=2) == T0 + 3 * minute
    assert reopens("office-x", since=T0 + 2.5 * minute, posts=2) is None
    assert reopens("office-x", since=T0 + minute, posts=3) == T0 + minute  # the edge counts


def test_a_used_up_budget_holds_the_account_until_its_counted_post_leaves_the_window_saying_why(
        store):
    out = T0 - timedelta(minutes=10)
    published_at(store, out)
    waiting = add(store, "waits for the budget")
    budget = Budget(("office-x",), 1, timedelta(hours=1), "posting budget of 1 per hour used up")

    def claim(now):
        return store.queue.claim("office-x", worker="w", now=now, lease=LEASE, budgets=[budget],
                                 start_attempt=False)

    assert claim(T0) is None
    state = store.accounts.state("office-x")
    assert (state.held_until, state.held_reason) == (out + budget.window, budget.reason)
    assert store.history.get(waiting).status == S.QUEUED
    assert claim(out + budget.window + timedelta(seconds=1)).post.id == waiting


def test_a_claim_starts_the_attempt_its_request_goes_out_under_and_prepays_it_unless_unsure(
        store):
    unsure, retried, fresh = (add(store, text) for text in (
        "tried, its outcome unknown", "tried, refused for now", "never tried"))
    tried = {}
    for post_id, outcome in ((unsure, "ambiguous"), (retried, "retryable")):
        assert store.queue.claim_next("office-x", worker="w", now=T0, lease=LEASE).id == post_id
        tried[post_id] = store.outcomes.start_attempt(post_id, worker="w", now=T0)
        store.outcomes.requeue(post_id, worker="w", at=T0 + LEASE / 4, reason="again", now=T0,
                               attempt=AttemptResult(tried[post_id], outcome))
    paid = []

    def prepay(s, post):
        paid.append(post.id)
        return f"charge for post {post.id}"

    later = T0 + timedelta(minutes=1)
    claims = [store.queue.claim("office-x", worker="w", now=later, lease=LEASE, prepay=prepay)
              for _ in range(3)]
    # The unsure one: no attempt yet (the caller reads the timeline first), nothing paid.
    assert [(c.post.id, c.prepaid) for c in claims] == [
        (fresh, f"charge for post {fresh}"), (unsure, None),
        (retried, f"charge for post {retried}")]
    assert (claims[1].attempt, paid) == (None, [fresh, retried])
    with store.reading() as s:
        attempts = [(a.id, a.post_id, a.started_at, a.outcome)
                    for a in s.scalars(select(Attempt).order_by(Attempt.id))]
    assert attempts == [(tried[unsure], unsure, T0, "ambiguous"),
                        (tried[retried], retried, T0, "retryable"),
                        (claims[0].attempt, fresh, later, None),
                        (claims[2].attempt, retried, later, None)]
    assert [store.history.get(i).attempt_count for i in (unsure, retried, fresh)] == [1, 2, 1]


def test_only_an_account_s_publish_more_than_a_minute_late_spaces_its_overdue_posts(store):
    minute = timedelta(minutes=1)
    later = T0 + timedelta(hours=1)
    assert store.queue.due("office-x", later) == Due("office-x", later)  # nothing out yet
    on_time = add(store, "out a minute late", at=T0)
    assert store.queue.claim_next("office-x", worker="w", now=T0 + minute,
                                  lease=LEASE).id == on_time
    store.outcomes.published(on_time, worker="w", remote_id="1", remote_url="u",
                             now=T0 + minute)
    assert store.queue.due("office-x", later) == Due("office-x", later)  # within the grace
    late = add(store, "late", at=T0 + 2 * minute)
    waiting = add(store, "overdue with it", at=T0 + 2 * minute)
    out = T0 + 3 * minute + timedelta(seconds=1)  # 61 s late
    assert store.queue.claim_next("office-x", worker="w", now=out, lease=LEASE).id == late
    store.outcomes.published(late, worker="w", remote_id="2", remote_url="u", now=out)
    assert store.queue.due("office-x", later) == Due(
        "office-x", later, overdue_until=out - minute, lateness=minute + timedelta(seconds=1))
    assert store.queue.due("office-fb", later) == Due("office-fb", later)  # its own publishes
    # The post overdue with it waits as long after it as it was planned after it.
    assert store.queue.next_due_at("office-x", now=out) == out
    assert store.history.get(waiting).status == S.QUEUED


def test_a_dry_run_lists_the_due_posts_review_clears_soonest_first_and_claims_none(store):
    store.review = Review(require_approval=True)

    def approved(text: str, at=T0, editor: str | None = None, media: Media | None = None
                 ) -> int:
        post_id = store.posts.add(account="office-x", platform="x", text=text, scheduled_at=at,
                                  actor=staff("tester"), now=T0, status=S.DRAFT, media=media).id
        if editor:
            store.posts.edit(post_id, actor=staff(editor), now=T0, text=f"{text}, edited")
        approve(store, [post_id], actor=Actor(editor or "reviewer", "approver"), now=T0)
        return post_id

    # The first with an image: its approval covers the image too, read through the session.
    second = approved("second")
    first = approved("first", at=T0 - timedelta(minutes=5), media=PHOTO)
    approved("not yet due", at=T0 + timedelta(hours=1))
    own_edit = approved("approved by its editor", editor="ed")
    changed = approved("changed after its approval")
    with store.session() as s:  # by a path that left the approval on it
        s.execute(update(Post).where(Post.id == changed).values(text="Something else."))
    store.review = Review(require_approval=True, two_person_rule=True)
    assert [p.id for p in store.queue.due_posts("office-x", T0)] == [first, second]
    assert {store.history.get(i).status for i in (first, second, own_edit, changed)} == {
        S.QUEUED}


def test_the_daemon_counts_the_queued_and_publishing_posts_of_its_accounts(store):
    published_at(store, T0 - timedelta(minutes=1))
    claimed, queued = add(store, "claimed"), add(store, "queued", at=T0 + timedelta(hours=1))
    assert store.queue.claim_next("office-x", worker="w", now=T0, lease=LEASE).id == claimed
    add(store, "a draft", status=S.DRAFT)
    add(store, "the page's", account="office-fb")
    pending = store.queue.pending_count
    assert (pending(), pending(["office-x"]), pending(["office-fb", "office-x"]), pending([])) == (
        3, 2, 3, 0)
    assert store.history.get(queued).status == S.QUEUED


def test_a_taken_over_lease_closes_only_its_own_unfinished_attempt_and_says_so(store):
    dead, alive = add(store, "held by a dead daemon"), add(store, "held by a live one")
    assert store.queue.claim_next("office-x", worker="dead", now=T0, lease=LEASE).id == dead
    tried = store.outcomes.start_attempt(dead, worker="dead", now=T0)  # tried once before
    store.outcomes.requeue(dead, worker="dead", at=T0, reason="retry", now=T0,
                           attempt=AttemptResult(tried, "retryable"))
    assert store.queue.claim_next("office-x", worker="dead", now=T0, lease=LEASE).id == dead
    store.outcomes.start_attempt(dead, worker="dead", now=T0)
    assert store.queue.claim_next("office-x", worker="live", now=T0 + LEASE,
                                  lease=LEASE).id == alive
    store.outcomes.start_attempt(alive, worker="live", now=T0 + LEASE)
    later = T0 + LEASE * 3 / 2
    post = store.queue.reclaim_expired("office-x", worker="w2", now=later, lease=LEASE)
    assert (post.id, post.status, post.claimed_by, post.lease_until, post.updated_at) == (
        dead, S.PUBLISHING, "w2", later + LEASE, later)
    with store.reading() as s:
        attempts = [(a.post_id, a.worker, a.outcome, a.finished_at, a.explanation)
                    for a in s.scalars(select(Attempt).order_by(Attempt.id))]
    assert attempts == [
        (dead, "dead", "retryable", T0, None),
        (dead, "dead", "abandoned", later, "the daemon stopped while this request was in flight"),
        (alive, "live", None, None, None)]
    last = store.history.audit_trail(dead)[-1]
    assert (last.at, last.actor, last.action, last.from_status, last.to_status, last.reason) == (
        later, "w2", "reclaim", "publishing", "publishing",
        "lease expired; previous holder presumed dead")
    assert store.queue.reclaim_expired("office-x", worker="w2", now=later, lease=LEASE) is None


def test_a_claim_sends_back_a_post_changed_since_its_approval_and_takes_the_others(store):
    store.review = Review(require_approval=True, two_person_rule=True)
    changed, partner, cleared = (add(store, text, account=account, status=S.DRAFT)
                                 for text, account in (("Changed.", "office-x"),
                                                       ("Its partner.", "office-fb"),
                                                       ("Cleared.", "office-x")))
    link_pair(store, changed, partner)  # what an approval covers includes the partner
    approve(store, [changed, cleared], actor=Actor("reviewer", "approver"), now=T0)
    with store.session() as s:  # by a path that left the approval on it
        s.execute(update(Post).where(Post.id == changed).values(text="Nobody cleared this."))
    later = T0 + timedelta(hours=1)
    # SQLite's claim goes on to the next candidate; PostgreSQL's reads one, so the next claim.
    claimed = [store.queue.claim_next("office-x", worker="w", now=later, lease=LEASE)
               for _ in range(2)]
    assert [p.id for p in claimed if p is not None] == [cleared]
    post = store.history.get(changed)
    assert (post.status, post.approved_by, post.approved_at, post.approved_content) == (
        S.DRAFT, None, None, None)
    last = store.history.audit_trail(changed)[-1]
    assert (last.at, last.actor, last.action, last.from_status, last.to_status, last.reason) == (
        later, "w", "await_review", "queued", "draft",
        "its text, image or pair partner changed after it was approved; it needs approval "
        "again")


def test_an_account_held_until_a_moment_publishes_again_at_that_moment(store):
    post_id = add(store)
    store.accounts.hold("office-x", until=T0 + LEASE, reason="posting budget used up")
    assert store.queue.claim_next("office-x", worker="w", now=T0, lease=LEASE) is None
    assert store.queue.claim_next("office-x", worker="w", now=T0 + LEASE, lease=LEASE).id == (
        post_id)


def test_a_publish_counts_in_its_utc_hour_whatever_the_machine_s_timezone(store, monkeypatch):
    # Budgets read hourly counts from the window's UTC hour on: a publish at 06:15 UTC counted
    # in the machine's hour (11:00 in India, 05:30 UTC) would fall out of a window from 06:00.
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        published_at(store, T0 + timedelta(minutes=15))
        assert store.queue.budget_reopens_at("office-x", since=T0, posts=1) == (
            T0 + timedelta(minutes=15))
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_publish_counts_in_the_hour_it_went_out_not_the_hour_it_was_claimed(store):
    minute = timedelta(minutes=1)
    post_id = add(store, at=T0 - minute)
    store.queue.claim_next("office-x", worker="w", now=T0 - minute, lease=LEASE)
    store.outcomes.published(post_id, worker="w", remote_id="1", remote_url="u",
                             now=T0 + minute)
    assert store.queue.budget_reopens_at("office-x", since=T0, posts=1) == T0 + minute


def test_the_daemon_s_statements_are_compiled_once_not_again_for_each_post(store, monkeypatch):
    # db/prepared.py: compiling the claim's and the outcome's statements for every post was
    # the per-post cost the prepared statements removed. Each is compiled the first time it
    # is asked for (the publish of the first post is settled by the second claim); the third
    # post, claimed and published like the second, compiles nothing.
    compiled = []
    compile_once = prepared._compile
    monkeypatch.setattr(prepared, "_compile",
                        lambda *args: compiled.append(args[0]) or compile_once(*args))
    ids = [add(store, text) for text in ("first", "second", "third")]
    settle, after_second = None, []
    for n, post_id in enumerate(ids):
        now = T0 + timedelta(minutes=n)
        claim = store.queue.claim("office-x", worker="w", now=now, lease=LEASE, settle=settle)
        assert claim.post.id == post_id
        settle = store.outcomes.publishing(claim.post, worker="w", remote_id=str(post_id),
                                           remote_url="u", now=now,
                                           attempt=AttemptResult(claim.attempt, "published"))
        if n == 1:
            after_second = list(compiled)
    store.outcomes.commit(settle)
    assert [store.history.get(i).status for i in ids] == [S.PUBLISHED] * 3
    assert compiled == after_second


def test_history_filters_and_searches_newest_first(store):
    for i in range(5):
        add(store, f"Update {i} on Art. 51 100%", at=T0 + timedelta(hours=i))
    add(store, "other news", account="office-fb")
    assert [p.text for p in store.history.search(HistoryFilter(search="art. 51", limit=2))] == [
        "Update 4 on Art. 51 100%", "Update 3 on Art. 51 100%"]
    assert len(store.history.search(HistoryFilter(account="office-fb"))) == 1
    assert len(store.history.search(HistoryFilter(search="100%"))) == 5
    assert len(store.history.search(HistoryFilter(since=T0 + timedelta(hours=3)))) == 2


def test_pausing_an_account_is_audited(store):
    store.accounts.pause("office-x", actor=staff("ops"), reason="crisis", now=T0)
    assert store.accounts.state("office-x").paused
    assert store.accounts.resume("office-x", actor=staff("ops"), now=T0)
    with store.session() as s:
        # In the trail's order: without ORDER BY, PostgreSQL returns rows in whatever order
        # its heap holds them, which an update (the chain's places) may change.
        actions = [e.action for e in s.scalars(select(AuditEntry).where(
            AuditEntry.account == "office-x", AuditEntry.post_id.is_(None))
            .order_by(AuditEntry.seq))]
    assert actions == ["pause", "resume"]


def test_under_the_two_person_rule_nobody_approves_what_they_wrote_or_edited(store):
    from db.errors import SelfApproval

    store.review = Review(require_approval=True, two_person_rule=True)
    written = add(store, status=S.DRAFT)  # created by "tester"
    with pytest.raises(SelfApproval) as refused:
        approve(store, [written], actor=staff("tester"), now=T0)
    assert str(refused.value) == (f"post {written} was written or edited by tester; under the "
                                  "two-person rule another approver must approve it")
    edited = add(store, status=S.DRAFT)
    store.posts.edit(edited, actor=staff("editor"), now=T0, text="changed")
    with pytest.raises(SelfApproval):
        approve(store, [edited], actor=staff("editor"), now=T0)
    # Only the posts they changed: an edit to one post does not bar its editor from another.
    assert approve(store, [add(store, status=S.DRAFT)], actor=staff("editor"), now=T0)
    retimed = add(store, status=S.DRAFT)
    store.posts.edit(retimed, actor=staff("scheduler"), now=T0, scheduled_at=T0 + LEASE)
    assert approve(store, [retimed], actor=staff("scheduler"), now=T0)
    store.review = Review()
    # The rule is off by default.
    assert approve(store, [written], actor=staff("tester"), now=T0)


def test_history_pages_by_key_newest_first_without_gaps_or_repeats(store):
    for i in range(23):
        add(store, f"post {i}", at=T0 + timedelta(minutes=i % 4))
    pages, after = [], None
    while True:
        page = store.history.search(HistoryFilter(limit=5, after=after))
        if not page:
            break
        pages.append([p.id for p in page])
        after = history_key(page[-1])
    assert [i for page in pages for i in page] == [p.id for p in store.history.search()]
    assert len(pages) == 5


def history_plan(store: Store, f: HistoryFilter) -> tuple[list, list[str]]:
    """Run `store.history.search(f)` on SQLite; returns its posts and the steps of SQLite's
    query plan for the statement that selected them."""
    from sqlalchemy import event

    statements = []

    def capture(conn, cursor, statement, params, context, executemany):
        if statement.lstrip().startswith("SELECT posts"):
            statements.append((statement, params))

    event.listen(store.engine, "before_cursor_execute", capture)
    try:
        posts = store.history.search(f)
    finally:
        event.remove(store.engine, "before_cursor_execute", capture)
    statement, params = statements[0]
    with store.engine.connect() as c:
        plan = [row[3] for row in c.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)]
    return posts, plan


def test_a_history_page_reads_an_index_in_order_instead_of_sorting_the_table(store):
    """What keeps a page fast at a million rows: no sort of the whole (filtered) table."""
    if store.engine.dialect.name != "sqlite":
        pytest.skip("reads SQLite's query plan")
    for f in (HistoryFilter(limit=50), HistoryFilter(limit=50, after=(T0, 10)),
              HistoryFilter(limit=50, account="office-x", status="published",
                            after=(T0, 10))):
        plan = " ".join(history_plan(store, f)[1])
        assert "history" in plan and "TEMP B-TREE" not in plan, plan


# -- full-text search ------------------------------------------------------------------------

def found(store: Store, text: str, **filters) -> list[str]:
    return [p.text for p in store.history.search(HistoryFilter(search=text, **filters))]


def test_a_search_finds_posts_holding_every_word_in_any_order(store):
    add(store, "The convoy reached the port of Basra.", at=T0)
    add(store, "A convoy left Basra.", at=T0 + timedelta(hours=1))
    add(store, "Basra port reopened; convoys expected.", at=T0 + timedelta(hours=2))
    assert found(store, "port convoy") == ["The convoy reached the port of Basra."]
    assert found(store, "basra") == ["Basra port reopened; convoys expected.",
                                     "A convoy left Basra.",
                                     "The convoy reached the port of Basra."]
    assert found(store, "convo") == []  # whole words, not fragments
    assert found(store, "convoy Mosul") == []


def test_a_quoted_phrase_must_appear_as_written(store):
    add(store, "The port of Basra reopened.")
    add(store, "Basra: the port reopened.")
    assert found(store, '"port of Basra"') == ["The port of Basra reopened."]
    assert len(found(store, "port of Basra")) == 1  # "of" is a word too
    assert len(found(store, "port Basra")) == 2
    assert len(found(store, '"basra port"')) == 0


def test_arabic_words_are_found_with_or_without_short_vowels(store):
    add(store, "وصلت القافلة إلى ميناء البصرة، وفقاً للخطة.", at=T0)
    add(store, "زار مُحَمَّد المستشفى الجديد", at=T0 + timedelta(hours=1))
    add(store, "افتتاح المدرسة في الموصل", at=T0 + timedelta(hours=2))
    assert found(store, "البصرة القافلة") == ["وصلت القافلة إلى ميناء البصرة، وفقاً للخطة."]
    assert found(store, "وفقا") == found(store, "وفقاً") == [
        "وصلت القافلة إلى ميناء البصرة، وفقاً للخطة."]
    assert found(store, "محمد") == found(store, "مُحَمَّد") == found(store, "مـحـمد") == [
        "زار مُحَمَّد المستشفى الجديد"]
    assert found(store, "البصرة الموصل") == []


def test_case_and_latin_diacritics_are_ignored(store):
    add(store, "Réunion au Café Zürich", at=T0)
    add(store, "NAIVE question", at=T0 + timedelta(hours=1))
    assert found(store, "reunion cafe ZURICH") == ["Réunion au Café Zürich"]
    assert found(store, "RÉUNION") == ["Réunion au Café Zürich"]
    assert found(store, "naïve") == ["NAIVE question"]


def test_full_width_forms_are_found_by_their_ascii_and_the_other_way_round(store):
    # NFKC's folding of full-width ASCII, on both databases; the post text itself is kept.
    wide = "Convoy ＡＢＣ carried １２３ tonnes; to ｐｒｅｓｓ＠ｍｅｒｉｄｉａｎ．ｍｉｌ ＃JTF"
    add(store, wide, at=T0)
    add(store, "Convoy XYZ carried 456 tonnes", at=T0 + timedelta(hours=1))
    for typed in ("123", "abc", "ＡＢＣ １２３", '"abc carried 123"', "press meridian", "jtf"):
        assert found(store, typed) == [wide], typed
    assert found(store, "４５６") == ["Convoy XYZ carried 456 tonnes"]


def test_punctuation_joins_nothing_and_splits_words_on_every_database(store):
    add(store, "See gov.iq/news about Art.51 on 2026-11-01 (e-mail: press@gov.iq)")
    for words in ("news", "gov iq", "art 51", "Art. 51", "51", "2026", "11-01", "press",
                  "mail", "press@gov.iq"):
        assert len(found(store, words)) == 1, words


PLAIN, OPERATORS = "Convoy reached the port.", "Escort AND convoy NEAR the port: text follows"


@pytest.mark.parametrize(("typed", "expected"), [
    ('"convoy', {PLAIN, OPERATORS}), ('convoy"', {PLAIN, OPERATORS}),
    ("convoy*", {PLAIN, OPERATORS}), ("-convoy", {PLAIN, OPERATORS}),
    ("^convoy", {PLAIN, OPERATORS}), ("(convoy)", {PLAIN, OPERATORS}),
    ("convoy + ( ) { } : ' \\ % _ ; *", {PLAIN, OPERATORS}),
    ("convoy AND", {OPERATORS}), ("NEAR(convoy", {OPERATORS}), ("text:convoy", {OPERATORS}),
    ('"convoy NEAR"', {OPERATORS}), ("convoy OR reached", set()), ("convo*", set()),
    ("convoy'); DROP TABLE posts;--", set()),
])
def test_query_syntax_typed_by_a_user_is_read_as_words(store, typed, expected):
    add(store, PLAIN)
    add(store, OPERATORS)
    add(store, "Clinic opened.")
    assert set(found(store, typed)) == expected
    assert len(store.history.search()) == 3


@pytest.mark.parametrize("typed", ["_", "%", '"', "*", "-", "'); --", "   ", "«»،"])
def test_a_search_without_letters_or_digits_says_so(store, typed):
    add(store, "Convoy reached the port.")
    with pytest.raises(EmptySearch, match="has no letters or digits to look for"):
        store.history.search(HistoryFilter(search=typed))


def test_edited_text_is_searchable_at_once_and_the_old_text_no_longer(store):
    post = add(store, "Clinic opens on Monday", status=S.DRAFT)
    store.posts.edit(post, actor=staff("editor"), now=T0, text="Clinic opens on Tuesday")
    assert found(store, "tuesday") == ["Clinic opens on Tuesday"]
    assert found(store, "monday") == []
    # A change of state keeps the text found.
    approve(store, [post], actor=staff("reviewer"), now=T0)
    assert found(store, "tuesday") == ["Clinic opens on Tuesday"]


def test_cancelled_and_published_posts_are_still_found(store):
    cancelled = add(store, "Bridge closed for repairs", at=T0)
    store.posts.cancel(cancelled, actor=staff("tester"), now=T0)
    published = add(store, "Bridge reopened", at=T0 + timedelta(hours=1))
    store.queue.claim_next("office-x", worker="w", now=T0 + timedelta(hours=1), lease=LEASE)
    store.outcomes.published(published, worker="w", remote_id="1", remote_url="u",
                             now=T0 + timedelta(hours=1))
    assert {(p.text, p.status) for p in store.history.search(HistoryFilter(search="bridge"))} == {
        ("Bridge closed for repairs", S.CANCELLED), ("Bridge reopened", S.PUBLISHED)}
    assert found(store, "bridge", status="published") == ["Bridge reopened"]


def test_a_search_pages_by_key_with_the_other_filters(store):
    for i in range(23):
        add(store, f"convoy update {i}" if i % 3 else f"other news {i}",
            at=T0 + timedelta(minutes=i % 4), account="office-x" if i % 2 else "office-fb")
    f = HistoryFilter(search="convoy update", account="office-x")
    pages, after = [], None
    while page := store.history.search(HistoryFilter(**{**f.__dict__, "limit": 3, "after": after})):
        pages.append([p.id for p in page])
        after = history_key(page[-1])
    everything = store.history.search(f)
    assert [i for page in pages for i in page] == [p.id for p in everything]
    assert len(everything) == len([i for i in range(23) if i % 3 and i % 2]) == 7
    assert all("convoy" in p.text and p.account == "office-x" for p in everything)


def test_a_search_reads_the_full_text_index_not_every_post(store):
    """What keeps a search fast at a million rows: FTS5 finds the matching rows."""
    if store.engine.dialect.name != "sqlite":
        pytest.skip("reads SQLite's query plan")
    _, plan = history_plan(store, HistoryFilter(search="convoy port", limit=50))
    assert any("posts_fts VIRTUAL TABLE INDEX" in step for step in plan), plan
    assert not any(step.split()[:2] == ["SCAN", "posts"] for step in plan), plan


def test_a_search_most_posts_match_reads_history_in_order_and_checks_each_post(store):
    """A word in most posts: sorting every match would cost seconds at a million rows, while
    reading history newest first fills a page within the first posts it checks."""
    if store.engine.dialect.name != "sqlite":
        pytest.skip("reads SQLite's query plan")
    with store.engine.begin() as c:
        c.exec_driver_sql(
            "INSERT INTO posts (account, platform, text, status, scheduled_at, created_by, "
            "created_at, updated_at, thread_position, thread_size, attempt_count) VALUES "
            "('office-x', 'x', ?, 'queued', ?, 'tester', ?, ?, 1, 1, 0)",
            [(f"convoy update {i}" if i % 10 else f"other {i}", f"2026-12-01 {i // 3600:02}:"
              f"{i // 60 % 60:02}:{i % 60:02}", "2026-12-01", "2026-12-01")
             for i in range(7000)])
    page, steps = history_plan(store, HistoryFilter(search="Convoy", limit=50))
    assert [p.text for p in page] == [f"convoy update {i}" for i in range(6999, 6900, -1)
                                      if i % 10][:50]
    plan = " ".join(steps)
    assert "ix_posts_history" in plan and "TEMP B-TREE" not in plan, plan
