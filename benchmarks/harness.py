"""What every benchmark needs: a database (SQLite file or an empty PostgreSQL schema), the
emulator on loopback, a config with N accounts on it, and their credentials."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from db import migrate
from db.store import Store
from emulator import Emulator
from scheduler.config import Config, load_config
from scheduler.emulated import demo_credentials
from scheduler.platforms.registry import build_publisher

POSTGRES_URL = os.environ.get("FACTPOST_BENCH_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/factpost_bench")

ACCOUNT = """
[[accounts]]
name = "{name}"
platform = "{platform}"
handle = "{handle}"
api_url = "{url}"
timeout_seconds = 10
budget_posts = 100000000
"""

CONFIG = """
[database]
url = "{database}"
[schedule]
timezone = "UTC"
poll_seconds = {poll}
lease_seconds = 60
max_attempts = 5
[x]
app_budget_posts = 100000000
# The 1 MB import benchmark is far past an office's limits for one document (see
# posts/formats/limits.py): it measures the import path, not those limits.
[import]
max_sections = 10000
max_posts = 100000
"""


def database_url(backend: str, folder: Path) -> str:
    return f"sqlite:///{folder / 'bench.db'}" if backend == "sqlite" else POSTGRES_URL


def empty_postgres(url: str) -> None:
    """Create the benchmark database if needed and empty its public schema."""
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        if not c.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                        {"n": parsed.database}):
            c.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()
    engine = create_engine(url)
    with engine.begin() as c:
        c.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        c.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@dataclass
class Office:
    folder: Path
    config_path: Path
    config: Config
    store: Store
    emulator: Emulator | None
    environ: dict[str, str]

    def publishers(self) -> dict:
        return {a.name: build_publisher(a, self.environ) for a in self.config.accounts}

    def sent(self) -> int:
        assert self.emulator is not None
        return len(self.emulator.requests_log)


@contextmanager
def office(backend: str, *, x_accounts: int = 1, pages: int = 1, latency: float = 0.0,
           poll: float = 5.0, emulator_url: str | None = None) -> Iterator[Office]:
    """A fresh office. With `emulator_url` the caller runs the emulator elsewhere."""
    folder = Path(tempfile.mkdtemp(prefix="factpost-bench-"))
    emulator = None if emulator_url else Emulator(port=0, seed=1).start()
    try:
        url = emulator_url or emulator.url
        blocks = [ACCOUNT.format(name=f"x{i}", platform="x", handle=f"BenchX{i}", url=url)
                  for i in range(x_accounts)]
        blocks += [ACCOUNT.format(name=f"fb{i}", platform="facebook", handle=f"BenchFB{i}",
                                  url=url) for i in range(pages)]
        database = database_url(backend, folder)
        if backend == "postgresql":
            empty_postgres(database)
        config_path = folder / "config.toml"
        config_path.write_text(CONFIG.format(database=database, poll=poll) + "".join(blocks),
                               encoding="utf-8")
        config = load_config(config_path)
        environ = dict(os.environ)
        for account in config.accounts:
            environ.update(demo_credentials(account))
        if emulator is not None:
            emulator.register_accounts(config.accounts, environ)
            emulator.latency = latency
            emulator.refuse_duplicates(False)
            # The platforms' real allowances would hold the accounts for hours mid-benchmark.
            for account in config.accounts:
                if account.platform == "x":
                    emulator.set_x_limits(account.handle, window_limit=100_000_000,
                                          app_day_limit=100_000_000)
            emulator.set_graph_limits(app_calls_per_hour=100_000_000,
                                      page_calls_per_hour=100_000_000)
        store = Store.open(config.database_url)
        migrate.upgrade(store.engine)
        try:
            yield Office(folder, config_path, config, store, emulator, environ)
        finally:
            store.close()
    finally:
        if emulator is not None:
            emulator.stop()
        shutil.rmtree(folder, ignore_errors=True)
