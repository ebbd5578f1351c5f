"""The README and each command's help show only what the command line accepts: every example
parses as written, and every command and option the README names exists. (Like sqlite-utils'
tests/test_docs.py: documentation that drifts from the code is a test failure.)"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from scheduler.cli import cli

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
#: Where a shell line stops being factpost's arguments.
SHELL = {">", ">>", "<", "|", "||", "&", "&&", ";", "2>&1"}


def commands(group: click.Group = cli, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from commands(command, (*prefix, name))


def help_examples() -> list[str]:
    """Every `factpost ...` line in every command's help, continuation lines joined."""
    found = []
    for _path, command in commands():
        text = re.sub(r"\\\n\s*", " ", command.help or "")
        found += [line.strip() for line in text.splitlines()
                  if line.strip().startswith("factpost ")]
    return found


def readme_examples() -> list[str]:
    """Every `factpost ...` line of the README's shell blocks."""
    blocks = re.findall(r"```sh\n(.*?)```", README, re.S)
    lines = [re.sub(r"\s+#.*", "", line).strip() for block in blocks
             for line in block.splitlines()]
    return [line for line in lines if line.startswith("factpost ")]


def arguments(line: str) -> list[str]:
    words = shlex.split(line)[1:]
    cut = next((i for i, w in enumerate(words) if w in SHELL), len(words))
    return words[:cut]


@pytest.fixture
def parse_only(monkeypatch):
    """Run the command line with every command's body left out: what remains is Click
    parsing the arguments (usage errors exit with 2)."""
    monkeypatch.setattr(click.Command, "invoke", lambda self, ctx: None)

    def parse(args: list[str]):
        return CliRunner().invoke(cli, args)

    return parse


@pytest.mark.parametrize("line", help_examples() + readme_examples())
def test_every_example_parses_as_written(parse_only, line):
    result = parse_only(arguments(line))
    assert result.exit_code == 0, f"{line!r}: {result.output}"


def readme_forms() -> list[tuple[str, ...]]:
    """The command forms named in the README's command table and in running text, as
    (words of the command path, options named with it)."""
    forms = []
    names = "|".join(cli.commands)
    for span in re.findall(rf"`(?:factpost )?((?:{names})(?: [^`]*)?)`", README):
        for alternative in span.split(" / "):
            forms.append(tuple(alternative.split()))
    return forms


def resolve(words: tuple[str, ...]) -> list[tuple[click.Command, str]]:
    """The commands that `words` name (`post show/edit` names two), with their paths."""
    found: list[tuple[click.Command, str]] = [(cli, "factpost")]
    for word in words:
        if word.startswith(("-", "[")) or not all(
                isinstance(c, click.Group) for c, _ in found):
            break
        names = word.split("/")
        nxt = [(c.commands[n], f"{p} {n}") for c, p in found for n in names if n in c.commands]
        if not nxt:
            break
        found = nxt
    return found


@pytest.mark.parametrize("words", readme_forms(), ids=" ".join)
def test_every_command_and_option_the_readme_names_exists(words):
    named = resolve(words)
    assert named != [(cli, "factpost")] or words[0].startswith("-"), (
        f"'factpost {' '.join(words)}': no such command")
    options = {o for w in words for o in re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", w)}
    for command, path in named:
        known = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}
        if isinstance(command, click.Group):
            # A group's forms name its subcommands' options too (`user token revoke --user`).
            known |= {opt for _, c in commands(command) for p in c.params
                      for opt in (*p.opts, *p.secondary_opts)}
        assert options <= known | {"--help"}, f"{path}: no option {options - known}"


def in_doubt(office, status: str = "needs_review") -> int:
    """A post the daemon left in `status` (needs_review: in doubt)."""
    from datetime import UTC, datetime, timedelta

    from conftest import AUTHOR

    from posts.states import PostStatus

    now = datetime.now(UTC)
    post = office.store.posts.add(account="office-x", platform="x", text="Briefing at ten.",
                                  actor=AUTHOR, now=now, status=PostStatus.QUEUED,
                                  scheduled_at=now)
    office.store.queue.claim_next("office-x", worker="w", now=now, lease=timedelta(minutes=2))
    office.store.outcomes.failed(post.id, worker="w", reason="timeline unreadable", now=now,
                                 status=PostStatus(status))
    return post.id


@pytest.mark.parametrize(("form", "says", "becomes"), [
    ("resolve {id} --retry", "post {id} queued again", "queued"),
    ("resolve --retry {id}", "post {id} queued again", "queued"),
    ("resolve {id} --published 1861234567890123456",
     "post {id} marked published as 1861234567890123456", "published"),
    ("resolve --published 1861234567890123456 {id}",
     "post {id} marked published as 1861234567890123456", "published"),
], ids=["ID --retry", "--retry ID", "ID --published", "--published ID"])
def test_the_documented_forms_of_resolve_work(make_office, form, says, becomes):
    from conftest import add_users, token_for

    office = make_office()
    add_users(office.store, bashir="approver")
    post_id = in_doubt(office)
    result = CliRunner().invoke(
        cli, ["--config", str(office.config_path), "post",
              *form.format(id=post_id).split()],
        env={"FACTPOST_TOKEN": token_for(office.store, "bashir")})
    assert (result.exit_code, result.output) == (0, says.format(id=post_id) + "\n")
    assert office.store.history.get(post_id).status == becomes


def test_resolving_a_post_not_in_doubt_is_one_line_naming_the_command_that_applies(make_office):
    from conftest import add_users, token_for

    from posts.states import PostStatus

    office = make_office()
    add_users(office.store, bashir="approver")
    post_id = in_doubt(office, PostStatus.FAILED)
    token = token_for(office.store, "bashir")
    run = ["--config", str(office.config_path), "post", "resolve", "--retry", str(post_id)]
    refused = CliRunner().invoke(cli, run, env={"FACTPOST_TOKEN": token})
    assert (refused.exit_code, refused.output) == (1, (
        f"factpost: error: post {post_id} is failed; only needs_review posts are resolved by "
        f"hand; send a failed post again with 'factpost post retry {post_id}'\n"))
    assert office.store.history.get(post_id).status == PostStatus.FAILED
