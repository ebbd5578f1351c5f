"""What the emulated Mastodon instance keeps, and how it writes a status's HTML and counts its
length, as Mastodon does (the product's own reading of both lives in scheduler/platforms; a
double that borrowed it would agree with any mistake in it).

- Length: Mastodon's StatusLengthValidator counts grapheme clusters after replacing each URL
  with a scheme by `characters_reserved_per_url` characters and "@name@domain" by "@name"
  (https://github.com/mastodon/mastodon/blob/main/app/validators/status_length_validator.rb).
- HTML: TextFormatter escapes the text, links URLs (scheme required), hashtags and mentions,
  then Rails' simple_format puts paragraphs in <p> and single line breaks as <br />
  (https://github.com/mastodon/mastodon/blob/main/app/lib/text_formatter.rb).
- Ids: Snowflake-like, the creation time in milliseconds shifted left 16 bits plus a sequence
  (https://github.com/mastodon/mastodon/blob/main/lib/mastodon/snowflake.rb), so newer is larger.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from emulator.world import StoredImage, Window, numeric_id
from posts.weight import find_urls

#: Mastodon's defaults, as GET /api/v2/instance reports them.
MAX_CHARACTERS = 500
URL_CHARACTERS = 23
MAX_MEDIA = 4
IMAGE_SIZE_LIMIT = 16 * 1024 * 1024
DESCRIPTION_LIMIT = 1_500
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
#: How long an Idempotency-Key is remembered (PostStatusService: redis.setex(..., 3_600, ...)).
IDEMPOTENCY_SECONDS = 3_600
#: Statuses per account (RateLimiter FAMILIES[:statuses],
#: https://github.com/mastodon/mastodon/blob/main/app/lib/rate_limiter.rb).
STATUSES_LIMIT, STATUSES_PERIOD = 300, 3 * 3_600
#: API requests per access token (config/initializers/rack_attack.rb, throttle_per_token_api).
API_LIMIT, API_PERIOD = 300, 300

_SCHEME = re.compile(r"(?i)https?://")
_MENTION = re.compile(r"(?<![=/\w])@([a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)(?:@(\w+(?:[.-]+\w+)*))?",
                      re.IGNORECASE)
_HASHTAG = re.compile(r"(?<![=/)\w])#(\w*[^\W\d]\w*)")


def status_length(text: str, url_characters: int = URL_CHARACTERS) -> int:
    import regex

    countable = []
    at = 0
    for start, end in find_urls(text):
        if _SCHEME.match(text, start):
            countable += [_MENTION.sub(r"@\1", text[at:start]), "x" * url_characters]
            at = end
    countable.append(_MENTION.sub(r"@\1", text[at:]))
    return len(regex.findall(r"\X", "".join(countable)))


def _link(url: str) -> str:
    # TextFormatter.shortened_link: the scheme invisible, 30 characters shown, the rest hidden.
    prefix = _SCHEME.match(url).group(0)
    rest = url[len(prefix):]
    shown, hidden = rest[:30], rest[30:]
    return (f'<a href="{html.escape(url)}" target="_blank" rel="nofollow noopener" '
            f'translate="no"><span class="invisible">{html.escape(prefix)}</span>'
            f'<span class="{"ellipsis" if hidden else ""}">{html.escape(shown)}</span>'
            f'<span class="invisible">{html.escape(hidden)}</span></a>')


def _prose(text: str, domain: str, mentions: list[dict]) -> str:
    out, at = [], 0
    spans = sorted([(m.start(), m.end(), "mention", m) for m in _MENTION.finditer(text)]
                   + [(m.start(), m.end(), "tag", m) for m in _HASHTAG.finditer(text)],
                   key=lambda s: s[0])
    for start, end, kind, match in spans:
        if start < at:
            continue
        out.append(html.escape(text[at:start]))
        if kind == "tag":
            tag = match.group(1)
            out.append(f'<a href="https://{domain}/tags/{tag.lower()}" class="mention hashtag" '
                       f'rel="tag">#<span>{html.escape(tag)}</span></a>')
        else:
            name, host = match.group(1), match.group(2)
            acct = f"{name}@{host}" if host else name
            url = f"https://{host or domain}/@{name}"
            mentions.append({"id": numeric_id("mastodon:" + acct.lower(), 18), "username": name,
                             "acct": acct, "url": url})
            out.append(f'<span class="h-card" translate="no"><a href="{html.escape(url)}" '
                       f'class="u-url mention">@<span>{html.escape(name)}</span></a></span>')
        at = end
    out.append(html.escape(text[at:]))
    return "".join(out)


def format_status(text: str, domain: str) -> tuple[str, list[dict]]:
    """A status's `content` HTML and its `mentions`, as Mastodon writes them for `text`."""
    mentions: list[dict] = []
    pieces, at = [], 0
    for start, end in find_urls(text):
        if _SCHEME.match(text, start):
            pieces += [_prose(text[at:start], domain, mentions), _link(text[start:end])]
            at = end
    pieces.append(_prose(text[at:], domain, mentions))
    linked = "".join(pieces).replace("\r\n", "\n").replace("\r", "\n")
    # simple_format: blank lines part paragraphs, a single line break becomes <br />.
    paragraphs = [re.sub(r"([^\n]\n)(?=[^\n])", r"\1<br />", p)
                  for p in re.split(r"\n\n+", linked) if p.strip()]
    return "".join(f"<p>{p}</p>" for p in paragraphs).replace("\n", ""), mentions


@dataclass
class Status:
    id: str
    text: str
    content: str
    mentions: list[dict]
    created_at: datetime
    in_reply_to_id: str | None
    visibility: str
    language: str | None
    media: list[StoredImage]
    deleted: bool = False


@dataclass
class MastodonAccount:
    id: str
    username: str
    token: str
    statuses: list[Status] = field(default_factory=list)
    #: Idempotency-Key -> (status id, expiry on the emulator's clock).
    keys: dict[str, tuple[str, float]] = field(default_factory=dict)
    #: Media uploaded and not yet attached, by id.
    pending: dict[str, StoredImage] = field(default_factory=dict)
    statuses_window: Window = field(default_factory=lambda: Window(STATUSES_LIMIT,
                                                                   STATUSES_PERIOD))
    api_window: Window = field(default_factory=lambda: Window(API_LIMIT, API_PERIOD))
    #: A throttle injected by a test (rate_limit fault): refused until this time.
    throttled_until: float = 0.0


class Snowflake:
    """Status and media ids that grow with time."""

    def __init__(self) -> None:
        self.last = 0

    def next(self, now: float) -> str:
        self.last = max(int(now * 1000) << 16, self.last + 1)
        return str(self.last)


def iso(moment: datetime) -> str:
    """Mastodon's datetime format: ISO 8601 in UTC with milliseconds and a Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{moment.microsecond // 1000:03d}Z"
