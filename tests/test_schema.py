"""The migrations and the models describe the same schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from db import migrate
from db.models import Base
from db.store import Store


def test_migrations_create_exactly_the_tables_the_models_declare(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path / 'schema.db'}")
    migrate.upgrade(store.engine)
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    store.close()
