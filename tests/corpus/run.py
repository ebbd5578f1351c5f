"""The corpus: every real-world failure case (../../../shared/cases, and the two found by
trying the product) as an input with its expected result, reviewed by hand.

Each folder holds the case's input, `case.toml` (what it is, the command, and optionally the
moment it runs at, whether it uses the folder's config.toml, whether the queue is recorded)
and `expected.json`, the golden result. `tests/test_corpus.py` runs every case with `make
test`; `make corpus` (this file run as a script) writes the golden files again: only on
purpose, and the diff is reviewed before it is committed.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tomllib
from datetime import datetime
from pathlib import Path
from unittest import mock
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
GOLDEN = "expected.json"


def cases() -> list[Path]:
    return sorted(p.parent for p in HERE.glob("*/case.toml"))


def run_case(folder: Path, workdir: Path) -> dict:
    """Run the case's command in `workdir` (a copy of the folder) and return what a reviewer
    checks: the exit code, the output (parsed, for --json), and with `queue` the posts' times
    in the office timezone."""
    from click.testing import CliRunner

    from scheduler.cli import cli

    spec = tomllib.loads((folder / "case.toml").read_text(encoding="utf-8"))
    for item in folder.iterdir():
        if item.is_file() and item.name not in (GOLDEN, "case.toml"):
            shutil.copy(item, workdir / item.name)
    config = ["--config", str(workdir / "config.toml")] if spec.get("config") else []
    now = datetime.fromisoformat(spec.get("now", "2026-12-01T06:00:00+00:00"))
    env = {"FACTPOST_CONFIG": None, "FACTPOST_USER": None, "FACTPOST_TOKEN": None}
    runner = CliRunner()
    cwd = Path.cwd()
    os.chdir(workdir)
    try:
        with mock.patch("scheduler.cli.documents.now", lambda: now), \
                mock.patch("scheduler.cli.posts.now", lambda: now):
            if config:
                assert runner.invoke(cli, [*config, "init"], env=env).exit_code == 0
            result = runner.invoke(cli, [*config, *spec["command"]], env=env)
            record: dict = {"what": spec["what"], "command": spec["command"],
                            "exit_code": result.exit_code}
            if "--json" in spec["command"] and result.exit_code == 0:
                record["output"] = json.loads(result.stdout)
            else:
                record["output"] = result.output.splitlines()
            if spec.get("queue"):
                queued = json.loads(runner.invoke(cli, [*config, "queue", "--json"],
                                                  env=env).stdout)
                zone = ZoneInfo(tomllib.loads(
                    (workdir / "config.toml").read_text())["schedule"]["timezone"])
                record["queue"] = [
                    f"{p['account']} {datetime.fromisoformat(p['scheduled_at']).astimezone(zone):%Y-%m-%d %H:%M %Z (UTC%z)} "  # noqa: E501
                    f"{p['text'][:40]!r}" for p in queued]
    finally:
        os.chdir(cwd)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return record


def golden(folder: Path) -> dict:
    return json.loads((folder / GOLDEN).read_text(encoding="utf-8"))


def write_golden(folder: Path, record: dict) -> None:
    (folder / GOLDEN).write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n",
                                 encoding="utf-8")


def main() -> None:
    import tempfile

    for folder in cases():
        with tempfile.TemporaryDirectory() as tmp:
            record = run_case(folder, Path(tmp))
        write_golden(folder, record)
        print(f"{folder.name}: exit {record['exit_code']}, wrote {GOLDEN}", file=sys.stderr)


if __name__ == "__main__":
    main()
