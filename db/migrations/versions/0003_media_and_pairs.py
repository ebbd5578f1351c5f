"""images with alt text; English/Arabic post pairs

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "media",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("mime_type", sa.String(length=50), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("alt_text", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media")),
        sa.UniqueConstraint("sha256", "alt_text", name=op.f("uq_media_sha256")),
    )
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("media_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_posts_media_id_media"), "media",
                                    ["media_id"], ["id"])
        batch_op.add_column(sa.Column("pair_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_posts_pair_id_posts"), "posts",
                                    ["pair_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_posts_pair_id_posts"), type_="foreignkey")
        batch_op.drop_column("pair_id")
        batch_op.drop_constraint(batch_op.f("fk_posts_media_id_media"), type_="foreignkey")
        batch_op.drop_column("media_id")
    op.drop_table("media")
