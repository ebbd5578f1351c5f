"""Know before you queue: `preview`, `import` and compose (CLI, web, API) compare what the new
X posts cost with what is left of the month's cap (spent, set aside and already queued counted)
and say by how much queueing them goes over. The cap holds posts rather than refusing them, so
going over is a warning and the posts are queued to wait; only a post or thread dearer than the
whole cap, which could never go, is refused, with nothing written."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest
from click.testing import CliRunner
from conftest import add_users, sign_in, token_for
from terms_office import Clock, build_office

from scheduler.cli import cli
from scheduler.demo import sample_factsheet

OVER = ("X monthly cap: queueing these posts ($0.3500) takes office-x to $0.3800 this month, "
        "$0.0800 over the $0.3000 cap ($0.0150 spent or set aside, $0.0150 already queued); "
        "the posts past the cap wait until {resets} UTC, or raise [x] monthly_spend_usd")


@pytest.fixture
def office(tmp_path, monkeypatch):
    """An office with a $0.30 cap: one post published this month ($0.015) and one queued."""
    now = datetime.now(UTC)
    office, emulator = build_office(tmp_path, monkeypatch, Clock(now),
                                    x_table="[x]\nmonthly_spend_usd = 0.30")
    office.add("Published already.")
    office.dispatcher().tick(now)
    office.add("Queued for later.")
    office.resets = f"{now.year + (now.month == 12)}-{now.month % 12 + 1:02d}-01 00:00"
    yield office
    office.close()
    emulator.stop()


def factpost(office, *args: str):
    return CliRunner().invoke(cli, ["--config", str(office.config_path), *args])


@pytest.fixture
def sheet(tmp_path):
    path = tmp_path / "factsheet.txt"
    path.write_text(sample_factsheet(), encoding="utf-8")
    return path


def test_preview_says_how_far_queueing_would_go_over_the_cap(office, sheet):
    shown = factpost(office, "preview", str(sheet))
    assert shown.exit_code == 0, shown.output
    assert f"warning: {OVER.format(resets=office.resets)}" in shown.output
    [cap] = json.loads(factpost(office, "preview", str(sheet), "--json").output)["cap"]
    assert (cap["over_usd"], cap["committed_usd"], cap["queued_usd"], cap["adding_usd"]) == (
        "$0.0800", "$0.0150", "$0.0150", "$0.3500")


def test_import_queues_them_to_wait_and_says_by_how_much_they_go_over(office, sheet):
    before = len(office.store.history.search())
    done = factpost(office, "import", str(sheet), "--account", "office-x", "--at", "now",
                    "--every", "0s")
    assert done.exit_code == 0, done.output
    assert f"warning: {OVER.format(resets=office.resets)}" in done.output
    assert len(office.store.history.search()) == before + 11


def test_a_thread_dearer_than_the_whole_cap_is_refused_before_anything_is_written(
        tmp_path, monkeypatch, sheet):
    office, emulator = build_office(tmp_path, monkeypatch, Clock(datetime.now(UTC)),
                                    x_table="[x]\nmonthly_spend_usd = 0.02")
    try:
        long_text = " ".join(f"Sentence {n} of a long statement about the convoy schedule."
                             for n in range(12))
        refused = factpost(office, "post", "add", long_text, "--account", "office-x")
        assert refused.exit_code == 1
        assert refused.output.strip() == (
            "factpost: error: a post or thread for office-x costs $0.0450 on X, more than the "
            "whole $0.0200 monthly cap, so it could never be sent; nothing was queued. Shorten "
            "it, or raise [x] monthly_spend_usd")
        imported = factpost(office, "import", str(sheet), "--at", "now", "--every", "0s")
        assert imported.exit_code == 1 and "could never be sent" in imported.output
        assert office.store.history.search() == []
        preview = factpost(office, "preview", str(sheet))
        assert "more than the whole $0.0200 monthly cap: import would refuse it" in (
            preview.output)
    finally:
        office.close()
        emulator.stop()


def test_compose_on_the_command_line_the_web_and_the_api_says_so_too(office, serve):
    near = " ".join(f"Sentence {n} of a long statement about the convoy schedule." for n in
                    range(40))  # a thread of about $0.15
    added = factpost(office, "post", "add", near, "--account", "office-x")
    assert added.exit_code == 0, added.output
    assert "warning: X monthly cap: queueing these posts" not in added.output  # it fits
    again = factpost(office, "post", "add", near, "--account", "office-x")
    assert "warning: X monthly cap: queueing these posts" in again.output
    assert "over the $0.3000 cap" in again.output

    add_users(office.store, chen="author")
    url = serve(office.config, office.store)
    api = httpx.Client(base_url=url + "/api", timeout=30,
                       headers={"Authorization": f"Bearer {token_for(office.store, 'chen')}"})
    preview = api.post("/preview", json={"account": "office-x", "text": near}).json()
    assert "over the $0.3000 cap" in preview["cap_warning"]
    queued = api.post("/posts", json={"account": "office-x", "text": near, "at": "now"})
    assert queued.status_code == 201
    assert "over the $0.3000 cap" in queued.json()["warnings"][0]
    browser = sign_in(url, "chen")
    page = browser.post("/compose", data={
        "csrf": browser.get("/compose").text.split('name="csrf" value="')[1].split('"')[0],
        "account": "office-x", "text": "One more.", "when": "at", "at": "now"},
        follow_redirects=True)
    assert "Warning: X monthly cap: queueing these posts" in page.text


def test_a_corrected_version_is_weighed_without_the_posts_it_replaces(office, sheet):
    assert factpost(office, "import", str(sheet), "--account", "office-x", "--at", "now",
                    "--every", "0s").exit_code == 0
    text = sheet.read_text(encoding="utf-8")
    assert "approx. 1,250 merchant vessels" in text
    sheet.write_text(text.replace("approx. 1,250 merchant vessels", "approx. 1,300 merchant "
                                  "vessels"), encoding="utf-8")
    planned = factpost(office, "import", str(sheet), "--account", "office-x")
    assert planned.exit_code == 1, planned.output
    [warning] = [line for line in planned.output.splitlines() if line.startswith("warning:")]
    # Still over, but the post the new version replaces is not counted twice: $0.35 already
    # queued (the earlier $0.35 and the $0.015 post, less the $0.015 post superseded), plus
    # the $0.015 replacing it.
    assert ("queueing these posts ($0.0150) takes office-x to $0.3800 this month, $0.0800 "
            "over the $0.3000 cap ($0.0150 spent or set aside, $0.3500 already queued)"
            ) in warning
    replaced = factpost(office, "import", str(sheet), "--account", "office-x", "--replace")
    assert replaced.exit_code == 0 and "warning: X monthly cap" in replaced.output
