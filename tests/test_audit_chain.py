"""The audit trail's hash chain (db/audit.py): every writer's rows are chained, on SQLite and
PostgreSQL, under concurrent writers too; an edited, deleted or smuggled-in row is named."""

from __future__ import annotations

import threading
from datetime import timedelta
from itertools import pairwise

import pytest
from conftest import ADMIN, APPROVER, AUTHOR, T0, approve
from sqlalchemy import select, text

from db import audit, migrate
from db.audit import GENESIS, AuditRow, row_digest
from db.errors import ChainBroken
from db.models import AuditEntry, PostText
from posts.states import PostStatus, Review


def some_history(store) -> int:
    """A post written, edited, approved; an account paused and resumed; rows in bulk."""
    store.review = Review(require_approval=True)
    post = store.posts.add(account="office-x", platform="x", text="Port open at six.",
                           scheduled_at=T0 + timedelta(hours=1), actor=AUTHOR, now=T0,
                           status=PostStatus.DRAFT)
    store.posts.edit(post.id, actor=AUTHOR, now=T0 + timedelta(seconds=1),
                     text="Port open at seven.")
    approve(store, [post.id], actor=APPROVER, now=T0 + timedelta(seconds=2))
    store.accounts.pause("office-x", reason="storm", actor=ADMIN, now=T0)
    store.accounts.resume("office-x", actor=ADMIN, now=T0)
    with store.session() as s:
        audit.write_many(s, [AuditRow(at=T0, actor="importer", action="bulk", reason=f"row {i}")
                             for i in range(4)]
                         + [{"at": T0, "actor": "importer", "action": "bulk", "reason": "row 4"}])
    return post.id


def rows(store) -> list[AuditEntry]:
    with store.reading() as s:
        return list(s.scalars(select(AuditEntry).order_by(AuditEntry.seq)))


def test_every_writer_s_rows_are_chained_in_order_and_verify(store):
    some_history(store)
    trail = rows(store)
    assert [r.seq for r in trail] == list(range(1, len(trail) + 1))
    assert len(trail) == 10
    assert trail[0].prev_hash == GENESIS
    for before, row in pairwise(trail):
        assert row.prev_hash == before.row_hash
    for row in trail:
        assert row.row_hash == row_digest({k: getattr(row, k) for k in audit.HASHED})
    # Rows written in bulk keep the order they were given in.
    assert [r.reason for r in trail[-5:]] == [f"row {i}" for i in range(5)]
    checked = store.records.verify()
    assert (checked.rows, checked.head.seq, checked.head.row_hash) == (10, 10, trail[-1].row_hash)


def test_every_text_a_post_had_is_kept_with_who_wrote_it(store):
    post_id = some_history(store)
    with store.reading() as s:
        kept = s.scalars(select(PostText).where(PostText.post_id == post_id)
                         .order_by(PostText.id)).all()
        assert [(t.text, t.actor, s.get(AuditEntry, t.audit_id).action) for t in kept] == [
            ("Port open at six.", AUTHOR.name, "create"),
            ("Port open at seven.", AUTHOR.name, "edit")]


@pytest.mark.parametrize("column", ["reason", "actor", "at", "post_id"])
def test_a_changed_row_is_named(store, column):
    some_history(store)
    target = rows(store)[1]  # the edit
    value = {"reason": "'nothing happened'", "actor": "'someone else'",
             "at": "at", "post_id": "NULL"}[column]
    if column == "at":
        value = "'2026-12-01 05:00:00'" if store.engine.dialect.name == "sqlite" else \
            "at - interval '1 hour'"
    with store.engine.begin() as c:
        c.execute(text(f"UPDATE audit_log SET {column} = {value} WHERE id = {target.id}"))
    with pytest.raises(ChainBroken, match=rf"^audit row {target.id} \(.*place 2\): its content "
                                          "does not match its hash"):
        store.records.verify()


def test_a_changed_row_with_its_hash_rewritten_is_caught_at_the_next_row(store):
    some_history(store)
    trail = rows(store)
    forged = {k: getattr(trail[3], k) for k in audit.HASHED} | {"reason": "forged"}
    with store.engine.begin() as c:
        c.execute(text("UPDATE audit_log SET reason = 'forged', row_hash = :h WHERE id = :i"),
                  {"h": row_digest(forged), "i": trail[3].id})
    with pytest.raises(ChainBroken, match=rf"^audit row {trail[4].id} .*place 5\): it records "
                                          "the previous row's hash as"):
        store.records.verify()


def test_a_deleted_row_is_named_by_its_place_and_neighbours(store):
    some_history(store)
    trail = rows(store)
    with store.engine.begin() as c:
        c.execute(text("DELETE FROM post_texts WHERE audit_id = :i"), {"i": trail[4].id})
        c.execute(text("DELETE FROM audit_log WHERE id = :i"), {"i": trail[4].id})
    with pytest.raises(ChainBroken, match=rf"^audit row {trail[5].id} .*: place 5 missing "
                                          rf"between row {trail[3].id} \(place 4\) and it; a row "
                                          rf"was deleted \(the deleted row's hash was "
                                          rf"{trail[4].row_hash}\)"):
        store.records.verify()


def test_deleting_the_newest_rows_is_caught_by_the_head(store):
    some_history(store)
    trail = rows(store)
    with store.engine.begin() as c:
        c.execute(text("DELETE FROM audit_log WHERE seq >= 9"))
    with pytest.raises(ChainBroken, match="ends at place 8 but the chain's head records place "
                                          "10: the newest 2 row"):
        store.records.verify()
    assert len(trail) == 10


def test_a_row_written_around_the_writer_is_named(store):
    some_history(store)
    with store.engine.begin() as c:
        c.execute(text("INSERT INTO audit_log (at, actor, action, reason) VALUES "
                       "('2026-12-01 06:00:00', 'intruder', 'approve', 'slipped in')"))
    with pytest.raises(ChainBroken, match=r"^audit row \d+ \(.*\) is not in the chain"):
        store.records.verify()


def test_a_rolled_back_transaction_leaves_no_mark_on_the_chain(store):
    some_history(store)
    with pytest.raises(RuntimeError), store.session() as s:
        audit.write(s, at=T0, actor="x", action="pause", account="office-x")
        s.flush()
        raise RuntimeError("abandoned")
    store.accounts.pause("office-fb", reason="later", actor=ADMIN, now=T0)
    assert store.records.verify().rows == 11


def at_once(store, writers: int, transaction) -> None:
    """`writers` threads, each on its own connection, start together and each commit 15
    transactions, `transaction(s, n, i)` writing the rows of writer `n`'s `i`th; raises the
    first error a thread met."""
    errors: list[BaseException] = []
    start = threading.Barrier(writers)

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(15):
                with store.session() as s:
                    transaction(s, n, i)
        except BaseException as exc:  # reported below, with the thread's error
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def test_concurrent_writers_share_one_unbroken_chain(store):
    """Eight threads, each on its own connection, commit audit rows at once: each commit gets
    its places under the head's lock (FOR UPDATE on PostgreSQL, the write lock on SQLite), so
    no place is taken twice and no link is lost."""
    def transaction(s, n: int, i: int) -> None:
        audit.write(s, at=T0, actor=f"worker-{n}", action="claim", reason=str(i))
        audit.write_many(s, [AuditRow(at=T0, actor=f"worker-{n}", action="bulk")] * 2)

    at_once(store, 8, transaction)
    assert store.records.verify().rows == 8 * 15 * 3


def test_the_migration_chains_the_rows_written_before_it(store):
    """A database at 0012 with history: 0013 chains its rows in id order and keeps each
    post's text as it stands, credited to whoever last wrote it."""
    from alembic import command

    from db.migrate import _alembic_config

    with store.engine.begin() as connection:
        command.downgrade(_alembic_config(connection), "0012")
    with store.engine.begin() as c:
        c.execute(text("INSERT INTO posts (account, platform, text, status, scheduled_at, "
                       "thread_position, thread_size, attempt_count, created_by, created_at, "
                       "updated_at) VALUES ('office-x', 'x', 'Edited text.', 'queued', "
                       ":t, 1, 1, 0, 'author', :t, :t)"), {"t": T0.replace(tzinfo=None)})
        for action, actor, reason in (("create", "author", "added by hand"),
                                      ("edit", "editor", "edited text"),
                                      ("edit", "author", "edited time")):
            c.execute(text("INSERT INTO audit_log (at, actor, action, post_id, reason) "
                           "VALUES (:t, :a, :n, 1, :r)"),
                      {"t": T0.replace(tzinfo=None), "a": actor, "n": action, "r": reason})
    migrate.upgrade(store.engine)
    assert [r.seq for r in rows(store)] == [1, 2, 3]
    assert store.records.verify().rows == 3
    with store.reading() as s:
        kept = s.scalars(select(PostText)).all()
        assert [(t.text, t.actor, t.audit_id) for t in kept] == [("Edited text.", "editor", 2)]
    # New rows go on from where the migration left the chain.
    store.accounts.pause("office-x", reason="storm", actor=ADMIN, now=T0)
    assert store.records.verify().rows == 4


@pytest.mark.parametrize("row", [{"at": T0, "action": "bulk"},
                                 {"at": T0, "actor": "importer", "action": "bulk", "by": "x"}],
                         ids=["without-actor", "unknown-column"])
def test_a_bulk_row_given_as_a_mapping_is_refused_without_a_required_or_with_an_unknown_field(
        store, row):
    with pytest.raises(TypeError), store.session() as s:
        audit.write_many(s, [row])
    assert rows(store) == []


def test_rows_written_in_bulk_hash_as_row_digest_does_whatever_their_values(store):
    """On SQLite, write_many hashes each row without row_digest (db/audit.py
    `_insert_chained`: from the row's values straight, each time stamped once); every row
    must still hash as row_digest hashes it: text that JSON escapes, text beyond ASCII, a str
    Enum, no post, times in another zone, values repeated and not, and a second batch that
    starts from the head's link."""
    from datetime import timezone

    from posts.states import Action

    awkward = ['quote " and backslash \\', "new\nline\ttab \x01", "جسر Ｂｒｉｄｇｅ é",
               "", "1", "true", "null"]
    post = store.posts.add(account="office-x", platform="x", text="Port open.",
                           scheduled_at=T0, actor=AUTHOR, now=T0, status=PostStatus.DRAFT)
    baghdad = timezone(timedelta(hours=3))
    written = [AuditRow(at=T0 + timedelta(microseconds=i % 3), actor=text_, action=Action.CREATE,
                        post_id=post.id if i % 2 else None, account=awkward[-1 - i % 7],
                        from_status=None if i % 3 else PostStatus.DRAFT,
                        to_status=PostStatus.QUEUED, reason=text_)
               for i, text_ in enumerate(awkward * 3)]
    written.append(AuditRow(at=T0.astimezone(baghdad), actor="importer", action="bulk",
                            reason="the same instant, written in Baghdad's zone"))
    with store.session() as s:
        audit.write_many(s, written)
    with store.session() as s:  # after the first batch, the head's link starts the next
        audit.write_many(s, written[:3])
    trail = rows(store)
    assert len(trail) == 1 + len(written) + 3
    for row in trail:
        assert row.row_hash == row_digest({k: getattr(row, k) for k in audit.HASHED})
    assert store.records.verify().rows == len(trail)


def held_back(n: int, reason: str) -> AuditRow:
    """A row as the daemon's claims and outcomes write it (`write_later`)."""
    return AuditRow(at=T0 + timedelta(microseconds=n), actor="daemon", action="claim",
                    post_id=None, account="office-x", from_status=PostStatus.QUEUED,
                    to_status=PostStatus.PUBLISHING, reason=reason)


def test_rows_held_back_to_the_commit_are_chained_after_the_others_under_concurrent_writers(
        store):
    """The daemon's rows (`write_later`) are inserted at commit, already chained, with ids
    read with the head (drawn from the sequence on PostgreSQL): with eight writers at once,
    no id or place is taken twice, every row hashes as row_digest does, and in each
    transaction a held-back row is never chained after a row written at once after it."""
    def transaction(s, n: int, i: int) -> None:
        audit.write_later(s, held_back(i, f"{n}.{i} later 1"))
        audit.write(s, at=T0, actor="daemon", action="pause", reason=f"{n}.{i} now")
        audit.write_later(s, held_back(i, f"{n}.{i} later 2"))
        audit.write_many(s, [AuditRow(at=T0, actor="daemon", action="bulk",
                                      reason=f"{n}.{i} bulk")])

    at_once(store, 8, transaction)
    assert store.records.verify().rows == 8 * 15 * 4
    trail = rows(store)
    for n in range(8):
        for i in range(15):
            mine = [r.reason.split(" ", 1)[1] for r in trail
                    if r.reason.split(" ", 1)[0] == f"{n}.{i}"]
            # Each held back row goes in when a row is written at once after it. (A row
            # `write` adds through the ORM is chained at commit, after those `write_many`
            # writes through Core: so "now" comes last.)
            assert mine == ["later 1", "later 2", "bulk", "now"]


def test_a_commit_with_held_back_rows_inserts_them_chained_in_one_statement(store):
    """Three statements chain the daemon's two rows of a post: the head read (with their ids),
    one INSERT of both already chained, the head moved on; no UPDATE of the rows themselves
    (on PostgreSQL it was an INSERT, then an UPDATE once the head was locked)."""
    from sqlalchemy import event

    seen: list[str] = []

    def on_execute(_conn, _cursor, statement, *_args) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT")):
            seen.append(" ".join(statement.split()[:3]).upper())

    with store.session() as s:
        audit.write_later(s, held_back(0, "first"))
        audit.write_later(s, held_back(1, "second"))
        event.listen(store.engine, "before_cursor_execute", on_execute)
    event.remove(store.engine, "before_cursor_execute", on_execute)
    assert [kind for kind in seen if "AUDIT_LOG" in kind] == ["INSERT INTO AUDIT_LOG"]
    assert len(seen) == 3, seen
    assert [r.reason for r in rows(store)] == ["first", "second"]
    assert store.records.verify().rows == 2


def test_held_back_rows_start_the_chain_of_a_database_without_its_head_row(store):
    """A database made without the migrations has no head row: the held-back rows get new ids
    all the same, start the chain from GENESIS and leave a head behind."""
    with store.session() as s:
        s.execute(text("DELETE FROM audit_chain_head"))
    with store.session() as s:
        audit.write_later(s, held_back(0, "first"))
        audit.write_later(s, held_back(1, "second"))
    trail = rows(store)
    assert [(r.seq, r.reason) for r in trail] == [(1, "first"), (2, "second")]
    assert trail[0].prev_hash == GENESIS
    assert store.records.verify().rows == 2
