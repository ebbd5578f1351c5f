"""What the emulated X holds: accounts with their tweets, the rate-limit windows of each, the
app-wide 24-hour windows, and X's bill. Guarded by the shared `World.lock`.

The limits and prices are X's documented ones (x_pricing.py): 100 posts per 15 minutes per user
and 10,000 per 24 hours per app under pay-per-use; reads and media far above anything a test or
the demo sends (tests that want a 429 set limits); a per-user 24-hour limit (a legacy tier's)
only where a test sets one.

X's bill, kept as X keeps it under pay-per-use
(https://docs.x.com/x-api/getting-started/pricing):

- a write is billed per request that did what it asked: a post created (whatever answer the
  client got afterwards), an image stored, alt text set, a post deleted;
- a read is billed per resource returned, and each resource once per app and UTC day;
- requests X refused (4xx, 429, or a failure before anything was stored) are not billed.

A bill entry: {"at", "app" (the consumer key's fingerprint, as the factpost ledger names apps),
"handle", "endpoint", "operation", "units", "billed_units", "micros", "tweet_id"}.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from emulator.world import StoredImage, Window, World
from emulator.x_pricing import APP_POST_LIMIT, MICROS, USER_POST_LIMIT, app_name

# Tweet ids are snowflakes: milliseconds since this epoch, shifted left 22 bits.
# https://docs.x.com/resources/fundamentals/x-ids
TWEPOCH_MS = 1_288_834_974_657
GENEROUS_WINDOW = (10_000, 900)


def x_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass
class Tweet:
    id: str
    text: str
    author_id: str
    created_at: datetime
    in_reply_to: str | None = None
    in_reply_to_user_id: str | None = None
    conversation_id: str = ""
    media: list[StoredImage] = field(default_factory=list)

    def snapshot(self) -> dict:
        return {"id": self.id, "text": self.text, "in_reply_to": self.in_reply_to,
                "created_at": x_time(self.created_at),
                # Not in the X API: when the emulator received it, for latency measurements.
                "received_at": self.created_at.isoformat(),
                "media": [m.snapshot() for m in self.media]}


@dataclass
class XAccount:
    handle: str
    user_id: str
    name: str
    consumer_key: str = field(repr=False)
    consumer_secret: str = field(repr=False)
    access_token: str = field(repr=False)
    access_token_secret: str = field(repr=False)
    tweets: list[Tweet] = field(default_factory=list)
    post_window: Window = field(default_factory=lambda: Window(*USER_POST_LIMIT))
    post_day: Window | None = None
    read_windows: dict[str, Window] = field(default_factory=dict)

    def read_window(self, endpoint: str) -> Window:
        return self.read_windows.setdefault(endpoint, Window(*GENEROUS_WINDOW))


class XState:
    """Every X account the emulator knows, by lower-cased handle."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.accounts: dict[str, XAccount] = {}
        self.app_days: dict[str, Window] = {}  # app-wide 24-hour windows, by consumer key
        self.app_day_limit = APP_POST_LIMIT[0]
        # What each app was charged to read today, as (consumer key, UTC day, resource):
        # X charges a resource once a day.
        self.read_charges: set[tuple[str, str, str]] = set()
        self._last_snowflake = 0
        #: Off by default (X returns `entities` when asked for them): on, reads give t.co links
        #: without the entities that say where they lead, as an older API shape or a proxy
        #: that strips fields does, for testing reconciliation without them.
        self.omit_entities = False

    def account(self, ref: str) -> XAccount | None:
        return self.accounts.get(ref.lstrip("@").lower()) or self.by_id(ref)

    def by_id(self, user_id: str) -> XAccount | None:
        return next((a for a in self.accounts.values() if a.user_id == user_id), None)

    def by_token(self, access_token: str) -> XAccount | None:
        return next((a for a in self.accounts.values() if a.access_token == access_token),
                    None)

    def find_tweet(self, tweet_id: str) -> tuple[XAccount, Tweet] | None:
        for account in self.accounts.values():
            for tweet in account.tweets:
                if tweet.id == tweet_id:
                    return account, tweet
        return None

    def app_day(self, consumer_key: str) -> Window:
        return self.app_days.setdefault(consumer_key,
                                        Window(self.app_day_limit, APP_POST_LIMIT[1]))

    def next_snowflake(self) -> str:
        candidate = (int(self.world.clock() * 1000) - TWEPOCH_MS) << 22
        self._last_snowflake = max(self._last_snowflake + 1, candidate)
        return str(self._last_snowflake)

    def charge(self, account: XAccount, endpoint: str, operation: str, *,
               resources: Sequence[str] | None = None, tweet_id: str | None = None) -> None:
        """Add a billable request to the bill (module docstring). Hold `world.lock`."""
        now = self.world.now()
        units, billed = 1, 1
        if resources is not None:
            day = now.date().isoformat()
            units = len(resources)
            fresh = [r for r in dict.fromkeys(resources)
                     if (account.consumer_key, day, r) not in self.read_charges]
            self.read_charges.update((account.consumer_key, day, r) for r in fresh)
            billed = len(fresh)
        self.world.bill.append({
            "at": now.isoformat(), "app": app_name(account.consumer_key),
            "handle": account.handle, "endpoint": endpoint, "operation": operation,
            "units": units, "billed_units": billed, "micros": MICROS[operation] * billed,
            "tweet_id": tweet_id})

    def clear(self) -> None:
        """Forget tweets, counters and charges; keep accounts and limits."""
        now = self.world.clock()
        for account in self.accounts.values():
            account.tweets.clear()
            account.read_windows.clear()
            for window in (account.post_window, account.post_day):
                if window is not None:
                    window.restart(now)
        self.app_days.clear()
        self.read_charges.clear()
