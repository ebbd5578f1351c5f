"""The store: the database, one concern at a time.

    store.documents   documents and imports (documents.py)
    store.posts       staff actions on posts (staff.py)
    store.queue       what is due, claims and leases (queue.py)
    store.outcomes    attempts and what they lead to (outcomes.py)
    store.accounts    account pauses and holds (accounts.py)
    store.workers     the daemons' heartbeats (accounts.py)
    store.history     reading posts back, history and search (history.py)
    store.retractions retractions, corrections, acknowledgments (retractions.py)
    store.media       stored images (media.py)
    store.spend       the spend ledger of platforms that bill (spend.py)
    store.users       users, sessions, API tokens (users.py)
    store.alerts      the alert outbox and its deliveries (alerts.py)
    store.measures    aggregates for /metrics and /healthz (metrics.py)
    store.records     a period's records for an archive; the audit chain's check (records.py)

Every state change goes through one transition function (transitions.py), which checks the
action against posts.states and writes the audit entry in the same transaction, so a post
never changes state without a record of who did it and why. Each concern's public methods are
one transaction each, over one shared `Database` (database.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from db.accounts import Accounts, Workers
from db.alerts import AlertStore
from db.database import Database
from db.documents import Documents, ImportOutcome, PlannedPost, Relink
from db.engine import make_engine
from db.history import History, HistoryFilter, history_key
from db.media import MediaStore
from db.metrics import Measures
from db.outcomes import UNSURE_OUTCOMES, AttemptResult, Outcomes
from db.queue import Due, Queue
from db.records import Records
from db.retractions import Retractions
from db.spend import SpendStore
from db.staff import ComposedThread, StaffActions
from db.users import UserStore
from posts.states import NO_REVIEW, Review

__all__ = ["UNSURE_OUTCOMES", "AttemptResult", "ComposedThread", "Due", "HistoryFilter",
           "ImportOutcome",
           "PlannedPost", "Relink", "Store", "history_key"]


class Store:
    """The database, by concern. `review` is the office's review rules, which every state
    change is checked against (set from config.toml by whoever opens the store)."""

    def __init__(self, engine: Engine, review: Review = NO_REVIEW) -> None:
        self.db = Database(engine, review)
        self.documents = Documents(self.db)
        self.posts = StaffActions(self.db)
        self.queue = Queue(self.db)
        self.outcomes = Outcomes(self.db)
        self.accounts = Accounts(self.db)
        self.workers = Workers(self.db)
        self.history = History(self.db)
        self.retractions = Retractions(self.db)
        self.media = MediaStore(self.db)
        self.spend = SpendStore(self.db)
        self.users = UserStore(self.db)
        self.alerts = AlertStore(self.db)
        self.measures = Measures(self.db)
        self.records = Records(self.db)

    @classmethod
    def open(cls, url: str, review: Review = NO_REVIEW) -> Store:
        return cls(make_engine(url), review)

    @property
    def engine(self) -> Engine:
        return self.db.engine

    @property
    def review(self) -> Review:
        return self.db.review

    @review.setter
    def review(self, review: Review) -> None:
        self.db.review = review

    def close(self) -> None:
        self.db.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction that may write, for what no concern covers (migrations, benchmarks,
        tests that set up rows by hand)."""
        with self.db.session() as session:
            yield session

    @contextmanager
    def holding(self) -> Iterator[None]:
        """Within it, this thread's claims and outcomes reuse one database connection
        (db/database.py `Database.holding`): the daemon's account threads, while they drain."""
        with self.db.holding():
            yield

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A transaction that only reads."""
        with self.db.reading() as session:
            yield session
