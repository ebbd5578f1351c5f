"""The one engine and session helper every part of the store shares: transactions that write
and transactions that only read, the office's review rules, and loading a post by id.

Each concern of the store (store.py lists them) is a small class over one `Database`, and
each of its public methods is one transaction.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext

from sqlalchemy import Connection, Engine, QueuePool
from sqlalchemy.orm import Session, sessionmaker

from db.engine import READ_ONLY
from db.errors import MAX_ID, PostNotFound
from db.models import Post
from posts.states import NO_REVIEW, Review

#: Seconds a held connection (`Database.holding`) may idle before its next transaction is
#: preceded by a ping, as a checkout from the pool is (`pool_pre_ping`). A server or proxy
#: that closes idle sessions (PostgreSQL's idle_session_timeout, a pooler's or firewall's
#: idle timeout) closes one while a slow request goes out between two transactions, and the
#: transaction after would fail as if the database were down; one idle less than this, as
#: between the posts of a fast API, is used without the round trip.
PING_AFTER = 1.0


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
        #: The connection a thread holds between its write transactions (`holding`).
        self._held = threading.local()
        # Held connections stay out of the pool: at most as many as it keeps (QueuePool's
        # pool_size), so that holding never leaves other threads only its overflow; past
        # that, a thread checks one out per transaction as without `holding`.
        self._hold_slots = (threading.BoundedSemaphore(engine.pool.size())
                            if isinstance(engine.pool, QueuePool) else None)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction that may write (on SQLite it holds the write lock from the start)."""
        with self._write_lock, self._sessions.begin() as session:
            yield session

    @contextmanager
    def writing(self) -> Iterator[CoreTransaction]:
        """A transaction that may write, through SQLAlchemy Core, without an ORM Session: the
        daemon's claim and outcome, one a post (db/queue.py `claim`). Its steps run statements
        on `CoreTransaction.connection`, and one that needs the ORM (review, a monthly cap, a
        budget used up) asks for `CoreTransaction.orm`. Audit rows are chained as a Session's
        are at commit (db/audit.py). On SQLite it holds the write lock from the start."""
        held = getattr(self._held, "connection", None)
        if held is not None and held.in_transaction():
            # A transaction within another (none on the daemon's path) gets a connection of
            # its own; on SQLite it then waits for the outer one's write lock, as a nested
            # `session()` does.
            held = None
        elif held is not None:
            self._wake(held)
        with (self._write_lock,
              nullcontext(held) if held is not None else self.engine.connect() as connection,
              connection.begin()):
            transaction = CoreTransaction(connection)
            try:
                yield transaction
                transaction.before_commit()
            finally:
                transaction.close()

    @contextmanager
    def holding(self) -> Iterator[None]:
        """Within it, this thread's `writing` transactions reuse one pooled connection instead
        of checking one out each: the daemon's account threads hold one while they drain their
        queue, so a post does not pay a checkout, its reset and (PostgreSQL) its ping. The
        connection is idle between transactions, never inside one across a request; one that
        idled longer than `PING_AFTER` is pinged first, as the pool pings a checkout, and
        replaced if the server closed it. Otherwise a connection lost meanwhile fails the
        transaction that next uses it (a DBAPIError, as any outage does: the daemon waits and
        tries again); the one after reconnects, as SQLAlchemy revalidates an invalidated
        Connection on its next use."""
        if (getattr(self._held, "connection", None) is not None  # held further up already
                or self._hold_slots is None or not self._hold_slots.acquire(blocking=False)):
            yield
            return
        try:
            with self.engine.connect() as connection:
                self._held.connection, self._held.since = connection, time.monotonic()
                try:
                    yield
                finally:
                    self._held.connection = None
        finally:
            self._hold_slots.release()

    def _wake(self, held: Connection) -> None:
        """Before a transaction on `held`: ping it if it idled longer than `PING_AFTER` since
        the last one began. A failed ping invalidates it, so that the transaction's begin
        checks out another (pinged by the pool) instead of failing on a closed one. SQLite's
        file is never closed under a connection: not pinged."""
        now = time.monotonic()
        idle, self._held.since = now - self._held.since, now
        if idle <= PING_AFTER or self.dialect == "sqlite":
            return
        dialect = held.dialect
        try:
            dialect.do_ping(held.connection.dbapi_connection)
        except dialect.loaded_dbapi.Error as err:
            held.invalidate(err)

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A transaction that only reads; on SQLite it never waits for the write lock. The
        daemon's per-post checks go through here, so account threads do not queue behind one
        another's writes (benchmarks/run.py)."""
        with self._readers.begin() as session:
            yield session


class CoreTransaction:
    """One write transaction on a Connection (`Database.writing`): what the daemon's steps
    take where others take a Session. `info` holds what the transaction keeps until it
    commits (the audit rows `db.audit.write_later` holds back), as `Session.info` does."""

    __slots__ = ("_orm", "connection", "info")

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.info: dict = {}
        self._orm: Session | None = None

    @property
    def orm(self) -> Session:
        """An ORM Session in this same transaction, made when first asked for (a step that
        loads posts: review, a monthly cap, a budget's hold). It never commits: the
        transaction does, after flushing it."""
        if self._orm is None:
            # "rollback_only": joined to a transaction it did not begin, the Session neither
            # commits nor ends it, and a rollback of its own rolls the whole one back.
            # https://docs.sqlalchemy.org/en/20/orm/session_api.html#sqlalchemy.orm.Session.params.join_transaction_mode
            self._orm = Session(bind=self.connection, expire_on_commit=False,
                                join_transaction_mode="rollback_only")
            # One place for what is kept until commit, whichever way a step wrote it.
            self._orm.info.update(self.info)
            self.info = self._orm.info
        return self._orm

    def before_commit(self) -> None:
        target: CoreTransaction | Session = self
        if self._orm is not None:
            self._orm.flush()  # what its steps changed (an account held), audit rows or not
            # The hooks see that Session (it shares `info`), as its own "before_commit"
            # listeners would.
            target = self._orm
        for hook in BEFORE_COMMIT:
            hook(target)

    def close(self) -> None:
        if self._orm is not None:
            self._orm.close()


#: Called with each `CoreTransaction` (or the ORM Session in it) before it commits, as
#: Session's "before_commit" event listeners are with a Session: db/audit.py chains its rows.
BEFORE_COMMIT: list[Callable[[CoreTransaction | Session], None]] = []


def session_of(s: Session | CoreTransaction) -> Session:
    """The ORM Session of a transaction: `s` itself, or a CoreTransaction's `orm`."""
    return s if isinstance(s, Session) else s.orm


def load_post(s: Session, post_id: int) -> Post:
    """The post with this id in session `s`; raises PostNotFound (also for an id no
    database could hold)."""
    if not isinstance(post_id, int) or not 1 <= post_id <= MAX_ID:
        raise PostNotFound(post_id)
    post = s.get(Post, post_id)
    if post is None:
        raise PostNotFound(post_id)
    return post
