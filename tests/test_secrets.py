"""Secrets never reach the database, the logs, error messages or JSON output."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from scheduler.cli import cli
from scheduler.emulator import demo_credentials


def secret_values(office) -> list[str]:
    return [v for a in office.config.accounts for v in demo_credentials(a).values()]


def test_a_full_publish_leaves_no_token_anywhere(office, tmp_path: Path, caplog):
    caplog.set_level(logging.DEBUG)  # tweepy and urllib3 log headers and URLs at DEBUG
    office.emulator.inject("commit_then_error", platform="facebook")
    office.emulator.inject("drop_before", platform="x")
    office.add("A post to X.")
    office.add("A post to the page.", account="office-fb")
    office.add("x" * 300)  # rejected: an error message is stored
    dispatcher = office.dispatcher()
    from datetime import UTC, datetime, timedelta

    for hours in (0, 2, 4):
        dispatcher.tick(datetime.now(UTC) + timedelta(hours=hours))

    runner = CliRunner()
    config = ["--config", str(office.config_path)]
    outputs = [runner.invoke(cli, [*config, *args]).output for args in (
        ["history", "--json"], ["history", "--csv"], ["status", "--json"],
        ["accounts", "--json"], ["accounts", "check", "--json"], ["post", "show", "1", "--json"],
        ["post", "show", "2", "--json"], ["post", "show", "3", "--json"])]
    assert json.loads(outputs[0])  # the commands really ran
    proc = subprocess.run([sys.executable, "-m", "scheduler", *config, "run", "--once",
                           "--verbose"], env=dict(os.environ), capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr

    db_bytes = (tmp_path / "factpost.db").read_bytes()
    wal = tmp_path / "factpost.db-wal"
    db_bytes += wal.read_bytes() if wal.exists() else b""
    everything = "\n".join([caplog.text, *outputs, proc.stdout, proc.stderr])
    for value in secret_values(office):
        assert value not in everything
        assert value.encode() not in db_bytes
