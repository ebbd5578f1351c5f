"""What a platform declares about itself: the `PlatformSpec` each platform module opens with.

Everything outside a platform's own module asks its spec, never its name: the config reads the
credential fields, options and default budget from it; the splitter and every length check
take its `TextRules`; image checks take its `MediaRules`; compose, the CLI and the web show its
`title` and its text unit; spend estimates come from its `billing`; the daemon, `accounts
check` and `status` apply its `check_settings`. registry.py lists the platform modules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

from posts.media import MediaRules
from posts.split import TextRules
from scheduler.platforms.base import Account, Budget
from scheduler.platforms.billing import Billing


@dataclass(frozen=True)
class Option:
    """An account key in config.toml that only this platform reads, e.g. `graph_version`.

    `check(value)` returns None when the value is usable, else what is wrong with it (one
    clause, e.g. "'v21.5' is not a Graph API version"); `fix` says how to write it."""

    key: str
    default: object
    check: Callable[[object], str | None]
    fix: str


@dataclass(frozen=True)
class SettingsCheck:
    """How an account's platform settings stand on a day, e.g. its Graph API version against
    Meta's retirement dates. `message` (None: nothing to do) is for people: `status` and the
    daemon's log show it, `accounts check` warns with it; with `refuse`, the daemon and
    `accounts check` do not use the account at all. `details` are the facts behind it, for
    `accounts check --json`."""

    details: Mapping[str, object] = field(default_factory=dict, hash=False)
    message: str | None = None
    refuse: bool = False


def _nothing_to_check(account: Account, today: date) -> SettingsCheck | None:
    return None


@dataclass(frozen=True)
class PlatformSpec:
    """A platform's facts, declared at the top of its module."""

    #: The `platform` value in config.toml ("x").
    name: str
    #: The platform's name for people ("X").
    title: str
    #: Where the facts below were read (the platform's own documentation).
    docs: str
    #: How long a post may be, how length is measured, whether long text threads.
    text: TextRules
    #: What images it takes: types, size, alt text.
    media: MediaRules
    #: The secrets an account needs, read from FACTPOST_<ACCOUNT>_<FIELD> for each FIELD.
    credentials: tuple[str, ...]
    #: What an account's `handle` names, for people ("the X username").
    handle: str
    #: The API's address; an account's `api_url` replaces it (the emulator, a proxy).
    api_url: str
    #: The posting budget an account gets unless the config sets one, from its options.
    budget: Callable[[Mapping[str, object]], Budget]
    #: Account keys only this platform reads.
    options: tuple[Option, ...] = ()
    #: Set where the platform bills per request (X): prices, the monthly cap, estimates.
    billing: Billing | None = None
    #: Post ids grow with time, so a read of the timeline may start after a known post.
    ordered_ids: bool = False
    #: How an account's settings stand on `today` (UTC); None: nothing to check.
    check_settings: Callable[[Account, date], SettingsCheck | None] = _nothing_to_check
    #: An account's own text rules where they differ from `text` (an instance that sets its
    #: own limit); None: every account has `text`.
    account_text: Callable[[Account], TextRules] | None = None
    #: The API can read the account's own posts back (`Publisher.recent_posts`). Where it
    #: cannot (Telegram's Bot API has no history method), a post whose outcome is unclear goes
    #: to needs_review instead of being looked for.
    timeline: bool = True
    #: What is wrong with an account's `handle` (given without "@"), or None when usable.
    handle_problem: Callable[[str], str | None] = lambda handle: None

    def text_for(self, account: Account) -> TextRules:
        """The text rules one account's posts are measured and split by."""
        return self.account_text(account) if self.account_text else self.text

    def option(self, account: Account, key: str) -> object:
        """The account's value of one of this platform's options, or its default."""
        default = next(o.default for o in self.options if o.key == key)
        return account.option(key, default)


def number(table: Mapping, name: str, default, key: str, fail, minimum) -> float:
    """`table[name]` (or `default`) as a number of at least `minimum`; otherwise the
    ConfigError `fail(key, problem, fix)` makes."""
    value = table.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise fail(key, f"{value!r} is not a number >= {minimum}", f"set a number >= {minimum}")
    return value
