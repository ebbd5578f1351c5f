"""Bad input through the whole import path: any bytes give a stored document or one clean
error, never a traceback, and a refused file leaves the database as it was."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from migrated import open_migrated

from posts.states import Actor
from scheduler.config import load_config
from scheduler.importing import import_file
from scheduler.reading import DocumentImportError

CONFIG = """
[database]
url = "sqlite:///fuzz.db"
[[accounts]]
name = "x"
platform = "x"
handle = "X"
[[accounts]]
name = "fb"
platform = "facebook"
handle = "FB"
"""

texty = st.text(st.characters(blacklist_categories=["Cs"]), max_size=3000)
files = st.one_of(
    st.binary(max_size=3000),
    texty.map(lambda t: t.encode("utf-8")),
    texty.map(lambda t: t.encode("utf-16")),
    st.builds(lambda a, b: a.encode("utf-8") + b, texty, st.binary(max_size=50)),
)


@pytest.mark.slow
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=files)
def test_any_file_imports_or_is_refused_cleanly(tmp_path_factory, data):
    folder: Path = tmp_path_factory.mktemp("fuzz")
    (folder / "config.toml").write_text(CONFIG, encoding="utf-8")
    config = load_config(folder / "config.toml")
    store = open_migrated(config.database_url)
    path = folder / "sheet.txt"
    path.write_bytes(data)
    with sqlite3.connect(folder / "fuzz.db") as c:
        before = list(c.iterdump())
    now = datetime.now(UTC)
    try:
        report = import_file(path, store=store, config=config, accounts=config.accounts,
                             actor=Actor("fuzz", "admin"), now=now, at=now)
    except DocumentImportError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)
        with sqlite3.connect(folder / "fuzz.db") as c:
            assert list(c.iterdump()) == before
    else:
        assert report.created > 0
        posts = store.history.search()
        assert all(p.text.strip() for p in posts)
    finally:
        store.close()
