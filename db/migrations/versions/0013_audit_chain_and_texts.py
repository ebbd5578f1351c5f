"""the audit trail chained by hash (each row's place, the previous row's hash and its own, and
a head row every commit locks), and every version of a post's text

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

# Imported, not copied: the rows must be chained exactly as `factpost audit verify` checks
# them; a later change to the hash needs a migration that chains the trail again anyway.
from db.audit import GENESIS, HEAD_ID, row_digest

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_audit = sa.table("audit_log", sa.column("at", sa.DateTime()), *(sa.column(name) for name in (
    "id", "actor", "action", "post_id", "account", "from_status", "to_status", "reason",
    "seq", "prev_hash", "row_hash")))
_posts = sa.table("posts", sa.column("created_at", sa.DateTime()), *(
    sa.column(name) for name in ("id", "text", "media_id", "created_by")))


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("seq", sa.Integer(), nullable=True))
    op.add_column("audit_log", sa.Column("prev_hash", sa.String(length=64), nullable=True))
    op.add_column("audit_log", sa.Column("row_hash", sa.String(length=64), nullable=True))
    # Unique: two rows can never share a place, even written around the head's lock.
    op.create_index(op.f("ix_audit_log_seq"), "audit_log", ["seq"], unique=True)
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("row_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    op.create_table(
        "post_texts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("media_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["audit_id"], ["audit_log.id"],
                                name=op.f("fk_post_texts_audit_id_audit_log")),
        sa.ForeignKeyConstraint(["media_id"], ["media.id"],
                                name=op.f("fk_post_texts_media_id_media")),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"],
                                name=op.f("fk_post_texts_post_id_posts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_post_texts")),
    )
    op.create_index(op.f("ix_post_texts_post_id"), "post_texts", ["post_id"], unique=False)
    connection = op.get_bind()
    head = _chain_existing(connection)
    connection.execute(sa.insert(sa.table("audit_chain_head", sa.column("id"), sa.column("seq"),
                                          sa.column("row_hash"))),
                       [{"id": HEAD_ID, "seq": head[0], "row_hash": head[1]}])
    _keep_current_texts(connection)


def _chain_existing(connection) -> tuple[int, str]:
    """Chain the rows written before the chain existed, in id order (the order they were
    written in, on one SQLite writer or one PostgreSQL sequence)."""
    seq, prev, last_id = 0, GENESIS, 0
    while True:
        rows = connection.execute(sa.select(_audit).where(_audit.c.id > last_id)
                                  .order_by(_audit.c.id).limit(1000)).mappings().all()
        if not rows:
            return seq, prev
        changes = []
        for row in rows:
            seq += 1
            chained = {"seq": seq, "prev_hash": prev}
            prev = chained["row_hash"] = row_digest({**row, **chained})
            changes.append({"row_id": row["id"], **chained})
        connection.execute(sa.update(_audit).where(_audit.c.id == sa.bindparam("row_id"))
                           .values(seq=sa.bindparam("seq"), prev_hash=sa.bindparam("prev_hash"),
                                   row_hash=sa.bindparam("row_hash")), changes)
        last_id = rows[-1]["id"]


def _keep_current_texts(connection) -> None:
    """Each post's text as it stands becomes its first kept version, credited to the audit
    row that last wrote it (its last text edit, or its creation); earlier texts were never
    kept, so they cannot be recovered."""
    writes = {}
    for row in connection.execute(
            sa.select(_audit.c.id, _audit.c.post_id, _audit.c.at, _audit.c.actor)
            .where(_audit.c.post_id.is_not(None),
                   sa.or_(_audit.c.action == "create",
                          sa.and_(_audit.c.action == "edit",
                                  _audit.c.reason.like("edited text%"))))
            .order_by(_audit.c.id)).mappings():
        writes[row["post_id"]] = row
    versions = []
    for post in connection.execute(sa.select(_posts).order_by(_posts.c.id)).mappings():
        wrote = writes.get(post["id"])
        versions.append({"post_id": post["id"], "audit_id": wrote["id"] if wrote else None,
                         "at": wrote["at"] if wrote else post["created_at"],
                         "actor": wrote["actor"] if wrote else post["created_by"],
                         "text": post["text"], "media_id": post["media_id"]})
    if versions:
        op.bulk_insert(sa.table("post_texts", sa.column("at", sa.DateTime()), *(
            sa.column(name) for name in versions[0] if name != "at")), versions)


def downgrade() -> None:
    op.drop_index(op.f("ix_post_texts_post_id"), table_name="post_texts")
    op.drop_table("post_texts")
    op.drop_table("audit_chain_head")
    op.drop_index(op.f("ix_audit_log_seq"), table_name="audit_log")
    for column in ("row_hash", "prev_hash", "seq"):
        op.drop_column("audit_log", column)
