"""A store at the newest schema, for tests whose subject is not the migrations.

Running the Alembic chain takes 0.3 to 1 s a database (longer on a loaded machine), and most
tests start from an empty database, so the suite spent minutes migrating. A new SQLite file is
instead a copy of one database migrated once per test process; the migrations themselves are
tested from an empty database in tests/test_schema.py, and PostgreSQL is still migrated.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

from db import migrate
from db.store import Store
from posts.states import NO_REVIEW, Review

_template: Path | None = None


def _migrated_template() -> Path:
    global _template
    if _template is None:
        folder = Path(tempfile.mkdtemp(prefix="factpost-schema-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        path = folder / "template.db"
        store = Store.open(f"sqlite:///{path}")
        migrate.upgrade(store.engine)
        store.close()  # the last connection's close checkpoints the WAL into the file
        _template = path
    return _template


def open_migrated(url: str, review: Review = NO_REVIEW) -> Store:
    """Store.open(url) on a database at the newest schema: a new SQLite file is a copy of the
    per-process template; anything else (an existing file, PostgreSQL) is migrated."""
    parsed = make_url(url)
    database = parsed.database
    if (parsed.get_backend_name() == "sqlite" and database and database != ":memory:"
            and not Path(database).exists()):
        shutil.copyfile(_migrated_template(), database)
        return Store.open(url, review=review)
    store = Store.open(url, review=review)
    migrate.upgrade(store.engine)
    return store
