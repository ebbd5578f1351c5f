"""What a platform that bills per request declares, and the money it is counted in.

A platform whose spec has `billing` (X, under pay-per-use) prices every request; its publishers
report each request to a `Meter`, which scheduler/spend.py writes to the ledger. Money is
counted in integer micro-dollars everywhere, so sums of many $0.015 charges stay exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol

from posts.words import Dollars, Words, counted_words, words
from scheduler.platforms.base import Budget

#: One US dollar in micro-dollars.
MICROS = 1_000_000


def usd(micros: int) -> str:
    """Micro-dollars as dollars to four places, the precision of X's prices: "$0.6550"."""
    return str(Dollars(micros))


@dataclass(frozen=True)
class Prices:
    """Micro-dollars per request or per resource returned, by operation."""

    micros: Mapping[str, int]

    @classmethod
    def from_usd(cls, table: Mapping[str, Decimal]) -> Prices:
        return cls({op: int(price * MICROS) for op, price in table.items()})

    def of(self, operation: str, units: int = 1) -> int:
        return self.micros[operation] * units


@dataclass(frozen=True)
class Estimate:
    """What publishing some posts will cost: `posts`, of which `with_links` are priced as
    posts with a link."""

    posts: int
    with_links: int
    micros: int

    def __str__(self) -> str:
        return str(self.line)

    @property
    def line(self) -> Words:
        """"3 posts, 1 with link: $0.0450", kept as words (posts/words.py)."""
        posts = counted_words("%(n)s post", "%(n)s posts", count="n", n=self.posts)
        if not self.with_links:
            return words("%(posts)s: %(cost)s", posts=posts, cost=Dollars(self.micros))
        links = counted_words("%(n)s with link", "%(n)s with links", count="n",
                              n=self.with_links)
        return words("%(posts)s, %(links)s: %(cost)s", posts=posts, links=links,
                     cost=Dollars(self.micros))


@dataclass(frozen=True)
class BillingSettings:
    """The office's side of a billing platform (its table in config.toml, e.g. `[x]`)."""

    prices: Prices
    #: Per billing app and calendar month (UTC), in micro-dollars; None: no cap.
    monthly_cap_micros: int | None
    #: Posts across every account of one app (the platform's per-app limit).
    app_budget: Budget


class Billing(Protocol):
    """A platform's prices and how to apply them (x_terms.BILLING for X)."""

    #: The config table of its settings ("x" for `[x]`).
    table: str
    #: Where the prices were read, and when.
    prices_url: str
    read_on: date

    def settings(self, table: Mapping, fail) -> BillingSettings:
        """The config table checked; `fail(key, problem, fix)` makes the ConfigError."""
        ...

    def defaults(self) -> BillingSettings:
        """The settings with the platform's published prices and limits, and no cap."""
        ...

    def app(self, credentials: Mapping[str, str]) -> str:
        """The billing app an account's requests are charged to, named so that the database
        and logs may hold it (never a secret)."""
        ...

    def estimate(self, texts: Iterable[str], prices: Prices) -> Estimate:
        """What publishing `texts` as posts will cost (reads and retries aside)."""
        ...

    def post_cost(self, text: str, prices: Prices, *, with_media: bool = False) -> int:
        """Micro-dollars of the requests that publish one post."""
        ...


class Meter(Protocol):
    """Where a billing platform's publisher reports what its requests cost
    (scheduler.spend.AccountMeter)."""

    def start(self, operation: str) -> object:
        """A create is about to be sent; returns a token for `settle`. Counted as spent."""
        ...

    def settle(self, token: object, *, charged: bool | None,
               remote_id: str | None = None) -> None:
        """The create's outcome: charged (a post was made), not, or None (unknown: the
        timeline will tell)."""
        ...

    def record(self, operation: str, *, units: int = 1,
               resources: Sequence[str] | None = None) -> None:
        """An answered request; for reads, the resources returned (`post:ID`, `user:ID`)."""
        ...


class NullMeter:
    """Records nothing: for publishers used outside a ledger (tests of the client alone)."""

    def start(self, operation: str) -> object:
        return None

    def settle(self, token: object, *, charged: bool | None,
               remote_id: str | None = None) -> None:
        return None

    def record(self, operation: str, *, units: int = 1,
               resources: Sequence[str] | None = None) -> None:
        return None
