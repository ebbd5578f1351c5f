"""Settling posts whose outcome is unknown by reading the account's own timeline.

X and the Graph API have no idempotency keys, so before re-sending a post that may already be
live (a timeout after sending, a dropped connection, a daemon killed mid-request, X's
duplicate-content refusal) the dispatcher looks for it among the account's recent posts.
"""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta

from posts.text import canonicalise
from posts.weight import find_urls
from scheduler.platforms.base import Publisher, RemotePost

_SPACE = re.compile(r"\s+")
_LINK = "\x00link\x00"
#: Allowance for the platform's clock running behind ours.
CLOCK_SLACK = timedelta(minutes=10)


def comparable(text: str) -> str:
    """Text as both sides can agree on: canonical (NFC, compatibility letters folded), every
    link blanked, whitespace folded, letter case ignored.

    X rewrites every link to a t.co address in the stored text, with or without a scheme
    ("mod.gov.iq" too), wherever twitter-text finds one
    (https://docs.x.com/fundamentals/counting-characters), so links are found with the same
    twitter-text rules on both sides (posts.weight.find_urls) and compared only as links."""
    text = canonicalise(text)
    out, at = [], 0
    for start, end in find_urls(text):
        out.append(text[at:start])
        out.append(_LINK)
        at = end
    out.append(text[at:])
    return _SPACE.sub(" ", "".join(out)).strip().casefold()


def same_text(sent: str, returned: str, *, with_media: bool = False) -> bool:
    """Whether `returned`, a post's text as the platform's timeline gives it, is `sent`.

    The one comparison both publishers' timelines go through. X returns text with "&", "<"
    and ">" escaped as HTML entities (https://github.com/tweepy/tweepy/issues/1080,
    https://github.com/sferik/twitter-ruby/issues/348); the Graph API returns the message as
    posted. Both readings of `returned` are tried, decoded once and as it is, so text that
    itself holds "&amp;" matches too. With `with_media`, X's t.co link for the attached image,
    which it appends to the text, may follow."""
    wanted = comparable(sent)
    for candidate in dict.fromkeys((html.unescape(returned), returned)):
        found = comparable(candidate)
        if found == wanted:
            return True
        if with_media and found.removesuffix(_LINK).rstrip() == wanted:
            return True
    return False


#: How far back a timeline is read at most. Other daemons keep publishing to the account while
#: a dead one's lease runs out, so the post may be far from the top by the time it is looked for.
MAX_TIMELINE_POSTS = 1_000


def find_on_timeline(publisher: Publisher, text: str, *, reply_to: str | None = None,
                     since: datetime | None = None, after_id: str | None = None,
                     limit: int = MAX_TIMELINE_POSTS, with_media: bool = False
                     ) -> RemotePost | None:
    """The remote post carrying `text` (and replying to `reply_to`, for thread parts; with an
    image if `with_media`), if the account's timeline holds one created since our first try
    (`since`): the timeline is read back to that moment (or 100 posts without one, `limit` at
    most). `after_id`, a post of the account older than our first try, narrows the read
    further where the platform's ids are ordered in time (X, where every post read is
    billed). Texts are compared with `same_text`. Raises PublishError when the timeline
    cannot be read."""
    earliest = since - CLOCK_SLACK if since is not None else None
    posts = (publisher.recent_posts(limit, since=earliest, after_id=after_id)
             if earliest is not None
             else publisher.recent_posts(min(limit, 100), after_id=after_id))
    for remote in posts:
        if not same_text(text, remote.text, with_media=with_media):
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
