"""X spend reservations (a claimed unit's cost is set aside under the monthly cap in the claim's
own transaction, under a per-app, per-month lock row), and what each approval covered

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.add_column(sa.Column("approved_content", sa.String(length=16), nullable=True))
    op.create_table(
        "x_reservations",
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("app", sa.String(length=64), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("micros", sa.Integer(), nullable=False),
        sa.Column("reserved_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"],
                                name=op.f("fk_x_reservations_post_id_posts")),
        sa.PrimaryKeyConstraint("post_id", name=op.f("pk_x_reservations")),
    )
    op.create_index("ix_x_reservations_app_month", "x_reservations", ["app", "month"],
                    unique=False)
    op.create_table(
        "x_cap_months",
        sa.Column("app", sa.String(length=64), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.PrimaryKeyConstraint("app", "month", name=op.f("pk_x_cap_months")),
    )


def downgrade() -> None:
    op.drop_table("x_cap_months")
    op.drop_index("ix_x_reservations_app_month", table_name="x_reservations")
    op.drop_table("x_reservations")
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("approved_content")
