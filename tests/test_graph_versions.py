"""Graph API versions: one table of Meta's retirement dates; the daemon and `accounts check`
warn 90 days ahead and refuse a retired version with one line naming the one to use."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime, timedelta

import pytest
from click.testing import CliRunner
from terms_office import Clock, build_office

from scheduler.cli import cli
from scheduler.config import ConfigError
from scheduler.platforms import facebook_versions as gv


def test_the_table_has_metas_dates_and_the_default_lasts_a_year_from_when_it_was_read():
    assert gv.VERSIONS["v21.0"][1] == date(2027, 1, 21)
    assert gv.VERSIONS["v22.0"][1] == date(2027, 5, 20)
    assert gv.VERSIONS["v26.0"] == (date(2026, 7, 29), None)
    assert gv.latest() == "v26.0"
    retires = gv.VERSIONS[gv.DEFAULT_VERSION][1]
    assert retires is None or retires >= gv.READ_ON + timedelta(days=365)


@pytest.mark.parametrize(("version", "today", "state"), [
    ("v25.0", date(2026, 11, 29), gv.CURRENT),
    ("v21.0", date(2026, 10, 22), gv.CURRENT),    # 91 days before 2027-01-21
    ("v21.0", date(2026, 10, 23), gv.RETIRING),   # 90 days before
    ("v21.0", date(2027, 1, 20), gv.RETIRING),
    ("v21.0", date(2027, 1, 21), gv.RETIRED),
    ("v2.12", date(2026, 11, 29), gv.RETIRED),    # older than the table
    ("v27.0", date(2026, 11, 29), gv.UNKNOWN),    # released after the table was read
])
def test_a_versions_state_on_a_day(version, today, state):
    assert gv.status(version, today).state == state


def test_the_message_for_a_retired_version_names_the_version_to_use():
    message = gv.status("v20.0", date(2026, 11, 29)).message
    assert message.startswith("Graph API v20.0 was retired by Meta on 2026-09-24; set "
                              'graph_version = "v25.0"')
    assert "\n" not in message


@pytest.fixture
def office_on(tmp_path, monkeypatch):
    made = []

    def build(version: str, now: datetime):
        office, emulator = build_office(tmp_path, monkeypatch, Clock(now),
                                        fb_extra=f'graph_version = "{version}"')
        made.append((office, emulator))
        return office

    yield build
    for office, emulator in made:
        office.close()
        emulator.stop()


def test_the_daemon_refuses_a_retired_version_in_one_line(office_on):
    office = office_on("v20.0", datetime.now(UTC))
    with pytest.raises(ConfigError, match=r"account 'office-fb': Graph API v20\.0 was retired"):
        office.dispatcher()
    result = CliRunner().invoke(cli, ["--config", str(office.config_path), "run", "--once"])
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert 'set graph_version = "v25.0"' in line
    assert office.emulator.requests_log == []


def test_the_daemon_warns_90_days_ahead_and_holds_a_page_whose_version_retires_meanwhile(
        office_on, caplog):
    office = office_on("v21.0", datetime(2027, 1, 10, tzinfo=UTC))
    with caplog.at_level(logging.WARNING):
        dispatcher = office.dispatcher()
    assert "Graph API v21.0 retires on 2027-01-21" in caplog.text
    office.clock.now = datetime(2027, 1, 21, 8, 0, tzinfo=UTC)
    office.add("Not to a retired version.", account="office-fb")
    office.add("X goes on.", account="office-x")
    assert dispatcher.tick(office.clock.now).published == 1
    state = office.store.accounts.state("office-fb")
    assert "v21.0 was retired by Meta on 2027-01-21" in state.held_reason
    assert office.emulator.page_posts("OfficeFB") == []


def test_accounts_check_warns_or_refuses_by_the_retirement_date(office_on, monkeypatch):
    office = office_on("v21.0", datetime.now(UTC))
    monkeypatch.setattr("scheduler.cli.operations.now",
                        lambda: datetime(2027, 1, 1, tzinfo=UTC))
    result = CliRunner().invoke(cli, ["--config", str(office.config_path), "accounts", "check",
                                      "--json"])
    fb = next(r for r in json.loads(result.output) if r["platform"] == "facebook")
    assert result.exit_code == 0 and fb["ok"]
    assert fb["warning"].startswith("Graph API v21.0 retires on 2027-01-21")
    monkeypatch.setattr("scheduler.cli.operations.now",
                        lambda: datetime(2027, 2, 1, tzinfo=UTC))
    calls = len(office.emulator.requests_log)
    result = CliRunner().invoke(cli, ["--config", str(office.config_path), "accounts", "check",
                                      "--json"])
    fb = next(r for r in json.loads(result.output) if r["platform"] == "facebook")
    assert result.exit_code == 1 and not fb["ok"]
    assert 'set graph_version = "v25.0"' in fb["reason"]
    # Only X was asked: a retired version is refused without calling Meta.
    assert [r["platform"] for r in office.emulator.requests_log[calls:]] == ["x"]


def test_status_warns_of_a_retiring_version(office_on):
    from scheduler.status import status_report

    office = office_on("v21.0", datetime.now(UTC))
    report = status_report(office.store, office.config, datetime(2027, 1, 1, tzinfo=UTC))
    assert report["warnings"] == [
        "account office-fb: Graph API v21.0 retires on 2027-01-21; set graph_version = "
        '"v25.0" for this account before then '
        "(https://developers.facebook.com/docs/graph-api/changelog/versions)"]


def test_the_facebook_publisher_reports_metas_refusal_of_a_retired_version(tmp_path,
                                                                              monkeypatch):
    # Should factpost's table fall behind Meta's, the refusal still reads as what it is.
    from scheduler.platforms.base import Permanent

    office, emulator = build_office(tmp_path, monkeypatch,
                                    Clock(datetime(2028, 8, 1, tzinfo=UTC)))
    try:
        from scheduler.platforms.registry import build_publisher

        publisher = build_publisher(office.config.account("office-fb"))
        with pytest.raises(Permanent, match=r'retired; set graph_version = "v26\.0"') as err:
            publisher.publish("After v25.0 retired.")
        assert err.value.code == "2635"
    finally:
        office.close()
        emulator.stop()


def test_the_emulator_serves_the_same_versions_on_the_same_dates():
    # Two copies of Meta's table on purpose: the emulated Graph must not read the product's
    # (a double that did would agree with any mistake in it). They must agree with each other.
    from emulator import graph_versions as served

    assert {v: retired for v, (_, retired) in gv.VERSIONS.items()} == served.RETIRES
    assert served.latest() == gv.latest()
    for day in (date(2026, 11, 29), date(2027, 6, 1), date(2029, 1, 1)):
        assert served.oldest_available(day) == gv.oldest_available(day)
