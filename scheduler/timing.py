"""When posts go out: reading times and durations typed by staff, and an account's free slots."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger


class TimeFormatError(ValueError):
    """A time or duration typed on the command line cannot be read."""


_DURATION = re.compile(r"(\d+)\s*([smhdw])", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800}


def parse_duration(text: str) -> timedelta:
    """`0s`, `90s`, `15m`, `2h`, `1d`, `1h30m`."""
    compact = text.replace(" ", "")
    if not compact or _DURATION.sub("", compact):
        raise TimeFormatError(f"cannot read duration {text!r}; write e.g. 30s, 15m, 2h or 1d")
    return timedelta(seconds=sum(int(n) * _UNITS[u.lower()]
                                 for n, u in _DURATION.findall(compact)))


def parse_when(text: str, tz: ZoneInfo, now: datetime) -> datetime:
    """`now`, `+2h`, or a date/time (`2026-12-01 09:00`, ISO 8601). A time without a zone is
    in the office timezone. Returns UTC."""
    text = text.strip()
    if text.lower() == "now":
        return now.astimezone(UTC)
    if text.startswith("+"):
        return (now + parse_duration(text[1:])).astimezone(UTC)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise TimeFormatError(f"cannot read time {text!r}; write 'now', '+2h' or "
                              "'2026-12-01 09:00' (office timezone)") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=tz)
    return when.astimezone(UTC)


def free_slots(crons: Iterable[str], tz: ZoneInfo, after: datetime,
               taken: Iterable[datetime] = ()) -> Iterator[datetime]:
    """An account's posting slots after `after`, soonest first, skipping ones already taken."""
    triggers = [CronTrigger.from_crontab(c, timezone=tz) for c in crons]
    if not triggers:
        return
    taken = {t.astimezone(UTC) for t in taken}
    upcoming = {i: t.get_next_fire_time(None, after) for i, t in enumerate(triggers)}
    previous = None
    while upcoming:
        i, when = min(upcoming.items(), key=lambda kv: kv[1])
        fire = triggers[i].get_next_fire_time(when, when + timedelta(seconds=1))
        if fire is None:
            del upcoming[i]
        else:
            upcoming[i] = fire
        utc = when.astimezone(UTC)
        if utc != previous and utc not in taken:
            yield utc
        previous = utc
