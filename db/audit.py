"""The audit trail's one writer, and the hash chain that makes its history tamper-evident.

Every row of the trail (a post created or moved, by the transition function; an account paused
or resumed; a user or an API token managed; rows written in bulk by an import) is added here,
in the same transaction as the change it records, so whatever the trail must guarantee of each
row is guaranteed in one place: `write` adds one row, `write_many` any number.

The chain. Each row carries its place (`seq`: 1, 2, ...), the hash of the row before it
(`prev_hash`; the first row's is 64 zeros) and its own hash (`row_hash`, `row_digest`: SHA-256
of all its columns and those two). Changing a row breaks its own hash; deleting one leaves a
gap in `seq` and a `prev_hash` that points at nothing; deleting the newest rows leaves the
chain shorter than its head (`audit_chain_head`, one row: the last place and hash). `verify`
and `check_chain` find the first row where any of that fails. Someone able to rewrite the whole
table and the head can forge a consistent chain, which is why an archive's manifest records the
head (scheduler/archive.py): a copy kept elsewhere pins the trail as it stood.

Why the chain is built at commit, not at `write`. Rows are inserted at once (so the rest of
the transaction, and the two-person rule, can read them), but get their place and hashes in
the session's `before_commit` (`_chain`), after locking the head row: `SELECT ... FOR UPDATE`
on PostgreSQL, so of several daemons committing at once each waits for the one before and
then reads the head it left (READ COMMITTED re-reads a row once its lock is released); on
SQLite every write transaction already holds the database's one write lock (`BEGIN
IMMEDIATE`, db/engine.py). Places are handed out in commit order, which is why `seq` and not
the id (drawn from a sequence at insert, in no order between transactions) orders the chain.
Taking the head last keeps it out of every lock cycle: a transaction that holds it takes no
other lock before it commits, so it can never deadlock with the claim's row locks or the spend
cap's month lock, and it is held only for the few statements of the commit.

On SQLite, where the transaction holds the write lock from its first statement, rows written
in bulk are chained as they are inserted (`write_many`: ids after the largest, given
explicitly, and the head moved on at once). The daemon's rows (`write_later`) are inserted
already chained at commit on both databases, with their ids read with the head (the ones
after the largest on SQLite, drawn from the sequence on PostgreSQL): one INSERT per batch
instead of an INSERT and an UPDATE.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter

from sqlalchemy import Connection, bindparam, event, func, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from db import alerts
from db.bulk import insert_columns, insert_with_ids, next_ids
from db.database import BEFORE_COMMIT, CoreTransaction, session_of
from db.errors import ChainBroken
from db.models import AuditChainHead, AuditEntry
from db.prepared import Prepared, connection_of

#: The `prev_hash` of the first row.
GENESIS = "0" * 64
#: The head's one row.
HEAD_ID = 1
#: The columns a row's hash covers, in the order they are hashed (docs/RECORDS.md).
HASHED = ("seq", "prev_hash", "id", "at", "actor", "action", "post_id", "account",
          "from_status", "to_status", "reason")
#: Where a session keeps the audit rows it wrote and has not chained yet.
_PENDING = "factpost_audit_unchained"
#: Where a session keeps the rows `write_later` holds back until it commits.
_DEFERRED = "factpost_audit_deferred"
#: Rows read per query when chaining or verifying.
_PAGE = 1000


@dataclass(frozen=True)
class AuditRow:
    """One row for `write_many`: who (`actor`), when (`at`, aware), what (`action`), to which
    post or account, the states it moved between, and why."""

    at: datetime
    actor: str
    action: str
    post_id: int | None = None
    account: str | None = None
    from_status: str | None = None
    to_status: str | None = None
    reason: str | None = None


_TABLE = AuditEntry.__table__
_HEAD = AuditChainHead.__table__
# Built once: every committing transaction that wrote audit rows runs them.
_SET_CHAIN = (update(_TABLE).where(_TABLE.c.id == bindparam("row_id"))
              .values(seq=bindparam("seq"), prev_hash=bindparam("prev_hash"),
                      row_hash=bindparam("row_hash")))
_HEAD_QUERY = select(_HEAD.c.seq, _HEAD.c.row_hash).where(_HEAD.c.id == HEAD_ID).with_for_update()
_READ_HEAD = Prepared(_HEAD_QUERY)
_HEAD_AND_LAST_ID = Prepared(_HEAD_QUERY.add_columns(
    select(func.max(_TABLE.c.id)).scalar_subquery()))
#: PostgreSQL, with rows held back (`write_later`): the head, locked, and `b_n` new ids for
#: those rows drawn from audit_log's sequence (as db/bulk.py draws an import's), in one
#: statement, so the rows are inserted already chained, as on SQLite, instead of inserted
#: first and updated with their places and hashes once the head is locked (a statement, and a
#: round trip to the server, more per commit).
_HEAD_AND_IDS = Prepared(_HEAD_QUERY.add_columns(
    select(func.array_agg(func.nextval(func.pg_get_serial_sequence(_TABLE.name, "id"))))
    .select_from(func.generate_series(1, bindparam("b_n"))).scalar_subquery()))
_INSERT = insert(_TABLE)
_SET_HEAD = Prepared(update(_HEAD).where(_HEAD.c.id == HEAD_ID)
                     .values(seq=bindparam("b_seq"), row_hash=bindparam("b_hash")))


def write(s: Session, *, at: datetime, actor: str, action: str, post_id: int | None = None,
          account: str | None = None, from_status: str | None = None,
          to_status: str | None = None, reason: str | None = None) -> AuditEntry:
    """Add one audit row to the transaction of `s`: who (`actor`, a name), when, what
    (`action`), to which post or account, the states it moved between, and why. It is chained
    when the transaction commits."""
    _write_held_back(s)
    entry = AuditEntry(at=at, actor=actor, action=action, post_id=post_id, account=account,
                       from_status=from_status, to_status=to_status, reason=reason)
    s.add(entry)
    s.info.setdefault(_PENDING, []).append(entry)
    # A row that staff must hear about (a post failed, an account paused) leaves its alert
    # in the outbox within this transaction: delivered exactly when the change is committed.
    alerts.note(s, entry)
    return entry


#: The columns of one audit row as `write_many` takes them (an `AuditRow`, or a mapping with
#: these keys; the optional ones may be left out).
AUDIT_FIELDS = ("at", "actor", "action", "post_id", "account", "from_status", "to_status",
                "reason")


def write_many(s: Session, rows: Sequence[AuditRow | Mapping]) -> list[int]:
    """Add many audit rows to the transaction of `s` in one executemany (an import of
    thousands of posts, without an ORM object per row), in the order given, chained when it
    commits like every other row. Each row is an `AuditRow` or a mapping of `AUDIT_FIELDS`
    (`at`, `actor` and `action` required). Returns the rows' ids, in the order given."""
    if not rows:
        return []
    _write_held_back(s)
    # Not `asdict`, which deep-copies every value, nor an AuditRow made of each mapping: an
    # import writes thousands of rows.
    values = [_fields(row) for row in rows]
    conn = s.connection()
    if conn.dialect.name == "sqlite":
        # The transaction holds the one write lock already (BEGIN IMMEDIATE): the rows are
        # chained in the INSERT, and the head moved on, instead of an UPDATE of every row at
        # commit (thousands for an import).
        ids = _insert_chained(s, values)
    else:
        ids = insert_with_ids(s, _TABLE, values)
        s.info.setdefault(_PENDING, []).extend(
            {**row, "id": row_id} for row_id, row in zip(ids, values, strict=True))
    # As `write` does for one row: a post failed or sent to review, an account paused. Asked
    # here first: an import's thousands of rows want none.
    for row_id, row in zip(ids, values, strict=True):
        if alerts.wanted(row):
            alerts.note(s, row, audit_id=row_id)
    return list(ids)


_OPTIONAL = dict.fromkeys(AUDIT_FIELDS[3:])
_KEYS = frozenset(AUDIT_FIELDS)


def _fields(row: AuditRow | Mapping) -> dict:
    """The AUDIT_FIELDS of one row given to `write_many`; TypeError as AuditRow(**row) raises
    it for a mapping without a required field or with another key."""
    if isinstance(row, AuditRow):
        return {key: getattr(row, key) for key in AUDIT_FIELDS}
    if "at" not in row or "actor" not in row or "action" not in row or not (
            row.keys() <= _KEYS):
        AuditRow(**row)  # raises, naming what is wrong
    return {**_OPTIONAL, **row}


def write_later(s: Session | CoreTransaction, row: AuditRow) -> None:
    """Add one audit row to the transaction of `s` that is inserted only when it commits,
    already chained: on SQLite one INSERT with its place and hashes, instead of an INSERT now
    and an UPDATE at commit (the daemon writes two rows per post). For rows nothing in the
    transaction reads back (the daemon's claims and outcomes); a row that calls for an alert
    is written at once, as `write_many` writes it, since its alert names it."""
    # Not `asdict`, which deep-copies every value: this runs twice per published post.
    values = {key: getattr(row, key) for key in AUDIT_FIELDS}
    if alerts.wanted(values):
        write_many(session_of(s), [row])
    else:
        s.info.setdefault(_DEFERRED, []).append(values)


def _write_held_back(s: Session) -> None:
    """Write the rows `write_later` held back in this transaction now, ahead of a row being
    written at once: held back, they would be chained at commit after it, and the trail would
    not keep the order things happened in (a claim, then a move a Session step made)."""
    later = s.info.pop(_DEFERRED, None)
    if later:
        write_many(s, later)


def stamp(at: datetime) -> str:
    """A time as the chain hashes it and archives print it: ISO 8601, UTC, microseconds
    (`2026-12-01T06:00:00.000000+00:00`). A naive time is taken as UTC (how it is stored)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def row_digest(row: Mapping) -> str:
    """The SHA-256 (64 lowercase hex digits) of one row: the UTF-8 bytes of the JSON array of
    its `HASHED` values, in that order, `at` as `stamp` writes it, no spaces, non-ASCII
    characters as themselves. Any tool can recompute it from an archive's audit.jsonl."""
    values = [stamp(row[key]) if key == "at" and isinstance(row[key], datetime) else row[key]
              for key in HASHED]
    return _digest(values)


#: `json.dumps(values, ensure_ascii=False, separators=(",", ":"))`, with the encoder made
#: once: `dumps` with arguments makes a new one per call, a third of the time for a short row.
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _digest(values: list) -> str:
    """`row_digest` of a row's `HASHED` values, in that order, `at` stamped already."""
    return hashlib.sha256(_ENCODE(values).encode("utf-8")).hexdigest()


def _chain(s: Session | CoreTransaction) -> None:
    """Give the rows this transaction wrote their places and hashes (see the module's
    docstring for why here, and why it is safe with several writers), and insert the rows
    `write_later` held back. Each is hashed from the values it was written with (a time as
    stored: UTC, to the microsecond, on both databases), so nothing is read back; `verify`
    recomputes every hash from the database. `s` is a Session, or a Core transaction with
    no Session in it (then every row is a mapping: no ORM object was written)."""
    pending = s.info.pop(_PENDING, None)
    later = s.info.pop(_DEFERRED, None)
    if not pending and not later:
        return
    if isinstance(s, Session):
        s.flush()
    conn = connection_of(s)
    # A row rolled back with a savepoint is no longer in the session: leave it out.
    written = sorted((p for p in pending or () if not isinstance(p, AuditEntry) or p in s),
                     key=lambda p: p.id if isinstance(p, AuditEntry) else p["id"])
    if not written and not later:
        return
    # With rows held back, their ids are read with the head: on SQLite, whose transaction
    # holds the one write lock (BEGIN IMMEDIATE), the ones after the largest, as SQLite would
    # give them; on PostgreSQL drawn from the sequence.
    sqlite = conn.dialect.name == "sqlite"
    if not later:
        head = _READ_HEAD.first(conn)
    elif sqlite:
        head = _HEAD_AND_LAST_ID.first(conn)
    else:
        head = _HEAD_AND_IDS.first(conn, {"b_n": len(later)})
    seq, prev = (head[0], head[1]) if head is not None else (0, GENESIS)
    changes = []
    for row in written:
        values = ({key: getattr(row, key) for key in HASHED[2:]}
                  if isinstance(row, AuditEntry) else row)
        seq += 1
        chained = {"seq": seq, "prev_hash": prev}
        prev = chained["row_hash"] = row_digest({**values, **chained})
        changes.append({"row_id": values["id"], **chained})
        if isinstance(row, AuditEntry):
            for key, value in chained.items():
                set_committed_value(row, key, value)
    if changes:
        # A Core executemany: the ORM's bulk UPDATE by primary key adds bookkeeping per row
        # that cost an import of 6,768 posts about a third of its chaining time.
        conn.execute(_SET_CHAIN, changes)
    if later:
        if head is None:  # no head row (a database made without the migrations)
            ids = next_ids(conn, _TABLE, len(later))
        elif sqlite:
            ids = _after(head[2], len(later))
        else:
            ids = sorted(head[2])
        rows = [{**row, "id": row_id, "seq": place, "prev_hash": link, "row_hash": row_hash}
                for row, row_id, (place, link, row_hash)
                in zip(later, ids, _links(later, ids, seq, prev), strict=True)]
        _insert_few(conn, rows)
        seq, prev = rows[-1]["seq"], rows[-1]["row_hash"]
    _move_head(s, head is not None, seq, prev)


def _insert_chained(s: Session, values: list[dict]) -> list[int]:
    """SQLite, whose transaction holds the write lock: insert `values` (AUDIT_FIELDS) with
    the ids after the largest and their places and hashes, move the head on; their ids."""
    conn = s.connection()
    head = _HEAD_AND_LAST_ID.first(conn)
    seq, prev = (head[0], head[1]) if head is not None else (0, GENESIS)
    ids = (_after(head[2], len(values)) if head is not None
           else next_ids(conn, _TABLE, len(values)))
    places, links, hashes = (list(column) for column in zip(*_links(values, ids, seq, prev),
                                                             strict=True))
    insert_columns(conn, _TABLE, {"id": ids, **{key: [row[key] for row in values]
                                                  for key in AUDIT_FIELDS},
                                  "seq": places, "prev_hash": links, "row_hash": hashes})
    _move_head(s, head is not None, places[-1], hashes[-1])
    return ids


def _after(last_id: int | None, count: int) -> list[int]:
    """SQLite, whose transaction holds the write lock: the `count` ids after the largest
    (`last_id`, None in an empty table), as SQLite would give them."""
    return list(range((last_id or 0) + 1, (last_id or 0) + 1 + count))


def _links(values: Sequence[Mapping], ids: Iterable[int], seq: int, prev: str
           ) -> Iterator[tuple[int, str, str]]:
    """Per row of `values` (AUDIT_FIELDS), with its id from `ids`, chained after place `seq`
    (hash `prev`): its place, the hash before it and its own (`row_digest`'s)."""
    # Stamped once per distinct time (an import's rows share one), not once per row; and the
    # hashed values put in a list straight from each row, not through a merged copy of it.
    stamps: dict[datetime, str] = {}
    rest = itemgetter(*HASHED[4:])  # after the place, the link, the id and the time
    for row_id, row in zip(ids, values, strict=True):
        seq += 1
        at = row["at"]
        if isinstance(at, datetime):
            if at not in stamps:
                stamps[at] = stamp(at)
            at = stamps[at]
        row_hash = _digest([seq, prev, row_id, at, *rest(row)])
        yield seq, prev, row_hash
        prev = row_hash


#: The daemon's held-back rows (two a post), inserted chained at commit: for so few rows,
#: `insert_many`'s set-up per call (made for an import's thousands) cost more than the insert.
_FEW_KEYS = (*AUDIT_FIELDS, "id", "seq", "prev_hash", "row_hash")
_INSERT_FEW = Prepared(insert(_TABLE), keys=_FEW_KEYS)
#: PostgreSQL: up to `_FEW` rows in one INSERT, by their number, each built when first asked
#: for (see `_insert_few`).
_FEW = 8
_INSERT_ROWS: dict[int, Prepared] = {}


def _insert_few(conn: Connection, rows: list[dict]) -> None:
    """Insert the held-back rows, chained (`_FEW_KEYS`): on SQLite one executemany; on
    PostgreSQL one INSERT of several VALUES per `_FEW` rows, since psycopg runs an
    executemany as a pipeline, which for the daemon's two rows costs more of the interpreter
    than the second statement it saves."""
    if conn.dialect.name == "sqlite":
        _INSERT_FEW.many(conn, rows)
        return
    for start in range(0, len(rows), _FEW):
        batch = rows[start:start + _FEW]
        statement = _INSERT_ROWS.get(len(batch))
        if statement is None:
            statement = _INSERT_ROWS[len(batch)] = Prepared(insert(_TABLE).values(
                [{key: bindparam(f"{key}_{n}") for key in _FEW_KEYS}
                 for n in range(len(batch))]))
        statement.rowcount(conn, {f"{key}_{n}": row[key] for n, row in enumerate(batch)
                                  for key in _FEW_KEYS})


def _move_head(s: Session | CoreTransaction, exists: bool, seq: int, prev: str) -> None:
    conn = connection_of(s)
    if not exists:  # a database made without the migrations (tests' create_all)
        conn.execute(insert(_HEAD).values(id=HEAD_ID, seq=seq, row_hash=prev))
    else:
        _SET_HEAD.rowcount(conn, {"b_seq": seq, "b_hash": prev})
    if not isinstance(s, Session):
        return
    # A head this session loaded (verify) must not keep the values it had before.
    loaded = s.identity_map.get(identity_key(AuditChainHead, HEAD_ID))
    if loaded is not None:
        set_committed_value(loaded, "seq", seq)
        set_committed_value(loaded, "row_hash", prev)


def _forget(s: Session) -> None:
    s.info.pop(_PENDING, None)


# Every session, whoever opened it: a row written through this module is chained on commit.
# So is every Core transaction (a rolled-back one is dropped with what it held).
event.listen(Session, "before_commit", _chain)
event.listen(Session, "after_rollback", _forget)
BEFORE_COMMIT.append(_chain)


def _columns():
    return [getattr(AuditEntry, key) for key in ("id", "at", "actor", "action", "post_id",
                                                  "account", "from_status", "to_status",
                                                  "reason", "seq", "prev_hash", "row_hash")]


# -- checking the chain ------------------------------------------------------------------------

@dataclass(frozen=True)
class ChainState:
    """Where a chain stands: its last place and that row's hash (0 and GENESIS: empty)."""

    seq: int = 0
    row_hash: str = GENESIS


def check_chain(rows: Iterable[Mapping], start: ChainState = ChainState()) -> ChainState:
    """Walk `rows` in `seq` order from just after `start`, each a mapping with the `HASHED`
    keys and `row_hash` (`at` a datetime or a `stamp` string); return where the chain ends.
    Raises `ChainBroken` at the first row whose place, link or content is wrong."""
    seq, prev, before = start.seq, start.row_hash, None
    for row in rows:
        where = f"audit row {row['id']} ({_when(row['at'])}, place {row['seq']})"
        if row["seq"] is None or row["row_hash"] is None:
            raise ChainBroken(f"audit row {row['id']} ({_when(row['at'])}) is not in the chain "
                              "(no place or hash): it was added around the trail's writer or "
                              "its chain columns were cleared")
        if row["seq"] != seq + 1:
            after = f"row {before['id']} (place {seq})" if before else f"place {seq}"
            missing = (f"place {seq + 1}" if row["seq"] == seq + 2
                       else f"places {seq + 1}-{row['seq'] - 1}")
            raise ChainBroken(f"{where}: {missing} missing between {after} and it; a row was "
                              f"deleted (the deleted row's hash was {row['prev_hash']})")
        if row["prev_hash"] != prev:
            raise ChainBroken(f"{where}: it records the previous row's hash as "
                              f"{row['prev_hash']}, but that row's hash is {prev}; the row "
                              "before it was changed and its hash rewritten, or this row's "
                              "link was changed")
        digest = row_digest(row)
        if digest != row["row_hash"]:
            raise ChainBroken(f"{where}: its content does not match its hash (recorded "
                              f"{row['row_hash']}, recomputed {digest}); the row was changed "
                              "after it was written")
        seq, prev, before = row["seq"], digest, row
    return ChainState(seq, prev)


def check_end(end: ChainState, head: ChainState, what: str = "the chain's head") -> None:
    """Raise `ChainBroken` unless the walked chain ends where `head` (`what`) says it does."""
    if end.seq < head.seq:
        raise ChainBroken(f"the trail ends at place {end.seq} but {what} records place "
                          f"{head.seq}: the newest {head.seq - end.seq} row(s) were deleted")
    if end.seq > head.seq:
        raise ChainBroken(f"the trail goes on to place {end.seq} but {what} records place "
                          f"{head.seq}: rows were added after it")
    if end.row_hash != head.row_hash:
        raise ChainBroken(f"the last row (place {end.seq}) hashes to {end.row_hash} but {what} "
                          f"records {head.row_hash}: the newest row was changed")


def _when(at) -> str:
    return stamp(at) if isinstance(at, datetime) else str(at)


@dataclass(frozen=True)
class Verified:
    """A whole trail that checked out: how many rows, its last place and hash."""

    rows: int
    head: ChainState


def verify(s: Session) -> Verified:
    """Check the whole trail in `s` (read in pages of `_PAGE` rows, oldest place first),
    then that it ends at the head. Raises `ChainBroken` at the first problem."""
    unchained = s.execute(select(*_columns()).where(AuditEntry.seq.is_(None))
                          .order_by(AuditEntry.id).limit(1)).mappings().first()
    head_row = s.get(AuditChainHead, HEAD_ID)
    head = ChainState(head_row.seq, head_row.row_hash) if head_row else ChainState()
    end = check_chain(_pages(s))
    check_end(end, head)
    if unchained is not None:
        check_chain([unchained])  # raises, naming it
    count = s.scalar(select(func.count()).select_from(AuditEntry))
    return Verified(count, end)


def _pages(s: Session, low: int = 0, high: int | None = None) -> Iterator[Mapping]:
    """The chained rows with `low` < seq (<= `high`), in place order, a page at a time."""
    while True:
        query = (select(*_columns()).where(AuditEntry.seq > low).order_by(AuditEntry.seq)
                 .limit(_PAGE))
        if high is not None:
            query = query.where(AuditEntry.seq <= high)
        page = s.execute(query).mappings().all()
        yield from page
        if len(page) < _PAGE:
            return
        low = page[-1]["seq"]


def chained_rows(s: Session, low: int = 0, high: int | None = None) -> Iterator[Mapping]:
    """The rows at places `low`+1 to `high` (all after `low` without it), in place order, read
    a page of `_PAGE` at a time."""
    return _pages(s, low, high)
