"""Corrections and acknowledgments linked to the post they answer (posts.corrects_id), and
whether they go out as a reply to it; retracting and retracted are new values of posts.status

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # A batch rebuild of `posts` would drop its search triggers and expression indexes
        # (migrations 0005, 0008); SQLite adds a column with a reference in place.
        op.execute("ALTER TABLE posts ADD COLUMN corrects_id INTEGER "
                   "CONSTRAINT fk_posts_corrects_id_posts REFERENCES posts (id)")
    else:
        op.add_column("posts", sa.Column("corrects_id", sa.Integer(), nullable=True))
        op.create_foreign_key(op.f("fk_posts_corrects_id_posts"), "posts", "posts",
                              ["corrects_id"], ["id"])
    op.add_column("posts", sa.Column("reply_to_corrected", sa.Boolean(), nullable=False,
                                     server_default=sa.false()))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # In place, as the upgrade added them: a batch rebuild of `posts` would drop the
        # search triggers and expression indexes of migrations 0005 and 0008 (SQLite 3.35+
        # drops a column, its reference clause with it, without rebuilding the table).
        op.execute("ALTER TABLE posts DROP COLUMN reply_to_corrected")
        op.execute("ALTER TABLE posts DROP COLUMN corrects_id")
        return
    op.drop_column("posts", "reply_to_corrected")
    op.drop_constraint(op.f("fk_posts_corrects_id_posts"), "posts", type_="foreignkey")
    op.drop_column("posts", "corrects_id")
