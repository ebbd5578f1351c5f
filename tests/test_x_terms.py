"""X on today's terms: pay-per-use pacing (no posting budget beyond X's documented limits and
what its headers report) and the monthly spend cap, which never cuts a thread."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from conftest import AUTHOR
from terms_office import Clock, build_office

from posts.states import PostStatus as S
from scheduler.cli import cli
from scheduler.demo import sample_factsheet
from scheduler.importing import import_file

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def terms(tmp_path, monkeypatch, clock):
    """build(**config bits) -> office on the default terms; closed afterwards."""
    made = []

    def build(**options):
        office, emulator = build_office(tmp_path, monkeypatch, clock, **options)
        made.append((office, emulator))
        return office

    yield build
    for office, emulator in made:
        office.close()
        emulator.stop()


def held_until(office, account: str = "office-x") -> datetime | None:
    state = office.store.accounts.state(account)
    return state.held_until if state.held_until and state.held_until > office.clock.now \
        else None


# Pacing -------------------------------------------------------------------------------------

def test_the_sample_fact_sheet_publishes_at_once_with_the_default_config(terms, tmp_path):
    office = terms()
    sheet = tmp_path / "factsheet.txt"
    sheet.write_text(sample_factsheet(), encoding="utf-8")
    report = import_file(sheet, store=office.store, config=office.config,
                         accounts=office.config.accounts, actor=AUTHOR, now=T0, at=T0,
                         every=timedelta(0))
    office.dispatcher().tick(T0)
    posts = office.store.history.search()
    assert report.created == len(posts) and len(posts) > 11
    assert {p.status for p in posts} == {S.PUBLISHED}
    assert held_until(office) is None


def test_a_90_post_queue_publishes_without_any_hold(terms):
    office = terms()
    ids = [office.add(f"Update {n} from the press office.") for n in range(90)]
    report = office.dispatcher().tick(T0)
    assert report.published == 90
    assert all(office.store.history.get(i).status == S.PUBLISHED for i in ids)
    assert len(office.emulator.tweets("OfficeX")) == 90
    assert held_until(office) is None


def test_past_xs_limit_of_100_per_15_minutes_the_account_waits_15_minutes_not_a_day(terms,
                                                                                       clock):
    office = terms()
    for n in range(130):
        office.add(f"Update {n} from the press office.")
    dispatcher = office.dispatcher()
    assert dispatcher.tick(T0).published == 100
    wait = held_until(office)
    assert wait is not None and wait - T0 <= timedelta(minutes=15)
    assert office.emulator.requests_log[-1]["status"] == 201  # held before X had to refuse
    clock.now = wait + timedelta(seconds=1)
    assert dispatcher.tick(clock.now).published == 30


def test_a_legacy_free_tier_contract_still_holds_the_18th_post_for_a_day(terms):
    office = terms(x_extra='tier = "free"')
    for n in range(18):
        office.add(f"Update {n} from the press office.")
    assert office.dispatcher().tick(T0).published == 17
    assert held_until(office) - T0 == timedelta(hours=24)
    assert "budget of 17 per 24 hours" in office.store.accounts.state("office-x").held_reason


def test_xs_per_app_limit_is_shared_by_the_accounts_of_one_app(terms):
    office = terms(x_table="[x]\napp_budget_posts = 5")
    for n in range(8):
        office.add(f"Update {n}.")
    assert office.dispatcher().tick(T0).published == 5
    assert "X app's limit of 5 posts per 24 hours" in office.store.accounts.state(
        "office-x").held_reason


# The monthly cap ----------------------------------------------------------------------------

THREAD = " ".join(f"Sentence {n} of a long statement about the convoy schedule this week."
                  for n in range(12))
SHORTER = " ".join(f"Sentence {n} of a long statement about the harbour schedule this week."
                   for n in range(6))


def queue_thread(office, text: str, at: datetime) -> list[int]:
    from scheduler.compose import as_sheet
    from scheduler.planning import plan_posts

    planned = plan_posts(as_sheet(text), [office.config.account("office-x")],
                         config=office.config, store=office.store, now=at, at=at)
    outcome = office.store.documents.add(
        source_name=f"statement-{at:%H%M}", content_hash=f"h{at.timestamp()}", title=None,
        sections=[(None, text)], posts=planned, actor=AUTHOR, now=at, status=S.QUEUED)
    assert outcome.created == len(planned)
    return [p.id for p in office.store.documents.posts(outcome.document_id)]


def test_the_cap_never_cuts_a_thread_and_holds_the_next_one_whole_until_the_month_ends(
        terms, clock, caplog, monkeypatch):
    # $0.05 a month: a 3-part thread ($0.045) is admitted; then a look at the timeline after
    # a dropped connection ($0.015 of reads) takes the month past the cap mid-thread.
    office = terms(x_table="[x]\nmonthly_spend_usd = 0.05")
    thread = queue_thread(office, THREAD, T0)
    assert len(thread) == 3
    later = queue_thread(office, SHORTER, T0 + timedelta(minutes=1))
    dispatcher = office.dispatcher()
    publisher = dispatcher.publishers["office-x"]
    sent = []

    def drop_the_second_create(response, *args, **kwargs):
        if response.request.method == "POST" and response.request.path_url == "/2/tweets":
            sent.append(response)
            if len(sent) == 1:
                office.emulator.inject("drop_after", platform="x")

    publisher.client.session.hooks["response"].append(drop_the_second_create)

    dispatcher.tick(T0)
    parts = [office.store.history.get(i) for i in thread]
    assert [p.status for p in parts] == [S.PUBLISHED, S.QUEUED, S.QUEUED]
    dispatcher.tick(clock.advance(seconds=2))
    parts = [office.store.history.get(i) for i in thread]
    assert [p.status for p in parts] == [S.PUBLISHED] * 3
    assert [t["text"] for t in office.emulator.tweets("OfficeX")] == [p.text for p in parts]

    from scheduler.spend import cap_states

    [state] = cap_states(office.store, office.config, clock.now)
    assert state.spent > state.cap and state.level == "reached"
    monkeypatch.setattr("scheduler.cli.operations.now", lambda: clock.now)
    listed = CliRunner().invoke(cli, ["--config", str(office.config_path), "accounts",
                                      "--json"])
    x_row = next(r for r in json.loads(listed.output) if r["name"] == "office-x")
    assert x_row["x_cap"].startswith("X spend for office-x is $0.0600 of the $0.0500")
    assert "new X posts wait until 2027-01-01 00:00 UTC" in x_row["x_cap"]

    # The next thread waits whole, saying why, and is not tried again this month.
    dispatcher.tick(clock.advance(minutes=5))
    waiting = [office.store.history.get(i) for i in later]
    assert [p.status for p in waiting] == [S.QUEUED, S.QUEUED]
    assert "waiting for the monthly X spend cap" in waiting[0].last_error
    assert "2027-01-01 00:00 UTC" in waiting[0].last_error
    assert "X spend for office-x is $0.0600 of the $0.0500 monthly cap" in caplog.text
    assert len(office.emulator.tweets("OfficeX")) == 3
    audit = len(office.store.history.audit_trail(later[0]))
    dispatcher.tick(clock.advance(minutes=5))
    assert len(office.store.history.audit_trail(later[0])) == audit
    assert dispatcher.next_wakeup(clock.now) is None  # an --until-idle run can stop

    clock.now = datetime(2027, 1, 1, 0, 0, 1, tzinfo=UTC)
    dispatcher.tick(clock.now)
    assert [office.store.history.get(i).status for i in later] == [S.PUBLISHED] * 2


def test_status_warns_at_80_percent_of_the_cap(terms, clock):
    from scheduler.status import status_report

    office = terms(x_table="[x]\nmonthly_spend_usd = 0.07")
    for n in range(4):
        office.add(f"Update {n}.")
    office.dispatcher().tick(T0)
    report = status_report(office.store, office.config, clock.now)
    [app] = report["x_spend"]["apps"]
    assert (app["spent_usd"], app["cap_usd"], app["level"]) == ("$0.0600", "$0.0700", "warning")
    assert "at 100% new X posts wait" in app["message"]


ARABIC_X = """
[[accounts]]
name = "office-x-ar"
platform = "x"
handle = "OfficeXAr"
api_url = "{url}"
language = "ar"
"""


def test_a_pair_is_admitted_under_the_cap_with_its_partners_cost(terms, clock):
    from db.store import PlannedPost

    # Both accounts post through one X app. Each side alone fits ($0.015 of $0.025), both
    # together do not: the pair waits, both sides, rather than go out in one language only.
    office = terms(x_table="[x]\nmonthly_spend_usd = 0.025", accounts=ARABIC_X,
                   shared_app=True)
    planned = [PlannedPost(account=name, platform="x", text=text, scheduled_at=T0,
                           section_index=i, pair_key="x:0:0")
               for i, (name, text) in enumerate([("office-x", "Convoy arrived."),
                                                 ("office-x-ar", "وصلت القافلة.")])]
    office.store.documents.add(source_name="pair", content_hash="pair", title=None,
                               sections=[(None, "Convoy arrived."), (None, "وصلت القافلة.")],
                               posts=planned, actor=AUTHOR, now=T0, status=S.QUEUED)
    office.dispatcher().tick(T0)
    leader, partner = office.store.history.search()[::-1]
    assert (leader.status, partner.status) == (S.QUEUED, S.QUEUED)
    assert "waiting for the monthly X spend cap" in leader.last_error
    assert office.emulator.tweets("OfficeX") == office.emulator.tweets("OfficeXAr") == []


def test_a_post_tried_before_the_cap_was_reached_is_still_checked_and_settled(terms, clock):

    office = terms(x_table="[x]\nmonthly_spend_usd = 0.02")
    post = office.add("Its answer was lost.")
    office.emulator.inject("commit_then_error", platform="x")
    dispatcher = office.dispatcher()
    dispatcher.tick(T0)
    assert office.store.history.get(post).status == S.QUEUED
    # Meanwhile something else of the app's spends past the cap.
    office.store.spend.record(account="office-x", app=dispatcher.apps["office-x"],
                                    operation="user_read", unit_micros=10_000, at=T0,
                                    purpose="check", post_id=None)
    dispatcher.tick(clock.advance(seconds=2))
    assert office.store.history.get(post).status == S.PUBLISHED
    assert len(office.emulator.tweets("OfficeX")) == 1


def test_the_emulator_bills_and_limits_by_the_same_published_terms():
    # The emulated X keeps its own copy of X's terms (so a wrong figure in factpost's table
    # shows up as a ledger that disagrees with the bill); the two copies must agree.
    from emulator import x_pricing
    from scheduler.platforms import x_terms

    assert x_terms.DEFAULT.micros == x_pricing.MICROS
    assert (x_pricing.USER_POST_LIMIT, x_pricing.APP_POST_LIMIT) == (
        x_terms.USER_POST_LIMIT, x_terms.APP_POST_LIMIT)
    assert x_pricing.app_name("ck") == x_terms.app_fingerprint("ck")
