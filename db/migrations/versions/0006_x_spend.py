"""the X spend ledger: every request to X with its price, and same-day read deduplication

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "x_charges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("account", sa.String(length=200), nullable=False),
        sa.Column("app", sa.String(length=64), nullable=False),
        sa.Column("operation", sa.String(length=40), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("billed_units", sa.Integer(), nullable=False),
        sa.Column("unit_micros", sa.Integer(), nullable=False),
        sa.Column("micros", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=True),
        sa.Column("remote_id", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"], name=op.f("fk_x_charges_post_id_posts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_x_charges")),
    )
    op.create_index("ix_x_charges_app_at", "x_charges", ["app", "at"], unique=False)
    op.create_index("ix_x_charges_account_at", "x_charges", ["account", "at"], unique=False)
    op.create_index(op.f("ix_x_charges_post_id"), "x_charges", ["post_id"], unique=False)
    op.create_table(
        "x_read_charges",
        sa.Column("app", sa.String(length=64), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("resource", sa.String(length=60), nullable=False),
        sa.PrimaryKeyConstraint("app", "day", "resource", name=op.f("pk_x_read_charges")),
    )


def downgrade() -> None:
    op.drop_table("x_read_charges")
    op.drop_index(op.f("ix_x_charges_post_id"), table_name="x_charges")
    op.drop_index("ix_x_charges_account_at", table_name="x_charges")
    op.drop_index("ix_x_charges_app_at", table_name="x_charges")
    op.drop_table("x_charges")
