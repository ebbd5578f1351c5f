"""The command line, in-process: each command works, and bad input gets one clean line,
a non-zero exit, and leaves the database exactly as it was."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from sample_documents import TWINS, sample_blocks, sample_text

from scheduler.cli import cli

SHEET = """\
JOINT TASK FORCE MERIDIAN FACT SHEET

OUR MISSION
Joint Task Force Meridian supports partner forces in the region. The task force was formed in 2024.

CIVIL AFFAIRS
Teams repaired 12 schools and 4 clinics this year. Work continues in three districts.

Follow us: twitter.com/JTFMeridian | facebook.com/JTFMeridian
Media: press@meridian.example.org
"""

CONFIG = """
[database]
url = "sqlite:///factpost.db"
[schedule]
timezone = "Asia/Baghdad"
[review]
require_approval = {approval}
[[accounts]]
name = "office-x"
platform = "x"
handle = "OfficeX"
api_url = "http://127.0.0.1:9"
slots = ["0 9 * * mon-fri", "0 15 * * mon-fri"]
[[accounts]]
name = "office-fb"
platform = "facebook"
handle = "OfficeFB"
api_url = "http://127.0.0.1:9"
slots = ["30 9 * * mon-fri"]
"""


@pytest.fixture
def factpost(write_config, tmp_path, monkeypatch):
    """Run factpost in-process against a fresh config and database; returns the result.

    The first call sets up the office as an operator would: `init`, then two users made with
    `factpost user add` and given tokens with `factpost user token`: press-officer (admin),
    whose token is in FACTPOST_TOKEN, and second-officer (approver); `run.act_as(name)`
    switches FACTPOST_TOKEN to another user's token."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FACTPOST_TOKEN", raising=False)
    tokens: dict[str, str] = {}

    def invoke(*args: str, input: str | None = None):
        return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)

    def run(*args: str, approval: bool = False, ok: bool = True, input: str | None = None):
        if not (tmp_path / "config.toml").exists():
            write_config(CONFIG.format(approval=str(approval).lower()))
            assert invoke("init").exit_code == 0
            for name, role in (("press-officer", "admin"), ("second-officer", "approver")):
                assert invoke("user", "add", name, "--role", role,
                              input="a long passphrase\n").exit_code == 0
                tokens[name] = invoke("user", "token", name).output.strip()
            act_as("press-officer")
        result = invoke(*args, input=input)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    def act_as(name: str | None) -> None:
        if name is None:
            monkeypatch.delenv("FACTPOST_TOKEN", raising=False)
        else:
            monkeypatch.setenv("FACTPOST_TOKEN", tokens[name])

    run.act_as = act_as
    run.tokens = tokens
    return run


@pytest.fixture
def sheet(tmp_path) -> Path:
    path = tmp_path / "sheet.txt"
    path.write_text(SHEET, encoding="utf-8")
    return path


def db_dump(tmp_path: Path, tokens: bool = False) -> list[str]:
    """Every row; API tokens only when asked: a command that proves its user with one notes
    the token's last use."""
    import sqlite3

    with sqlite3.connect(tmp_path / "factpost.db") as c:
        return [line for line in c.iterdump() if tokens or 'INTO "api_tokens"' not in line]


def test_preview_shows_sections_contacts_and_snippets_as_json_without_a_config(sheet,
                                                                               tmp_path,
                                                                               monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["preview", str(sheet), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"title", "sections", "contacts", "snippets", "images", "x_cost",
                         "notes"}
    assert data["notes"] == [  # nothing left out of the posts silently
        'not posted, taken for contact details: "Follow us: twitter.com/JTFMeridian | '
        'facebook.com/JTFMeridian"',
        'not posted, taken for contact details: "Media: press@meridian.example.org"']
    assert data["images"] == []  # plain text holds none
    x_posts = [s for s in data["snippets"] if s["platform"] == "x"]
    # Without a config, X's published prices: $0.015 a post, $0.200 one with a link.
    assert data["x_cost"]["posts"] == len(x_posts)
    assert data["x_cost"]["micros"] == (15_000 * len(x_posts)
                                        + 185_000 * data["x_cost"]["posts_with_links"])
    assert [s["heading"] for s in data["sections"]] == ["OUR MISSION", "CIVIL AFFAIRS"]
    assert {"platform": "x", "handle": "JTFMeridian"} in data["contacts"]["accounts"]
    assert "press@meridian.example.org" in data["contacts"]["emails"]
    snippet = data["snippets"][0]
    assert set(snippet) == {"platform", "section", "text", "weighted_length",
                            "thread_position", "thread_size"}
    assert all("twitter.com" not in s["text"] for s in data["snippets"])
    assert not (tmp_path / "factpost.db").exists()


def test_import_schedules_posts_into_slots_and_a_second_import_adds_nothing(factpost, sheet):
    first = factpost("import", str(sheet))
    assert "posts queued" in first.output
    queue = json.loads(factpost("queue", "--json").output)
    assert {p["account"] for p in queue} == {"office-x", "office-fb"}
    fb_times = [p["scheduled_at"] for p in queue if p["account"] == "office-fb"]
    assert all(t.endswith("06:30:00+00:00") for t in fb_times)  # 09:30 Baghdad
    again = factpost("import", str(sheet))
    assert "already imported" in again.output and "nothing added" in again.output
    assert len(json.loads(factpost("queue", "--json").output)) == len(queue)


def test_import_with_at_and_every_spaces_posts_evenly(factpost, sheet):
    factpost("import", str(sheet), "--account", "office-fb", "--at", "2036-12-01 10:00",
             "--every", "30m")
    queue = json.loads(factpost("queue", "--json").output)
    assert [p["scheduled_at"] for p in queue] == ["2036-12-01T07:00:00+00:00",
                                                  "2036-12-01T07:30:00+00:00"]


@pytest.mark.parametrize(("content", "problem"), [
    (None, "file not found"),
    (b"", "empty"),
    (b"\x00\x01\x02binary\x00data" * 100, "binary"),
    ("Caf\u00e9 na\u00efve".encode("latin-1") * 20, "UTF-8"),
    (b"   \n\n  \t \n", "no letters or digits"),
    (b"TITLE ONLY\n\ntwitter.com/x\n", "no post text"),
    ("huge", "too large"),
])
def test_bad_files_get_one_line_and_leave_the_database_as_it_was(factpost, tmp_path, content,
                                                                 problem):
    factpost("post", "add", "Existing post.", "--account", "office-x")
    before = db_dump(tmp_path)
    path = tmp_path / "bad.txt"
    if content == "huge":
        with open(path, "wb") as f:
            f.truncate(50 * 1024 * 1024)
    elif content is not None:
        path.write_bytes(content)
    result = factpost("import", str(path), ok=False)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("factpost: error: ")
    assert str(path) in lines[0] and problem.lower() in lines[0].lower()
    assert db_dump(tmp_path) == before


def queued_texts(factpost) -> dict[str, list[str]]:
    texts: dict[str, list[str]] = {}
    for post in json.loads(factpost("queue", "--json").output):
        texts.setdefault(post["account"], []).append(post["text"])
    return texts


@pytest.mark.parametrize("extension", sorted(TWINS))
def test_import_of_each_format_queues_the_same_posts_as_the_text_twin(factpost, tmp_path,
                                                                      extension):
    text = tmp_path / "factsheet.txt"
    text.write_text(sample_text(), encoding="utf-8")
    factpost("import", str(text))
    expected = queued_texts(factpost)
    for post in json.loads(factpost("queue", "--json").output):
        factpost("post", "cancel", str(post["id"]))
    twin = tmp_path / f"twin{extension}"
    twin.write_bytes(TWINS[extension](sample_blocks()))
    assert "posts queued" in factpost("import", str(twin)).output
    assert queued_texts(factpost) == expected


@pytest.mark.parametrize(("name", "content", "problem"), [
    ("sheet.pdf", b"%PDF-1.7\n1 0 obj garbage", "not a readable PDF"),
    ("sheet.docx", b"PK\x03\x04 not really a zip", "archive is damaged"),
    ("sheet.ods", b"x", ".ods files are not supported"),
])
def test_unreadable_documents_get_one_line_and_leave_the_database_as_it_was(
        factpost, tmp_path, name, content, problem):
    factpost("post", "add", "Existing post.", "--account", "office-x")
    before = db_dump(tmp_path)
    path = tmp_path / name
    path.write_bytes(content)
    result = factpost("import", str(path), ok=False)
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1 and problem in lines[0]
    assert db_dump(tmp_path) == before


def test_post_lifecycle_with_approval(factpost):
    added = factpost("post", "add", "Briefing at 10:00.", "--account", "office-x",
                     "--at", "+1h", approval=True)
    assert "post 1 draft" in added.output
    factpost("post", "approve", "1")
    factpost("post", "edit", "1", "--text", "Briefing moved to 11:00.")
    shown = json.loads(factpost("post", "show", "1", "--json").output)
    assert (shown["status"], shown["text"]) == ("draft", "Briefing moved to 11:00.")
    assert [a["action"] for a in shown["audit"]] == ["create", "approve", "edit"]
    assert all(a["actor"] == "press-officer" for a in shown["audit"])
    factpost("post", "cancel", "1", "--reason", "superseded")
    assert "cancelled" in factpost("post", "show", "1").output


def test_a_post_too_long_for_x_becomes_a_thread_as_it_does_in_the_web_ui(factpost):
    # One compose path (scheduler/compose.py): 282 weighted characters make two X posts.
    result = factpost("post", "add", "字" * 141, "--account", "office-x")
    assert "thread of 2 posts (1, 2) queued for office-x" in result.output
    thread = json.loads(factpost("queue", "--json").output)
    assert [(p["thread_position"], p["thread_size"]) for p in thread] == [(1, 2), (2, 2)]
    assert thread[0]["text"].endswith(" 1/2") and thread[1]["text"].endswith(" 2/2")
    # A second long text by the same person is a second thread, never "already composed".
    result = factpost("post", "add", "文" * 141, "--account", "office-x")
    assert "thread of 2 posts (3, 4) queued for office-x" in result.output


def test_a_post_too_long_for_facebook_is_refused_with_its_length(factpost):
    # Facebook has no threads: text over one post's limit is refused, nothing is stored.
    result = factpost("post", "add", "z" * 63_207, "--account", "office-fb", ok=False)
    assert result.exit_code == 1
    assert "63207/63206 characters for Facebook" in result.output
    assert json.loads(factpost("queue", "--json").output) == []


def test_unknown_ids_accounts_and_illegal_moves_are_one_line_errors(factpost):
    result = factpost("post", "show", "42", ok=False)
    assert result.exit_code == 1 and "no post with id 42" in result.output
    result = factpost("post", "add", "x", "--account", "nope", ok=False)
    assert "no account named 'nope'" in result.output
    factpost("post", "add", "Hello.", "--account", "office-x")
    factpost("post", "cancel", "1")
    result = factpost("post", "cancel", "1", ok=False)
    assert "post 1 is cancelled; cancel works on draft, failed, needs_review, queued posts " \
           "only" in result.output


def test_history_exports_json_and_csv_with_the_listing_fields(factpost):
    factpost("post", "add", "One, with a comma.", "--account", "office-x")
    factpost("post", "add", "Two.", "--account", "office-fb")
    rows = json.loads(factpost("history", "--json").output)
    assert {"id", "account", "platform", "status", "text", "scheduled_at", "published_at",
            "remote_id", "remote_url", "document", "section", "thread_position",
            "thread_size"} <= set(rows[0])
    exported = list(csv.DictReader(io.StringIO(factpost("history", "--csv").output)))
    assert {r["text"] for r in exported} == {"One, with a comma.", "Two."}
    searched = json.loads(factpost("history", "--search", "comma", "--json").output)
    assert [r["text"] for r in searched] == ["One, with a comma."]


def test_history_search_matches_words_and_refuses_a_search_without_any(factpost):
    factpost("post", "add", "Café opened near the Port of Basra.", "--account", "office-x")
    factpost("post", "add", "مُحَمَّد زار البصرة", "--account", "office-x")
    factpost("post", "add", "Port closed.", "--account", "office-x")

    def texts(*search: str) -> list[str]:
        return [r["text"] for r in json.loads(factpost("history", "--json", "--search",
                                                       *search).output)]

    assert texts("basra CAFE") == ["Café opened near the Port of Basra."]
    assert texts("محمد") == ["مُحَمَّد زار البصرة"]
    assert texts('"port of"') == ["Café opened near the Port of Basra."]
    assert texts("port") == ["Port closed.", "Café opened near the Port of Basra."]
    result = factpost("history", "--search", "%*", ok=False)
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and lines == [
        "factpost: error: search '%*' has no letters or digits to look for; search for one or "
        "more words"]


def test_commands_refuse_an_uninitialised_database(write_config, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_config(CONFIG.format(approval="false"))
    result = CliRunner().invoke(cli, ["queue"])
    assert result.exit_code == 1 and "run 'factpost init'" in result.output


def test_status_reports_posts_per_state_and_pauses(factpost):
    factpost("post", "add", "Hello.", "--account", "office-x", "--at", "+1h")
    factpost("pause", "--all", "--reason", "crisis")
    status = json.loads(factpost("status", "--json").output)
    assert status["posts"]["queued"] == 1
    assert status["next_due"]["id"] == 1
    assert {p["name"] for p in status["paused_accounts"]} == {"office-x", "office-fb"}
    assert status["last_seen"] is None
    factpost("resume", "--all")
    assert json.loads(factpost("status", "--json").output)["paused_accounts"] == []


def test_status_in_words(factpost):
    factpost("post", "add", "Hello.", "--account", "office-x", "--at", "2036-12-01 09:00")
    factpost("accounts", "pause", "office-x", "--reason", "tokens rotated")
    lines = factpost("status").output.splitlines()
    assert lines[:2] == ["daemon: not running", "posts: queued 1"]
    assert "next due: post 1 for office-x at 2036-12-01 09:00:00" in lines
    assert "paused: office-x (tokens rotated)" in lines


def test_users_are_added_with_a_password_from_stdin_and_only_its_hash_is_kept(factpost,
                                                                             tmp_path):
    result = factpost("user", "add", "amira", "--role", "approver",
                      input="a long passphrase\n")
    assert result.output == "user amira added as approver\n"
    dump = "\n".join(db_dump(tmp_path))
    assert "a long passphrase" not in dump and "$argon2id$" in dump
    again = factpost("user", "add", "amira", "--role", "author", input="another one!\n",
                     ok=False)
    assert again.exit_code == 1 and "a user named 'amira' already exists" in again.output
    short = factpost("user", "add", "bashir", "--role", "author", input="short\n", ok=False)
    assert "use at least 10" in short.output
    assert "bashir" not in factpost("user", "list").output
    factpost("user", "set", "amira", "--role", "admin", "--disable")
    listed = factpost("user", "list").output
    assert re.search(r"amira\W+admin\W+disabled", listed), listed


def test_an_api_token_is_printed_once_and_stored_as_a_hash(factpost, tmp_path):
    import hashlib

    factpost("user", "add", "amira", "--role", "admin", input="a long passphrase\n")
    token = factpost("user", "token", "amira").output.strip()
    assert token.startswith("fp_") and len(token) > 40
    dump = "\n".join(db_dump(tmp_path, tokens=True))
    assert token not in dump and hashlib.sha256(token.encode()).hexdigest() in dump
    assert factpost("user", "token", "amira").output.strip() != token
    missing = factpost("user", "token", "nobody", ok=False)
    assert "no user named 'nobody'" in missing.output


def test_serve_refuses_to_start_before_anyone_can_sign_in(write_config, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_config(CONFIG.format(approval="false"))
    assert CliRunner().invoke(cli, ["init"]).exit_code == 0
    result = CliRunner().invoke(cli, ["serve", "--port", "9"])
    assert result.exit_code == 1
    assert "no users yet; add one first: factpost user add NAME --role admin" in result.output


def test_the_two_person_rule_holds_on_the_command_line(factpost):
    factpost("post", "add", "Hello.", "--account", "office-x",
             approval="true\ntwo_person_rule = true")
    refused = factpost("post", "approve", "1", ok=False)
    assert "written or edited by press-officer" in refused.output
    factpost.act_as("second-officer")
    assert "approved 1 post(s): 1" in factpost("post", "approve", "1").output


def all_commands(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from all_commands(command, (*prefix, name))


@pytest.mark.parametrize(("path", "command"), list(all_commands(cli)),
                         ids=lambda v: " ".join(v) if isinstance(v, tuple) else "")
def test_every_command_has_help_with_an_example(path, command):
    assert command.help and len(command.help.strip()) > 20, f"{path} has no help"
    if not isinstance(command, click.Group) or path == ("accounts",):
        assert "Example" in command.help, f"'factpost {' '.join(path)}' has no example"
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{path} option {param.name} has no help"


# --- times in the past, and the days the clocks change ---------------------------------------

def test_a_time_in_the_past_is_refused_in_one_line_and_nothing_is_queued(factpost, sheet,
                                                                        tmp_path):
    factpost("queue")  # config and database in place
    before = db_dump(tmp_path)
    result = factpost("import", str(sheet), "--at", "2025-01-15 09:00", "--every", "10m",
                      ok=False)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "factpost: error: --at 2025-01-15 09:00 +03 is in the past; give a future time, or "
        "add --allow-past to send overdue posts (spaced as planned)"]
    assert db_dump(tmp_path) == before
    added = factpost("post", "add", "Hello.", "--account", "office-x", "--at",
                     "2025-01-15 09:00", ok=False)
    assert added.exit_code == 1 and "in the past" in added.output


def test_allow_past_queues_overdue_posts(factpost, sheet):
    factpost("import", str(sheet), "--account", "office-x", "--at", "2025-01-15 09:00",
             "--every", "10m", "--allow-past")
    queue = json.loads(factpost("queue", "--json").output)
    assert queue[0]["scheduled_at"] == "2025-01-15T06:00:00+00:00"


def test_an_at_time_in_a_repeated_hour_says_which_one_was_taken(factpost, write_config,
                                                                tmp_path):
    write_config(CONFIG.format(approval="false").replace("Asia/Baghdad", "America/New_York"))
    assert CliRunner().invoke(cli, ["init"]).exit_code == 0
    result = factpost("post", "add", "Night watch.", "--account", "office-x", "--at",
                      "2036-11-02 01:30")
    assert result.output.splitlines()[0] == (
        "note: 2036-11-02 01:30 happens twice in America/New_York (the clocks go back); took "
        "the first, 01:30 EDT (UTC-04:00); for the second write '2036-11-02 01:30:00-05:00'")
    second = factpost("post", "add", "Night watch, later.", "--account", "office-x", "--at",
                      "2036-11-02 01:30:00-05:00")
    assert "note:" not in second.output
    times = [p["scheduled_at"] for p in json.loads(factpost("queue", "--json").output)]
    assert times == ["2036-11-02T05:30:00+00:00", "2036-11-02T06:30:00+00:00"]


def test_configured_hashtags_go_on_once_for_composed_posts_and_preview_shows_them(
        factpost, write_config, tmp_path):
    write_config(CONFIG.format(approval="false").replace(
        'slots = ["0 9 * * mon-fri", "0 15 * * mon-fri"]',
        'slots = ["0 9 * * mon-fri", "0 15 * * mon-fri"]\nhashtags = ["#JTFMeridian"]'))
    assert CliRunner().invoke(cli, ["init"]).exit_code == 0
    factpost("post", "add", "Port reopened.", "--account", "office-x")
    factpost("post", "add", "Port reopened again. #jtfmeridian", "--account", "office-x")
    texts = [p["text"] for p in json.loads(factpost("queue", "--json").output)]
    assert sorted(texts) == ["Port reopened again. #jtfmeridian", "Port reopened. #JTFMeridian"]
    sheet = tmp_path / "tagged.txt"
    sheet.write_text("Title\n\nPATROLS\nCrews patrolled the strait. #JTFMeridian\n", "utf-8")
    shown = json.loads(factpost("preview", str(sheet), "--json").output)
    x_posts = [s for s in shown["snippets"] if s["account"] == "office-x"]
    assert [s["text"] for s in x_posts] == ["PATROLS\n\nCrews patrolled the strait. #JTFMeridian"]
    factpost("import", str(sheet), "--account", "office-x")
    stored = [p["text"] for p in json.loads(factpost("queue", "--json").output)]
    assert x_posts[0]["text"] in stored  # preview shows exactly what is queued


def test_the_two_slots_of_a_repeated_hour_are_told_apart_in_listings(write_config, tmp_path,
                                                                      monkeypatch):
    # The night New York's clocks go back, 01:30 happens twice: a listing without the offset
    # would show two identical times.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FACTPOST_TOKEN", raising=False)
    write_config(CONFIG.format(approval="false").replace("Asia/Baghdad", "America/New_York"))
    runner = CliRunner()
    assert runner.invoke(cli, ["init"]).exit_code == 0
    moment = datetime(2027, 11, 5, 12, 0, tzinfo=UTC)
    monkeypatch.setattr("scheduler.cli.posts.now", lambda: moment)
    for at in ("2027-11-07 01:30", "2027-11-07 01:30-05:00", "2027-11-08 01:30"):
        added = runner.invoke(cli, ["post", "add", f"Post at {at}", "--account", "office-x",
                                    "--at", at])
        assert added.exit_code == 0, added.output
    shown = runner.invoke(cli, ["queue"]).output
    assert "2027-11-07 01:30:00 EDT" in shown and "2027-11-07 01:30:00 EST" in shown
    assert "2027-11-08 01:30:00 " in shown and "2027-11-08 01:30:00 E" not in shown
    history = runner.invoke(cli, ["history"]).output
    assert "01:30:00 EDT" in history and "01:30:00 EST" in history


def test_the_command_line_starts_without_loading_what_only_some_commands_need():
    # Start-up time and memory: `factpost --help` once took 1.5 s of CPU and 155 MB, most of
    # it platform clients, the word list, Alembic and an Argon2 hash made at import.
    import subprocess
    import sys

    heavy = ["tweepy", "facebook", "telegram", "atproto", "httpx", "regex", "requests",
             "wordfreq", "alembic", "fastapi", "uvicorn", "pypdf", "docx", "bs4", "markdown_it",
             "PIL", "pkg_resources", "apscheduler.schedulers"]
    probe = ("import sys, scheduler.cli, scheduler.users\n"
             f"print([m for m in {heavy!r} if m in sys.modules])\n"
             "print(scheduler.users._dummy_hash.cache_info().currsize)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout.split("\n")
    assert out[0] == "[]" and out[1] == "0"


def test_importing_arabic_text_to_an_english_account_warns(factpost, tmp_path):
    from importlib import resources

    arabic = tmp_path / "factsheet_ar.txt"
    arabic.write_text(resources.files("posts").joinpath("samples/factsheet_ar.txt")
                      .read_text("utf-8"), encoding="utf-8")
    result = factpost("import", str(arabic), "--account", "office-x")
    assert ("warning: the document reads as Arabic, but account 'office-x' posts in English "
            '(language = "en" in the config)') in result.output


def test_english_text_to_an_english_account_gives_no_language_warning(factpost, sheet):
    result = factpost("import", str(sheet))
    assert "reads as" not in result.output
