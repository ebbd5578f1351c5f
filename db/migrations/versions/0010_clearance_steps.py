"""Multi-step clearance: one row per approval of a step (`clearances`), the steps each user
may clear (`user_steps`); every approval given so far becomes the clearance of the one step,
"approval", that an office naming no steps has

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clearances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=50), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("cleared_by", sa.String(length=200), nullable=False),
        sa.Column("cleared_at", sa.DateTime(), nullable=False),
        sa.Column("content", sa.String(length=16), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"],
                                name=op.f("fk_clearances_post_id_posts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clearances")),
    )
    op.create_index(op.f("ix_clearances_post_id"), "clearances", ["post_id"], unique=False)
    op.create_table(
        "user_steps",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=50), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_user_steps_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", "step", name=op.f("pk_user_steps")),
    )
    # An approval is the one-step case of clearance: it carries on as that step's record.
    op.execute(
        "INSERT INTO clearances (post_id, step, position, cleared_by, cleared_at, content) "
        "SELECT id, 'approval', 1, approved_by, COALESCE(approved_at, updated_at), "
        "approved_content FROM posts WHERE approved_by IS NOT NULL ORDER BY id")


def downgrade() -> None:
    op.drop_table("user_steps")
    op.drop_index(op.f("ix_clearances_post_id"), table_name="clearances")
    op.drop_table("clearances")
