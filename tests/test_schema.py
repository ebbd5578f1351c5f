"""The migrations and the models describe the same schema, on every database."""

from __future__ import annotations

import warnings

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.exc import SAWarning

from db.models import Base, in_models


def test_migrations_create_exactly_the_tables_the_models_declare(store):
    with store.engine.connect() as connection, warnings.catch_warnings():
        if store.engine.dialect.name == "sqlite":
            # SQLite cannot reflect the expression indexes of history paging; PostgreSQL
            # compares them too.
            warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression",
                                    SAWarning)
            warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified "
                                    "expression-based index", UserWarning)
        # The full-text search table and index are not declared in the models (see in_models).
        context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                               "include_name": in_models})
        assert compare_metadata(context, Base.metadata) == []
