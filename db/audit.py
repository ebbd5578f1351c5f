"""The audit trail's one writer. Every row of it (a post created or moved, by the transition
function; an account paused or resumed; a user or an API token managed) is added here, in the
same transaction as the change it records, so whatever the trail must guarantee of each row is
guaranteed in one place."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, insert
from sqlalchemy.orm import Session

from db import alerts
from db.models import AuditEntry

# Built once: the daemon writes one per claim and one per outcome.
_INSERT = insert(AuditEntry.__table__)


def write(s: Session, *, at: datetime, actor: str, action: str, post_id: int | None = None,
          account: str | None = None, from_status: str | None = None,
          to_status: str | None = None, reason: str | None = None) -> AuditEntry:
    """Add one audit row to the transaction of `s`: who (`actor`, a name), when, what
    (`action`), to which post or account, the states it moved between, and why."""
    entry = AuditEntry(at=at, actor=actor, action=action, post_id=post_id, account=account,
                       from_status=from_status, to_status=to_status, reason=reason)
    s.add(entry)
    # A row that staff must hear about (a post failed, an account paused) leaves its alert
    # in the outbox within this transaction: delivered exactly when the change is committed.
    alerts.note(s, entry)
    return entry


def write_row(conn: Connection, *, at: datetime, actor: str, action: str,
              post_id: int | None = None, account: str | None = None,
              from_status: str | None = None, to_status: str | None = None,
              reason: str | None = None) -> None:
    """The same row as `write`, inserted at once through SQLAlchemy Core on `conn` (the
    daemon's claims and outcomes, where the ORM's unit of work costs more than the insert)."""
    conn.execute(_INSERT, {"at": at, "actor": actor, "action": str(action), "post_id": post_id,
                           "account": account, "from_status": from_status,
                           "to_status": to_status, "reason": reason})


#: The columns of one audit row as `write_many` takes them (each a dict with these keys; the
#: optional ones may be left out).
AUDIT_FIELDS = ("at", "actor", "action", "post_id", "account", "from_status", "to_status",
                "reason")


def write_many(s: Session, rows: Sequence[dict]) -> None:
    """Add many audit rows to the transaction of `s` in one executemany: what `write` does for
    one row, for an import of thousands of posts without an ORM object per row. Each row is a
    dict of AUDIT_FIELDS (`at`, `actor` and `action` required)."""
    if rows:
        s.execute(insert(AuditEntry), [{f: row.get(f) for f in AUDIT_FIELDS} for row in rows])
