"""An import stores its posts in bulk (one executemany for the posts, one for their audit rows,
one for their thread and pair links) and the result is what storing them one by one gave:
every column, every link, every audit row, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select

from db.bulk import insert_many
from db.errors import NeedsApproval, StoreError
from db.models import AuditEntry, Post, PostText, Section
from db.store import PlannedPost
from posts.media import Media
from posts.states import Actor, PostStatus, Review
from tests.migrated import open_migrated
from tests.test_images import png

S = PostStatus
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
ACTOR = Actor("officer", "admin")


def _planned() -> list[PlannedPost]:
    """Two accounts of a pair, a three-part thread in section 0, a single post with an image in
    section 1, and a post from no section."""
    posts = []
    for account, platform, words in (("en-x", "x", "Bridge"), ("ar-x", "x", "جسر")):
        posts += [PlannedPost(account=account, platform=platform, text=f"{words} {i}/3",
                              scheduled_at=NOW + timedelta(minutes=i), section_index=0,
                              thread_position=i, thread_size=3, pair_key=f"x:0:{i}")
                  for i in (1, 2, 3)]
    posts.append(PlannedPost(account="en-fb", platform="facebook", text="Schools reopen.",
                             scheduled_at=NOW, section_index=1,
                             media=Media(content=png(), mime_type="image/png",
                                         alt_text="A school gate")))
    posts.append(PlannedPost(account="en-fb", platform="facebook", text="No section.",
                             scheduled_at=NOW, section_index=None))
    return posts


def _add(store, posts, content_hash="h1"):
    return store.documents.add(source_name="sheet.txt", content_hash=content_hash, title="T",
                               sections=[("Bridges", "b"), ("Schools", "s")], posts=posts,
                               actor=ACTOR, now=NOW, status=S.QUEUED)


def _rows(store):
    with store.db.reading() as s:
        posts = s.scalars(select(Post).order_by(Post.id)).all()
        sections = {sec.id: sec.position for sec in s.scalars(select(Section))}
        audit = s.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        return posts, sections, audit


def test_an_import_stores_every_post_with_its_columns_links_and_audit_row(store):
    planned = _planned()
    outcome = _add(store, planned)
    posts, sections, audit = _rows(store)

    assert outcome.created == len(planned) == len(posts)
    ids = [p.id for p in posts]
    assert ids == sorted(ids)
    for post, want in zip(posts, planned, strict=True):
        assert (post.account, post.platform, post.text, post.status, post.document_id,
                post.thread_position, post.thread_size, post.created_by) == (
            want.account, want.platform, want.text, S.QUEUED, outcome.document_id,
            want.thread_position, want.thread_size, ACTOR.name)
        assert post.scheduled_at.replace(tzinfo=UTC) == want.scheduled_at
        assert sections.get(post.section_id) == want.section_index
        assert post.created_at.replace(tzinfo=UTC) == NOW
        assert (post.media_id is not None) == (want.media is not None)
        assert post.attempt_count == 0 and post.remote_id is None and post.approved_by is None

    by_id = {p.id: p for p in posts}
    en, ar = posts[0:3], posts[3:6]
    for part in (en, ar):
        assert [p.parent_id for p in part] == [None, part[0].id, part[1].id]
    for e, a in zip(en, ar, strict=True):
        assert (e.pair_id, a.pair_id) == (a.id, e.id)
    assert all(by_id[p.id].pair_id is None and p.parent_id is None for p in posts[6:])

    assert [(a.post_id, a.action, a.actor, a.account, a.from_status, a.to_status)
            for a in audit] == [(p.id, "create", ACTOR.name, p.account, None, S.QUEUED)
                                for p in posts]
    assert audit[6].reason == "imported from sheet.txt with an image"
    assert {a.reason for i, a in enumerate(audit) if i != 6} == {"imported from sheet.txt"}
    # Each post's first text version, image included, tied to its create row (docs/RECORDS.md).
    with store.db.reading() as s:
        kept = s.scalars(select(PostText).order_by(PostText.id)).all()
        assert [(v.post_id, v.audit_id, v.at.replace(tzinfo=UTC), v.actor, v.text, v.media_id)
                for v in kept] == [(p.id, a.id, NOW, ACTOR.name, p.text, p.media_id)
                                   for p, a in zip(posts, audit, strict=True)]


def test_reimporting_adds_nothing_and_a_new_account_gets_its_own_chain(store):
    planned = _planned()
    _add(store, planned)
    again = _add(store, planned + [PlannedPost(account="new-x", platform="x", text=f"N {i}/2",
                                               scheduled_at=NOW, section_index=0,
                                               thread_position=i, thread_size=2)
                                   for i in (1, 2)])
    posts, _, audit = _rows(store)
    assert again.created == 2
    assert set(again.already_imported_accounts) == {"en-x", "ar-x", "en-fb"}
    first, second = posts[-2:]
    assert (first.account, second.parent_id, first.parent_id) == ("new-x", first.id, None)
    assert len(audit) == len(posts)


def test_under_review_an_import_cannot_queue_its_posts_and_stores_nothing(store):
    store.review = Review(require_approval=True)
    with pytest.raises(NeedsApproval) as refused:
        _add(store, _planned())
    assert str(refused.value) == ("review is required, so new posts are drafts until an "
                                  "approver approves them")
    posts, _, audit = _rows(store)
    assert posts == [] and audit == []


def test_a_half_pair_stores_nothing(store):
    lone = [PlannedPost(account="en-x", platform="x", text="Alone.", scheduled_at=NOW,
                        section_index=0, pair_key="x:0:1")]
    with pytest.raises(StoreError, match="pair"):
        _add(store, lone)
    posts, _, audit = _rows(store)
    assert posts == [] and audit == []
    assert store.documents.find("h1") is None


def test_imported_posts_are_found_by_search_and_so_are_posts_added_after(store):
    # The import fills the search index in one statement, its insert trigger dropped for the
    # while (db/bulk.py); the trigger must be back for every post added afterwards.
    from db.store import HistoryFilter

    _add(store, _planned())
    found = store.history.search(HistoryFilter(search="جسر"))
    assert sorted(p.text for p in found) == ["جسر 1/3", "جسر 2/3", "جسر 3/3"]
    later = store.posts.add(account="en-fb", platform="facebook", text="Ferries resume.",
                            scheduled_at=NOW, actor=ACTOR, now=NOW, status=S.QUEUED)
    assert [p.id for p in store.history.search(HistoryFilter(search="ferries"))] == [later.id]


def test_a_bulk_insert_stores_each_value_as_a_core_insert_of_the_same_row_does(store):
    """`insert_many` converts values itself on SQLite (once per distinct value): every column,
    times in another zone and to the microsecond, left-out defaults, must come out as
    SQLAlchemy's own insert writes them, and read back through the ORM as given."""
    baghdad = timezone(timedelta(hours=3))
    times = [datetime(2026, 12, 1, 9, 30, 15, 123456, tzinfo=baghdad),
             datetime(2026, 12, 1, 6, 30, 15, 123456, tzinfo=UTC),  # the same instant
             datetime(2026, 12, 2, 0, 0, tzinfo=UTC)]
    rows = [{"account": "en-x", "platform": "x", "text": f"Post {i} جسر", "status": S.QUEUED,
             "scheduled_at": at, "thread_position": 1 + i % 2, "thread_size": 2,
             "created_by": "officer", "created_at": times[0], "updated_at": NOW,
             "approved_at": None}
            for i, at in enumerate(times * 2)]
    posts = Post.__table__
    with store.db.session() as s:
        insert_many(s.connection(), posts, [{**row, "id": 1 + i} for i, row in enumerate(rows)])
        s.connection().execute(insert(posts), [{**row, "id": 101 + i}
                                               for i, row in enumerate(rows)])
    columns = [c for c in posts.columns if c.key != "id"]
    with store.db.reading() as s:
        stored = s.execute(select(posts.c.id, *columns).order_by(posts.c.id)).all()
        raw = s.connection().exec_driver_sql(
            "SELECT " + ", ".join(c.name for c in columns) + " FROM posts ORDER BY id").all()
    assert [r.id for r in stored] == [*range(1, 7), *range(101, 107)]
    assert raw[:6] == raw[6:]  # as the driver holds them, text for text on SQLite
    for row, got in zip(rows, stored[:6], strict=True):
        assert got.scheduled_at == row["scheduled_at"]
        assert got.scheduled_at.tzinfo == UTC and got.created_at == times[0]
        assert (got.reply_to_corrected, got.attempt_count) == (False, 0)  # left-out defaults
        assert got.text == row["text"] and got.approved_at is None


def test_imported_posts_are_indexed_for_search_exactly_as_posts_added_one_by_one(tmp_path):
    # SQLite's search index (PostgreSQL's is an expression index, filled as rows are written).
    # The import indexes the posts that hold none of the characters search folds without the
    # folding (db/bulk.py): what the index holds for each must be what the insert trigger
    # gives the same text, folded or not. fts5vocab lists each indexed term of each row.
    # Text in ASCII alone is indexed without being read back; any other is read and looked
    # at for folded characters ("Café – 40 reopened" holds none).
    texts = ["Ｂｒｉｄｇｅ １２３ reopened", "جِسْرٌ أُعِيدَ فتحه", "Plain words only",
             "It's a quote ' and ＡＢＣ", "Schools: 40 reopened", "Café – 40 reopened"]
    store = open_migrated(f"sqlite:///{tmp_path / 'factpost.db'}")
    planned = [PlannedPost(account="en-fb", platform="facebook", text=text,
                           scheduled_at=NOW + timedelta(minutes=i), section_index=None)
               for i, text in enumerate(texts)]
    _add(store, planned)
    added = [store.posts.add(account="en-fb", platform="facebook", text=text,
                             scheduled_at=NOW, actor=ACTOR, now=NOW, status=S.QUEUED).id
             for text in texts]
    with store.db.reading() as s:
        conn = s.connection()
        conn.exec_driver_sql("CREATE VIRTUAL TABLE IF NOT EXISTS temp.fts_terms USING "
                             "fts5vocab(main, posts_fts, 'instance')")
        terms: dict[int, list[str]] = {}
        for term, doc in conn.exec_driver_sql(
                "SELECT term, doc FROM temp.fts_terms ORDER BY doc, offset"):
            terms.setdefault(doc, []).append(term)
        by_text = dict(conn.exec_driver_sql("SELECT id, text FROM posts").all())
    imported = [post_id for post_id in sorted(terms) if post_id not in added]
    assert [by_text[i] for i in imported] == texts
    for bulk, one in zip(imported, added, strict=True):
        assert terms[bulk] == terms[one], by_text[one]
    assert terms[imported[0]] == ["bridge", "123", "reopened"]
    assert terms[imported[1]] == ["جسر", "أعيد", "فتحه"]
    from db.store import HistoryFilter
    found = store.history.search(HistoryFilter(search="abc"))
    assert sorted(p.id for p in found) == sorted([imported[3], added[3]])
    store.close()
