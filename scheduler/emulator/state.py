"""What the emulated platforms hold: X accounts with their tweets, Facebook Pages with their
posts, and the counters behind rate limits. One lock guards all of it (`World.lock`)."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from scheduler.publishers.x_terms import APP_POST_LIMIT, USER_POST_LIMIT

# Tweet ids are snowflakes: milliseconds since this epoch, shifted left 22 bits.
# https://docs.x.com/resources/fundamentals/x-ids
TWEPOCH_MS = 1_288_834_974_657
# Reads and media: far above anything a test or the demo sends; tests that want a 429 set
# limits. Posting follows X's documented pay-per-use limits (publishers/x_terms.py): 100 posts
# per 15 minutes per user, 10,000 per 24 hours per app; a per-user 24-hour limit (a legacy
# tier's) exists only when a test sets one.
GENEROUS_WINDOW = (10_000, 900)
GENEROUS_DAY = 100_000
DAY_SECONDS = 86_400


class Window:
    """A fixed rate-limit window: at most `limit` hits until `reset_at`, then a fresh one."""

    def __init__(self, limit: int, seconds: int) -> None:
        self.limit = limit
        self.seconds = seconds
        self.count = 0
        self.reset_at = 0.0

    def _roll(self, now: float) -> None:
        if now >= self.reset_at:
            self.count = 0
            self.reset_at = now + self.seconds

    def exhausted(self, now: float) -> bool:
        self._roll(now)
        return self.count >= self.limit

    def hit(self, now: float) -> None:
        self._roll(now)
        self.count += 1

    def remaining(self, now: float) -> int:
        self._roll(now)
        return max(self.limit - self.count, 0)

    def reset_epoch(self, now: float) -> int:
        self._roll(now)
        return int(self.reset_at)


def numeric_id(text: str, digits: int) -> str:
    """A stable id of `digits` digits derived from `text`, so restarts keep the same ids."""
    h = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")
    low = 10 ** (digits - 1)
    return str(low + h % (9 * low))


def x_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def graph_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+0000")


@dataclass
class StoredImage:
    """An uploaded image (X media, Graph photo) with its alt text, as the platform keeps it."""

    id: str
    owner: str  # X user id or page id
    mime_type: str
    content: bytes = field(repr=False)
    alt_text: str | None = None
    expires_at: float = float("inf")  # X media ids lapse if no post uses them in time

    def snapshot(self) -> dict:
        return {"id": self.id, "mime_type": self.mime_type, "alt_text": self.alt_text,
                "size": len(self.content),
                "sha256": hashlib.sha256(self.content).hexdigest()}


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


@dataclass
class PagePost:
    id: str  # "<page id>_<post id>", as Graph spells it
    message: str
    created_time: datetime
    link: str | None = None
    photo: StoredImage | None = None

    def snapshot(self) -> dict:
        return {"id": self.id, "message": self.message,
                "created_time": graph_time(self.created_time),
                # Not in the Graph API: when the emulator received it (latency measurements).
                "received_at": self.created_time.isoformat(),
                "photo": self.photo.snapshot() if self.photo else None}

    @property
    def permalink_url(self) -> str:
        page_id, post_id = self.id.split("_", 1)
        return f"https://www.facebook.com/{page_id}/posts/{post_id}"


@dataclass
class Page:
    page_id: str
    token: str = field(repr=False)
    name: str
    username: str | None = None
    posts: list[PagePost] = field(default_factory=list)
    throttle_code: int | None = None
    blocked: bool = False
    # Set by an injected throttling fault: the page reads as throttled until then (epoch s).
    throttled_until: float = 0.0
    calls: Window = field(default_factory=lambda: Window(4_800, 3_600))

    @property
    def key(self) -> str:
        """The name the page is listed under in inspection output."""
        return self.username or self.page_id


class World:
    """Every account, page and post the emulator knows. Hold `lock` while touching any of it."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.x_accounts: dict[str, XAccount] = {}  # by lower-cased handle
        self.app_days: dict[str, Window] = {}  # X app-wide 24-hour windows, by consumer key
        self.pages: dict[str, Page] = {}  # by page id
        self.graph_app_calls = Window(2_000, 3_600)
        self.requests_log: list[dict] = []
        # X's bill: one entry per billable request; and what each app was charged to read
        # today, as (consumer key, UTC day, resource), since X charges a resource once a day.
        self.bill: list[dict] = []
        self.read_charges: set[tuple[str, str, str]] = set()
        self.app_day_limit = APP_POST_LIMIT[0]
        self.images: dict[str, StoredImage] = {}  # X media and Graph photos, by id
        self.reject_duplicates = True
        # How long an injected Graph throttle lasts; tests use fractions of a minute.
        self.graph_regain_minutes = 5.0
        self._last_snowflake = 0
        self._last_post_id = 0

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def today(self) -> date:
        return self.now().date()

    # X -----------------------------------------------------------------------------------
    def x_account(self, ref: str) -> XAccount | None:
        return self.x_accounts.get(ref.lstrip("@").lower()) or self.x_by_id(ref)

    def x_by_id(self, user_id: str) -> XAccount | None:
        return next((a for a in self.x_accounts.values() if a.user_id == user_id), None)

    def x_by_token(self, access_token: str) -> XAccount | None:
        return next((a for a in self.x_accounts.values() if a.access_token == access_token), None)

    def find_tweet(self, tweet_id: str) -> tuple[XAccount, Tweet] | None:
        for account in self.x_accounts.values():
            for tweet in account.tweets:
                if tweet.id == tweet_id:
                    return account, tweet
        return None

    def app_day(self, consumer_key: str) -> Window:
        return self.app_days.setdefault(consumer_key,
                                        Window(self.app_day_limit, APP_POST_LIMIT[1]))

    def next_snowflake(self) -> str:
        candidate = (int(self.clock() * 1000) - TWEPOCH_MS) << 22
        self._last_snowflake = max(self._last_snowflake + 1, candidate)
        return str(self._last_snowflake)

    # Facebook ----------------------------------------------------------------------------
    def page(self, ref: str) -> Page | None:
        found = self.pages.get(ref)
        return found or next((p for p in self.pages.values()
                              if p.username and p.username.lower() == ref.lower()), None)

    def page_by_token(self, token: str) -> Page | None:
        return next((p for p in self.pages.values() if p.token == token), None)

    def next_post_id(self) -> str:
        self._last_post_id = max(self._last_post_id + 1, int(self.clock() * 1000) * 1000)
        return str(self._last_post_id)

    # Both --------------------------------------------------------------------------------
    def clear_activity(self) -> None:
        """Forget posts, counters, throttles and the request log; keep accounts and limits."""
        now = self.clock()
        for account in self.x_accounts.values():
            account.tweets.clear()
            account.read_windows.clear()
            for window in (account.post_window, account.post_day):
                if window is not None:
                    window.reset_at = now - 1
        self.app_days.clear()
        for page in self.pages.values():
            page.posts.clear()
            page.throttle_code = None
            page.blocked = False
            page.calls.reset_at = now - 1
        self.images.clear()
        self.graph_app_calls.reset_at = now - 1
        self.requests_log.clear()
        self.bill.clear()
        self.read_charges.clear()
