"""`factpost accounts`: checking credentials against the platforms, pausing and resuming."""

from __future__ import annotations

import json

from click.testing import CliRunner

from scheduler.cli import cli


def run(office, *args):
    return CliRunner().invoke(cli, ["--config", str(office.config_path), *args])


def test_check_verifies_every_account_against_its_platform(office):
    result = run(office, "accounts", "check", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["account"], r["platform"], r["handle"], r["ok"]) for r in rows] == [
        ("office-x", "x", "OfficeX", True), ("office-fb", "facebook", "OfficeFB", True)]
    paths = {r["path"] for r in office.emulator.requests_log}
    assert "/2/users/me" in paths


def test_check_fails_with_the_reason_when_a_token_is_bad_or_missing(office, monkeypatch):
    monkeypatch.setenv("FACTPOST_OFFICE_FB_PAGE_TOKEN", "expired-token")
    monkeypatch.delenv("FACTPOST_OFFICE_X_ACCESS_TOKEN")
    result = run(office, "accounts", "check")
    assert result.exit_code == 1
    assert "FACTPOST_OFFICE_X_ACCESS_TOKEN" in result.output
    assert "rejected the page token" in result.output
    assert "expired-token" not in result.output


def test_pause_and_resume_one_account(office, cli_as):
    cli_as(office.store, "press-officer", "admin")
    assert run(office, "accounts", "pause", "office-x", "--reason", "rotating tokens"
               ).exit_code == 0
    x, fb = json.loads(run(office, "accounts", "--json").output)
    assert (x["name"], x["paused"], x["paused_reason"]) == ("office-x", True, "rotating tokens")
    assert not fb["paused"]
    assert "office-x resumed" in run(office, "accounts", "resume", "office-x").output
    assert not json.loads(run(office, "accounts", "--json").output)[0]["paused"]


def test_the_daemon_refuses_to_start_without_credentials(office, monkeypatch):
    monkeypatch.delenv("FACTPOST_OFFICE_FB_PAGE_TOKEN")
    result = run(office, "run", "--once")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "factpost: error: account 'office-fb': set the environment variable(s) "
        "FACTPOST_OFFICE_FB_PAGE_TOKEN (secrets are never read from config.toml)"]
