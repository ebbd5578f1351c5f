"""Times typed by staff, and an account's free cron slots in the office timezone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduler.timing import TimeFormatError, free_slots, parse_duration, parse_when

BAGHDAD = ZoneInfo("Asia/Baghdad")  # UTC+3, no daylight saving
NOW = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)  # Monday 23:00 in Baghdad


@pytest.mark.parametrize(("text", "seconds"), [
    ("0s", 0), ("90s", 90), ("15m", 900), ("2h", 7200), ("1d", 86400), ("1h30m", 5400),
])
def test_durations(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "soon", "5", "3x", "1h and 5m"])
def test_unreadable_durations_say_how_to_write_one(text):
    with pytest.raises(TimeFormatError, match=r"write e\.g\. 30s"):
        parse_duration(text)


def test_times_without_a_zone_are_office_time_and_come_back_in_utc():
    assert parse_when("2026-12-01 09:00", BAGHDAD, NOW) == datetime(2026, 12, 1, 6, 0,
                                                                     tzinfo=UTC)
    assert parse_when("2026-12-01T09:00:00+00:00", BAGHDAD, NOW).hour == 9
    assert parse_when("now", BAGHDAD, NOW) == NOW
    assert parse_when("+2h", BAGHDAD, NOW) == NOW + timedelta(hours=2)
    with pytest.raises(TimeFormatError, match="cannot read time"):
        parse_when("tomorrow-ish", BAGHDAD, NOW)


def test_free_slots_follow_cron_in_the_office_timezone_and_skip_taken_ones():
    slots = free_slots(["0 9 * * mon-fri", "0 15 * * mon-fri"], BAGHDAD, NOW,
                       taken=[datetime(2026, 12, 1, 6, 0, tzinfo=UTC)])
    first = [next(slots) for _ in range(4)]
    assert [t.astimezone(BAGHDAD).strftime("%a %H:%M") for t in first] == [
        "Tue 15:00", "Wed 09:00", "Wed 15:00", "Thu 09:00"]
    assert all(t.tzinfo == UTC for t in first)


def test_weekend_slots_are_skipped():
    friday_evening = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)
    nxt = next(free_slots(["0 9 * * mon-fri"], BAGHDAD, friday_evening))
    assert nxt.astimezone(BAGHDAD).strftime("%a %H:%M") == "Mon 09:00"
