"""notify daemons when a post is queued (PostgreSQL only)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

Every writer (CLI, web, another daemon) goes through the database, so the database is the one
place that can announce new work to every daemon. SQLite has no such channel; daemons on SQLite
keep polling.
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # An empty payload lets PostgreSQL fold the notifications of one transaction (an import of
    # a hundred posts) into one.
    op.execute("""
        CREATE FUNCTION factpost_notify_due() RETURNS trigger AS $$
        BEGIN
            PERFORM pg_notify('factpost_due', '');
            RETURN NULL;
        END;
        $$ LANGUAGE plpgsql
    """)
    op.execute("""
        CREATE TRIGGER posts_notify_due
        AFTER INSERT OR UPDATE OF status, scheduled_at ON posts
        FOR EACH ROW WHEN (NEW.status = 'queued')
        EXECUTE FUNCTION factpost_notify_due()
    """)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS posts_notify_due ON posts")
    op.execute("DROP FUNCTION IF EXISTS factpost_notify_due()")
