"""Settling posts whose outcome is unknown by reading the account's own timeline.

X and the Graph API have no idempotency keys, so before re-sending a post that may already be
live (a timeout after sending, a dropped connection, a daemon killed mid-request, X's
duplicate-content refusal) the dispatcher looks for it among the account's recent posts.

Two errors are possible, and both do harm: taking another post for ours marks ours published
under the other's id and ours is never sent; missing ours sends it again (Facebook takes the
same text twice). So texts are compared as the platform gave them back restored by the
publisher (RemotePost.text), and only differences no reader sees are let pass: Unicode forms
(NFC, compatibility letters) and runs of whitespace. Letter case, punctuation, digits (a
thread's "1/3"), mentions and every link count: a link is compared by where it points (scheme
and host case-insensitive, a missing scheme standing for http or https, the default port and
an empty path as written out), never by its mere presence. A link the platform shortened
without saying where it leads (X's t.co without entities) stands for any link only where the
post can be no other one's (find_on_timeline).
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from posts.errors import FactpostError
from posts.text import canonicalise
from posts.weight import find_urls
from scheduler.platforms.base import Publisher, RemotePost

_SPACE = re.compile(r"\s+")
_SCHEME = re.compile(r"(?i)^([a-z][a-z0-9+.-]*)://")
_DEFAULT_PORTS = {"http": 80, "https": 443}

#: How far the platform's clock may run behind ours: a post it stamps this much before our
#: first try may still be ours. Clocks kept by NTP agree to within tens of milliseconds over
#: the public Internet (https://en.wikipedia.org/wiki/Network_Time_Protocol); two minutes
#: also covers a host that has drifted for weeks unsynchronised. On X every post read is
#: billed, so the slack is kept small: it is read back as part of the window.
CLOCK_SLACK = timedelta(minutes=2)

#: How many posts a check reads at most (X: three pages of 100, $1.50 at $0.005 a post). Past
#: that the check gives up and a person decides (TimelineIncomplete): not finding the post
#: among the first 300 is no evidence that it is not further down.
MAX_TIMELINE_POSTS = 300


class TimelineIncomplete(FactpostError):
    """The account published more since our first try than a check reads back; the post may
    be among those not read, so it is neither resent nor marked published."""


@dataclass(frozen=True)
class _Link:
    """A link by where it points: `scheme` None when the text gave none."""

    scheme: str | None
    rest: str

    def same_place(self, other: _Link) -> bool:
        if self.rest != other.rest:
            return False
        if self.scheme == other.scheme:
            return True
        # A bare "mod.gov.iq" is opened over http or https (X's expanded_url gives it one).
        given = other.scheme if self.scheme is None else self.scheme
        return None in (self.scheme, other.scheme) and given in _DEFAULT_PORTS


def _link(written: str) -> _Link:
    match = _SCHEME.match(written)
    scheme = match.group(1).lower() if match else None
    try:
        parts = urlsplit(written if match else "//" + written)
        port = parts.port
    except ValueError:  # not a URL a browser would open (a port that is not a number): as is
        return _Link(scheme, written[match.end() if match else 0:])
    host = (parts.hostname or "").rstrip(".")
    with contextlib.suppress(UnicodeError):  # a host IDNA cannot encode stays as written
        host = host.encode("idna").decode("ascii")
    userinfo = parts.netloc.rpartition("@")[0]
    if port is not None and port != _DEFAULT_PORTS.get(scheme or "http"):
        host += f":{port}"
    rest = (userinfo + "@" if userinfo else "") + host + _unescaped(parts.path or "/")
    rest += ("?" + _unescaped(parts.query)) if parts.query else ""
    rest += ("#" + _unescaped(parts.fragment)) if parts.fragment else ""
    return _Link(scheme, rest)


#: Characters that mean something in a URL when written as they are (RFC 3986 section 2.2):
#: escaped, they are data, so "a%2Fb" and "a/b" point to different places.
_RESERVED = frozenset(":/?#[]@!$&'()*+,;=%")
#: A run of percent-escapes, or a "%" that starts none (data, as "%25" would be).
_ESCAPES = re.compile(r"(?:%[0-9A-Fa-f]{2})+|%")


def _unescaped(part: str) -> str:
    """`part` with every percent-escape of a character that is not reserved written out
    ("/%D8%AA" as "/ت", "%7E" as "~"), the rest as escapes in upper case: a reserved or space
    character as its UTF-8 bytes, a byte that is no part of a UTF-8 character on its own, a
    "%" that starts no escape as "%25". One spelling for each address (RFC 3986 section
    6.2.2), whichever a platform gives back, and no two addresses with one spelling."""
    def decode(match: re.Match) -> str:
        raw = bytes.fromhex(match.group().replace("%", "")) or b"%"  # a lone "%": itself
        return "".join(_spelt(c) for c in raw.decode("utf-8", "surrogateescape"))
    return _ESCAPES.sub(decode, part)


def _spelt(char: str) -> str:
    """A character decoded from percent-escapes as `_unescaped` writes it; a byte no UTF-8
    character holds comes as a lone surrogate (the "surrogateescape" error handler)."""
    if "\udc80" <= char <= "\udcff":
        return f"%{ord(char) - 0xDC00:02X}"
    if char in _RESERVED or char.isspace():
        return "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))
    return char


def _parts(text: str) -> list[str | _Link]:
    """`text` as alternating prose and links (prose first and last), canonical, whitespace
    folded."""
    text = canonicalise(text)
    parts: list[str | _Link] = []
    at = 0
    for start, end in find_urls(text):
        parts += [_SPACE.sub(" ", text[at:start]), _link(text[start:end])]
        at = end
    parts.append(_SPACE.sub(" ", text[at:]))
    parts[0] = parts[0].lstrip()
    parts[-1] = parts[-1].rstrip()
    return parts


def same_text(sent: str, returned: str, *, unresolved: tuple[str, ...] = ()) -> bool:
    """Whether `returned`, a post's text as its publisher restored it (RemotePost.text), is
    `sent`. The one comparison every platform's timeline goes through.

    With `unresolved` (RemotePost.unresolved_links: links the platform shortened without
    saying where they lead), each of those stands for any one link: a weaker match, "the
    same text, links unknown", evidence only together with the platform's own word that
    identical text is live (a duplicate refusal)."""
    wanted, found = _parts(sent), _parts(returned)
    if len(wanted) != len(found):
        return False
    unknown = {_link(u) for u in unresolved}
    for ours, theirs in zip(wanted, found, strict=True):
        if isinstance(ours, str):
            if ours != theirs:
                return False
        elif not (ours.same_place(theirs) or theirs in unknown):
            return False
    return True


def find_on_timeline(publisher: Publisher, text: str, *, reply_to: str | None = None,
                     since: datetime | None = None, after_id: str | None = None,
                     limit: int | None = None, with_media: bool = False,
                     links_unknown: bool = False,
                     elsewhere: Callable[[str], bool] = lambda remote_id: False,
                     rivals: Callable[[], Sequence[str] | None] | None = None
                     ) -> RemotePost | None:
    """The remote post carrying `text`, replying to `reply_to` (None: to nothing), with an
    image exactly when `with_media` (where the platform says), created since our first try
    (`since`) and not another post's already (`elsewhere(remote_id)`: recorded for another),
    if the account's timeline holds one.

    The timeline is read back to `since` less CLOCK_SLACK, `limit` posts at most
    (MAX_TIMELINE_POSTS by default; 100 without `since`; exactly `limit` read counts as
    more). `after_id`, a post of the account older than our first try, narrows the read
    further where the platform's ids are ordered in time (X, where every post read is
    billed). Texts are compared with `same_text`. When no post matches outright, the one
    post that matches but for links the platform did not resolve (t.co links read back
    without entities) is taken, with several none is; and only where that post can be ours
    alone: after a duplicate refusal (`links_unknown`: X's word that identical text is
    live), or when none of `rivals()` (the texts of the account's other posts that may be
    live under no recorded id; None: too many to tell) could have produced it either.

    Raises PublishError when the timeline cannot be read, and TimelineIncomplete when more
    posts were made since `since` than `limit` and none of those read is the post."""
    earliest = since - CLOCK_SLACK if since is not None else None
    limit = MAX_TIMELINE_POSTS if limit is None else limit
    wanted = limit if earliest is not None else min(limit, 100)
    posts = publisher.recent_posts(wanted, since=earliest, after_id=after_id,
                                   replies=reply_to is not None)
    loose = []
    rivals = functools.cache(rivals) if rivals is not None else None  # read once, if at all
    for remote in posts:
        if remote.reply_to != reply_to:
            continue
        if remote.has_media is not None and remote.has_media != with_media:
            continue
        # Facebook accepts the same text again later: last week's identical statement is not
        # evidence that this week's went out.
        if earliest is not None and remote.created_at is not None and (
                remote.created_at < earliest):
            continue
        exact = same_text(text, remote.text)
        if not exact and not (remote.unresolved_links and same_text(
                text, remote.text, unresolved=remote.unresolved_links)):
            continue
        if elsewhere(remote.remote_id):
            continue
        if exact:
            return remote
        if links_unknown or _ours_alone(remote, rivals):
            loose.append(remote)
    oldest = posts[-1].created_at if posts else None
    if earliest is not None and len(posts) >= wanted and not (
            oldest is not None and oldest < earliest):
        raise TimelineIncomplete(
            f"the account has more than {wanted} posts since the first try, more than "
            "factpost reads back")
    return loose[0] if len(loose) == 1 else None


def _ours_alone(remote: RemotePost, rivals: Callable[[], Sequence[str] | None] | None) -> bool:
    """Whether no other post that may be live could have produced `remote` (a post whose
    links the platform did not resolve) either: then "the same text, links unknown" can only
    be ours. A post that differs from ours only by its link is such a rival, and taking its
    remote post for ours would leave ours unsent."""
    texts = rivals() if rivals is not None else None
    return texts is not None and not any(
        same_text(other, remote.text, unresolved=remote.unresolved_links) for other in texts)
