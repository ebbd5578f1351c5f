"""The alert outbox: events staff must hear about, and their delivery to each channel.

An event is written in the transaction that records what happened, so it exists exactly when
the change does: `note` is called by the audit trail's writer (db/audit.py) for every row, and
keeps the rows that mean a post failed or needs review, or an account was paused. What is
observed rather than recorded (a daemon's heartbeat gone stale, a spend cap reached, a platform
version nearing retirement) is written by whoever notices it with `AlertStore.observe`, once per
key, however many daemons notice it.

Delivery never happens inside a write transaction. A deliverer (scheduler/alerts/) routes new
events to the channels configured for their kind (`route`), claims what is ready under a lease
(`claim`), sends it with no transaction open, then records the send (`sent`) or the failure
with the time of the next try (`failed`). `sent` is conditional on the claim, so each delivery
is recorded sent once; a deliverer that dies after sending and before recording leaves the
delivery to be sent again when its lease expires (receivers can tell by the event id).

    pending ──claim──▶ pending (claimed, leased) ──sent──▶ sent
                                   │
                                   └──failed──▶ pending (not before the next try)
    pending ──(channel removed from the config)──▶ dropped
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from db.database import Database
from db.models import AlertDelivery, AlertEvent, AuditEntry, Post
from posts.states import PostStatus

S = PostStatus

POST_FAILED = "post_failed"
POST_NEEDS_REVIEW = "post_needs_review"
ACCOUNT_PAUSED = "account_paused"
SPEND_CAP = "spend_cap"
HEARTBEAT_LOST = "heartbeat_lost"
VERSION_RETIRING = "version_retiring"
#: Every kind of event, in the order the docs list them.
KINDS = (POST_FAILED, POST_NEEDS_REVIEW, ACCOUNT_PAUSED, SPEND_CAP, HEARTBEAT_LOST,
         VERSION_RETIRING)

PENDING, SENT, DROPPED = "pending", "sent", "dropped"
#: How much of a post's text an alert quotes.
QUOTE_CHARS = 200
#: An event first routed later than this after it happened is not sent (see `route`).
MAX_AGE = timedelta(days=1)


def wanted(row: Mapping) -> bool:
    """Whether an audit row (its values) calls for an alert: a post failed or sent to
    review, an account paused."""
    if row["post_id"] is not None:
        return (row["to_status"] in (S.FAILED, S.NEEDS_REVIEW)
                and row["from_status"] != row["to_status"])
    return row["action"] == "pause" and row["account"] is not None


def note(s: Session, entry: AuditEntry | Mapping, audit_id: int | None = None) -> None:
    """Add the alert event an audit row calls for (a post failed or sent to review, an
    account paused) to the row's own transaction; nothing for any other row. `entry` is the
    row written (an AuditEntry), or its values with `audit_id` (rows written in bulk, such as
    the daemon's moves: db/audit.write_many)."""
    row = entry if isinstance(entry, Mapping) else {
        key: getattr(entry, key) for key in ("at", "actor", "action", "post_id", "account",
                                             "from_status", "to_status", "reason")}
    link = {"audit": entry} if audit_id is None else {"audit_id": audit_id}
    if not wanted(row):
        return
    if row["post_id"] is not None and row["to_status"] in (S.FAILED, S.NEEDS_REVIEW):
        post = s.get(Post, row["post_id"])
        failed = row["to_status"] == S.FAILED
        where = f"post {row['post_id']} to {row['account']}"
        subject = (f"{where} failed" if failed else f"{where} needs review")
        text = post.text if post is not None else ""
        quoted = text if len(text) <= QUOTE_CHARS else text[:QUOTE_CHARS - 1] + "…"
        detail = (f"{row['reason'] or 'no reason recorded'}\n\ntext: {quoted}\n\n"
                  + ("'factpost post retry ID' sends it again once the cause is fixed"
                     if failed else "'factpost post resolve ID --published REMOTE_ID' or "
                     "'--retry' settles it after looking at the account"))
        s.add(AlertEvent(kind=POST_FAILED if failed else POST_NEEDS_REVIEW, at=row["at"],
                         subject=subject, detail=detail, post_id=row["post_id"],
                         account=row["account"], **link))
    elif row["action"] == "pause" and row["post_id"] is None and row["account"] is not None:
        s.add(AlertEvent(kind=ACCOUNT_PAUSED, at=row["at"], account=row["account"],
                         subject=f"account {row['account']} paused by {row['actor']}",
                         detail=f"{row['reason'] or 'no reason recorded'}\n\nNothing is "
                                "published to it until 'factpost accounts resume "
                                f"{row['account']}'.", **link))


@dataclass(frozen=True)
class Route:
    """Where events of one kind go: channel names, and how long the first of a batch waits
    for others to go with it (0: at once)."""

    channels: tuple[str, ...]
    digest_seconds: float = 0.0


@dataclass(frozen=True)
class Claimed:
    """A delivery claimed for sending, with what its message says."""

    delivery_id: int
    event_id: int
    kind: str
    at: datetime
    subject: str
    detail: str
    post_id: int | None
    account: str | None
    tries: int


class AlertStore:
    """The outbox's queries; each method is one transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def observe(self, *, kind: str, key: str, subject: str, detail: str, now: datetime,
                account: str | None = None) -> bool:
        """Write an observed event unless one with `key` was written before (by anyone);
        returns whether this call wrote it."""
        values = {"kind": kind, "key": key, "at": now, "subject": subject, "detail": detail,
                  "account": account}
        dialect = postgresql if self.db.dialect == "postgresql" else sqlite
        statement = (dialect.insert(AlertEvent).values(**values)
                     .on_conflict_do_nothing(index_elements=["key"]))
        with self.db.session() as s:
            return s.execute(statement).rowcount == 1

    def route(self, routes: Mapping[str, Route], *, now: datetime, limit: int = 500,
              max_age: timedelta = MAX_AGE) -> int:
        """Give events not yet routed one pending delivery per channel of their kind's
        route (none when the kind has none); returns how many events were routed. A delivery
        of a kind with a digest joins the channel's open batch, or opens one. An event older
        than `max_age` when first routed (written while no deliverer ran: alerts were just
        configured) is news no longer and goes nowhere."""
        with self.db.session() as s:
            events = list(s.scalars(self._locked(
                select(AlertEvent).where(AlertEvent.routed_at.is_(None))
                .order_by(AlertEvent.id).limit(limit))))
            for event in events:
                route = routes.get(event.kind, Route(()))
                if event.at < now - max_age:
                    route = Route(())
                for channel in route.channels:
                    s.add(AlertDelivery(event_id=event.id, channel=channel, state=PENDING,
                                        tries=0, not_before=self._batch_time(
                                            s, channel, route.digest_seconds, now)))
                    s.flush()
                event.routed_at = now
            return len(events)

    def _batch_time(self, s: Session, channel: str, digest_seconds: float,
                    now: datetime) -> datetime:
        if digest_seconds <= 0:
            return now
        # A batch is open while some pending delivery to the channel waits for a later time.
        open_batch = s.scalar(select(func.min(AlertDelivery.not_before)).where(
            AlertDelivery.channel == channel, AlertDelivery.state == PENDING,
            AlertDelivery.tries == 0, AlertDelivery.not_before > now))
        return open_batch or now + timedelta(seconds=digest_seconds)

    def claim(self, channel: str, *, worker: str, now: datetime, lease: timedelta,
              limit: int = 200) -> list[Claimed]:
        """Claim the channel's deliveries that are ready (their time has come, nobody holds a
        live lease on them), oldest first, for `worker` until `now + lease`."""
        with self.db.session() as s:
            rows = list(s.scalars(self._locked(
                select(AlertDelivery).where(
                    AlertDelivery.channel == channel, AlertDelivery.state == PENDING,
                    AlertDelivery.not_before <= now,
                    (AlertDelivery.lease_until.is_(None)) | (AlertDelivery.lease_until <= now))
                .order_by(AlertDelivery.id).limit(limit))))
            claimed = []
            for row in rows:
                row.claimed_by, row.lease_until = worker, now + lease
                row.tries += 1
                event = row.event
                claimed.append(Claimed(row.id, event.id, event.kind, event.at, event.subject,
                                       event.detail, event.post_id, event.account, row.tries))
            return claimed

    def sent(self, delivery_ids: Sequence[int], *, worker: str, now: datetime) -> int:
        """Record deliveries `worker` claimed as sent; returns how many it still held (a
        delivery whose lease another deliverer took over is recorded by that one)."""
        with self.db.session() as s:
            return s.execute(update(AlertDelivery).where(
                AlertDelivery.id.in_(list(delivery_ids)), AlertDelivery.claimed_by == worker,
                AlertDelivery.state == PENDING).values(
                state=SENT, sent_at=now, claimed_by=None, lease_until=None, last_error=None)
            ).rowcount

    def failed(self, delivery_ids: Sequence[int], *, worker: str, error: str,
               retry_at: datetime) -> None:
        """Record a failed send of deliveries `worker` claimed: tried again at `retry_at`."""
        with self.db.session() as s:
            s.execute(update(AlertDelivery).where(
                AlertDelivery.id.in_(list(delivery_ids)), AlertDelivery.claimed_by == worker,
                AlertDelivery.state == PENDING).values(
                claimed_by=None, lease_until=None, last_error=error[:1000], not_before=retry_at))

    def drop_unknown(self, channels: Sequence[str], *, now: datetime) -> int:
        """Pending deliveries to channels no longer configured are dropped, saying so."""
        with self.db.session() as s:
            return s.execute(update(AlertDelivery).where(
                AlertDelivery.state == PENDING, AlertDelivery.channel.not_in(list(channels)))
                .values(state=DROPPED,
                        last_error=f"channel not configured at {now:%Y-%m-%d %H:%M} UTC")
            ).rowcount

    def counts(self) -> dict[tuple[str, str], int]:
        """Deliveries by (channel, state)."""
        with self.db.reading() as s:
            return {(channel, state): n for channel, state, n in s.execute(
                select(AlertDelivery.channel, AlertDelivery.state, func.count())
                .group_by(AlertDelivery.channel, AlertDelivery.state))}

    def events(self, *, limit: int = 50) -> list[tuple[AlertEvent, list[AlertDelivery]]]:
        """The newest events, each with its deliveries."""
        with self.db.reading() as s:
            events = list(s.scalars(select(AlertEvent).order_by(AlertEvent.id.desc())
                                    .limit(limit)))
            deliveries: dict[int, list[AlertDelivery]] = {e.id: [] for e in events}
            for d in s.scalars(select(AlertDelivery).where(
                    AlertDelivery.event_id.in_(list(deliveries))).order_by(AlertDelivery.id)):
                deliveries[d.event_id].append(d)
            return [(e, deliveries[e.id]) for e in events]

    def _locked(self, query):
        # Two deliverers on PostgreSQL skip each other's rows instead of waiting; SQLite's
        # write transaction (BEGIN IMMEDIATE) already makes this one the only writer.
        if self.db.dialect == "postgresql":
            return query.with_for_update(skip_locked=True)
        return query
