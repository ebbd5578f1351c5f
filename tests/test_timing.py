"""Times typed by staff, and an account's free cron slots in the office timezone."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduler.timing import (
    TimeFormatError,
    TimeInPast,
    check_not_past,
    form_value,
    free_slots,
    local_text,
    parse_duration,
    parse_when,
    read_when,
    typed_value,
)

BAGHDAD = ZoneInfo("Asia/Baghdad")  # UTC+3, no daylight saving
NOW = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)  # Monday 23:00 in Baghdad


@pytest.mark.parametrize(("text", "seconds"), [
    ("0s", 0), ("90s", 90), ("15m", 900), ("2h", 7200), ("1d", 86400), ("1h30m", 5400),
    ("1w", 604_800), ("2H", 7200), ("1h 30m", 5400), (" 1d 2h ", 93_600),
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
    with pytest.raises(TimeFormatError, match=r"cannot read time .*'2026-12-01 09:00' \(office "
                       r"timezone\)$"):
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


# --- daylight saving: every transition of 2020-2035 in zones with odd rules -------------------

# New York and London (an hour at 02:00 / 01:00), Lord Howe (30 minutes), Tehran (DST until
# 2022, at midnight), Baghdad (none), Chatham (UTC+12:45/+13:45), St John's (-03:30), Dublin
# (negative DST in tzdata), Casablanca (suspended for Ramadan every year), Troll (two hours),
# Havana and Beirut and Asunción (at midnight), Santiago, Cairo (DST again from 2023), Gaza
# (irregular dates), Adelaide (30-minute zone with DST), Nuuk and Scoresbysund (from 2024 at
# 23:00 local on a Saturday, so the skipped hour ends on the next day), Easter Island (at 22:00
# Saturday), Amman and Damascus (at midnight until 2022), Norfolk Island, Macquarie.
ZONES = ["America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Tehran",
         "Asia/Baghdad", "Pacific/Chatham", "America/St_Johns", "Europe/Dublin",
         "Africa/Casablanca", "Antarctica/Troll", "America/Havana", "Asia/Beirut",
         "America/Asuncion", "America/Santiago", "Africa/Cairo", "Asia/Gaza",
         "Australia/Adelaide", "America/Nuuk", "America/Scoresbysund", "Pacific/Easter",
         "Asia/Amman", "Asia/Damascus", "Pacific/Norfolk", "Antarctica/Macquarie"]


def transitions(tz: ZoneInfo, start: int = 2020, end: int = 2035) -> list[datetime]:
    """Every moment (UTC, to the minute) in the years `start`..`end` at which `tz`'s offset
    changes: found day by day, then by halving the day that holds one."""
    found = []
    day = datetime(start, 1, 1, tzinfo=UTC)
    stop = datetime(end + 1, 1, 1, tzinfo=UTC)
    while day < stop:
        following = day + timedelta(days=1)
        if day.astimezone(tz).utcoffset() != following.astimezone(tz).utcoffset():
            lo, hi = day, following  # offset(lo) != offset(hi); narrow to one minute
            while hi - lo > timedelta(minutes=1):
                mid = lo + (hi - lo) / 2
                mid = mid.replace(second=0, microsecond=0)
                if mid.astimezone(tz).utcoffset() == lo.astimezone(tz).utcoffset():
                    lo = mid
                else:
                    hi = mid
            found.append(hi)
        day = following
    return found


def matches(cron: str, wall: datetime) -> bool:
    """Whether a five-field cron expression of the simple kinds used below matches `wall`."""
    minute, hour = cron.split()[:2]
    return _field(minute, wall.minute) and _field(hour, wall.hour)


def _field(spec: str, value: int) -> bool:
    if spec == "*":
        return True
    if spec.startswith("*/"):
        return value % int(spec[2:]) == 0
    return value == int(spec)


def expected_slots(cron: str, tz: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """By brute force: every UTC minute in [start, end) whose wall time matches, plus, for a
    matching wall time the clocks skip, the moment it would have been (fold=0), or where that
    is on the next day, the wall time read with the offset after the change (fold=1)."""
    out = set()
    moment = start
    while moment < end:
        wall = moment.astimezone(tz).replace(tzinfo=None, fold=0)
        if matches(cron, wall):
            out.add(moment)
        moment += timedelta(minutes=15)
    wall = start.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0, fold=0)
    wall -= timedelta(minutes=wall.minute % 15)
    while wall.replace(tzinfo=UTC) < end + timedelta(days=1):
        real = wall.replace(tzinfo=tz).astimezone(UTC)
        skipped = real.astimezone(tz).replace(tzinfo=None) != wall
        if skipped and real.astimezone(tz).date() != wall.date():
            real = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
        if skipped and matches(cron, wall) and start <= real < end:
            out.add(real)
        wall += timedelta(minutes=15)
    return sorted(out)


def slots_between(crons, tz, start, end) -> list[datetime]:
    found = []
    for slot in free_slots(crons, tz, start):
        assert slot.tzinfo == UTC
        if slot >= end:
            break
        found.append(slot)
    return found


def zone_cases():
    for name in ZONES:
        tz = ZoneInfo(name)
        for moment in transitions(tz):
            yield pytest.param(tz, moment, id=f"{name}-{moment:%Y%m%dT%H%M}")


def test_transitions_are_found_for_every_zone_that_has_them():
    counts = {name: len(transitions(ZoneInfo(name))) for name in ZONES}
    assert counts["Asia/Baghdad"] == 0
    assert counts["America/New_York"] == counts["Europe/London"] == 32
    assert counts["Australia/Lord_Howe"] == 32 and counts["Antarctica/Troll"] == 32
    assert counts["Asia/Tehran"] == 6  # spring and autumn of 2020-2022; none since
    assert counts["Africa/Casablanca"] >= 30  # Ramadan, twice a year


@pytest.mark.parametrize(("tz", "change"), list(zone_cases()))
def test_slots_across_every_clock_change_are_every_matching_moment_in_order(tz, change):
    before = (change - timedelta(minutes=1)).astimezone(tz)
    after = change.astimezone(tz)
    # Daily slots at the changing wall times, before them, on every half hour from an hour
    # before the change to an hour after (inside a skipped or repeated hour), at midnight and
    # just before it, and every 15 minutes.
    daily = {f"{m} {h} * * *" for t in (before, after, before - timedelta(minutes=30))
             for h, m in [(t.hour, t.minute - t.minute % 15)]}
    daily |= {f"{m} {h} * * *" for n in range(-2, 4)
              for t in [before + timedelta(minutes=30 * n)]
              for h, m in [(t.hour, 30 * (t.minute // 30))]}
    for cron in sorted(daily | {"0 0 * * *", "30 23 * * *", "*/15 * * * *"}):
        # Every 15 minutes: six hours either side of the change are plenty.
        hours = 6 if cron.startswith("*/") else 30
        start, end = change - timedelta(hours=hours), change + timedelta(hours=hours)
        found = slots_between([cron], tz, start, end)
        assert found == sorted(set(found)), f"{cron}: not strictly increasing"
        assert found == expected_slots(cron, tz, start, end), cron
        if cron.split()[1] != "*":  # a daily slot: every local day between has one
            days = {s.astimezone(tz).date() for s in found}
            first, last = start.astimezone(tz).date(), end.astimezone(tz).date()
            between = {first + timedelta(days=n) for n in range(1, (last - first).days)}
            assert between <= days, f"{cron}: a day lost"


@pytest.mark.parametrize(("tz", "change"), list(zone_cases())[::7])
def test_several_accounts_slots_merge_without_repeats(tz, change):
    crons = ["0 0 * * *", "30 1 * * *", "*/30 * * * *", "45 2 * * *"]
    found = slots_between(crons, tz, change - timedelta(days=1), change + timedelta(days=1))
    assert found == sorted(set(found))
    expected = sorted({s for c in crons for s in expected_slots(
        c, tz, change - timedelta(days=1), change + timedelta(days=1))})
    assert found == expected


NEW_YORK = ZoneInfo("America/New_York")


def test_case_04_a_daily_slot_on_the_night_the_clocks_go_back_ends_and_repeats_nothing():
    # /work/shared/cases/04: APScheduler alone never returned after 2027-11-07 01:30 EST.
    now = datetime(2027, 11, 5, 12, 0, tzinfo=UTC)
    slots = free_slots(["30 1 * * *"], NEW_YORK, now)
    four = [next(slots).astimezone(NEW_YORK) for _ in range(4)]
    assert [f"{t:%Y-%m-%d %H:%M %Z}" for t in four] == [
        "2027-11-06 01:30 EDT", "2027-11-07 01:30 EDT", "2027-11-07 01:30 EST",
        "2027-11-08 01:30 EST"]


def test_case_05_a_daily_midnight_slot_loses_no_day_when_the_clocks_go_forward():
    # /work/shared/cases/05: APScheduler alone went 03-14, then 03-16.
    now = datetime(2027, 3, 12, 12, 0, tzinfo=UTC)
    slots = free_slots(["0 0 * * *"], NEW_YORK, now)
    assert [f"{next(slots).astimezone(NEW_YORK):%m-%d %H:%M}" for _ in range(4)] == [
        "03-13 00:00", "03-14 00:00", "03-15 00:00", "03-16 00:00"]


def test_a_slot_the_clocks_skip_goes_when_it_would_have_been():
    now = datetime(2027, 3, 13, 12, 0, tzinfo=UTC)
    slot = next(free_slots(["30 2 * * *"], NEW_YORK, now))
    assert f"{slot.astimezone(NEW_YORK):%m-%d %H:%M %Z}" == "03-14 03:30 EDT"


def test_a_slot_the_clocks_skip_at_the_end_of_a_day_stays_on_that_day():
    # Nuuk skips 23:00-24:00 on the last Saturday of March (tzdata: 01:00 UTC, from 2024): the
    # moment 23:30 "would have been" is Sunday 00:30, which left Saturday without a slot.
    nuuk = ZoneInfo("America/Nuuk")
    slots = free_slots(["30 23 * * *"], nuuk, datetime(2026, 3, 27, 12, 0, tzinfo=UTC))
    three = [next(slots).astimezone(nuuk) for _ in range(3)]
    assert [f"{t:%a %m-%d %H:%M %z}" for t in three] == [
        "Fri 03-27 23:30 -0200", "Sat 03-28 22:30 -0200", "Sun 03-29 23:30 -0100"]
    when = read_when("2026-03-28 23:30", nuuk, NOW)
    assert when.at == datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    assert "does not happen" in when.note and "22:30 -02 (UTC-02:00)" in when.note


def test_a_cron_that_never_matches_again_ends_the_slots():
    assert list(free_slots(["0 9 30 2 *"], NEW_YORK, NOW)) == []


def test_an_at_time_in_a_repeated_hour_says_which_one_it_took():
    when = read_when("2027-11-07 01:30", NEW_YORK, NOW)
    assert when.at == datetime(2027, 11, 7, 5, 30, tzinfo=UTC)
    assert when.note.startswith("2027-11-07 01:30 happens twice in America/New_York")
    assert "took the first, 01:30 EDT (UTC-04:00)" in when.note
    second = read_when("2027-11-07 01:30-05:00", NEW_YORK, NOW)
    assert second.at == datetime(2027, 11, 7, 6, 30, tzinfo=UTC) and second.note is None
    howe = read_when("2027-04-04 01:45", ZoneInfo("Australia/Lord_Howe"), NOW)
    assert "took the first" in howe.note and "UTC+11:00" in howe.note and "+10:30" in howe.note


def test_an_at_time_the_clocks_skip_says_where_it_went():
    when = read_when("2027-03-14 02:30", NEW_YORK, NOW)
    assert when.at == datetime(2027, 3, 14, 7, 30, tzinfo=UTC)
    assert when.note.startswith("2027-03-14 02:30 does not happen in America/New_York")
    assert "03:30 EDT (UTC-04:00)" in when.note
    assert read_when("2027-03-15 02:30", NEW_YORK, NOW).note is None


def test_a_time_in_the_past_is_refused_unless_allowed():
    with pytest.raises(TimeInPast, match=r"^--at 2026-11-30 19:00 UTC is in the past; give a "
                       r"future time, or add --allow-past to send overdue posts \(spaced as "
                       r"planned\)$"):
        check_not_past(NOW - timedelta(hours=1), NOW, allow_past=False)
    with pytest.raises(TimeInPast, match=r"^--at 2026-11-30 14:00 EST is in the past"):
        check_not_past(NOW - timedelta(hours=1), NOW, allow_past=False, tz=NEW_YORK)
    check_not_past(NOW - timedelta(hours=1), NOW, allow_past=True)
    check_not_past(NOW - timedelta(seconds=30), NOW, allow_past=False)  # the minute typed in
    check_not_past(NOW - timedelta(seconds=60), NOW, allow_past=False)  # the grace's edge
    with pytest.raises(TimeInPast):
        check_not_past(NOW - timedelta(seconds=61), NOW, allow_past=False)


def test_a_local_time_that_happens_twice_is_shown_with_its_zone():
    first, second = (datetime(2027, 11, 7, h, 30, tzinfo=UTC) for h in (5, 6))
    assert local_text(first, NEW_YORK) == "2027-11-07 01:30 EDT"
    assert local_text(second, NEW_YORK) == "2027-11-07 01:30 EST"
    assert local_text(second + timedelta(hours=1), NEW_YORK) == "2027-11-07 02:30"
    assert local_text(None, NEW_YORK) == ""
    # A zone whose abbreviations tzdata writes as numbers: the offset, written as such.
    nuuk = ZoneInfo("America/Nuuk")
    assert local_text(datetime(2026, 10, 25, 0, 30, tzinfo=UTC), nuuk, "%H:%M") == (
        "23:30 UTC-01:00")
    assert local_text(datetime(2026, 10, 25, 1, 30, tzinfo=UTC), nuuk, "%H:%M") == (
        "23:30 UTC-02:00")


def _machine_clock_in(monkeypatch, zone: str):
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def machine_clock_in_tokyo(monkeypatch):
    """The machine's own timezone set to Asia/Tokyo (UTC+9) for the test."""
    yield from _machine_clock_in(monkeypatch, "Asia/Tokyo")


@pytest.fixture
def machine_clock_in_kiritimati(monkeypatch):
    """The machine's own timezone set to Pacific/Kiritimati (UTC+14, the furthest ahead)."""
    yield from _machine_clock_in(monkeypatch, "Pacific/Kiritimati")


@pytest.mark.usefixtures("machine_clock_in_kiritimati")
def test_slots_are_found_from_the_office_s_clock_not_the_machine_s():
    # Pago Pago (UTC-11) is 25 hours behind the machine: its 09:30 comes first.
    pago_pago = ZoneInfo("Pacific/Pago_Pago")
    slots = free_slots(["30 * * * *"], pago_pago, NOW)  # NOW is 09:00 there
    assert [f"{next(slots).astimezone(pago_pago):%m-%d %H:%M}" for _ in range(2)] == [
        "11-30 09:30", "11-30 10:30"]


@pytest.mark.usefixtures("machine_clock_in_tokyo")
def test_the_machine_s_timezone_plays_no_part():
    # Times come back in UTC, whatever zone the server runs in; only the office's zone counts.
    for typed in ("now", "+2h", "2026-12-01T09:00:00+01:00", "2026-12-01 09:00"):
        assert parse_when(typed, BAGHDAD, NOW).tzinfo is UTC
    assert parse_when("+2h", BAGHDAD, NOW) == datetime(2026, 11, 30, 22, 0, tzinfo=UTC)
    with pytest.raises(TimeInPast, match=r"^--at 2026-11-30 19:00 UTC is in the past"):
        check_not_past(NOW - timedelta(hours=1), NOW, allow_past=False)


def test_a_form_shows_office_time_and_its_offset_only_where_the_wall_time_happens_twice():
    assert form_value(datetime(2026, 12, 1, 6, 0, tzinfo=UTC), BAGHDAD) == "2026-12-01T09:00"
    first, second = (datetime(2027, 11, 7, h, 30, tzinfo=UTC) for h in (5, 6))
    assert form_value(first, NEW_YORK) == "2027-11-07T01:30-04:00"
    assert form_value(second, NEW_YORK) == "2027-11-07T01:30-05:00"
    for moment in (first, second):  # read back, each is the moment it was
        assert read_when(form_value(moment, NEW_YORK), NEW_YORK, NOW).at == moment


def test_a_time_field_shows_office_time_as_typed_and_reads_back_to_the_same_moment():
    assert typed_value(datetime(2026, 12, 1, 6, 0, tzinfo=UTC), BAGHDAD) == "2026-12-01 09:00"
    first, second = (datetime(2027, 11, 7, h, 30, tzinfo=UTC) for h in (5, 6))
    assert typed_value(first, NEW_YORK) == "2027-11-07 01:30-04:00"
    assert typed_value(second, NEW_YORK) == "2027-11-07 01:30-05:00"
    for moment in (first, second):
        assert parse_when(typed_value(moment, NEW_YORK), NEW_YORK, NOW) == moment
    assert typed_value(None, NEW_YORK) == ""
