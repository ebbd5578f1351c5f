"""Reading posts back: one post with its attempts and audit trail, the queue as staff see it,
threads, and the history with its full-text search and key-based paging."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from db import search
from db.database import Database, load_post
from db.errors import MAX_ID, BadFilter, EmptySearch, PostNotFound
from db.models import Attempt, AuditEntry, Post
from db.search import parse_search, search_condition
from posts.states import PostStatus

S = PostStatus


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


def history_key(post: Post) -> tuple[datetime, int]:
    """Where a post sits in the history order; pass the last one shown as HistoryFilter.after."""
    return (post.published_at or post.scheduled_at, post.id)


class History:
    """Posts in every state, read only; each method is one (reading) transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, post_id: int) -> Post:
        """The post, with its attempts, document and section loaded; raises PostNotFound."""
        if not isinstance(post_id, int) or not 1 <= post_id <= MAX_ID:
            raise PostNotFound(post_id)
        with self.db.reading() as s:
            post = s.get(Post, post_id, options=[selectinload(Post.attempts),
                                                 selectinload(Post.document),
                                                 selectinload(Post.section)])
            if post is None:
                raise PostNotFound(post_id)
            return post

    def audit_trail(self, post_id: int) -> list[AuditEntry]:
        """Every audit entry of the post, oldest first."""
        with self.db.reading() as s:
            return list(s.scalars(select(AuditEntry).where(AuditEntry.post_id == post_id)
                                  .order_by(AuditEntry.id)))

    def upcoming(self, account: str | None = None) -> list[Post]:
        """Draft, queued and publishing posts (of `account`, or all), soonest first."""
        with self.db.reading() as s:
            query = (select(Post).where(Post.status.in_([S.DRAFT, S.QUEUED, S.PUBLISHING]))
                     .order_by(Post.scheduled_at, Post.id))
            if account:
                query = query.where(Post.account == account)
            return list(s.scalars(query.options(selectinload(Post.document),
                                                selectinload(Post.section))))

    def search(self, f: HistoryFilter = HistoryFilter()) -> list[Post]:
        """Posts in every state, newest first, filtered by `f`. A search is full-text: words,
        all must appear (any order; "a phrase" in that order); case and diacritics ignored;
        whole words only. Served by the search index of migration 0005 on both databases."""
        with self.db.reading() as s:
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
                dialect = self.db.dialect
                query = query.where(search_condition(
                    Post.id, Post.text, terms, dialect,
                    common=dialect == "sqlite" and _is_common(s, terms)))
            query = query.offset(f.offset)
            if f.limit is not None:
                query = query.limit(f.limit)
            return list(s.scalars(query.options(selectinload(Post.document),
                                                selectinload(Post.section))))

    def scheduled_times(self, account: str) -> list[datetime]:
        """When this account's upcoming posts are due (used to find free slots)."""
        with self.db.reading() as s:
            return list(s.scalars(select(Post.scheduled_at).where(
                Post.account == account,
                Post.status.in_([S.DRAFT, S.QUEUED, S.PUBLISHING])).distinct()))

    def counts_by_status(self) -> dict[str, int]:
        """How many posts are in each state, by state."""
        with self.db.reading() as s:
            rows = s.execute(select(Post.status, func.count()).group_by(Post.status)).all()
            return {status: count for status, count in rows}

    def last_error(self) -> Attempt | None:
        """The newest attempt that did not publish, if any."""
        with self.db.reading() as s:
            return s.scalar(select(Attempt).where(and_(Attempt.outcome.is_not(None),
                                                       Attempt.outcome != "published"))
                            .order_by(Attempt.id.desc()).limit(1))

    def thread_from(self, post_id: int) -> list[Post]:
        """A post and the parts of its thread after it, in order."""
        with self.db.reading() as s:
            return thread_chain(s, load_post(s, post_id))

    def latest_remote_id(self, account: str, *, before: datetime) -> str | None:
        """The remote id of this account's newest post published before `before`."""
        with self.db.reading() as s:
            return s.scalar(select(Post.remote_id).where(
                Post.account == account, Post.status == S.PUBLISHED,
                Post.remote_id.is_not(None), Post.published_at < before)
                .order_by(Post.published_at.desc(), Post.id.desc()).limit(1))

    def recorded_for_another(self, post: Post, remote_id: str) -> bool:
        """Whether another post of `post`'s account is recorded as `remote_id` on the
        platform (a remote post is one post's, never two's)."""
        with self.db.reading() as s:
            return s.scalar(select(Post.id).where(
                Post.account == post.account, Post.remote_id == remote_id,
                Post.id != post.id).limit(1)) is not None

    def unsettled_texts(self, post: Post, *, limit: int) -> list[str] | None:
        """The texts of `post`'s account's other posts that may be, or may yet become, live
        under no recorded id: queued, publishing, or in review (where a post whose outcome is
        unknown is sent). None when there are more than `limit` (the caller cannot tell them
        apart then, and must not guess)."""
        with self.db.reading() as s:
            texts = list(s.scalars(select(Post.text).where(
                Post.account == post.account, Post.id != post.id, Post.remote_id.is_(None),
                Post.status.in_([S.QUEUED, S.PUBLISHING, S.NEEDS_REVIEW])).limit(limit + 1)))
        return texts if len(texts) <= limit else None

    def parent_remote_id(self, post: Post) -> str | None:
        """The remote id of the post `post` replies to, once published: the thread part
        before it, or the post a correction answers (db/retractions.py); None for a post
        that replies to nothing."""
        replied = post.parent_id if post.parent_id is not None else (
            post.corrects_id if post.reply_to_corrected else None)
        if replied is None:
            return None
        with self.db.reading() as s:
            return s.scalar(select(Post.remote_id).where(Post.id == replied))

    def thread_of(self, post: Post) -> list[Post]:
        """Every part of `post`'s thread in order, as its parts now chain (a single post
        alone)."""
        with self.db.reading() as s:
            root = load_post(s, post.id)
            while root.parent_id is not None:
                root = load_post(s, root.parent_id)
        return self.thread_from(root.id)


def _is_common(s: Session, terms: list[search.Term]) -> bool:
    """Whether so many posts match (SQLite) that history is better read in order, checking
    each post, than by sorting every match. Counting stops at the threshold: cheap."""
    threshold = search.common_threshold(s.scalar(select(func.max(Post.id))) or 0)
    counted = search.fts5_matches(terms).limit(threshold).subquery()
    return s.scalar(select(func.count()).select_from(counted)) >= threshold


def thread_chain(s: Session, post: Post) -> list[Post]:
    """`post` and the parts of its thread after it, in order, read in session `s`."""
    chain = [post]
    while len(chain) < post.thread_size + 1:
        child = s.scalar(select(Post).where(Post.parent_id == chain[-1].id)
                         .order_by(Post.id).limit(1))
        if child is None:
            break
        chain.append(child)
    return chain
