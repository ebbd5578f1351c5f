"""What X costs the office: the ledger every X request is written to, the monthly cap, and
the cost of posts before they are queued. Prices and their sources: publishers/x_terms.py.

The daemon and every command that talks to X give their X publishers a meter from a
`SpendLedger`; the dispatcher says, around each request, which post it is for and why
(`charging`). The cap (`[x] monthly_spend_usd`) is per X app (consumer key) and calendar month
(UTC; X's own billing cycle may start on another day). Pending creates count as spent, so the
ledger can only overstate what X bills.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime

from db.spend import SpendStore
from db.store import Store
from scheduler.config import Config
from scheduler.publishers import x_terms
from scheduler.publishers.x_terms import WARN_SHARE, Prices, usd


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
