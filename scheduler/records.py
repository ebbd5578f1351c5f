"""Posts as plain records, the one shape every listing uses: CLI JSON and CSV, the web UI's
CSV export and the /api JSON."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from typing import TextIO

from db.models import Post

LISTING_FIELDS = ("id", "account", "platform", "status", "text", "scheduled_at",
                  "published_at", "remote_id", "remote_url", "document", "section",
                  "thread_position", "thread_size", "last_error")


def iso(when: datetime | None) -> str | None:
    return None if when is None else when.astimezone(UTC).isoformat()


def post_record(post: Post) -> dict:
    """The fields every listing prints for a post (JSON and CSV)."""
    return {
        "id": post.id, "account": post.account, "platform": post.platform,
        "status": post.status, "text": post.text, "scheduled_at": iso(post.scheduled_at),
        "published_at": iso(post.published_at), "remote_id": post.remote_id,
        "remote_url": post.remote_url,
        "document": post.document.source_name if post.document else None,
        "section": (post.section.heading or f"section {post.section.position + 1}")
        if post.section else None,
        "thread_position": post.thread_position, "thread_size": post.thread_size,
        "last_error": post.last_error,
    }


#: A spreadsheet reads a cell starting with one of these as a formula (or, for tab and CR, may
#: shift it into one): OWASP's list, https://owasp.org/www-community/attacks/CSV_Injection
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value):
    """A cell value that no spreadsheet runs: text beginning like a formula gets a leading
    apostrophe (OWASP's rule), which spreadsheets show as text and do not display."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_record(post: Post) -> dict:
    """`post_record` for a CSV export, every cell neutralised by `csv_safe`."""
    return {key: csv_safe(value) for key, value in post_record(post).items()}


def csv_writer(out: TextIO) -> csv.DictWriter:
    """The one CSV dialect of every export: RFC 4180's CRLF line ends, so a cell holding a
    carriage return or a line feed is always quoted (https://www.rfc-editor.org/rfc/rfc4180);
    write `csv_record`s to it."""
    return csv.DictWriter(out, fieldnames=LISTING_FIELDS, lineterminator="\r\n")
