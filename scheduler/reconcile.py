"""Settling posts whose outcome is unknown by reading the account's own timeline.

X and the Graph API have no idempotency keys, so before re-sending a post that may already be
live (a timeout after sending, a dropped connection, a daemon killed mid-request, X's
duplicate-content refusal) the dispatcher looks for it among the account's recent posts.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta

from scheduler.publishers.base import Publisher, RemotePost

# X rewrites every link to a t.co address in the stored text, so links cannot be compared.
_URL = re.compile(r"(?:https?://|www\.)\S+|\b[\w-]+(?:\.[\w-]+)+/\S*", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
#: Allowance for the platform's clock running behind ours.
CLOCK_SLACK = timedelta(minutes=10)


def comparable(text: str) -> str:
    """Text as both sides can agree on: NFC, links blanked, whitespace folded."""
    text = unicodedata.normalize("NFC", text)
    text = _URL.sub("<link>", text)
    return _SPACE.sub(" ", text).strip().casefold()


#: How far back a timeline is read at most. Other daemons keep publishing to the account while
#: a dead one's lease runs out, so the post may be far from the top by the time it is looked for.
MAX_TIMELINE_POSTS = 1_000


def find_on_timeline(publisher: Publisher, text: str, *, reply_to: str | None = None,
                     since: datetime | None = None, after_id: str | None = None,
                     limit: int = MAX_TIMELINE_POSTS) -> RemotePost | None:
    """The remote post carrying `text` (and replying to `reply_to`, for thread parts), if the
    account's timeline holds one created since our first try (`since`): the timeline is read
    back to that moment (or 100 posts without one, `limit` at most). `after_id`, a post of
    the account older than our first try, narrows the read further where the platform's ids
    are ordered in time (X, where every post read is billed). Raises PublishError when the
    timeline cannot be read."""
    wanted = comparable(text)
    earliest = since - CLOCK_SLACK if since is not None else None
    posts = (publisher.recent_posts(limit, since=earliest, after_id=after_id)
             if earliest is not None
             else publisher.recent_posts(min(limit, 100), after_id=after_id))
    for remote in posts:
        if comparable(remote.text) != wanted:
            continue
        if reply_to is not None and remote.reply_to not in (None, reply_to):
            continue
        # Facebook accepts the same text again later: last week's identical statement is not
        # evidence that this week's went out.
        if since is not None and remote.created_at is not None and (
                remote.created_at < since - CLOCK_SLACK):
            continue
        return remote
    return None
