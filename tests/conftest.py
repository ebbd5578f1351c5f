"""Shared fixtures: real SQLite files in tmp_path, a real emulator on loopback, configs."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from db import migrate
from db.store import Store

# Tests must never reach a real platform or an environment proxy.
for _var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
    os.environ.pop(_var, None)

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # 09:00 in Asia/Baghdad, a Tuesday


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """Write a config.toml from TOML text (dedented) and return its path."""

    def write(text: str, name: str = "config.toml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


@pytest.fixture
def store(tmp_path: Path):
    s = Store.open(f"sqlite:///{tmp_path / 'factpost.db'}")
    migrate.upgrade(s.engine)
    yield s
    s.close()
