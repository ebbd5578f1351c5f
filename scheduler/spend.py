"""What X costs the office: the ledger every X request is written to, the monthly cap, and
the cost of posts before they are queued. Prices and their sources: publishers/x_terms.py.

The daemon and every command that talks to X give their X publishers a meter from a
`SpendLedger`; the dispatcher says, around each request, which post it is for and why
(`charging`). The cap (`[x] monthly_spend_usd`) is per X app (consumer key) and calendar month
(UTC; X's own billing cycle may start on another day). Pending creates count as spent, so the
ledger can only overstate what X bills.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime

from db.models import Post
from db.spend import SpendStore
from db.store import Store
from posts.states import PostStatus
from scheduler.config import Config
from scheduler.publishers import x_terms
from scheduler.publishers.x_terms import MEDIA_METADATA, MEDIA_UPLOAD, WARN_SHARE, Prices, usd

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class _Context:
    post_id: int | None
    purpose: str
    clock: Callable[[], datetime]


_context: ContextVar[_Context | None] = ContextVar("factpost_x_spend", default=None)


class SpendLedger:
    """Writes X requests and their prices to the database (db/spend.py)."""

    def __init__(self, store: Store, prices: Prices = x_terms.DEFAULT, *,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.store = SpendStore(store)
        self.prices = prices
        self.clock = clock

    @contextmanager
    def charging(self, *, purpose: str, post_id: int | None = None,
                 clock: Callable[[], datetime] | None = None) -> Iterator[None]:
        """Requests made inside are for `post_id`, made to `purpose` (publish, reconcile,
        check), at the times `clock` gives (the dispatcher's, so a tick with an explicit
        `now` books its requests then)."""
        token = _context.set(_Context(post_id, purpose, clock or self.clock))
        try:
            yield
        finally:
            _context.reset(token)

    def meter(self, account: str, app: str) -> AccountMeter:
        return AccountMeter(self, account, app)

    def _current(self) -> _Context:
        return _context.get() or _Context(None, "check", self.clock)


class AccountMeter:
    """The meter of one X account (publishers/x.py `Meter`)."""

    def __init__(self, ledger: SpendLedger, account: str, app: str) -> None:
        self.ledger = ledger
        self.account = account
        self.app = app

    def start(self, operation: str) -> int:
        ctx = self.ledger._current()
        return self.ledger.store.start(account=self.account, app=self.app, operation=operation,
                                       unit_micros=self.ledger.prices.of(operation),
                                       at=ctx.clock(), purpose=ctx.purpose, post_id=ctx.post_id)

    def settle(self, token: object, *, charged: bool | None,
               remote_id: str | None = None) -> None:
        # Unknown: it stays pending (spent) until the timeline check settles the post.
        if isinstance(token, int) and charged is not None:
            self.ledger.store.settle(token, charged=charged, remote_id=remote_id)

    def record(self, operation: str, *, units: int = 1,
               resources: Sequence[str] | None = None) -> None:
        ctx = self.ledger._current()
        self.ledger.store.record(account=self.account, app=self.app, operation=operation,
                                 unit_micros=self.ledger.prices.of(operation), units=units,
                                 resources=resources, at=ctx.clock(), purpose=ctx.purpose,
                                 post_id=ctx.post_id)


def attach_meters(publishers: dict, ledger: SpendLedger) -> None:
    """Give every X publisher (those with a `meter`) one writing to `ledger`."""
    for name, publisher in publishers.items():
        if getattr(publisher, "platform", None) == "x" and hasattr(publisher, "meter"):
            publisher.meter = ledger.meter(name, publisher.app)


# -- the monthly cap ------------------------------------------------------------------------------

def month_bounds(now: datetime) -> tuple[datetime, datetime]:
    """[start, end) of `now`'s calendar month, UTC."""
    now = now.astimezone(UTC)
    start = datetime(now.year, now.month, 1, tzinfo=UTC)
    end = datetime(now.year + (now.month == 12), now.month % 12 + 1, 1, tzinfo=UTC)
    return start, end


@dataclass(frozen=True)
class CapState:
    """One X app's spend this month against the cap."""

    app: str
    accounts: tuple[str, ...]
    spent: int
    cap: int | None
    resets_at: datetime

    @property
    def share(self) -> float | None:
        return None if not self.cap else self.spent / self.cap

    @property
    def level(self) -> str:
        """"ok", "warning" (at 80%) or "reached" (at 100%); "ok" without a cap."""
        if not self.cap:
            return "ok"
        if self.spent >= self.cap:
            return "reached"
        return "warning" if self.spent >= self.cap * WARN_SHARE else "ok"

    @property
    def message(self) -> str | None:
        if self.level == "ok":
            return None
        who = ", ".join(self.accounts) or f"app {self.app}"
        head = (f"X spend for {who} is {usd(self.spent)} of the {usd(self.cap or 0)} "
                f"monthly cap ({self.share:.0%})")
        if self.level == "reached":
            return (f"{head}: new X posts wait until {self.resets_at:%Y-%m-%d %H:%M} UTC; "
                    "raise [x] monthly_spend_usd in the config and restart the daemon to "
                    "publish sooner (threads already started are finished)")
        return f"{head}; at 100% new X posts wait until the month ends"

    def as_dict(self) -> dict:
        return {"app": self.app, "accounts": list(self.accounts), "spent_usd": usd(self.spent),
                "cap_usd": usd(self.cap) if self.cap else None,
                "share": round(self.share, 4) if self.share is not None else None,
                "level": self.level, "resets_at": self.resets_at.isoformat(),
                "message": self.message}


def cap_states(store: Store, config: Config, now: datetime) -> list[CapState]:
    """Every X app that has spent this month, with the configured cap."""
    start, end = month_bounds(now)
    spent = SpendStore(store).spent_by_app(since=start, until=end)
    return [CapState(app, accounts, micros, config.x.monthly_cap_micros, end)
            for app, (micros, accounts) in sorted(spent.items())]


class MonthlyCap:
    """The daemon's side of `[x] monthly_spend_usd`: which claimed posts may go this month.

    A thread is weighed whole when its first part is claimed (with its pair partner's thread,
    for the leading post of a pair), against the cap of each X app concerned; later parts are
    never weighed, so the cap cannot cut a thread. A unit that does not fit is passed over
    (`waiting`) until the month ends; this daemon remembers it, so it is not tried again.
    """

    def __init__(self, store: Store, ledger: SpendLedger, apps: Mapping[str, str],
                 cap_micros: int | None) -> None:
        self.store = store
        self.ledger = ledger
        self.apps = dict(apps)
        self.cap = cap_micros
        self._lock = threading.Lock()
        # Per account: (month, ids of posts passed over until it ends).
        self._waiting: dict[str, tuple[datetime, set[int]]] = {}
        self._warned: set[tuple[str, datetime, str]] = set()

    def waiting(self, account: str, now: datetime) -> set[int]:
        """Posts of `account` passed over until the month of `now` ends."""
        month = month_bounds(now)[0]
        with self._lock:
            held = self._waiting.get(account)
            if held is None or held[0] != month:
                held = self._waiting[account] = (month, set())
            return set(held[1])

    def refusal(self, account: str, post: Post, now: datetime) -> str | None:
        """None when the claimed `post` may go; otherwise why it waits (and from now on its
        whole thread is among `waiting`)."""
        if self.cap is None:
            return None
        start, end = month_bounds(now)
        for app, micros in sorted(self.unit_cost(post).items()):
            spent = self.ledger.store.spent(app, since=start, until=end)
            self._warn(app, spent, start)
            if spent + micros <= self.cap:
                continue
            what = (f"this thread of {post.thread_size} posts" if post.thread_size > 1
                    else "this post")
            unit = {p.id for p in self.store.thread_from(post.id)}
            with self._lock:
                self._waiting.setdefault(account, (start, set()))[1].update(unit)
            return (f"waiting for the monthly X spend cap: {what} costs {usd(micros)} and "
                    f"{usd(spent)} of {usd(self.cap)} is spent this month; it goes after "
                    f"{end:%Y-%m-%d %H:%M} UTC, or sooner if [x] monthly_spend_usd is raised "
                    "and the daemon restarted")
        return None

    def unit_cost(self, post: Post) -> dict[str, int]:
        """Micro-dollars per X app that admitting `post` commits to: its thread and, for the
        leading post of a pair, the partner's thread. Nothing for a later thread part or a
        pair's second post (weighed with the post they follow), nor for a post tried before
        (admitted then, and maybe live: its timeline check must not wait a month)."""
        if (post.thread_position > 1 or post.attempt_count > 0
                or (post.pair_id is not None and post.id > post.pair_id)):
            return {}
        costs: dict[str, int] = {}
        heads = [post] + ([self.store.get_post(post.pair_id)] if post.pair_id else [])
        prices = self.ledger.prices
        for head in heads:
            app = self.apps.get(head.account)
            if app is None:
                continue
            for part in self.store.thread_from(head.id):
                if part.status not in (PostStatus.QUEUED, PostStatus.DRAFT,
                                       PostStatus.PUBLISHING):
                    continue
                micros = prices.create(part.text)[1]
                if part.media_id is not None:
                    micros += prices.of(MEDIA_UPLOAD) + prices.of(MEDIA_METADATA)
                costs[app] = costs.get(app, 0) + micros
        return costs

    def _warn(self, app: str, spent: int, month: datetime) -> None:
        """Log once per app, month and level when spend reaches 80% and 100% of the cap."""
        assert self.cap is not None
        level = ("reached" if spent >= self.cap else
                 "warning" if spent >= self.cap * WARN_SHARE else None)
        if level is None:
            return
        with self._lock:
            if (app, month, level) in self._warned:
                return
            self._warned.add((app, month, level))
        accounts = ", ".join(sorted(n for n, a in self.apps.items() if a == app))
        log.warning("X spend for %s is %s of the %s monthly cap (%.0f%%)%s", accounts,
                    usd(spent), usd(self.cap), 100 * spent / self.cap,
                    "; new X posts wait until the month ends" if level == "reached" else "")


def spend_report(store: Store, config: Config, now: datetime) -> dict:
    """The X spend figures of `factpost status` and the Status page: this month per app
    against the cap, and today per account (UTC days)."""
    start = month_bounds(now)[0]
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    days = SpendStore(store).by_day(since=today)
    return {
        "month": f"{start:%Y-%m}",
        "cap_usd": (usd(config.x.monthly_cap_micros) if config.x.monthly_cap_micros
                    else None),
        "apps": [state.as_dict() for state in cap_states(store, config, now)],
        "today": [{"account": d.account, "posts": d.posts, "posts_with_links":
                   d.posts_with_links, "resources_read": d.resources_read,
                   "spent_usd": usd(d.micros)} for d in days],
        "prices_read_on": x_terms.READ_ON.isoformat(),
        "prices_url": x_terms.PRICING_URL,
    }
