"""A status's text as a Mastodon server counts it, and a status's HTML read back as the text
that was sent.

Counting follows Mastodon's `StatusLengthValidator`
(https://github.com/mastodon/mastodon/blob/main/app/validators/status_length_validator.rb):
the length is the number of grapheme clusters (`each_grapheme_cluster.size`), after every URL
written with its scheme is replaced by a placeholder of the instance's
`characters_reserved_per_url` characters (Mastodon's extractor runs with
`extract_url_without_protocol: false`, so a bare "mod.gov.iq" counts as written) and every
mention of a remote account ("@name@domain") by its local part ("@name"). The limit and the
URL allowance are the instance's own, from `GET /api/v2/instance`
(`configuration.statuses.max_characters`, `characters_reserved_per_url`;
https://docs.joinmastodon.org/entities/Instance/#statuses).

Reading back: a status's `content` is HTML (https://docs.joinmastodon.org/entities/Status/#content).
Mastodon's `TextFormatter` escapes the plain text, wraps paragraphs (text between blank lines)
in <p>, turns a single line break into <br />, and writes each link as an <a> whose text is the
URL split over "invisible" and "ellipsis" spans, each hashtag as <a>#<span>tag</span></a> and
each mention as <a>@<span>name</span></a>
(https://github.com/mastodon/mastodon/blob/main/app/lib/text_formatter.rb). `plain_text`
undoes that: the spans' text together is the URL as written, and a mention gets back the
domain its `mentions` entry names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import partial
from html.parser import HTMLParser

from posts.split import TextRules
from posts.weight import find_urls

#: Mastodon's own defaults, for an instance whose settings cannot be read.
DEFAULT_MAX_CHARACTERS = 500
DEFAULT_URL_CHARACTERS = 23

_SCHEME = re.compile(r"(?i)https?://")
# Account::MENTION_RE with USERNAME_RE (app/models/account.rb): "@name" or "@name@domain",
# not inside a word, a path or a query.
_MENTION = re.compile(r"(?<![=/\w])@([a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)(?:@\w+(?:[.-]+\w+)*)?",
                      re.IGNORECASE)


def _graphemes(text: str) -> int:
    import regex  # loaded with the first count, not with every command

    return len(regex.findall(r"\X", text))


def status_length(text: str, *, url_characters: int = DEFAULT_URL_CHARACTERS) -> int:
    """`text`'s length as a Mastodon instance counts it against `max_characters`: grapheme
    clusters, each URL with a scheme as `url_characters`, each "@name@domain" as "@name"."""
    pieces, at = [], 0
    for start, end in find_urls(text):
        if _SCHEME.match(text, start):
            pieces += [text[at:start], "0" * url_characters]
            at = end
    pieces.append(text[at:])
    countable = "".join(_MENTION.sub(r"@\1", p) if i % 2 == 0 else p
                        for i, p in enumerate(pieces))
    return _graphemes(countable)


def rules(max_characters: int = DEFAULT_MAX_CHARACTERS,
          url_characters: int = DEFAULT_URL_CHARACTERS) -> TextRules:
    """The text rules of an instance allowing `max_characters` per status, a URL counting
    `url_characters`: a longer section becomes a thread (a reply chain), numbered " 1/3"."""
    # slow_measure: every count runs twitter-text's URL extraction, so a piece far too long
    # for any post (a 50,000-character run without a space) is cut down before it is measured.
    return TextRules(limit=max_characters,
                     measure=partial(status_length, url_characters=url_characters),
                     unit="characters", threads=True, numbering=" {position}/{size}",
                     slow_measure=True)


class _ContentReader(HTMLParser):
    def __init__(self, mentions: Mapping[str, str]) -> None:
        super().__init__(convert_charrefs=True)
        self.mentions = mentions
        self.out: list[str] = []
        self.paragraphs = 0
        # Inside a mention link: its text is replaced by "@acct" from the status's mentions.
        self.mention_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.mention_depth:
            self.mention_depth += tag != "br"
            return
        if tag == "br":
            self.out.append("\n")
        elif tag == "p":
            if self.paragraphs:
                self.out.append("\n\n")
            self.paragraphs += 1
        elif tag == "a":
            values = dict(attrs)
            classes = (values.get("class") or "").split()
            acct = self.mentions.get(values.get("href") or "")
            if "mention" in classes and "hashtag" not in classes and acct:
                self.out.append("@" + acct)
                self.mention_depth = 1

    def handle_endtag(self, tag: str) -> None:
        if self.mention_depth:
            self.mention_depth -= 1

    def handle_data(self, data: str) -> None:
        if not self.mention_depth:
            self.out.append(data)


def plain_text(content: str, mentions: Iterable[Mapping[str, str]] = ()) -> str:
    """The text a status was posted with, from its HTML `content` and its `mentions`
    ([{"url", "acct"}], so "@name" links read back as "@name@domain" for remote accounts)."""
    reader = _ContentReader({m.get("url") or "": m.get("acct") or "" for m in mentions})
    reader.feed(content or "")
    reader.close()
    return "".join(reader.out)
