"""The store: every query factpost makes, and every post state change, in one place.

Each public method is one transaction. State changes go through `_move`, which checks the
transition against posts.states and writes the audit entry in the same transaction, so a post
never changes state without a record of who did it and why.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import Engine, and_, func, or_, select, true, update
from sqlalchemy.orm import Session, aliased, selectinload, sessionmaker

from db import search
from db.engine import READ_ONLY, make_engine
from db.errors import (
    MAX_ID,
    BadFilter,
    BadLink,
    EmptySearch,
    NeedsApproval,
    NotEditable,
    PostNotFound,
    SelfApproval,
    StoreError,
)
from db.models import (
    AccountState,
    Attempt,
    AuditEntry,
    Document,
    MediaItem,
    Post,
    Section,
    Worker,
)
from db.search import parse_search, search_condition
from posts.media import Media
from posts.states import (
    DAEMON,
    EDITABLE,
    NO_REVIEW,
    REPLACEABLE,
    Action,
    Actor,
    PostStatus,
    Review,
    check_actor,
    check_move,
)

S = PostStatus
A = Action

# Built once: a fresh alias per call defeats SQLAlchemy's statement cache, and rebuilding the
# claim query's joins was most of a claim's cost (benchmarks/run.py).
_PARENT = aliased(Post, name="parent")
_PARTNER = aliased(Post, name="partner")
_PARTNER_PARENT = aliased(Post, name="partner_parent")
_PARTNER_STATE = aliased(AccountState, name="partner_state")

#: Attempt outcomes after which nobody knows whether the platform holds the post.
UNSURE_OUTCOMES = frozenset({"ambiguous", "abandoned", "duplicate"})


@dataclass(frozen=True)
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
class AttemptResult:
    """How an attempt ended, recorded in the same transaction as the post's new state: a
    daemon killed between the two would otherwise leave an outcome without its consequence."""

    attempt_id: int
    outcome: str
    error_code: str | None = None
    error_message: str | None = None
    explanation: str | None = None
    remote_id: str | None = None


@dataclass(frozen=True)
class ImportOutcome:
    document_id: int
    created: int
    already_imported_accounts: tuple[str, ...]


@dataclass(frozen=True)
class HistoryFilter:
    account: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    #: Words, all must appear (in any order; "a phrase" in that order); case and diacritics
    #: ignored. See db/search.py. Checked here, so a bad search fails before any output.
    search: str | None = None
    limit: int | None = None
    offset: int = 0
    #: Keyset paging: only posts after this (history_key, id) in history order. Unlike
    #: `offset`, a page deep in a long history costs the same as the first.
    after: tuple[datetime, int] | None = None

    def __post_init__(self) -> None:
        if self.search and not parse_search(self.search):
            raise EmptySearch(self.search)
        for name, when in (("since", self.since), ("until", self.until),
                           ("after", self.after[0] if self.after else None)):
            if when is None:
                continue
            try:
                if when.tzinfo is None:
                    raise ValueError
                when.astimezone(UTC)
            except (ValueError, OverflowError):
                raise BadFilter(f"{name} {when} cannot be searched for; give a time with a "
                                "time zone between the years 1 and 9999") from None
        if self.after is not None and not 0 < self.after[1] <= MAX_ID:
            raise BadFilter("the page link is damaged; start again from the first page")


def check_remote(remote_id: str, remote_url: str | None) -> tuple[str, str | None]:
    """A remote id and link typed by staff, checked: the id is one word of at most 100
    characters, the link an http(s) address of at most 500 (a `javascript:` or `data:` link
    would run in the browser of whoever opens the post). Raises `BadLink`."""
    remote_id = (remote_id or "").strip()
    if not remote_id or len(remote_id) > 100 or not remote_id.isprintable() or any(
            ch.isspace() for ch in remote_id):
        raise BadLink(f"{remote_id[:40]!r} is not a post id; give the id the platform shows "
                      "for the post (at most 100 characters, no spaces)")
    remote_url = (remote_url or "").strip() or None
    if remote_url is not None:
        parts = urlsplit(remote_url)
        if (parts.scheme.lower() not in ("http", "https") or not parts.netloc
                or len(remote_url) > 500 or not remote_url.isprintable()
                or any(ch.isspace() for ch in remote_url)):
            raise BadLink(f"{remote_url[:60]!r} is not a web address; give the post's link "
                          "starting with https:// (at most 500 characters), or none")
    return remote_id, remote_url


def history_key(post: Post) -> tuple[datetime, int]:
    """Where a post sits in the history order; pass the last one shown as HistoryFilter.after."""
    return (post.published_at or post.scheduled_at, post.id)


class Store:
    """The queries and the state changes. `review` is the office's review rules, which every
    state change is checked against (set from config.toml by whoever opens the store)."""

    def __init__(self, engine: Engine, review: Review = NO_REVIEW) -> None:
        self.engine = engine
        self.review = review
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._readers = sessionmaker(engine.execution_options(**{READ_ONLY: True}),
                                     expire_on_commit=False)
        # SQLite has one writer at a time, and a connection that finds the lock taken polls
        # for it with growing sleeps (up to 100 ms). Threads of one process queue on this lock
        # instead and start the moment the writer before them commits; other processes still
        # meet SQLite's busy timeout.
        self._write_lock = (threading.RLock() if engine.dialect.name == "sqlite"
                            else nullcontext())

    @classmethod
    def open(cls, url: str, review: Review = NO_REVIEW) -> Store:
        return cls(make_engine(url), review)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction that may write (on SQLite it holds the write lock from the start)."""
        with self._write_lock, self._sessions.begin() as session:
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A transaction that only reads; on SQLite it never waits for the write lock. The
        daemon's per-post checks go through here, so account threads do not queue behind one
        another's writes (benchmarks/run.py)."""
        with self._readers.begin() as session:
            yield session

    # -- documents and posts ------------------------------------------------------------------

    def find_document(self, content_hash: str) -> Document | None:
        with self.reading() as s:
            return s.scalar(select(Document).where(Document.content_hash == content_hash))

    def accounts_with_posts(self, document_id: int) -> set[str]:
        with self.reading() as s:
            return set(s.scalars(select(Post.account).where(Post.document_id == document_id)))

    def import_document(self, *, source_name: str, content_hash: str, title: str | None,
                        sections: Sequence[tuple[str | None, str]],
                        posts: Sequence[PlannedPost], actor: Actor, now: datetime,
                        status: PostStatus) -> ImportOutcome:
        """Store a document, its sections and its posts in one transaction.

        A document already stored (same canonical content) is reused; accounts that already
        have posts from it get nothing new, which makes re-importing a no-op.
        """
        with self.session() as s:
            document = s.scalar(select(Document).where(Document.content_hash == content_hash))
            if document is None:
                document = Document(source_name=source_name, content_hash=content_hash,
                                    title=title, imported_at=now, imported_by=actor.name)
                document.sections = [Section(position=i, heading=h, text=t)
                                     for i, (h, t) in enumerate(sections)]
                s.add(document)
                s.flush()
            done = set(s.scalars(select(Post.account).where(Post.document_id == document.id)))
            by_position = {sec.position: sec for sec in document.sections}
            created = 0
            previous: Post | None = None
            pairs: dict[str, list[Post]] = {}
            for planned in posts:
                if planned.account in done:
                    continue
                section = by_position.get(planned.section_index)
                post = Post(account=planned.account, platform=planned.platform,
                            text=planned.text, scheduled_at=planned.scheduled_at,
                            document=document, section=section,
                            thread_position=planned.thread_position,
                            thread_size=planned.thread_size, created_by=actor.name,
                            created_at=now, updated_at=now)
                if planned.media is not None:
                    post.media_id = self._media_row(s, planned.media, now).id
                if planned.thread_position > 1 and previous is not None:
                    post.parent = previous
                self._create(s, post, actor, status, f"imported from {source_name}"
                             + (" with an image" if planned.media else ""), now)
                previous = post
                created += 1
                if planned.pair_key is not None:
                    pairs.setdefault(planned.pair_key, []).append(post)
            for key, members in pairs.items():
                if len(members) != 2:
                    raise StoreError(f"pair {key!r} has {len(members)} post(s), not 2; import "
                                     "both language versions together")
                first, second = members
                first.pair_id, second.pair_id = second.id, first.id
            skipped = tuple(sorted({p.account for p in posts} & done))
            return ImportOutcome(document.id, created, skipped)

    def latest_document(self, source_name: str) -> Document | None:
        """The most recently imported document from a file of this name."""
        with self.reading() as s:
            return s.scalar(select(Document).where(Document.source_name == source_name)
                            .order_by(Document.id.desc()).limit(1))

    def live_posts_from_source(self, source_name: str) -> list[Post]:
        """Posts not cancelled, from every document imported from a file of this name, with
        their section and document (and its sections) loaded."""
        with self.reading() as s:
            return list(s.scalars(
                select(Post).join(Document, Post.document_id == Document.id)
                .where(Document.source_name == source_name, Post.status != S.CANCELLED)
                .order_by(Post.id)
                .options(selectinload(Post.section),
                         selectinload(Post.document).selectinload(Document.sections))))

    def correct_document(self, *, source_name: str, content_hash: str, title: str | None,
                         sections: Sequence[tuple[str | None, str]], supersede: Sequence[int],
                         posts: Sequence[PlannedPost], relinks: Sequence[Relink],
                         actor: Actor, now: datetime, status: PostStatus) -> ImportOutcome:
        """Store a changed version of a document in one transaction: cancel the posts it
        supersedes, create its new posts, and re-chain kept thread parts.

        Raises `NotEditable` (and changes nothing) when a post to supersede has left draft,
        queued or failed in the meantime: it may be on the platform by now.
        """
        with self.session() as s:
            document = Document(source_name=source_name, content_hash=content_hash,
                                title=title, imported_at=now, imported_by=actor.name)
            document.sections = [Section(position=i, heading=h, text=t)
                                 for i, (h, t) in enumerate(sections)]
            s.add(document)
            s.flush()
            for post_id in supersede:
                post = self._get(s, post_id)
                if post.status not in REPLACEABLE:
                    raise NotEditable(
                        f"post {post_id} is {post.status} now, so it can no longer be replaced; "
                        "run the import again to see the changes as they stand")
                self._move(s, post, A.SUPERSEDE, actor, now, S.CANCELLED,
                           f"superseded by document {document.id}")
            by_position = {sec.position: sec for sec in document.sections}
            created: list[Post] = []

            def parent(post_id: int | None, index: int | None) -> Post | None:
                if post_id is not None:
                    return self._get(s, post_id)
                return created[index] if index is not None else None

            for planned in posts:
                post = Post(account=planned.account, platform=planned.platform,
                            text=planned.text, scheduled_at=planned.scheduled_at,
                            document=document, section=by_position.get(planned.section_index),
                            thread_position=planned.thread_position,
                            thread_size=planned.thread_size, created_by=actor.name,
                            created_at=now, updated_at=now,
                            parent=parent(planned.parent_post_id, planned.parent_index))
                self._create(s, post, actor, status, f"imported from {source_name} (document "
                             f"{document.id}, a correction)", now)
                created.append(post)
            for relink in relinks:
                post = self._get(s, relink.post_id)
                if post.status not in REPLACEABLE:
                    continue  # on its way out already; its place in the thread no longer matters
                new_parent = parent(relink.parent_post_id, relink.parent_index)
                post.parent = new_parent
                self._move(s, post, A.RELINK, actor, now, post.status,
                           f"now follows post {new_parent.id if new_parent else '-'} in its "
                           f"thread (document {document.id})")
            return ImportOutcome(document.id, len(created), ())

    def add_post(self, *, account: str, platform: str, text: str, scheduled_at: datetime,
                 actor: Actor, now: datetime, status: PostStatus, media: Media | None = None
                 ) -> Post:
        """Store one post, and its image (checked by the caller) in the same transaction.
        `status` is draft or queued; under review it must be draft (`NeedsApproval`)."""
        return self.add_thread(account=account, platform=platform, texts=[text],
                               scheduled_at=scheduled_at, actor=actor, now=now, status=status,
                               media=media)[0]

    def add_thread(self, *, account: str, platform: str, texts: Sequence[str],
                   scheduled_at: datetime, actor: Actor, now: datetime, status: PostStatus,
                   media: Media | None = None) -> list[Post]:
        """Store a hand-written post, or the parts of a thread in order (each a reply to the
        one before), in one transaction; `media` goes with the first. `status` is draft or
        queued; under review it must be draft (`NeedsApproval`)."""
        with self.session() as s:
            media_id = self._media_row(s, media, now).id if media is not None else None
            created: list[Post] = []
            for position, text in enumerate(texts, 1):
                post = Post(account=account, platform=platform, text=text,
                            scheduled_at=scheduled_at, thread_position=position,
                            thread_size=len(texts), created_by=actor.name, created_at=now,
                            updated_at=now, parent=created[-1] if created else None,
                            media_id=media_id if position == 1 else None)
                self._create(s, post, actor, status, "added by hand" + (
                    " with an image" if media is not None and position == 1 else ""), now)
                created.append(post)
            return created

    def media_for(self, post: Post) -> Media | None:
        """The image to publish with `post`, if it has one."""
        if post.media_id is None:
            return None
        with self.reading() as s:
            row = s.get(MediaItem, post.media_id)
            return Media(content=row.content, mime_type=row.mime_type, alt_text=row.alt_text)

    def media_summary(self, media_id: int) -> dict:
        """What a listing shows of an image: everything but the bytes."""
        with self.reading() as s:
            row = s.execute(select(MediaItem.id, MediaItem.sha256, MediaItem.mime_type,
                                   MediaItem.size, MediaItem.alt_text)
                            .where(MediaItem.id == media_id)).one()
            return dict(row._mapping)

    def media_count(self) -> int:
        with self.reading() as s:
            return s.scalar(select(func.count()).select_from(MediaItem))

    def get_post(self, post_id: int) -> Post:
        if not isinstance(post_id, int) or not 1 <= post_id <= MAX_ID:
            raise PostNotFound(post_id)
        with self.reading() as s:
            post = s.get(Post, post_id, options=[selectinload(Post.attempts),
                                                 selectinload(Post.document),
                                                 selectinload(Post.section)])
            if post is None:
                raise PostNotFound(post_id)
            return post

    def document_posts(self, document_id: int, account: str | None = None) -> list[Post]:
        """A document's posts in thread order (per account when given)."""
        with self.reading() as s:
            query = select(Post).where(Post.document_id == document_id)
            if account is not None:
                query = query.where(Post.account == account)
            return list(s.scalars(query.order_by(Post.account, Post.section_id,
                                                 Post.thread_position, Post.id)))

    def audit_trail(self, post_id: int) -> list[AuditEntry]:
        with self.reading() as s:
            return list(s.scalars(select(AuditEntry).where(AuditEntry.post_id == post_id)
                                  .order_by(AuditEntry.id)))

    def edit_post(self, post_id: int, *, actor: Actor, now: datetime, text: str | None = None,
                  scheduled_at: datetime | None = None) -> Post:
        """Change text and/or time. Under review, a post whose text changes goes back to draft:
        an approval covers the exact text. A failed or needs_review post is queued again (to
        draft when it needs a new approval). Raises `NotEditable`, `NotPermitted`."""
        with self.session() as s:
            post = self._get(s, post_id)
            check_actor(actor, A.EDIT)
            if post.status not in EDITABLE:
                raise NotEditable(f"post {post_id} is {post.status}; only draft, queued, failed "
                                  "or needs_review posts can be edited")
            changes = []
            if text is not None and text != post.text:
                post.text = text
                changes.append("text")
            if scheduled_at is not None and scheduled_at != post.scheduled_at:
                post.scheduled_at = scheduled_at
                changes.append("time")
            if not changes:
                return post
            reason = "edited " + " and ".join(changes)
            reapprove = "text" in changes and self.review.require_approval
            partner = s.get(Post, post.pair_id) if post.pair_id else None
            if reapprove and partner is not None and partner.status == S.QUEUED:
                # The approval covered both versions as they were; both need it again.
                partner.approved_by = partner.approved_at = None
                self._move(s, partner, A.EDIT, actor, now, S.DRAFT,
                           f"its pair partner, post {post.id}, was edited; needs approval again")
            if reapprove:
                post.approved_by = post.approved_at = None
                if post.status != S.DRAFT:
                    reason += "; needs approval again"
                self._move(s, post, A.EDIT, actor, now, S.DRAFT, reason)
            elif post.status in (S.FAILED, S.NEEDS_REVIEW):
                target = self._queue_or_draft(post)
                self._move(s, post, A.EDIT, actor, now, target, reason + (
                    "; queued again" if target == S.QUEUED else "; needs approval"))
            else:
                self._move(s, post, A.EDIT, actor, now, post.status, reason)
            return post

    def cancel(self, post_id: int, *, actor: Actor, now: datetime, reason: str | None = None
               ) -> Post:
        """Withdraw a post that is not out (with its pair partner). Raises
        `IllegalTransition`, `NotPermitted`."""
        with self.session() as s:
            post = self._get(s, post_id)
            self._move(s, post, A.CANCEL, actor, now, S.CANCELLED, reason or "cancelled")
            partner = s.get(Post, post.pair_id) if post.pair_id else None
            if partner is not None and partner.status in EDITABLE:
                self._move(s, partner, A.CANCEL, actor, now, S.CANCELLED,
                           f"its pair partner, post {post.id}, was cancelled")
            return post

    def reject(self, post_id: int, *, actor: Actor, now: datetime, reason: str | None = None
               ) -> Post:
        """An approver turns a draft down (with its pair partner): it is cancelled, and the
        reason is kept for the author. Raises `NotEditable`, `NotPermitted`."""
        why = f"rejected: {reason or 'no reason given'}"
        with self.session() as s:
            post = self._get(s, post_id)
            check_actor(actor, A.REJECT)
            if post.status != S.DRAFT:
                raise NotEditable(f"post {post_id} is {post.status}; only drafts are rejected")
            self._move(s, post, A.REJECT, actor, now, S.CANCELLED, why)
            partner = s.get(Post, post.pair_id) if post.pair_id else None
            if partner is not None and partner.status == S.DRAFT:
                self._move(s, partner, A.REJECT, actor, now, S.CANCELLED,
                           f"{why} (with its pair partner, post {post.id})")
            return post

    def approve(self, post_ids: Iterable[int], *, actor: Actor, now: datetime) -> list[Post]:
        """Approve drafts (all or none: one bad id leaves every post as it was), each with its
        pair partner. Under the two-person rule the author of a post, or of an edit to its
        text, cannot approve it. Raises `NotEditable`, `SelfApproval`, `NotPermitted`."""
        with self.session() as s:
            check_actor(actor, A.APPROVE)
            approved = []
            for post_id in post_ids:
                post = self._get(s, post_id)
                if post in approved:
                    continue  # already approved with its partner
                if post.status != S.DRAFT:
                    raise NotEditable(f"post {post_id} is {post.status}; only drafts need "
                                      "approval")
                post.approved_by, post.approved_at = actor.name, now
                self._move(s, post, A.APPROVE, actor, now, S.QUEUED, "approved")
                approved.append(post)
                # A pair is approved together: the two versions say the same thing.
                partner = s.get(Post, post.pair_id) if post.pair_id else None
                if partner is not None and partner.status == S.DRAFT:
                    partner.approved_by, partner.approved_at = actor.name, now
                    self._move(s, partner, A.APPROVE, actor, now, S.QUEUED,
                               f"approved with its pair partner, post {post.id}")
                    approved.append(partner)
            return approved

    def retry(self, post_id: int, *, actor: Actor, now: datetime) -> Post:
        """Queue a failed or needs_review post again, due now; under review, one that carries
        no approval goes to draft instead. Raises `IllegalTransition`, `NotPermitted`."""
        with self.session() as s:
            post = self._get(s, post_id)
            target = self._queue_or_draft(post)
            post.scheduled_at = now
            self._move(s, post, A.RETRY, actor, now, target,
                       "queued again by staff" if target == S.QUEUED
                       else "sent to draft by a retry: it needs an approval first")
            partner = s.get(Post, post.pair_id) if post.pair_id else None
            if partner is not None and partner.status == S.FAILED:
                # It failed only because this one did: the pair goes (or not) together again.
                partner.scheduled_at = now
                self._move(s, partner, A.RETRY, actor, now, self._queue_or_draft(partner),
                           f"queued again with its pair partner, post {post.id}")
            return post

    def resolve_published(self, post_id: int, *, remote_id: str, remote_url: str | None,
                          actor: Actor, now: datetime) -> Post:
        """Staff confirm that a post in doubt is on the platform under `remote_id` (at
        `remote_url`, an http(s) address). Raises `NotEditable`, `BadLink`, `NotPermitted`."""
        remote_id, remote_url = check_remote(remote_id, remote_url)
        with self.session() as s:
            post = self._get(s, post_id)
            check_actor(actor, A.RESOLVE)
            if post.status != S.NEEDS_REVIEW:
                raise NotEditable(f"post {post_id} is {post.status}; only needs_review posts "
                                  "are resolved by hand")
            post.remote_id, post.remote_url, post.published_at = remote_id, remote_url, now
            self._move(s, post, A.RESOLVE, actor, now, S.PUBLISHED,
                       f"confirmed published as {remote_id} by staff")
            return post

    def queue(self, account: str | None = None) -> list[Post]:
        with self.reading() as s:
            query = (select(Post).where(Post.status.in_([S.DRAFT, S.QUEUED, S.PUBLISHING]))
                     .order_by(Post.scheduled_at, Post.id))
            if account:
                query = query.where(Post.account == account)
            return list(s.scalars(query.options(selectinload(Post.document),
                                                selectinload(Post.section))))

    def history(self, f: HistoryFilter = HistoryFilter()) -> list[Post]:
        """Posts in every state, newest first, filtered by `f`. A search is full-text: words,
        all must appear (any order; "a phrase" in that order); case and diacritics ignored;
        whole words only. Served by the search index of migration 0005 on both databases."""
        with self.reading() as s:
            query = select(Post).order_by(func.coalesce(Post.published_at, Post.scheduled_at)
                                          .desc(), Post.id.desc())
            if f.account:
                query = query.where(Post.account == f.account)
            if f.status:
                query = query.where(Post.status == f.status)
            when = func.coalesce(Post.published_at, Post.scheduled_at)
            if f.since:
                query = query.where(when >= f.since)
            if f.until:
                query = query.where(when < f.until)
            if f.after is not None:
                # Spelled out rather than as a row value so SQLite uses the index for a range.
                key, last_id = f.after
                query = query.where(when <= key, or_(when < key, Post.id < last_id))
            if f.search:
                terms = parse_search(f.search)
                dialect = self.engine.dialect.name
                query = query.where(search_condition(
                    Post.id, Post.text, terms, dialect,
                    common=dialect == "sqlite" and self._is_common(s, terms)))
            query = query.offset(f.offset)
            if f.limit is not None:
                query = query.limit(f.limit)
            return list(s.scalars(query.options(selectinload(Post.document),
                                                selectinload(Post.section))))

    @staticmethod
    def _is_common(s: Session, terms: list[search.Term]) -> bool:
        """Whether so many posts match (SQLite) that history is better read in order, checking
        each post, than by sorting every match. Counting stops at the threshold: cheap."""
        threshold = search.common_threshold(s.scalar(select(func.max(Post.id))) or 0)
        counted = search.fts5_matches(terms).limit(threshold).subquery()
        return s.scalar(select(func.count()).select_from(counted)) >= threshold

    def scheduled_times(self, account: str) -> list[datetime]:
        """When this account's upcoming posts are due (used to find free slots)."""
        with self.reading() as s:
            return list(s.scalars(select(Post.scheduled_at).where(
                Post.account == account,
                Post.status.in_([S.DRAFT, S.QUEUED, S.PUBLISHING])).distinct()))

    # -- the daemon ---------------------------------------------------------------------------

    def last_publish(self, account: str) -> tuple[datetime, datetime] | None:
        """(scheduled_at, published_at) of the account's most recently published post."""
        with self.reading() as s:
            row = s.execute(select(Post.scheduled_at, Post.published_at).where(
                Post.account == account, Post.status == S.PUBLISHED,
                Post.published_at.is_not(None)).order_by(Post.published_at.desc())
                .limit(1)).first()
            return (row[0], row[1]) if row is not None else None

    def claim_next(self, account: str, *, worker: str, now: datetime, lease: timedelta,
                   exclude: Collection[int] = (),
                   overdue_after: tuple[datetime, datetime] | None = None) -> Post | None:
        """Claim this account's next due post for `worker`, or None; posts in `exclude` (ones
        the caller has decided must wait) are passed over.

        A post is due when it is queued, its time has come and (for a thread part) the part
        before it is published. The claim is one conditional UPDATE, so of several processes
        racing for the same post exactly one wins.

        `overdue_after` is (not_after, cutoff): a post scheduled no later than `not_after` (it
        was overdue already when the account last published) is due only once its time is no
        later than `cutoff` (see `Dispatcher`: overdue posts keep their spacing).
        """
        parent, partner, partner_parent = _PARENT, _PARTNER, _PARTNER_PARENT
        partner_state = _PARTNER_STATE
        # Both or neither: the leading post of a pair (lower id) goes only when its partner is
        # due too and the partner's account may publish; the other goes once the leader is out.
        partner_ready = and_(
            partner.status == S.QUEUED, partner.scheduled_at <= now,
            or_(partner.parent_id.is_(None), partner_parent.status == S.PUBLISHED),
            or_(partner_state.name.is_(None),
                and_(partner_state.paused.is_(False),
                     or_(partner_state.held_until.is_(None), partner_state.held_until <= now))))
        approved = and_(Post.approved_by.is_not(None),
                        Post.approved_by != Post.created_by if self.review.two_person_rule
                        else true())
        query = (select(Post.id).outerjoin(parent, Post.parent_id == parent.id)
                 .outerjoin(partner, Post.pair_id == partner.id)
                 .outerjoin(partner_parent, partner.parent_id == partner_parent.id)
                 .outerjoin(partner_state, partner.account == partner_state.name)
                 .where(Post.account == account, Post.status == S.QUEUED,
                        Post.scheduled_at <= now,
                        # Defence in depth: whatever its status says, a post that review
                        # requires an approval for is not sent without one.
                        approved if self.review.require_approval else true(),
                        (or_(Post.scheduled_at > overdue_after[0],
                             Post.scheduled_at <= overdue_after[1])
                         if overdue_after is not None else True),
                        or_(Post.parent_id.is_(None), parent.status == S.PUBLISHED),
                        or_(Post.pair_id.is_(None),
                            and_(Post.id > Post.pair_id, partner.status == S.PUBLISHED),
                            and_(Post.id < Post.pair_id, partner_ready)))
                 .order_by(Post.scheduled_at, Post.id))
        if exclude:
            query = query.where(Post.id.not_in(list(exclude)))
        if self.engine.dialect.name == "postgresql":
            # Daemons sharing the database skip rows another is claiming instead of queueing
            # behind its lock; the conditional UPDATE below stays the arbiter.
            query = query.limit(1).with_for_update(of=Post, skip_locked=True)
        else:
            query = query.limit(5)
        daemon = Actor(worker, DAEMON)
        with self.session() as s:
            candidates = s.scalars(query).all()
            for post_id in candidates:
                if self.review.require_approval and self._approval_problem(
                        s, s.get(Post, post_id)):
                    continue  # never sent; staff see it in the queue without an approval
                # The conditional UPDATE is the arbiter between racing daemons; the state
                # change itself goes through _move like every other.
                won = s.execute(
                    update(Post).where(Post.id == post_id, Post.status == S.QUEUED)
                    .values(claimed_by=worker, lease_until=now + lease, updated_at=now)
                    .execution_options(synchronize_session=False)).rowcount
                if won == 1:
                    post = s.get(Post, post_id, populate_existing=True)
                    self._move(s, post, A.CLAIM, daemon, now, S.PUBLISHING)
                    return post
            return None

    def reclaim_expired(self, account: str, *, worker: str, now: datetime, lease: timedelta
                        ) -> Post | None:
        """Take over one post whose holder's lease ran out (that daemon died mid-publish).

        Its unfinished attempt is closed as `abandoned`, so the dispatcher knows to look at the
        account's timeline before sending anything.
        """
        with self.session() as s:
            candidates = s.scalars(
                select(Post.id).where(Post.account == account, Post.status == S.PUBLISHING,
                                      Post.lease_until < now).order_by(Post.id).limit(5)).all()
            for post_id in candidates:
                won = s.execute(
                    update(Post).where(Post.id == post_id, Post.status == S.PUBLISHING,
                                       Post.lease_until < now)
                    .values(claimed_by=worker, lease_until=now + lease, updated_at=now)
                    .execution_options(synchronize_session=False)).rowcount
                if won != 1:
                    continue
                s.execute(update(Attempt).where(Attempt.post_id == post_id,
                                                Attempt.outcome.is_(None))
                          .values(outcome="abandoned", finished_at=now,
                                  explanation="the daemon stopped while this request was in "
                                              "flight")
                          .execution_options(synchronize_session=False))
                post = s.get(Post, post_id, populate_existing=True)
                self._move(s, post, A.RECLAIM, Actor(worker, DAEMON), now, S.PUBLISHING,
                           "lease expired; previous holder presumed dead")
                return post
            return None

    def release_claims(self, worker: str, *, now: datetime) -> int:
        """Hand back posts a stopping worker claimed but never started sending."""
        with self.session() as s:
            posts = s.scalars(select(Post).where(Post.status == S.PUBLISHING,
                                                 Post.claimed_by == worker)).all()
            released = 0
            for post in posts:
                in_flight = s.scalar(select(func.count()).select_from(Attempt).where(
                    Attempt.post_id == post.id, Attempt.outcome.is_(None)))
                if in_flight:
                    continue
                post.claimed_by = post.lease_until = None
                self._move(s, post, A.RELEASE, Actor(worker, DAEMON), now, S.QUEUED,
                           "daemon stopping")
                released += 1
            return released

    def last_outcome(self, post_id: int) -> str | None:
        with self.reading() as s:
            return s.scalar(select(Attempt.outcome).where(Attempt.post_id == post_id)
                            .order_by(Attempt.id.desc()).limit(1))

    def first_attempt_at(self, post_id: int) -> datetime | None:
        with self.reading() as s:
            return s.scalar(select(func.min(Attempt.started_at)).where(
                Attempt.post_id == post_id))

    def start_attempt(self, post_id: int, *, worker: str, now: datetime) -> int:
        """Record that a request is about to be sent; committed before the request goes out."""
        with self.session() as s:
            post = self._get(s, post_id)
            if post.status != S.PUBLISHING or post.claimed_by != worker:
                raise StoreError(f"post {post_id} is no longer claimed by {worker}")
            post.attempt_count += 1
            attempt = Attempt(post_id=post_id, worker=worker, started_at=now)
            s.add(attempt)
            s.flush()
            return attempt.id

    def finish_attempt(self, result: AttemptResult, *, now: datetime) -> None:
        """Close an attempt whose consequence is decided later (an unsure outcome)."""
        with self.session() as s:
            self._close_attempt(s, result, now)

    def mark_published(self, post_id: int, *, worker: str, remote_id: str, remote_url: str,
                       now: datetime, reason: str = "published",
                       attempt: AttemptResult | None = None) -> Post:
        with self.session() as s:
            self._close_attempt(s, attempt, now)
            post = self._get(s, post_id)
            post.remote_id, post.remote_url, post.published_at = remote_id, remote_url, now
            post.claimed_by = post.lease_until = None
            post.last_error = None
            self._move(s, post, A.PUBLISH, Actor(worker, DAEMON), now, S.PUBLISHED, reason)
            return post

    def requeue(self, post_id: int, *, worker: str, at: datetime, reason: str, now: datetime,
                attempt: AttemptResult | None = None) -> Post:
        """Put a claimed post back in the queue, due at `at` (a retry or a platform hold)."""
        with self.session() as s:
            self._close_attempt(s, attempt, now)
            post = self._get(s, post_id)
            post.scheduled_at = at
            post.claimed_by = post.lease_until = None
            post.last_error = reason
            self._move(s, post, A.REQUEUE, Actor(worker, DAEMON), now, S.QUEUED, reason)
            return post

    def mark_failed(self, post_id: int, *, worker: str, reason: str, now: datetime,
                    status: PostStatus = S.FAILED, attempt: AttemptResult | None = None
                    ) -> list[Post]:
        """Fail a claimed post (or send it to needs_review). Later parts of its thread fail
        too: a thread never continues past a part that was not published."""
        with self.session() as s:
            self._close_attempt(s, attempt, now)
            post = self._get(s, post_id)
            post.claimed_by = post.lease_until = None
            partner = s.get(Post, post.pair_id) if post.pair_id else None
            if partner is not None and partner.status == S.PUBLISHED:
                # The other language is already out and cannot be taken back from here.
                status = S.NEEDS_REVIEW
                reason = (f"{reason}; its pair partner, post {partner.id} on {partner.account},"
                          " is already published, so the pair is incomplete: fix and retry this"
                          " post, or remove the partner from the platform by hand")
            post.last_error = reason
            daemon = Actor(worker, DAEMON)
            self._move(s, post, A.FAIL, daemon, now, status, reason)
            changed = [post]
            # (failed post, the first failed part of its thread)
            pending = [(post, post)]
            while pending:
                failed, origin = pending.pop(0)
                child = s.scalar(select(Post).where(Post.parent_id == failed.id))
                other = s.get(Post, failed.pair_id) if failed.pair_id else None
                for follower, why, root in (
                        (child, f"not sent: part {origin.thread_position}/{origin.thread_size} "
                                "of this thread was not published", origin),
                        (other, f"not sent: its pair partner, post {failed.id}, was not "
                                "published", other)):
                    if follower is not None and follower.status in (S.QUEUED, S.DRAFT):
                        follower.last_error = why
                        self._move(s, follower, A.FAIL, daemon, now, S.FAILED, why)
                        changed.append(follower)
                        pending.append((follower, root))
            return changed

    def thread_from(self, post_id: int) -> list[Post]:
        """A post and the parts of its thread after it, in order."""
        with self.reading() as s:
            chain = [self._get(s, post_id)]
            while len(chain) < chain[0].thread_size + 1:
                child = s.scalar(select(Post).where(Post.parent_id == chain[-1].id)
                                 .order_by(Post.id).limit(1))
                if child is None:
                    break
                chain.append(child)
            return chain

    def latest_remote_id(self, account: str, *, before: datetime) -> str | None:
        """The remote id of this account's newest post published before `before`."""
        with self.reading() as s:
            return s.scalar(select(Post.remote_id).where(
                Post.account == account, Post.status == S.PUBLISHED,
                Post.remote_id.is_not(None), Post.published_at < before)
                .order_by(Post.published_at.desc(), Post.id.desc()).limit(1))

    def parent_remote_id(self, post: Post) -> str | None:
        if post.parent_id is None:
            return None
        with self.reading() as s:
            return s.scalar(select(Post.remote_id).where(Post.id == post.parent_id))

    def next_due_at(self, accounts: Sequence[str] | None = None,
                    exclude: Collection[int] = ()) -> datetime | None:
        """When the soonest queued post (or expiring lease) needs the daemon; posts in
        `exclude` (ones the daemon has decided must wait) are left out."""
        partner, partner_state = _PARTNER, _PARTNER_STATE
        # A pair whose partner cannot go (its account paused, itself not queued) is not work.
        blocked = (select(Post.id).join(partner, Post.pair_id == partner.id)
                   .outerjoin(partner_state, partner.account == partner_state.name)
                   .where(Post.status == S.QUEUED,
                          or_(partner_state.paused.is_(True),
                              partner.status.not_in([S.QUEUED, S.PUBLISHING, S.PUBLISHED]))))
        with self.reading() as s:
            due = select(func.min(Post.scheduled_at)).where(Post.status == S.QUEUED,
                                                            Post.id.not_in(blocked))
            lease = select(func.min(Post.lease_until)).where(Post.status == S.PUBLISHING)
            if exclude:
                due = due.where(Post.id.not_in(list(exclude)))
            if accounts is not None:
                due = due.where(Post.account.in_(accounts))
                lease = lease.where(Post.account.in_(accounts))
            times = [t for t in (s.scalar(due), s.scalar(lease)) if t is not None]
            return min(times) if times else None

    def pending_count(self, accounts: Sequence[str] | None = None) -> int:
        """Posts the daemon still has to deal with (queued or publishing)."""
        with self.reading() as s:
            query = select(func.count()).select_from(Post).where(
                Post.status.in_([S.QUEUED, S.PUBLISHING]))
            if accounts is not None:
                query = query.where(Post.account.in_(accounts))
            return s.scalar(query)

    def budget_reopens_at(self, account: str | Sequence[str], *, since: datetime, posts: int
                          ) -> datetime | None:
        """None while this account (or these accounts together) published fewer than `posts`
        posts since `since`; otherwise the publish time of the `posts`-th most recent one (the
        budget reopens when it leaves the window). Reads at most `posts` rows, whatever the
        history holds."""
        accounts = [account] if isinstance(account, str) else list(account)
        with self.reading() as s:
            return s.scalar(select(Post.published_at).where(
                Post.account.in_(accounts), Post.status == S.PUBLISHED,
                Post.published_at >= since).order_by(Post.published_at.desc())
                .offset(posts - 1).limit(1))

    # -- accounts and workers -----------------------------------------------------------------

    def account_state(self, name: str) -> AccountState:
        with self.reading() as s:
            return s.get(AccountState, name) or AccountState(name=name, paused=False)

    def account_states(self) -> dict[str, AccountState]:
        with self.reading() as s:
            return {a.name: a for a in s.scalars(select(AccountState))}

    def hold_account(self, name: str, *, until: datetime, reason: str) -> None:
        """The platform asked for a pause until `until` (rate limit); not a staff decision."""
        with self.session() as s:
            state = self._state(s, name)
            state.held_until, state.held_reason = until, reason

    def pause_account(self, name: str, *, actor: Actor, reason: str, now: datetime) -> None:
        """Hold an account's posts (an admin, or the daemon when the platform rejects the
        credentials). Raises `NotPermitted`."""
        check_actor(actor, A.PAUSE)
        with self.session() as s:
            state = self._state(s, name)
            if state.paused:
                return
            state.paused, state.paused_reason, state.paused_at = True, reason, now
            s.add(AuditEntry(at=now, actor=actor.name, action="pause", account=name,
                             reason=reason))

    def resume_account(self, name: str, *, actor: Actor, now: datetime) -> bool:
        """Let a paused account publish again (an admin). Raises `NotPermitted`."""
        check_actor(actor, A.RESUME)
        with self.session() as s:
            state = self._state(s, name)
            if not state.paused:
                return False
            state.paused, state.paused_reason, state.paused_at = False, None, None
            s.add(AuditEntry(at=now, actor=actor.name, action="resume", account=name,
                             reason="resumed"))
            return True

    def heartbeat(self, worker: str, *, now: datetime, stopping: bool = False) -> None:
        with self.session() as s:
            row = s.get(Worker, worker)
            if row is None:
                row = Worker(id=worker, started_at=now)
                s.add(row)
            row.last_seen = now
            row.stopped_at = now if stopping else None

    def workers(self) -> list[Worker]:
        with self.reading() as s:
            return list(s.scalars(select(Worker).order_by(Worker.last_seen.desc())))

    def counts_by_status(self) -> dict[str, int]:
        with self.reading() as s:
            rows = s.execute(select(Post.status, func.count()).group_by(Post.status)).all()
            return {status: count for status, count in rows}

    def last_error(self) -> Attempt | None:
        with self.reading() as s:
            return s.scalar(select(Attempt).where(and_(Attempt.outcome.is_not(None),
                                                       Attempt.outcome != "published"))
                            .order_by(Attempt.id.desc()).limit(1))

    # -- internals ----------------------------------------------------------------------------

    @staticmethod
    def _get(s: Session, post_id: int) -> Post:
        if not isinstance(post_id, int) or not 1 <= post_id <= MAX_ID:
            raise PostNotFound(post_id)
        post = s.get(Post, post_id)
        if post is None:
            raise PostNotFound(post_id)
        return post

    @staticmethod
    def _media_row(s: Session, media: Media, now: datetime) -> MediaItem:
        """The stored row for this image and alt text, created on first use."""
        row = s.scalar(select(MediaItem).where(MediaItem.sha256 == media.sha256,
                                               MediaItem.alt_text == media.alt_text))
        if row is None:
            row = MediaItem(sha256=media.sha256, mime_type=media.mime_type,
                            content=media.content, alt_text=media.alt_text, size=media.size,
                            created_at=now)
            s.add(row)
            s.flush()
        return row

    @staticmethod
    def _wrote(s: Session, post: Post, actor: str) -> bool:
        if post.created_by == actor:
            return True
        edits = s.scalars(select(AuditEntry.reason).where(
            AuditEntry.post_id == post.id, AuditEntry.actor == actor,
            AuditEntry.action == "edit"))
        return any(reason and reason.startswith("edited text") for reason in edits)

    @staticmethod
    def _close_attempt(s: Session, result: AttemptResult | None, now: datetime) -> None:
        if result is None:
            return
        attempt = s.get(Attempt, result.attempt_id)
        attempt.outcome, attempt.finished_at = result.outcome, now
        attempt.error_code, attempt.error_message = result.error_code, result.error_message
        attempt.explanation, attempt.remote_id = result.explanation, result.remote_id

    @staticmethod
    def _state(s: Session, name: str) -> AccountState:
        state = s.get(AccountState, name)
        if state is None:
            state = AccountState(name=name, paused=False)
            s.add(state)
        return state

    def _queue_or_draft(self, post: Post) -> PostStatus:
        """Where a post staff send back towards publishing goes: queued, or draft when review
        requires an approval it does not carry."""
        if self.review.require_approval and post.approved_by is None:
            return S.DRAFT
        return S.QUEUED

    def _create(self, s: Session, post: Post, actor: Actor, status: PostStatus, reason: str,
                now: datetime) -> None:
        """Add a new post in `status` (draft or queued) with its `create` audit entry."""
        check_move(None, A.CREATE, actor, None, status)
        if self.review.require_approval and status != S.DRAFT:
            raise NeedsApproval("review is required, so new posts are drafts until an "
                                "approver approves them")
        post.status = status
        s.add(post)
        s.flush()
        self._audit(s, post, actor.name, A.CREATE, None, status, reason, now)

    def _approval_problem(self, s: Session, post: Post) -> str | None:
        """Why review does not let `post` be queued or sent, or None."""
        if not self.review.require_approval:
            return None
        if post.approved_by is None:
            return (f"post {post.id} has no approval; review is required, so an approver must "
                    f"approve it first (factpost post approve {post.id})")
        if self.review.two_person_rule and self._wrote(s, post, post.approved_by):
            return (f"post {post.id} was approved by {post.approved_by}, who wrote or edited "
                    "it; under the two-person rule another approver must approve it")
        return None

    def _move(self, s: Session, post: Post, action: Action, actor: Actor, now: datetime,
              target: PostStatus, reason: str | None = None) -> None:
        """The one way a post changes state: checks that `action` connects the two states,
        that `actor` may take it and that the review rules allow it, then writes the audit
        entry in the same transaction. Raises `IllegalTransition`, `NotPermitted`,
        `SelfApproval`, `NeedsApproval`."""
        check_move(post.id, action, actor, post.status, target)
        review = self.review
        if action is A.APPROVE and review.two_person_rule and self._wrote(s, post, actor.name):
            raise SelfApproval(f"post {post.id} was written or edited by {actor.name}; under "
                               "the two-person rule another approver must approve it")
        # The daemon only hands back to the queue what it claimed, and a claim needs the
        # approval; staff never queue (and the daemon never claims) an unapproved post.
        if (target == S.QUEUED and actor.role != DAEMON) or action is A.CLAIM:
            problem = self._approval_problem(s, post)
            if problem:
                raise NeedsApproval(problem)
        previous = post.status
        post.status = target
        post.updated_at = now
        self._audit(s, post, actor.name, action, previous, target, reason, now)

    @staticmethod
    def _audit(s: Session, post: Post, actor: str, action: str, from_status: str | None,
               to_status: str | None, reason: str | None, now: datetime) -> None:
        s.add(AuditEntry(at=now, actor=actor, action=action, post_id=post.id,
                         account=post.account, from_status=from_status, to_status=to_status,
                         reason=reason))
