"""A post written by hand: checking its text and previewing how it goes out, for the CLI's
`post add`/`post edit`, the web UI's Compose page and /api/preview alike.

Composed text goes through exactly the code that splits an imported fact sheet
(`importing.snippets_for`): text that fits one post is one post, longer text for X becomes a
thread, and the account's configured hashtags are added where the text lacks them and they
fit. What `preview` shows is what is stored and sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from posts.errors import FactpostError
from posts.factsheet import Contacts, FactSheet, Section
from posts.split import FACEBOOK_MAX_CHARS
from posts.text import canonicalise
from posts.weight import X_MAX_WEIGHT, weighted_length
from scheduler.config import AccountConfig
from scheduler.importing import snippets_for
from scheduler.publishers import x_terms


class PostTextError(FactpostError):
    """Text that cannot be posted as it is; the message says what to change."""


@dataclass(frozen=True)
class Part:
    text: str
    weighted_length: int
    position: int
    size: int


@dataclass(frozen=True)
class Preview:
    platform: str
    #: X: weighted characters (twitter-text); Facebook: characters.
    length: int
    limit: int
    fits: bool
    parts: tuple[Part, ...]
    #: X only: what publishing the parts will cost.
    cost: x_terms.Estimate | None = None


def clean(text: str) -> str:
    return canonicalise(text).strip()


def measure(text: str, platform: str) -> tuple[int, int]:
    """(length, limit) as the platform counts them."""
    if platform == "x":
        return weighted_length(text), X_MAX_WEIGHT
    return len(text), FACEBOOK_MAX_CHARS


def check_text(text: str, platform: str) -> str:
    """The canonical text if it fits one post; raises PostTextError otherwise."""
    text = clean(text)
    if not text:
        raise PostTextError("the post text is empty")
    length, limit = measure(text, platform)
    if length > limit:
        unit = "weighted characters for X" if platform == "x" else "characters for Facebook"
        raise PostTextError(f"the text is {length}/{limit} {unit}; shorten it, or post it as "
                            "a thread")
    return text


def as_sheet(text: str) -> FactSheet:
    """Composed text as a one-section fact sheet (paragraphs at blank lines), to be split and
    imported like any other."""
    paragraphs = tuple(p.strip() for p in clean(text).split("\n\n") if p.strip())
    return FactSheet(title=None, sections=(Section(None, paragraphs),), contacts=Contacts())


def compose_parts(text: str, account: AccountConfig) -> tuple[Part, ...]:
    """The post (or thread parts) `text` becomes for `account`, exactly as stored and sent:
    canonical text, hashtags added where missing and where they fit."""
    text = clean(text)
    if not text:
        return ()
    [(_, snippets)] = snippets_for(as_sheet(text), account)
    return tuple(Part(s.text, s.weighted_length, s.thread_position, s.thread_size)
                 for s in snippets)


def single_post(text: str, account: AccountConfig) -> str:
    """The one post `text` becomes for `account` (hashtags added as `compose_parts` does);
    raises PostTextError when it is empty or does not fit one post."""
    check_text(text, account.platform)
    parts = compose_parts(text, account)
    if len(parts) != 1:  # fits, so this cannot happen; never send a stand-in
        raise PostTextError("the text does not fit one post; post it as a thread")
    return parts[0].text


def preview(text: str, account: AccountConfig, prices: x_terms.Prices = x_terms.DEFAULT
            ) -> Preview:
    """How `text` goes out on `account`: its length, its parts (hashtags included) and, on X,
    their cost."""
    text = clean(text)
    length, limit = measure(text, account.platform)
    parts = compose_parts(text, account)
    cost = (x_terms.estimate((p.text for p in parts), prices) if account.platform == "x"
            else None)
    return Preview(account.platform, length, limit, bool(text) and length <= limit, parts, cost)
