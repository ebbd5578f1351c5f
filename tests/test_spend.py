"""The X spend ledger: every X request the daemon or a command makes is written with its price,
and it agrees, post by post, with the bill the emulator keeps as X would."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from conftest import AUTHOR
from terms_office import Clock, build_office

from posts.states import PostStatus as S
from scheduler.cli import cli
from scheduler.demo import sample_factsheet
from scheduler.importing import import_file
from scheduler.platforms.billing import usd
from scheduler.platforms.registry import build_publisher

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x00\x00\x00"
       b"\x00:~\x9bU\x00\x00\x00\nIDATx\x9cc`\x00\x00\x00\x02\x00\x01H\xaf\xa4q\x00\x00\x00"
       b"\x00IEND\xaeB`\x82")


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def office(tmp_path, monkeypatch, clock):
    office, emulator = build_office(tmp_path, monkeypatch, clock)
    yield office
    office.close()
    emulator.stop()


def spend_json(office, *args: str) -> dict:
    result = CliRunner().invoke(cli, ["--config", str(office.config_path), "spend", "--json",
                                      *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_factpost_spend_matches_the_emulators_bill_post_by_post(office, clock, tmp_path):
    from posts.media import Media

    # X makes this post but its answer is lost (a 503 after storing): it is settled from the
    # timeline, and X bills it all the same.
    unsure = office.add("The report is at www.jtf-meridian.mil/reports/2026-12 today.")
    office.emulator.inject("commit_then_error", platform="x")
    sheet = tmp_path / "factsheet.txt"
    sheet.write_text(sample_factsheet(), encoding="utf-8")
    import_file(sheet, store=office.store, config=office.config,
                accounts=office.config.accounts, actor=AUTHOR, now=T0, at=T0,
                every=timedelta(0))
    office.store.posts.add(account="office-x", platform="x", text="Convoy unloading at dawn.",
                           scheduled_at=T0, actor=AUTHOR, now=T0, status=S.QUEUED,
                           media=Media(PNG, "image/png", "Trucks on the pier at dawn"))
    dispatcher = office.dispatcher()
    dispatcher.tick(T0)
    assert office.store.history.get(unsure).status == S.QUEUED
    dispatcher.tick(clock.advance(seconds=2))
    x_posts = [p for p in office.store.history.search() if p.platform == "x"]
    assert {p.status for p in x_posts} == {S.PUBLISHED}

    bill = office.emulator.bill()
    report = spend_json(office, "--requests")
    rows = report["rows"]
    billed_creates = {e["tweet_id"]: e for e in bill if e["endpoint"] == "POST /2/tweets"}
    for post in x_posts:
        [create] = [r for r in rows if r["post_id"] == post.id
                    and r["operation"].startswith("post_create") and r["state"] == "charged"]
        entry = billed_creates[post.remote_id]
        assert (create["remote_id"], create["operation"], create["micros"]) == (
            post.remote_id, entry["operation"], entry["micros"]), post.text
    assert len(billed_creates) == len(x_posts)
    # The link post cost $0.200 even though its first answer was lost: X made it.
    [linked] = [r for r in rows if r["post_id"] == unsure and r["state"] == "charged"
                and r["operation"].startswith("post_create")]
    assert linked["operation"] == "post_create_with_url" and linked["spent_usd"] == "$0.2000"
    # The image: stored ($0, not on X's price list) and described ($0.005).
    assert Counter(r["operation"] for r in rows if r["operation"].startswith("media")) == {
        "media_upload": 1, "media_metadata": 1}
    # Reads: as many resources billed as X billed, after its same-day deduplication.
    reads = sum(r["billed_units"] for r in rows if r["operation"].endswith("_read"))
    assert reads == sum(e["billed_units"] for e in bill if e["operation"].endswith("_read")) > 0
    assert report["total_micros"] == sum(e["micros"] for e in bill)
    assert report["total_usd"] == usd(sum(e["micros"] for e in bill))


def test_spend_per_account_and_day_with_the_months_cap(office, clock):
    for n in range(3):
        office.add(f"Plain update {n}.")
    office.add("Details at www.jtf-meridian.mil/updates.")
    office.add("On Facebook only.", account="office-fb")
    office.dispatcher().tick(T0)
    [day] = spend_json(office)["rows"]
    assert (day["day"], day["account"], day["posts"], day["posts_with_links"],
            day["spent_usd"]) == ("2026-12-01", "office-x", 4, 1, "$0.2450")
    assert spend_json(office, "--since", "2026-12-02")["rows"] == []
    assert spend_json(office, "--account", "office-fb")["rows"] == []
    csv_out = CliRunner().invoke(cli, ["--config", str(office.config_path), "spend", "--csv"])
    assert csv_out.output.splitlines()[0] == ("day,account,app,requests,posts,"
                                              "posts_with_links,resources_read,spent_usd")
    table = CliRunner().invoke(cli, ["--config", str(office.config_path), "spend"])
    assert "total: $0.2450" in table.output


def test_a_timeline_check_reads_only_what_came_after_the_last_known_post(office, clock):
    dispatcher = office.dispatcher()
    for n in range(40):
        office.add(f"Earlier update {n}.")
    dispatcher.tick(T0)
    post = office.add("The one whose answer was lost.")
    office.emulator.inject("drop_after", platform="x")
    dispatcher.tick(clock.advance(minutes=1))
    dispatcher.tick(clock.advance(minutes=1))
    assert office.store.history.get(post).status == S.PUBLISHED
    checks = [c for c in office.store.spend.charges(post_id=post)
              if c.purpose == "reconcile"]
    # One user read ($0.010) and one post read ($0.005), not the 41 posts of the timeline.
    assert [(c.operation, c.units) for c in checks] == [("user_read", 1), ("post_read", 1)]
    assert sum(c.micros for c in checks) == 15_000


def test_after_a_duplicate_refusal_the_check_reads_only_what_came_after_the_last_known_post(
        office, clock):
    dispatcher = office.dispatcher()
    for n in range(40):
        office.add(f"Earlier update {n}.")
    dispatcher.tick(T0)
    # A success the store lost track of (restored from a backup): X refuses the resend.
    build_publisher(office.config.account("office-x")).publish("The one the store forgot.")
    post = office.add("The one the store forgot.")
    dispatcher.tick(clock.advance(minutes=1))
    assert office.store.history.get(post).status == S.PUBLISHED
    checks = [c for c in office.store.spend.charges(post_id=post)
              if c.purpose == "reconcile"]
    # One user read and the one post made since the last known one, not all 41.
    assert [(c.operation, c.units) for c in checks] == [("user_read", 1), ("post_read", 1)]


def test_accounts_check_is_recorded_and_a_read_the_same_day_is_not_charged_twice(office):
    for _ in range(2):
        result = CliRunner().invoke(cli, ["--config", str(office.config_path), "accounts",
                                          "check", "--json"])
        assert result.exit_code == 0, result.output
    charges = office.store.spend.charges()
    assert [(c.operation, c.purpose, c.billed_units, c.micros) for c in charges] == [
        ("user_read", "check", 1, 10_000), ("user_read", "check", 0, 0)]
    assert [e["billed_units"] for e in office.emulator.bill()] == [1, 0]


def test_import_and_preview_say_what_the_x_posts_will_cost(office, tmp_path):
    sheet = tmp_path / "factsheet.txt"
    sheet.write_text(sample_factsheet(), encoding="utf-8")
    run = CliRunner().invoke(cli, ["--config", str(office.config_path), "preview",
                                   str(sheet)])
    assert "X cost: 11 posts, 1 with link: $0.3500" in run.output
    run = CliRunner().invoke(cli, ["--config", str(office.config_path), "import", str(sheet),
                                   "--at", "2026-12-02 09:00", "--every", "10m"])
    assert run.exit_code == 0, run.output
    assert "office-x: 11 posts, 1 with link: $0.3500 on X" in run.output


def test_spend_figures_are_in_status_json(office):
    office.add("Counted.")
    office.dispatcher().tick(T0)
    result = CliRunner().invoke(cli, ["--config", str(office.config_path), "status", "--json"])
    x_spend = json.loads(result.output)["x_spend"]
    assert x_spend["month"] == datetime.now(UTC).strftime("%Y-%m")
    assert x_spend["prices_url"] == "https://docs.x.com/x-api/getting-started/pricing"


def test_the_ledger_keeps_the_same_books_on_every_database(store):
    ledger = store.spend
    day = datetime(2026, 12, 1, 9, tzinfo=UTC)
    common = {"account": "office-x", "app": "app1", "purpose": "publish", "post_id": None}
    made = ledger.start(operation="post_create_with_url", unit_micros=200_000, at=day,
                        **common)
    lost = ledger.start(operation="post_create", unit_micros=15_000, at=day, **common)
    assert ledger.spent("app1", since=day, until=day + timedelta(days=1)) == 215_000
    ledger.settle(made, charged=True, remote_id="111")
    ledger.settle(lost, charged=False)
    read = {**common, "purpose": "reconcile", "operation": "post_read", "unit_micros": 5_000}
    first = ledger.record(at=day, units=3, resources=["post:1", "post:2", "post:3"], **read)
    again = ledger.record(at=day + timedelta(hours=1), units=2, resources=["post:3", "post:4"],
                          **read)
    next_day = ledger.record(at=day + timedelta(days=1), units=1, resources=["post:1"], **read)
    assert [c.billed_units for c in (first, again, next_day)] == [3, 1, 1]
    ledger.record(at=day, **{**common, "account": "office-x2"}, operation="post_create",
                  unit_micros=15_000)
    [(total, accounts)] = ledger.spent_by_app(since=day, until=day + timedelta(days=1)).values()
    assert (total, accounts) == (200_000 + 20_000 + 15_000, ("office-x", "office-x2"))
    days = ledger.by_day()
    assert [(d.day.isoformat(), d.account, d.posts, d.posts_with_links, d.resources_read,
             d.micros) for d in days] == [
        ("2026-12-02", "office-x", 0, 0, 1, 5_000),
        ("2026-12-01", "office-x", 1, 1, 5, 220_000),
        ("2026-12-01", "office-x2", 1, 0, 0, 15_000)]


def test_a_check_for_a_post_that_replies_to_nothing_does_not_pay_for_thread_parts(office,
                                                                                  clock):
    dispatcher = office.dispatcher()
    dispatcher.tick(T0)
    post = office.add("A single post whose answer was lost.")
    office.emulator.inject("error_before", platform="x")
    dispatcher.tick(clock.advance(seconds=1))
    # Meanwhile another daemon publishes a thread of six parts to the same account.
    publisher = build_publisher(office.config.account("office-x"))
    parent = None
    for n in range(1, 7):
        parent = publisher.publish(f"Thread part {n}/6", reply_to=parent).remote_id
    dispatcher.tick(clock.advance(minutes=1))
    assert office.store.history.get(post).status == S.PUBLISHED
    reads = [c for c in office.store.spend.charges(post_id=post)
             if c.purpose == "reconcile" and c.operation == "post_read"]
    assert [c.units for c in reads] == [1]  # the thread's first part; its replies left out


def test_a_link_only_the_javascript_counter_finds_is_priced_as_a_post_with_a_url():
    # "مرحباx.com/a": npm twitter-text 3.1.0 finds x.com/a, twitter-text-parser does not. The
    # weighting counts it as a link, so the price must too: guessing low overspends the budget.
    from scheduler.platforms.x_terms import POST_CREATE, POST_CREATE_WITH_URL, create_operation
    assert create_operation("مرحباx.com/a تفاصيل") == POST_CREATE_WITH_URL
    assert create_operation("Details at https://example.org today.") == POST_CREATE_WITH_URL
    assert create_operation("No link here.") == POST_CREATE
