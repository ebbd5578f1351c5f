"""The records of a period, read for an archive: the audit trail's rows of that period (a
stretch of the chain with no hole in it) and everything about each post they name. Read only,
in one transaction, so an archive is one consistent snapshot (scheduler/archive.py writes it).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from db import audit
from db.audit import ChainState
from db.database import Database
from db.models import (
    Attempt,
    AuditChainHead,
    AuditEntry,
    Document,
    MediaItem,
    Post,
    PostText,
    Section,
)

#: Rows read per query.
_PAGE = 1000


@dataclass(frozen=True)
class Period:
    """The stretch of the chain an archive holds: places `first`..`last` (none when `first`
    is None), the hash before it (`before`), and the whole trail's head when it was read."""

    first: int | None
    last: int | None
    before: str
    head: ChainState


class RecordsReader:
    """One snapshot of the store, read table by table; use inside `Records.snapshot()`."""

    def __init__(self, s, since: datetime | None, until: datetime | None) -> None:
        self.s = s
        self.period = self._period(since, until)
        self.post_ids = self._post_ids()

    def _period(self, since: datetime | None, until: datetime | None) -> Period:
        head_row = self.s.get(AuditChainHead, audit.HEAD_ID)
        head = ChainState(head_row.seq, head_row.row_hash) if head_row else ChainState()
        # From the first row written at or after `since` to the last written before `until`,
        # with every row in between: times come from several writers' clocks and need not
        # rise with the places, and an archive's stretch of the chain must have no hole.
        low = select(func.min(AuditEntry.seq))
        high = select(func.max(AuditEntry.seq))
        if since is not None:
            low = low.where(AuditEntry.at >= since)
            high = high.where(AuditEntry.at >= since)
        if until is not None:
            low = low.where(AuditEntry.at < until)
            high = high.where(AuditEntry.at < until)
        first, last = self.s.scalar(low), self.s.scalar(high)
        if first is None:
            return Period(None, None, head.row_hash, head)
        before = (self.s.scalar(select(AuditEntry.row_hash).where(AuditEntry.seq == first - 1))
                  if first > 1 else audit.GENESIS)
        return Period(first, last, before or audit.GENESIS, head)

    def _post_ids(self) -> list[int]:
        if self.period.first is None:
            return []
        return list(self.s.scalars(
            select(AuditEntry.post_id).where(AuditEntry.seq.between(self.period.first,
                                                                     self.period.last),
                                             AuditEntry.post_id.is_not(None))
            .group_by(AuditEntry.post_id).order_by(AuditEntry.post_id)))

    def audit_rows(self) -> Iterator[Mapping]:
        """The period's audit rows, in place order."""
        if self.period.first is None:
            return iter(())
        return audit.chained_rows(self.s, self.period.first - 1, self.period.last)

    def _of_posts(self, model, column, order) -> Iterator:
        for start in range(0, len(self.post_ids), _PAGE):
            chunk = self.post_ids[start:start + _PAGE]
            yield from self.s.scalars(select(model).where(column.in_(chunk)).order_by(*order))

    def posts(self) -> Iterator[Post]:
        return self._of_posts(Post, Post.id, [Post.id])

    def texts(self) -> Iterator[PostText]:
        return self._of_posts(PostText, PostText.post_id, [PostText.post_id, PostText.id])

    def attempts(self) -> Iterator[Attempt]:
        return self._of_posts(Attempt, Attempt.post_id, [Attempt.post_id, Attempt.id])

    def approvals(self) -> Iterator[AuditEntry]:
        """Every approval of the period's posts (whenever given), from the trail."""
        for entry in self._of_posts(AuditEntry, AuditEntry.post_id,
                                    [AuditEntry.post_id, AuditEntry.id]):
            if entry.action == "approve":
                yield entry

    def _referenced(self, model, ids: set[int]) -> list:
        ordered = sorted(ids)
        found = []
        for start in range(0, len(ordered), _PAGE):
            found += self.s.scalars(select(model).where(model.id.in_(ordered[start:start + _PAGE]))
                                    .order_by(model.id))
        return found

    def media(self) -> list[MediaItem]:
        """The images of the period's posts and of their earlier text versions."""
        ids = {p.media_id for p in self.posts() if p.media_id}
        ids |= {t.media_id for t in self.texts() if t.media_id}
        return self._referenced(MediaItem, ids)

    def documents(self) -> list[Document]:
        return self._referenced(Document, {p.document_id for p in self.posts() if p.document_id})

    def sections(self) -> list[Section]:
        return self._referenced(Section, {p.section_id for p in self.posts() if p.section_id})


class Records:
    """Reading the records of a period (`store.records`)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def snapshot(self, since: datetime | None = None, until: datetime | None = None):
        """A context manager giving a `RecordsReader` over one read transaction: the audit rows
        written in [since, until) (UTC; None: from the start, to now) and their posts."""
        return _Snapshot(self.db, since, until)

    def verify(self) -> audit.Verified:
        """Check the whole audit trail's chain (db/audit.py `verify`); raises `ChainBroken`."""
        with self.db.reading() as s:
            return audit.verify(s)


class _Snapshot:
    def __init__(self, db: Database, since, until) -> None:
        self.db, self.since, self.until = db, since, until

    def __enter__(self) -> RecordsReader:
        self._context = self.db.reading()
        s = self._context.__enter__()
        if self.db.dialect == "postgresql":
            # One snapshot for every query, so the posts match the trail read beside them.
            s.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        return RecordsReader(s, self.since, self.until)

    def __exit__(self, *exc) -> None:
        self._context.__exit__(*exc)
