"""Alembic environment: run by db.migrate with a connection already open."""

from alembic import context

from db.models import Base, in_models

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
    compare_type=True,
    include_name=in_models,
)
with context.begin_transaction():
    context.run_migrations()
