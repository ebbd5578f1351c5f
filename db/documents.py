"""Documents and imports: a fact sheet, its sections and the posts planned from it, stored in one
transaction; a corrected version supersedes the posts it replaces in one transaction too."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, selectinload

from db.bulk import insert_with_ids
from db.database import Database, load_post
from db.errors import NotEditable, StoreError
from db.media import stored_media
from db.models import Document, Post, Section
from db.transitions import Transitions
from posts.media import Media
from posts.states import REPLACEABLE, Action, Actor, PostStatus

S = PostStatus
A = Action

_POSTS = Post.__table__
# Core, not the ORM's bulk UPDATE by primary key, whose bookkeeping per row cost a 1 MB
# import more than the statement.
_SET_PAIR = (update(_POSTS).where(_POSTS.c.id == bindparam("b_id"))
             .values(pair_id=bindparam("b_pair")))


# Slots: an import plans thousands, and they are made a quarter faster without a __dict__.
@dataclass(frozen=True, slots=True)
class PlannedPost:
    """A post to create. `section_index` points into the document's sections; the parts of a
    thread follow each other in order and are chained as replies."""

    account: str
    platform: str
    text: str
    scheduled_at: datetime
    section_index: int | None = None
    thread_position: int = 1
    thread_size: int = 1
    #: Posts of one import sharing a key form an English/Arabic pair (exactly two).
    pair_key: str | None = None
    #: Corrections only: the part before this one is an existing post, or the planned post at
    #: this index of the same batch. Imports chain thread parts in order instead.
    parent_post_id: int | None = None
    parent_index: int | None = None
    #: An image to publish with the post (checked for its platform already).
    media: Media | None = None


@dataclass(frozen=True)
class Relink:
    """A kept thread part whose previous part is now another post (existing or planned)."""

    post_id: int
    parent_post_id: int | None = None
    parent_index: int | None = None


@dataclass(frozen=True)
class ImportOutcome:
    document_id: int
    created: int
    already_imported_accounts: tuple[str, ...]


class Documents:
    """Imported documents and their posts; each method is one transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.transitions = Transitions(db)

    def find(self, content_hash: str) -> Document | None:
        """The document with this canonical content, if imported before."""
        with self.db.reading() as s:
            return s.scalar(select(Document).where(Document.content_hash == content_hash))

    def accounts_with_posts(self, document_id: int) -> set[str]:
        """The accounts that have posts from this document."""
        with self.db.reading() as s:
            return set(s.scalars(select(Post.account).where(Post.document_id == document_id)))

    def add(self, *, source_name: str, content_hash: str, title: str | None,
            sections: Sequence[tuple[str | None, str]],
            posts: Sequence[PlannedPost], actor: Actor, now: datetime,
            status: PostStatus) -> ImportOutcome:
        """Store a document, its sections and its posts in one transaction.

        A document already stored (same canonical content) is reused; accounts that already
        have posts from it get nothing new, which makes re-importing a no-op.
        """
        with self.db.session() as s:
            document = s.scalar(select(Document).where(Document.content_hash == content_hash))
            if document is None:
                document, section_ids = _new_document(s, source_name, content_hash, title,
                                                      sections, actor, now)
                done = set()
            else:
                done = set(s.scalars(select(Post.account)
                                     .where(Post.document_id == document.id)))
                # Core: the ORM's row handling cost a 1 MB sheet's 2,000 sections 0.1 s.
                section_ids = dict(s.connection().execute(
                    select(Section.position, Section.id)
                    .where(Section.document_id == document.id)).all())
            todo = [planned for planned in posts if planned.account not in done]
            # Read once: an ORM attribute costs a lookup through its instrumentation each time.
            document_id = document.id
            # One executemany for the posts and one for their audit rows, not an ORM object
            # and a flush per post: a 1 MB sheet is thousands of posts (docs/BENCHMARKS.md).
            rows = [{"account": planned.account, "platform": planned.platform,
                     "text": planned.text, "scheduled_at": planned.scheduled_at,
                     "document_id": document_id,
                     "section_id": section_ids.get(planned.section_index),
                     "thread_position": planned.thread_position,
                     "thread_size": planned.thread_size, "created_by": actor.name,
                     "created_at": now, "updated_at": now,
                     "media_id": (stored_media(s, planned.media, now).id
                                  if planned.media is not None else None)}
                    for planned in todo]
            reasons = [f"imported from {source_name}" + (" with an image" if p.media else "")
                       for p in todo]
            # A thread part replies to the post planned just before it.
            parents = [i - 1 if planned.thread_position > 1 and i > 0 else None
                       for i, planned in enumerate(todo)]
            ids = self.transitions.create_many(s, rows, actor, status, reasons, now, parents)
            # Pair partners point at each other, so one of each pair points at a later row:
            # set by a second executemany once both exist.
            pairs = partners(zip(ids, (p.pair_key for p in todo), strict=True))
            if pairs:
                s.connection().execute(_SET_PAIR, [{"b_id": post_id, "b_pair": partner_id}
                                                   for post_id, partner_id in pairs.items()])
            created = len(ids)
            skipped = tuple(sorted({p.account for p in posts} & done))
            return ImportOutcome(document.id, created, skipped)

    def latest(self, source_name: str) -> Document | None:
        """The most recently imported document from a file of this name."""
        with self.db.reading() as s:
            return s.scalar(select(Document).where(Document.source_name == source_name)
                            .order_by(Document.id.desc()).limit(1))

    def live_posts_from_source(self, source_name: str) -> list[Post]:
        """Posts not cancelled, from every document imported from a file of this name, with
        their section and document (and its sections) loaded."""
        with self.db.reading() as s:
            return list(s.scalars(
                select(Post).join(Document, Post.document_id == Document.id)
                .where(Document.source_name == source_name, Post.status != S.CANCELLED)
                .order_by(Post.id)
                .options(selectinload(Post.section),
                         selectinload(Post.document).selectinload(Document.sections))))

    def correct(self, *, source_name: str, content_hash: str, title: str | None,
                sections: Sequence[tuple[str | None, str]], supersede: Sequence[int],
                posts: Sequence[PlannedPost], relinks: Sequence[Relink],
                actor: Actor, now: datetime, status: PostStatus) -> ImportOutcome:
        """Store a changed version of a document in one transaction: cancel the posts it
        supersedes, create its new posts, and re-chain kept thread parts.

        Raises `NotEditable` (and changes nothing) when a post to supersede has left draft,
        queued or failed in the meantime: it may be on the platform by now.
        """
        with self.db.session() as s:
            document, _ = _new_document(s, source_name, content_hash, title, sections, actor,
                                        now)
            for post_id in supersede:
                post = load_post(s, post_id)
                if post.status not in REPLACEABLE:
                    raise NotEditable(
                        f"post {post_id} is {post.status} now, so it can no longer be replaced; "
                        "run the import again to see the changes as they stand")
                self.transitions.move(s, post, A.SUPERSEDE, actor, now, S.CANCELLED,
                                      f"superseded by document {document.id}")
            by_position = {sec.position: sec for sec in document.sections}
            created: list[Post] = []

            def parent(post_id: int | None, index: int | None) -> Post | None:
                if post_id is not None:
                    return load_post(s, post_id)
                return created[index] if index is not None else None

            for planned in posts:
                post = Post(account=planned.account, platform=planned.platform,
                            text=planned.text, scheduled_at=planned.scheduled_at,
                            document=document, section=by_position.get(planned.section_index),
                            thread_position=planned.thread_position,
                            thread_size=planned.thread_size, created_by=actor.name,
                            created_at=now, updated_at=now,
                            parent=parent(planned.parent_post_id, planned.parent_index))
                self.transitions.create(
                    s, post, actor, status,
                    f"imported from {source_name} (document {document.id}, a correction)", now)
                created.append(post)
            for relink in relinks:
                post = load_post(s, relink.post_id)
                if post.status not in REPLACEABLE:
                    continue  # on its way out already; its place in the thread no longer matters
                new_parent = parent(relink.parent_post_id, relink.parent_index)
                post.parent = new_parent
                after = new_parent.id if new_parent else "-"
                self.transitions.move(s, post, A.RELINK, actor, now, post.status,
                                      f"now follows post {after} in its thread (document "
                                      f"{document.id})")
            return ImportOutcome(document.id, len(created), ())

    def posts(self, document_id: int, account: str | None = None) -> list[Post]:
        """A document's posts in thread order (per account when given)."""
        with self.db.reading() as s:
            query = select(Post).where(Post.document_id == document_id)
            if account is not None:
                query = query.where(Post.account == account)
            return list(s.scalars(query.order_by(Post.account, Post.section_id,
                                                 Post.thread_position, Post.id)))


def partners(keyed: Iterable[tuple[int, str | None]]) -> dict[int, int]:
    """Each new post's pair partner, post id -> partner id, both ways, from (post id, pair
    key) in creation order: the two posts sharing a key are partners (None: no partner).
    Imports and a compose for an English/Arabic pair link their posts by this one rule.
    Raises StoreError for a key held by other than exactly two posts."""
    members: dict[str, list[int]] = {}
    for post_id, key in keyed:
        if key is not None:
            members.setdefault(key, []).append(post_id)
    linked: dict[int, int] = {}
    for key, ids in members.items():
        if len(ids) != 2:
            raise StoreError(f"pair {key!r} has {len(ids)} post(s), not 2; add both language "
                             "versions together")
        first, second = ids
        linked[first], linked[second] = second, first
    return linked


def _new_document(s: Session, source_name: str, content_hash: str, title: str | None,
                  sections: Sequence[tuple[str | None, str]], actor: Actor, now: datetime
                  ) -> tuple[Document, dict[int, int]]:
    """A new document row with its sections, flushed so it has an id; and its sections' ids
    by position."""
    document = Document(source_name=source_name, content_hash=content_hash, title=title,
                        imported_at=now, imported_by=actor.name)
    s.add(document)
    s.flush()
    # One executemany, not an ORM object per section: a 1 MB sheet has thousands.
    ids = insert_with_ids(s, Section.__table__, [
        {"document_id": document.id, "position": i, "heading": h, "text": t}
        for i, (h, t) in enumerate(sections)])
    return document, dict(enumerate(ids))
