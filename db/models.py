"""Tables. Times are stored as UTC and come back timezone-aware (UTC) on every backend."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from posts.states import PostStatus


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out; stored naive-UTC so SQLite sorts them."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; pass an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar = {datetime: UTCDateTime}


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_name: Mapped[str] = mapped_column(String(500))
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str | None] = mapped_column(Text)
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    imported_by: Mapped[str] = mapped_column(String(200))

    sections: Mapped[list[Section]] = relationship(back_populates="document",
                                                   order_by="Section.position")


class Section(Base):
    __tablename__ = "sections"
    __table_args__ = (UniqueConstraint("document_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    heading: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)

    document: Mapped[Document] = relationship(back_populates="sections")


class MediaItem(Base):
    """An image with its alt text, stored in the database so publishing never depends on a
    file that may have moved. One row per distinct (content, alt text)."""

    __tablename__ = "media"
    __table_args__ = (UniqueConstraint("sha256", "alt_text"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    mime_type: Mapped[str] = mapped_column(String(50))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    alt_text: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Post(Base):
    __tablename__ = "posts"
    __table_args__ = (
        Index("ix_posts_due", "status", "scheduled_at"),
        # An account's last publish, read by every claim, is one lookup (migration 0016).
        Index("ix_posts_account_status_published", "account", "status", "published_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = mapped_column(String(200))
    platform: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=PostStatus.QUEUED)
    scheduled_at: Mapped[datetime] = mapped_column()
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    section_id: Mapped[int | None] = mapped_column(ForeignKey("sections.id"))
    thread_position: Mapped[int] = mapped_column(Integer, default=1)
    thread_size: Mapped[int] = mapped_column(Integer, default=1)
    # The previous part of a thread: this post is a reply to it and waits until it is published.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"))
    media_id: Mapped[int | None] = mapped_column(ForeignKey("media.id"))
    # The other language's post of an English/Arabic pair (each row points at the other). The
    # one with the lower id leads: it goes first, the other only once it is published.
    pair_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"))
    remote_id: Mapped[str | None] = mapped_column(String(100))
    remote_url: Mapped[str | None] = mapped_column(String(500))
    #: The published post this one answers: its correction, or the public acknowledgment of
    #: its removal (db/retractions.py).
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"))
    #: Whether it goes out as a reply to that post (a correction where the platform threads).
    reply_to_corrected: Mapped[bool] = mapped_column(Boolean, default=False,
                                                     server_default=false())
    published_at: Mapped[datetime | None] = mapped_column()
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Who holds the post while it is `publishing`, and until when (a lease, not a lock).
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column()
    approved_by: Mapped[str | None] = mapped_column(String(200))
    approved_at: Mapped[datetime | None] = mapped_column()
    #: What the approval covered: the post's text, image and pair partner as they were
    #: (db/versions.py, without times); a claim refuses a post that has changed since.
    approved_content: Mapped[str | None] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    document: Mapped[Document | None] = relationship()
    section: Mapped[Section | None] = relationship()
    parent: Mapped[Post | None] = relationship(remote_side=[id], foreign_keys=[parent_id])
    attempts: Mapped[list[Attempt]] = relationship(back_populates="post", order_by="Attempt.id")


# History lists posts newest first by this key and pages through it by (key, id): the index
# lets a page of a million-row history be read without sorting the table.
Index("ix_posts_history", func.coalesce(Post.published_at, Post.scheduled_at), Post.id)
Index("ix_posts_account_history", Post.account,
      func.coalesce(Post.published_at, Post.scheduled_at), Post.id)


#: Full-text search (migration 0005) is made of things SQLAlchemy cannot declare: an FTS5
#: virtual table with its shadow tables and triggers on SQLite, and on PostgreSQL a GIN index
#: on a function of the text. Schema comparisons leave them out (see in_models).
SEARCH_SCHEMA_PREFIXES = ("posts_fts", "ix_posts_search")


def in_models(name: str | None, type_: str, parent_names: dict) -> bool:
    """Alembic's include_name: False for the search objects the models do not declare, so
    autogenerate neither reports them as extra nor proposes to drop them."""
    return not (name or "").startswith(SEARCH_SCHEMA_PREFIXES)


class Attempt(Base):
    """One try at publishing a post. `outcome` is None while the request is in flight: a row
    left that way belonged to a daemon that died mid-request."""

    __tablename__ = "attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    worker: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
    outcome: Mapped[str | None] = mapped_column(String(30))
    error_code: Mapped[str | None] = mapped_column(String(100))
    error_message: Mapped[str | None] = mapped_column(Text)
    explanation: Mapped[str | None] = mapped_column(Text)
    remote_id: Mapped[str | None] = mapped_column(String(100))

    post: Mapped[Post] = relationship(back_populates="attempts")


class AuditEntry(Base):
    """Append-only: every state change of a post or an account, who made it and why; written
    only by db/audit.py, which chains the rows by hash (`seq`, `prev_hash`, `row_hash`)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(50))
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"), index=True)
    account: Mapped[str | None] = mapped_column(String(200))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    #: The row's place in the chain (1, 2, ...), its predecessor's hash and its own SHA-256,
    #: set when its transaction commits (db/audit.py); NULL only inside that transaction.
    seq: Mapped[int | None] = mapped_column(Integer, index=True, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    row_hash: Mapped[str | None] = mapped_column(String(64))


class AuditChainHead(Base):
    """One row: the last chained audit row's place and hash. Every commit that adds audit rows
    locks it first, so the chain has one order however many daemons write (db/audit.py)."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    row_hash: Mapped[str] = mapped_column(String(64))


class PostText(Base):
    """A version of a post's text (with its image), kept when it is written: at creation and
    at every edit, so the records keep what was said before it was changed. `audit_id` is the
    audit row of the change (who, when, why)."""

    __tablename__ = "post_texts"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    audit_id: Mapped[int | None] = mapped_column(ForeignKey("audit_log.id"))
    at: Mapped[datetime] = mapped_column()
    actor: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    media_id: Mapped[int | None] = mapped_column(ForeignKey("media.id"))

    audit: Mapped[AuditEntry | None] = relationship()


class Clearance(Base):
    """One approval of one step of a post's clearance (`[review] steps`; the one step
    "approval" when the office names none): which step, by whom, when, and the post's content
    version (db/versions.py, without times) it was given for. Rows are never deleted: an edit
    withdraws them (`withdrawn_at`), so the record keeps every approval ever given."""

    __tablename__ = "clearances"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    step: Mapped[str] = mapped_column(String(50))
    #: 1 for the first step, as the steps were configured when it was given.
    position: Mapped[int] = mapped_column(Integer)
    cleared_by: Mapped[str] = mapped_column(String(200))
    cleared_at: Mapped[datetime] = mapped_column()
    content: Mapped[str | None] = mapped_column(String(16))
    withdrawn_at: Mapped[datetime | None] = mapped_column()


class AccountState(Base):
    """What the daemon must remember about an account between ticks, kept in the database."""

    __tablename__ = "account_state"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    paused_reason: Mapped[str | None] = mapped_column(Text)
    paused_at: Mapped[datetime | None] = mapped_column()
    # The platform asked us to wait (429 / throttling) until this time.
    held_until: Mapped[datetime | None] = mapped_column()
    held_reason: Mapped[str | None] = mapped_column(Text)


class PublishCount(Base):
    """Posts published per account and UTC hour, counted by the transition function as each
    post is published (migration 0014 counted those before it): a posting budget reads these
    few rows instead of the posts in its window (db/claims.py)."""

    __tablename__ = "publish_counts"

    account: Mapped[str] = mapped_column(String(200), primary_key=True)
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    posts: Mapped[int] = mapped_column(Integer)


class Worker(Base):
    """A running daemon's heartbeat."""

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    stopped_at: Mapped[datetime | None] = mapped_column()


# -- people: newsroom users, their browser sessions and script tokens ----------------------------

class User(Base):
    """A member of staff who signs in to the web UI. Only a password hash is stored."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The web interface's language for this user ("en", "ar"); the command line ignores it.
    language: Mapped[str] = mapped_column(String(10), default="en", server_default="en")


class UserStep(Base):
    """A step of clearance a user may approve (`[review] steps`)."""

    __tablename__ = "user_steps"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    step: Mapped[str] = mapped_column(String(50), primary_key=True)


class WebSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is kept, so a
    copy of the database signs nobody in."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()


class ApiToken(Base):
    """A token for scripts calling /api; shown once when made, stored as its SHA-256."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()
    #: A token works until it expires or is revoked (by hand, or with its user's password
    #: change or disabling), whichever comes first; a revoked token never works again.
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoked_reason: Mapped[str | None] = mapped_column(String(200))


class LoginFailure(Base):
    """A failed sign-in, kept in the database so throttling survives a restart."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_name_ip_at", "name", "ip", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column()


# -- X spend: every request and what it cost ------------------------------------------------------

class XCharge(Base):
    """One request to X and its price: the spend ledger. Money is in integer micro-dollars.

    A create is written `pending` before it is sent (like its attempt), then settled `charged`
    or `not_charged`; one whose outcome stayed unknown is settled when the account's timeline
    shows whether the post exists. Reads are written once answered, `units` as returned and
    `billed_units` after X's same-day deduplication (see XReadCharge).
    """

    __tablename__ = "x_charges"
    __table_args__ = (
        Index("ix_x_charges_app_at", "app", "at"),
        Index("ix_x_charges_account_at", "account", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column()
    account: Mapped[str] = mapped_column(String(200))
    #: The X app (a fingerprint of its consumer key, never the key): X bills per app.
    app: Mapped[str] = mapped_column(String(64))
    operation: Mapped[str] = mapped_column(String(40))
    #: Why the request was made: publish, reconcile, check.
    purpose: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20))
    units: Mapped[int] = mapped_column(Integer)
    billed_units: Mapped[int] = mapped_column(Integer)
    unit_micros: Mapped[int] = mapped_column(Integer)
    micros: Mapped[int] = mapped_column(Integer)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"), index=True)
    #: The post a create made, once known.
    remote_id: Mapped[str | None] = mapped_column(String(100))


class XReadCharge(Base):
    """A resource (post or user) an app has paid to read on a UTC day. X charges a resource
    once per app and UTC day (https://docs.x.com/x-api/getting-started/pricing,
    "Deduplication"), so a second read of it that day costs nothing."""

    __tablename__ = "x_read_charges"

    app: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    resource: Mapped[str] = mapped_column(String(60), primary_key=True)


class XReservation(Base):
    """What a claimed post is expected to cost, set aside under its app's monthly cap when the
    first part of its unit (a thread, with its pair partner's) was admitted. It counts against
    the cap while the post is queued or publishing, less what the post's publish requests
    have been charged since (db/reservations.py)."""

    __tablename__ = "x_reservations"
    __table_args__ = (Index("ix_x_reservations_app_month", "app", "month"),)

    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), primary_key=True)
    app: Mapped[str] = mapped_column(String(64))
    #: The calendar month (UTC) whose cap it counts against, "2026-12".
    month: Mapped[str] = mapped_column(String(7))
    micros: Mapped[int] = mapped_column(Integer)
    reserved_at: Mapped[datetime] = mapped_column()


class XCapMonth(Base):
    """One row per app and month: the lock every admission under that cap takes first, so
    two daemons never both take the last of it (db/reservations.py)."""

    __tablename__ = "x_cap_months"

    app: Mapped[str] = mapped_column(String(64), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)


# -- alerts: an outbox written with the event, delivered by the daemon outside it -----------------

class AlertEvent(Base):
    """Something staff must hear about (a post failed, an account paused, a daemon silent),
    written in the transaction that records it, or, for what is observed rather than
    recorded, once per `key` (db/alerts.py). Delivery is per channel (AlertDelivery)."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: post_failed, post_needs_review, account_paused, spend_cap, heartbeat_lost,
    #: version_retiring (db/alerts.py, KINDS).
    kind: Mapped[str] = mapped_column(String(40))
    #: What makes an observed event one event: a second one with the same key is never
    #: written. None for an event written with its audit row (written once by construction).
    key: Mapped[str | None] = mapped_column(String(300), unique=True)
    audit_id: Mapped[int | None] = mapped_column(ForeignKey("audit_log.id"))
    at: Mapped[datetime] = mapped_column()
    subject: Mapped[str] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(Text)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"))
    account: Mapped[str | None] = mapped_column(String(200))
    #: When the deliverer gave it its deliveries (one per configured channel); None: not yet.
    routed_at: Mapped[datetime | None] = mapped_column(index=True)

    audit: Mapped[AuditEntry | None] = relationship()


class AlertDelivery(Base):
    """One event to one channel (an e-mail address list or a webhook): pending until sent,
    claimed under a lease while a deliverer sends it, retried with backoff after a failure."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (UniqueConstraint("event_id", "channel"),
                      Index("ix_alert_deliveries_state_channel", "state", "channel"))

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("alert_events.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(100))
    #: pending, sent, dropped (its channel is no longer configured).
    state: Mapped[str] = mapped_column(String(20), default="pending")
    #: Sent together with others in one digest message after this time (UTC).
    not_before: Mapped[datetime] = mapped_column()
    tries: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)

    event: Mapped[AlertEvent] = relationship()
