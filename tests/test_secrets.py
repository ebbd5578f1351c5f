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
from scheduler.emulated import demo_credentials


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


def test_a_token_echoed_back_transformed_is_redacted_too(make_office, tmp_path):
    """A hostile or buggy endpoint echoes the page token upper-cased, lower-cased, in base64
    (alone and inside "user:token") and percent-encoded in its error message: none of these
    forms reaches the database."""
    import base64
    import http.server
    import threading
    from datetime import UTC, datetime, timedelta
    from urllib.parse import quote

    token = None

    class Echo(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            echoes = [token.upper(), token.lower(), base64.b64encode(token.encode()).decode(),
                      base64.b64encode(f"page:{token}".encode()).decode(),
                      quote(token + "/", safe="")]
            body = json.dumps({"error": {"message": "Invalid parameter: " + " | ".join(echoes),
                                         "type": "OAuthException", "code": 100}}).encode()
            self.send_response(400)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        office = make_office(url=f"http://127.0.0.1:{server.server_address[1]}")
        token = demo_credentials(office.config.account("office-fb"))[
            "FACTPOST_OFFICE_FB_PAGE_TOKEN"]
        post_id = office.add("A post to the page.", account="office-fb")
        office.dispatcher().tick(datetime.now(UTC) + timedelta(seconds=1))
    finally:
        server.shutdown()
    post = office.store.history.get(post_id)
    stored = " ".join(filter(None, [post.last_error] + [
        f"{a.error_message} {a.explanation}" for a in post.attempts]))
    assert "Invalid parameter" in stored and "[redacted]" in stored
    db_bytes = (tmp_path / "factpost.db").read_bytes()
    wal = tmp_path / "factpost.db-wal"
    db_bytes += wal.read_bytes() if wal.exists() else b""
    for form in (token, token.upper(), token.lower(), base64.b64encode(token.encode()).decode(),
                 quote(token, safe="")):
        assert form not in stored
        assert form.encode() not in db_bytes
