"""A truthful actor on the command line: staff commands act as the factpost user whose API token
is in FACTPOST_TOKEN, checked against that user's role as in the web; operator commands are
audited under the operating system's account. API tokens expire, are listed and revoked, and
die with a password change or a disable."""

from __future__ import annotations

import json
import os
import pwd
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from conftest import REVIEW, add_users, token_for
from sqlalchemy import select, update

from db.models import ApiToken, AuditEntry
from posts.states import PostStatus
from scheduler.cli import cli

S = PostStatus
OS_USER = "os:" + pwd.getpwuid(os.getuid()).pw_name


@pytest.fixture
def office_under_review(make_office):
    office = make_office(extra=REVIEW)
    add_users(office.store, chen="author", bashir="approver", amira="admin")
    return office


def run(office, *args: str, token: str | None = None, input: str | None = None,
        environ: dict | None = None):
    env = {"FACTPOST_TOKEN": token or "", **(environ or {})}
    return CliRunner().invoke(cli, ["--config", str(office.config_path), *args], env=env,
                              input=input)


def one_line(result) -> str:
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1, result.output
    return lines[0]


def draft(office) -> int:
    from conftest import AUTHOR

    return office.store.posts.add(account="office-x", platform="x", text="Briefing at ten.",
                                  actor=AUTHOR, now=datetime.now(UTC), status=S.DRAFT,
                                  scheduled_at=datetime.now(UTC)).id


# -- finding 6 -------------------------------------------------------------------------------

def test_naming_anyone_in_factpost_user_approves_nothing(office_under_review):
    office = office_under_review
    post_id = draft(office)
    result = run(office, "post", "approve", str(post_id),
                 environ={"FACTPOST_USER": "nobody-at-all"})
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "factpost: warning: FACTPOST_USER is no longer read; staff commands act as the user "
        "of the API token in FACTPOST_TOKEN",
        "factpost: error: this command acts as a factpost user: set FACTPOST_TOKEN to your API "
        "token (an admin makes one with 'factpost user token NAME')"]
    assert office.store.history.get(post_id).status == S.DRAFT
    assert [e.actor for e in office.store.history.audit_trail(post_id)] == ["tester"]


def test_staff_commands_without_a_valid_token_are_refused_in_one_line(office_under_review):
    office = office_under_review
    post_id = draft(office)
    for args in (("post", "approve", str(post_id)), ("post", "reject", str(post_id)),
                 ("post", "cancel", str(post_id)), ("post", "retry", str(post_id)),
                 ("post", "edit", str(post_id), "--text", "x"),
                 ("post", "resolve", str(post_id), "--published", "1"),
                 ("accounts", "pause", "office-x", "--reason", "r"),
                 ("accounts", "resume", "office-x"), ("pause", "--all", "--reason", "r"),
                 ("resume", "--all")):
        assert "set FACTPOST_TOKEN to your API token" in one_line(run(office, *args)), args
        forged = one_line(run(office, *args, token="fp_forged"))
        assert "unknown, expired or revoked" in forged, args
    assert office.store.history.get(post_id).status == S.DRAFT
    assert not office.store.accounts.state("office-x").paused


def test_each_command_checks_the_token_user_s_role_as_the_web_does(office_under_review):
    office = office_under_review
    post_id = draft(office)
    author = token_for(office.store, "chen")
    assert one_line(run(office, "post", "approve", str(post_id), token=author)) == (
        "factpost: error: this command needs the approver role; chen is author")
    assert "needs the admin role; chen is author" in one_line(
        run(office, "accounts", "pause", "office-x", "--reason", "r", token=author))
    approver = token_for(office.store, "bashir")
    assert "needs the admin role" in one_line(run(office, "pause", "--all", "--reason", "r",
                                                  token=approver))
    approved = run(office, "post", "approve", str(post_id), token=approver)
    assert approved.exit_code == 0, approved.output
    trail = office.store.history.audit_trail(post_id)
    assert [(e.actor, e.action) for e in trail] == [("tester", "create"), ("bashir", "approve")]
    assert office.store.history.get(post_id).approved_by == "bashir"


def test_a_rejection_on_the_command_line_is_an_approver_s_with_the_reason(office_under_review):
    office = office_under_review
    post_id = draft(office)
    result = run(office, "post", "reject", str(post_id), "--reason", "figures not cleared",
                 token=token_for(office.store, "bashir"))
    assert result.output == f"post {post_id} rejected\n"
    last = office.store.history.audit_trail(post_id)[-1]
    assert (last.actor, last.action, last.reason) == ("bashir", "reject",
                                                       "rejected: figures not cleared")


def test_imports_and_new_posts_name_the_token_user_or_else_the_operating_system_user(
        office_under_review):
    office = office_under_review
    added = run(office, "post", "add", "By the operator.", "--account", "office-x")
    assert added.exit_code == 0, added.output
    by_author = run(office, "post", "add", "By chen.", "--account", "office-x",
                    token=token_for(office.store, "chen"))
    assert by_author.exit_code == 0, by_author.output
    assert [p.created_by for p in sorted(office.store.history.search(), key=lambda p: p.id)] == [
        OS_USER, "chen"]


def test_operator_commands_are_audited_under_the_operating_system_user(office_under_review):
    office = office_under_review
    assert run(office, "user", "add", "dana", "--role", "author",
               input="a long passphrase\n").exit_code == 0
    assert run(office, "user", "set", "dana", "--role", "approver").exit_code == 0
    token = run(office, "user", "token", "dana").output.strip()
    assert token.startswith("fp_")
    with office.store.reading() as s:
        rows = [(e.actor, e.action, e.reason) for e in s.scalars(
            select(AuditEntry).where(AuditEntry.post_id.is_(None),
                                     AuditEntry.account.is_(None)).order_by(AuditEntry.id))]
    assert [(actor, action) for actor, action, _ in rows][-3:] == [
        (OS_USER, "user_add"), (OS_USER, "user_change"), (OS_USER, "token_issue")]
    assert rows[-2][2] == "user dana: role author -> approver"
    assert token not in str(rows)


# -- finding 7 -------------------------------------------------------------------------------

def test_a_token_expires(office_under_review):
    office = office_under_review
    token = token_for(office.store, "bashir", days=1)
    post_id = draft(office)
    with office.store.session() as s:  # two days later
        s.execute(update(ApiToken).values(expires_at=datetime.now(UTC) - timedelta(days=1)))
    assert "unknown, expired or revoked" in one_line(run(office, "post", "approve",
                                                         str(post_id), token=token))
    listed = json.loads(run(office, "user", "token", "list", "bashir", "--json").output)
    assert [t["state"] for t in listed] == ["expired"]


def test_tokens_last_90_days_unless_config_says_otherwise(make_office):
    office = make_office(extra="[web]\napi_token_days = 7\n")
    add_users(office.store, chen="author")
    run(office, "user", "token", "chen")
    run(office, "user", "token", "new", "chen", "--days", "30")
    made = {t["id"]: datetime.fromisoformat(t["expires_at"]) - datetime.fromisoformat(
        t["created_at"]) for t in json.loads(run(office, "user", "token", "list",
                                                 "--json").output)}
    assert sorted(made.values()) == [timedelta(days=7), timedelta(days=30)]
    from pathlib import Path

    from scheduler.config import parse_config

    assert parse_config({}, Path("config.toml")).api_token_days == 90


def test_tokens_are_listed_without_their_secret_and_revoked_for_good(office_under_review):
    office = office_under_review
    first, second = token_for(office.store, "bashir"), token_for(office.store, "bashir")
    listed = run(office, "user", "token", "list")
    assert first not in listed.output and second not in listed.output
    tokens = json.loads(run(office, "user", "token", "list", "bashir", "--json").output)
    assert [t["state"] for t in tokens] == ["active", "active"]
    newest = tokens[0]["id"]
    assert run(office, "user", "token", "revoke", str(newest)).output == (
        f"token {newest} revoked\n")
    post_id = draft(office)
    assert "unknown, expired or revoked" in one_line(run(office, "post", "approve",
                                                         str(post_id), token=second))
    assert run(office, "user", "token", "revoke", "--user", "bashir", "--reason",
               "laptop lost").output == "1 token(s) of bashir revoked\n"
    assert "unknown, expired or revoked" in one_line(run(office, "post", "approve",
                                                         str(post_id), token=first))
    states = {t["revoked_reason"] for t in json.loads(
        run(office, "user", "token", "list", "bashir", "--json").output)}
    assert states == {"revoked by hand", "laptop lost"}
    assert "no API token with id 999" in one_line(run(office, "user", "token", "revoke", "999"))


def test_a_password_change_kills_the_user_s_tokens(office_under_review):
    office = office_under_review
    token = token_for(office.store, "bashir")
    run(office, "user", "set", "bashir", "--password", input="another long passphrase\n")
    post_id = draft(office)
    assert "unknown, expired or revoked" in one_line(run(office, "post", "approve",
                                                         str(post_id), token=token))


def test_enabling_a_disabled_user_again_revives_none_of_their_tokens(office_under_review):
    office = office_under_review
    token = token_for(office.store, "bashir")
    run(office, "user", "set", "bashir", "--disable")
    run(office, "user", "set", "bashir", "--enable")
    post_id = draft(office)
    assert "unknown, expired or revoked" in one_line(run(office, "post", "approve",
                                                         str(post_id), token=token))
    fresh = token_for(office.store, "bashir")
    assert run(office, "post", "approve", str(post_id), token=fresh).exit_code == 0


def test_the_web_api_honours_expiry_and_revocation_too(newsroom):
    import httpx

    token = token_for(newsroom.store, "chen")
    api = httpx.Client(base_url=newsroom.url + "/api", timeout=30,
                       headers={"Authorization": f"Bearer {token}"})
    assert api.get("/queue").status_code == 200
    [(row, _name)] = newsroom.store.users.api_tokens("chen")
    from conftest import OPERATOR

    newsroom.store.users.revoke_token(row.id, actor=OPERATOR, now=datetime.now(UTC))
    assert api.get("/queue").status_code == 401
