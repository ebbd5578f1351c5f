"""X's terms of use for the API, in one place: what each request costs and how fast an account
may post. Read from X's own documentation on 2026-11-29; a figure X does not publish is said so
here rather than guessed.

Prices (https://docs.x.com/x-api/getting-started/pricing, read 2026-11-29; the same figures
stand in the docs repository at https://github.com/xdevplatform/docs,
x-api/getting-started/pricing.mdx, commit c2317112 of 2026-08-13):

    Content: Create              $0.015 per request      POST /2/tweets
    Content: Create (with URL)   $0.200 per request      POST /2/tweets, text with a link
    Interaction: Delete          $0.010 per request      DELETE /2/tweets/:id
    Media Metadata               $0.005 per request      POST /2/media/metadata
    Posts: Read                  $0.005 per post returned
    User: Read                   $0.010 per user returned   GET /2/users/me

- A read is charged per resource *returned*, and "all resources are deduplicated within a
  24-hour UTC day window": the same post or user read twice on one UTC day by one app is charged
  once. X calls this a soft guarantee, so our figures can only be higher than X's, never lower.
- Billing is "tracked at the app level" (https://docs.x.com/x-api/fundamentals/post-cap): one
  app is one consumer key, whatever accounts post through it.
- POST /2/media/upload has no price on the pricing page (read 2026-11-29), so it is priced at
  $0 here until X lists one; `[x.prices] media_upload` sets it.
- "Owned Reads" of GET /2/users/{id}/tweets cost $0.001 per post when the reading user owns the
  developer app (pricing page, "Owned Reads"). factpost cannot tell from the API who owns the
  app, so it charges the ordinary $0.005; an office whose posting account owns its app may set
  `[x.prices] post_read = 0.001`.
- Pay-per-usage plans are also capped at 3 million Post reads per monthly billing cycle
  (pricing page; the usage page https://docs.x.com/x-api/fundamentals/post-cap still said 2
  million): far beyond what factpost reads, so it is not tracked.
- The docs do not say whether a refused request (4xx, 429) is charged; factpost assumes not. A
  create whose outcome is unknown (a timeout, a dropped connection) is counted as spent until
  the account's timeline says whether the post exists.

Posting limits (https://docs.x.com/x-api/fundamentals/rate-limits, read 2026-11-29, table
"Manage posts"): POST /2/tweets allows 100 requests per 15 minutes per user and 10,000 per 24
hours per app. Exceeding them answers 429; every response carries x-rate-limit-limit,
x-rate-limit-remaining and x-rate-limit-reset (unix seconds). X sold no subscription tiers
after the move to pay-per-use; offices still on a legacy Free, Basic or Pro contract keep that
contract's posting budget (`tier` in the config): Free 17 and Basic 100 posts per 24 hours,
Pro 100 per 15 minutes (https://developer.x.com/en/docs/twitter-api/rate-limits, the tables
that applied to those tiers).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal

from posts.weight import has_link
from scheduler.platforms.base import Budget
from scheduler.platforms.billing import MICROS, BillingSettings, Estimate, Prices
from scheduler.platforms.spec import number

PRICING_URL = "https://docs.x.com/x-api/getting-started/pricing"
RATE_LIMITS_URL = "https://docs.x.com/x-api/fundamentals/rate-limits"
#: When the figures below were read from X's documentation.
READ_ON = date(2026, 11, 29)

# Operations, as the ledger names them.
POST_CREATE = "post_create"
POST_CREATE_WITH_URL = "post_create_with_url"
POST_DELETE = "post_delete"
POST_READ = "post_read"
USER_READ = "user_read"
MEDIA_UPLOAD = "media_upload"
MEDIA_METADATA = "media_metadata"

#: USD per request (writes) or per resource returned (reads).
DEFAULT_PRICES: Mapping[str, Decimal] = {
    POST_CREATE: Decimal("0.015"),
    POST_CREATE_WITH_URL: Decimal("0.200"),
    POST_DELETE: Decimal("0.010"),
    POST_READ: Decimal("0.005"),
    USER_READ: Decimal("0.010"),
    MEDIA_UPLOAD: Decimal("0"),  # not on the pricing page (read 2026-11-29); see above
    MEDIA_METADATA: Decimal("0.005"),
}
#: Operations charged per resource returned rather than per request.
READS = frozenset({POST_READ, USER_READ})

#: POST /2/tweets under pay-per-use, as (requests, window seconds).
USER_POST_LIMIT = (100, 900)
APP_POST_LIMIT = (10_000, 86_400)
PAY_PER_USE = "pay-per-use"
#: Legacy contracts' posting budgets per user, as (posts, window seconds).
LEGACY_TIERS: Mapping[str, tuple[int, int]] = {
    "free": (17, 86_400), "basic": (100, 86_400), "pro": (100, 900)}
TIERS = (PAY_PER_USE, *LEGACY_TIERS)
#: Each tier's posting budget per user.
TIER_BUDGETS: Mapping[str, tuple[int, int]] = {PAY_PER_USE: USER_POST_LIMIT, **LEGACY_TIERS}

DEFAULT = Prices.from_usd(DEFAULT_PRICES)


def prices(overrides: Mapping[str, Decimal] | None = None) -> Prices:
    """X's prices, with the office's `[x.prices]` overrides."""
    return Prices.from_usd({**DEFAULT_PRICES, **(overrides or {})})


def create_operation(text: str) -> str:
    """Which price a post's create request pays: with a URL whenever twitter-text finds a link
    in the text, otherwise plain. The detection is the weighting's (posts.weight): a link either
    twitter-text-parser or npm twitter-text 3.1.0 finds ("مرحباx.com" only the latter), since a
    budget that guesses low is the one that gets overspent."""
    return POST_CREATE_WITH_URL if has_link(text) else POST_CREATE


def estimate(texts: Iterable[str], prices: Prices = DEFAULT) -> Estimate:
    """The create requests' cost of publishing `texts` as X posts (reads and retries aside)."""
    posts = with_links = micros = 0
    for text in texts:
        operation = create_operation(text)
        posts += 1
        with_links += operation == POST_CREATE_WITH_URL
        micros += prices.of(operation)
    return Estimate(posts, with_links, micros)


def app_fingerprint(consumer_key: str) -> str:
    """A name for an X app that the database and the logs may hold: a short SHA-256 of its
    consumer key (the key itself is a credential and is never stored)."""
    return hashlib.sha256(consumer_key.encode("utf-8")).hexdigest()[:12]


class XBilling:
    """X's pay-per-use billing, as scheduler/platforms/billing.py `Billing` asks."""

    table = "x"
    prices_url = PRICING_URL
    read_on = READ_ON

    def settings(self, table: Mapping, fail) -> BillingSettings:
        """The `[x]` table: `monthly_spend_usd`, `app_budget_posts`,
        `app_budget_window_seconds` and `[x.prices]` overrides."""
        known = {"monthly_spend_usd", "prices", "app_budget_posts", "app_budget_window_seconds"}
        if extra := sorted(set(table) - known):
            raise fail(f"x.{extra[0]}", "unknown key", f"use {', '.join(sorted(known))}")
        cap = table.get("monthly_spend_usd")
        if cap is not None:
            cap = number(table, "monthly_spend_usd", None, "x.monthly_spend_usd", fail, 0.01)
        overrides = table.get("prices", {})
        if not isinstance(overrides, dict):
            raise fail("x.prices", "must be a table", "write it as [x.prices]")
        checked = {}
        for operation, value in overrides.items():
            if operation not in DEFAULT_PRICES:
                raise fail(f"x.prices.{operation}", "unknown operation",
                           f"use {', '.join(DEFAULT_PRICES)}")
            number(overrides, operation, 0, f"x.prices.{operation}", fail, 0)
            checked[operation] = Decimal(str(value))
        posts = number(table, "app_budget_posts", APP_POST_LIMIT[0], "x.app_budget_posts",
                       fail, 1)
        window = number(table, "app_budget_window_seconds", APP_POST_LIMIT[1],
                        "x.app_budget_window_seconds", fail, 1)
        return BillingSettings(
            prices=prices(checked),
            monthly_cap_micros=int(Decimal(str(cap)) * MICROS) if cap is not None else None,
            app_budget=Budget(int(posts), int(window)))

    def defaults(self) -> BillingSettings:
        return BillingSettings(prices=DEFAULT, monthly_cap_micros=None,
                               app_budget=Budget(*APP_POST_LIMIT))

    def app(self, credentials: Mapping[str, str]) -> str:
        # X bills and limits per app, which is one consumer key.
        return app_fingerprint(credentials["consumer_key"])

    def estimate(self, texts: Iterable[str], prices: Prices) -> Estimate:
        return estimate(texts, prices)

    def post_cost(self, text: str, prices: Prices, *, with_media: bool = False) -> int:
        micros = prices.of(create_operation(text))
        if with_media:
            micros += prices.of(MEDIA_UPLOAD) + prices.of(MEDIA_METADATA)
        return micros


BILLING = XBilling()
