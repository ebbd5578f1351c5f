"""The one engine and session helper every part of the store shares: transactions that write
and transactions that only read, the office's review rules, and loading a post by id.

Each concern of the store (store.py lists them) is a small class over one `Database`, and
each of its public methods is one transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from db.engine import READ_ONLY
from db.errors import MAX_ID, PostNotFound
from db.models import Post
from posts.states import NO_REVIEW, Review


class Database:
    """An engine, its sessions, and the review rules every state change is checked against
    (set from config.toml by whoever opens the store)."""

    def __init__(self, engine: Engine, review: Review = NO_REVIEW) -> None:
        self.engine = engine
        self.review = review
        #: "sqlite" or "postgresql": where a query must differ, it asks.
        self.dialect = engine.dialect.name
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._readers = sessionmaker(engine.execution_options(**{READ_ONLY: True}),
                                     expire_on_commit=False)
        # SQLite has one writer at a time, and a connection that finds the lock taken polls
        # for it with growing sleeps (up to 100 ms). Threads of one process queue on this lock
        # instead and start the moment the writer before them commits; other processes still
        # meet SQLite's busy timeout.
        self._write_lock = (threading.RLock() if self.dialect == "sqlite" else nullcontext())

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


def load_post(s: Session, post_id: int) -> Post:
    """The post with this id in session `s`; raises PostNotFound (also for an id no
    database could hold)."""
    if not isinstance(post_id, int) or not 1 <= post_id <= MAX_ID:
        raise PostNotFound(post_id)
    post = s.get(Post, post_id)
    if post is None:
        raise PostNotFound(post_id)
    return post
