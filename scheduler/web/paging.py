"""History pages by key, not by offset: the link to the next page carries the (time, id) of
the last post shown, so page ten thousand costs what page one does (db/history.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from db.errors import MAX_ID
from db.store import history_key
from scheduler.timing import TimeFormatError


def read_cursor(text: str) -> tuple[datetime, int] | None:
    """The (time, id) a history page link carries ('<ISO time with offset>~<post id>').
    Raises TimeFormatError for anything else."""
    if not text:
        return None
    damaged = TimeFormatError("the page link is damaged; start again from the first page")
    when, sep, post_id = text[:200].rpartition("~")
    try:
        moment, number = datetime.fromisoformat(when), int(post_id)
        if not sep or moment.tzinfo is None or not 0 < number <= MAX_ID:
            raise damaged
        return moment.astimezone(UTC), number
    except (ValueError, OverflowError):
        raise damaged from None


def cursor(post) -> str:
    when, post_id = history_key(post)
    return f"{when.isoformat()}~{post_id}"
