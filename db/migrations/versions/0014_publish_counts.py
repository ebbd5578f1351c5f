"""Posts published per account and hour, kept by the transition function, so that a posting
budget is read from a few counters rather than from the posts of its window (issue 17)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "publish_counts",
        sa.Column("account", sa.String(length=200), nullable=False),
        sa.Column("hour", sa.DateTime(), nullable=False),
        sa.Column("posts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("account", "hour", name=op.f("pk_publish_counts")),
    )
    # The posts published so far, counted once here.
    hour = ("date_trunc('hour', published_at)" if op.get_bind().dialect.name == "postgresql"
            else "strftime('%Y-%m-%d %H:00:00.000000', published_at)")
    op.execute(f"INSERT INTO publish_counts (account, hour, posts) "
               f"SELECT account, {hour}, count(*) FROM posts "
               f"WHERE status = 'published' AND published_at IS NOT NULL "
               f"GROUP BY account, {hour}")


def downgrade() -> None:
    op.drop_table("publish_counts")
