"""When posts go out: reading times and durations typed by staff, and an account's free slots.

Slots across daylight-saving changes
------------------------------------
A slot is every moment at which the office's wall clock shows a time the account's cron
expression matches: a daily "30 1 * * *" in New York is 01:30 EDT on most days, 01:30 EDT *and*
01:30 EST on the night the clocks go back (the hour happens twice), and on the night they go
forward a wall time that never happens (02:30) is taken as the moment it would have been had
the clocks not moved (03:30 EDT: PEP 495's rule for a time in a gap, as
`datetime(..., fold=0)` gives it), so that no day is lost. Where the clocks jump across
midnight, that moment is on the next day: America/Nuuk goes from 23:00 -02 on a Saturday to
00:00 -01 on the Sunday (tzdata: 01:00 UTC, the EU rule), so a Saturday 23:30 "would have
been" Sunday 00:30 and Saturday would have no slot. Such a time is read with the offset after
the change instead (PEP 495's `fold=1`: 22:30 -02, still Saturday): a slot stays on its own
day. Slots always strictly increase, never repeat, and the walk over them always ends.

APScheduler 3.11's `CronTrigger` does not keep to this in a zone with daylight saving
(https://apscheduler.readthedocs.io/en/3.x/modules/triggers/cron.html#daylight-saving-time-
behavior warns about it; https://github.com/agronholm/apscheduler/issues/606, /529, /1021):
`_increment_field_value` adds the wall-clock difference in UTC, so on a 23-hour day it lands
an hour late and skips the next day ("0 0 * * *": 03-14, then 03-16), and after the repeated
hour, a `now` an hour "earlier" than the previous fire time (what wall-clock arithmetic on a
`fold=1` datetime gives) makes it return the previous fire time again, forever. So the cron
expression is matched here in UTC, where no clock ever moves: `CronTrigger(timezone=UTC)` walks
the wall-clock times that match, and `_instants` turns each into the moments it names in the
office zone.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from posts.errors import FactpostError


class TimeFormatError(FactpostError):
    """A time or duration typed on the command line cannot be read."""


class TimeInPast(TimeFormatError):
    """A time typed by staff is already past; it needs an explicit `--allow-past`."""


_DURATION = re.compile(r"(\d+)\s*([smhdw])", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800}
#: A typed time this far in the past is still taken for "now": the minute being typed in.
PAST_GRACE = timedelta(seconds=60)


def parse_duration(text: str) -> timedelta:
    """`0s`, `90s`, `15m`, `2h`, `1d`, `1h30m`."""
    compact = text.replace(" ", "")
    if not compact or _DURATION.sub("", compact):
        raise TimeFormatError(f"cannot read duration {text!r}; write e.g. 30s, 15m, 2h or 1d")
    return timedelta(seconds=sum(int(n) * _UNITS[u.lower()]
                                 for n, u in _DURATION.findall(compact)))


@dataclass(frozen=True)
class When:
    """A time typed by staff, in UTC, and what to tell them about reading it: which of two
    moments a wall time in a repeated hour was taken for, or where a wall time that the
    clocks skip was put. `note` is None when the time was plain."""

    at: datetime
    note: str | None = None


def parse_when(text: str, tz: ZoneInfo, now: datetime) -> datetime:
    """`now`, `+2h`, or a date/time (`2026-12-01 09:00`, ISO 8601). A time without a zone is
    in the office timezone. Returns UTC."""
    return read_when(text, tz, now).at


def read_when(text: str, tz: ZoneInfo, now: datetime) -> When:
    """`parse_when`, with a note where the office's clocks change around the time typed: a
    wall time that happens twice is taken as its first occurrence (say so, and how to write
    the second), one that never happens as the moment it would have been, or where that is on
    the next day, as read with the offset after the change (say so; see the module
    docstring)."""
    text = text.strip()
    if text.lower() == "now":
        return When(now.astimezone(UTC))
    if text.startswith("+"):
        return When((now + parse_duration(text[1:])).astimezone(UTC))
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise TimeFormatError(f"cannot read time {text!r}; write 'now', '+2h' or "
                              "'2026-12-01 09:00' (office timezone)") from None
    if when.tzinfo is not None:
        return When(when.astimezone(UTC))
    first, second = (_utc(when.replace(fold=f), tz) for f in (0, 1))
    if first == second:
        return When(first)
    shown = when.strftime("%Y-%m-%d %H:%M")
    if _wall(first, tz) == when and _wall(second, tz) == when:
        offset = _offset(second, tz)
        return When(first, (
            f"{shown} happens twice in {tz.key} (the clocks go back); took the first, "
            f"{_describe(first, tz)}; for the second write '{when.isoformat(' ')}{offset}'"))
    taken = _skipped(when, tz)
    return When(taken, (
        f"{shown} does not happen in {tz.key} (the clocks go forward); took "
        f"{_describe(taken, tz)}"))


def check_not_past(when: datetime, now: datetime, *, allow_past: bool, what: str = "--at",
                   tz: ZoneInfo | None = None, hint: str = ", or add --allow-past to send "
                   "overdue posts (spaced as planned)") -> None:
    """Raises TimeInPast when `when` is before `now` (less `PAST_GRACE`) and the past is not
    allowed: a time in the past would send the post at once, out of its planned order."""
    if not allow_past and when < now - PAST_GRACE:
        shown = when.astimezone(tz) if tz is not None else when
        raise TimeInPast(f"{what} {shown:%Y-%m-%d %H:%M} {shown.tzname()} is in the past; "
                         f"give a future time{hint}")


def _utc(wall: datetime, tz: tzinfo) -> datetime:
    return wall.replace(tzinfo=tz).astimezone(UTC)


def _wall(moment: datetime, tz: tzinfo) -> datetime:
    return moment.astimezone(tz).replace(tzinfo=None, fold=0)


def _offset(moment: datetime, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%z")[:3] + ":" + moment.astimezone(tz).strftime(
        "%z")[3:]


def _skipped(wall: datetime, tz: tzinfo) -> datetime:
    """The moment (UTC) taken for a wall time the clocks skip: the moment it would have been
    (fold=0), unless that is on the next day (a jump across midnight), then the same wall time
    read with the offset after the change (fold=1), which is on its own day."""
    moment = _utc(wall.replace(fold=0), tz)
    if moment.astimezone(tz).date() == wall.date():
        return moment
    return _utc(wall.replace(fold=1), tz)


def _describe(moment: datetime, tz: tzinfo) -> str:
    local = moment.astimezone(tz)
    return f"{local:%H:%M} {local.tzname()} (UTC{_offset(moment, tz)})"


def local_text(when: datetime | None, tz: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M", *,
               zone: bool = False) -> str:
    """`when` as the office clock shows it (`fmt`), with the zone's abbreviation ("EDT",
    "EST"), or its UTC offset where tzdata has no abbreviation ("UTC-02:00"), whenever that
    wall time happens twice (the two 01:30 slots of the night the clocks go back must not
    look the same in a listing), or always with `zone`. Empty for None."""
    if when is None:
        return ""
    local = when.astimezone(tz)
    text = local.strftime(fmt)
    if not zone and not _repeated(local.replace(tzinfo=None, fold=0), tz):
        return text
    name = local.tzname() or ""
    return f"{text} {name if name[:1].isalpha() else 'UTC' + _offset(local, tz)}"


def form_value(when: datetime, tz: ZoneInfo) -> str:
    """`when` as a form field holds it: office time "2026-12-01T09:00" (what a datetime-local
    input takes), with its UTC offset ("2027-11-07T01:30-05:00") where that wall time happens
    twice, so that reading it back (`read_when`) gives the same moment, not the first."""
    local = when.astimezone(tz)
    if _repeated(local.replace(tzinfo=None, fold=0), tz):
        return local.isoformat(timespec="minutes")
    return local.strftime("%Y-%m-%dT%H:%M")


def typed_value(when: datetime | None, tz: ZoneInfo) -> str:
    """`when` as a person types it into a time field: `form_value` with a space for the "T"
    ("2026-12-01 09:00"), the form `parse_when` reads back. Empty for None."""
    return "" if when is None else form_value(when, tz).replace("T", " ", 1)


def _repeated(wall: datetime, tz: tzinfo) -> bool:
    first, second = (_utc(wall.replace(fold=f), tz) for f in (0, 1))
    return first != second and _wall(first, tz) == wall and _wall(second, tz) == wall


# --- slots ------------------------------------------------------------------------------------

# Python's timezones have offsets of less than 24 hours either way (datetime.utcoffset), so a
# wall time names moments within a day of itself.
_MAX_OFFSET = timedelta(hours=24)


def free_slots(crons: Iterable[str], tz: ZoneInfo, after: datetime,
               taken: Iterable[datetime] = ()) -> Iterator[datetime]:
    """An account's posting slots from `after` on (UTC), soonest first, skipping ones already
    taken. Strictly increasing, never the same moment twice, no day lost (see the module
    docstring for the days the clocks change). Ends when no cron expression has a future
    match (e.g. "0 9 30 2 *")."""
    walkers = [_wall_times(c, tz, after) for c in crons]
    if not walkers:
        return
    taken = {t.astimezone(UTC) for t in taken}
    after = after.astimezone(UTC)
    # Wall times come in order from each walker; the moments they name may not (a time in the
    # gap names a moment after the wall times just past it), so moments wait in a heap until
    # no later wall time can name an earlier one.
    walls: list[tuple[datetime, int]] = []
    for i, walker in enumerate(walkers):
        first = next(walker, None)
        if first is not None:
            walls.append((first, i))
    heapq.heapify(walls)
    moments: list[datetime] = []
    previous = None
    while walls or moments:
        while walls and (not moments
                         or walls[0][0].replace(tzinfo=UTC) - _MAX_OFFSET <= moments[0]):
            wall, i = heapq.heappop(walls)
            for moment in _instants(wall, tz):
                heapq.heappush(moments, moment)
            following = next(walkers[i], None)
            if following is not None:
                heapq.heappush(walls, (following, i))
        moment = heapq.heappop(moments)
        if moment < after or moment == previous:
            continue
        previous = moment
        if moment not in taken:
            yield moment


def _wall_times(cron: str, tz: ZoneInfo, after: datetime) -> Iterator[datetime]:
    """The wall-clock times (naive) that `cron` matches, in order, from a day before `after`'s
    wall time on (moments before `after` are dropped by the caller)."""
    trigger = CronTrigger.from_crontab(cron, timezone=UTC)
    start = (after.astimezone(tz).replace(tzinfo=None) - _MAX_OFFSET).replace(tzinfo=UTC)
    fire = trigger.get_next_fire_time(None, start)
    while fire is not None:
        yield fire.replace(tzinfo=None)
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))


def _instants(wall: datetime, tz: ZoneInfo) -> list[datetime]:
    """The moments (UTC) at which the office clock shows `wall`: one on most days, two in an
    hour the clocks repeat, and in an hour they skip the moment it would have been."""
    first, second = (_utc(wall.replace(fold=f), tz) for f in (0, 1))
    if first == second:
        return [first]
    if _repeated(wall, tz):
        return [first, second]  # a repeated hour: both happen
    return [_skipped(wall, tz)]
