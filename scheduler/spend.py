"""What billed requests cost the office: the ledger every request of a platform that bills per
request is written to, and the monthly cap. Which platforms bill, their prices and where those
were read, is each platform's own (its spec's `billing`; X's in scheduler/platforms/x_terms.py).

The daemon and every command that talks to a billing platform give its publishers a meter from
a `SpendLedger`; the dispatcher says, around each request, which post it is for and why
(`charging`). The cap (`monthly_spend_usd` in the platform's table, e.g. `[x]`) is per billing
app (an X consumer key) and calendar month (UTC; the platform's own billing cycle may start on
another day). Pending creates count as spent, so the ledger can only overstate the bill.
Whether posts about to be queued fit the cap is asked of scheduler/cap_outlook.py.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from db.database import CoreTransaction
from db.models import Post
from db.reservations import CapRules, Refusal, month_bounds
from db.spend import start_in
from db.store import Store
from posts.words import Dollars, Words, words
from scheduler.config import Config
from scheduler.platforms import registry
from scheduler.platforms.billing import Prices, usd
from scheduler.platforms.spec import PlatformSpec

log = logging.getLogger(__name__)

#: The share of the monthly cap at which the office is warned.
WARN_SHARE = Decimal("0.8")


def utcnow() -> datetime:
    return datetime.now(UTC)


def billing_specs() -> tuple[PlatformSpec, ...]:
    """The platforms that bill per request."""
    return tuple(spec for spec in registry.specs() if spec.billing is not None)


@dataclass(frozen=True)
class _Context:
    post_id: int | None
    purpose: str
    clock: Callable[[], datetime]
    #: Where settlements wait for the caller's own transaction (None: written at once).
    settlements: list[Settlement] | None = None
    #: The pending charge written with the post's claim, if any.
    prepaid: Prepaid | None = None


@dataclass(frozen=True)
class Settlement:
    """A create's answer, to be written to the ledger (`SpendStore.settle_in`)."""

    charge_id: int
    charged: bool
    remote_id: str | None


@dataclass
class Prepaid:
    """A create's pending charge, written with the claim of its post so that the claim and
    the charge share one durable transaction (one fsync fewer per X post). The meter's `start`
    takes it instead of writing one when the publisher starts the same operation; left
    unused (the request never went out), it is settled as not charged."""

    charge_id: int
    operation: str
    used: bool = False


_context: ContextVar[_Context | None] = ContextVar("factpost_spend", default=None)


class SpendLedger:
    """Writes billed requests and their prices to the database (db/spend.py)."""

    def __init__(self, store: Store, config: Config, *,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store.spend
        self.config = config
        self.clock = clock
        #: The meter of each billed account, by name (`attach`).
        self.meters: dict[str, AccountMeter] = {}

    @contextmanager
    def charging(self, *, purpose: str, post_id: int | None = None,
                 clock: Callable[[], datetime] | None = None,
                 settlements: list[Settlement] | None = None,
                 prepaid: Prepaid | None = None) -> Iterator[None]:
        """Requests made inside are for `post_id`, made to `purpose` (publish, reconcile,
        check), at the times `clock` gives (the dispatcher's, so a tick with an explicit
        `now` books its requests then). With `settlements`, the answers to creates are
        gathered there for the caller to write with the post's outcome (one transaction
        fewer per post; until then the create counts as pending, that is as spent). With
        `prepaid` (from `prepay`), the create's pending charge is already written."""
        token = _context.set(_Context(post_id, purpose, clock or self.clock, settlements,
                                      prepaid))
        try:
            yield
        finally:
            _context.reset(token)
            if prepaid is not None and not prepaid.used:
                # No create went out under it (the publish failed before, or started another
                # operation): nothing was made, so nothing is owed.
                prepaid.used = True
                unused = Settlement(prepaid.charge_id, False, None)
                if settlements is not None:
                    settlements.append(unused)
                else:
                    self.store.settle(unused.charge_id, charged=False)

    def prepay(self, s: CoreTransaction, post: Post, *, account: str, at: datetime
               ) -> Prepaid | None:
        """Write the pending charge of the create that publishing `post` will start, in the
        transaction of `s` (the post's claim), for `charging(prepaid=...)`; None for an
        account that is not billed or whose publisher does not say what a create costs."""
        meter = self.meters.get(account)
        operation_of = getattr(meter.publisher, "create_operation", None) if meter else None
        if operation_of is None:
            return None
        operation = operation_of(post.text)
        charge = start_in(s, account=account, app=meter.app, operation=operation,
                          unit_micros=meter.prices.of(operation), at=at, purpose="publish",
                          post_id=post.id)
        return Prepaid(charge, operation)

    def attach(self, publishers: Mapping[str, object]) -> dict[str, str]:
        """Give every publisher of a billing platform a meter writing here; returns the
        billing app of each such account, by account name."""
        apps = {}
        for name, publisher in publishers.items():
            settings = self.config.billing_for(getattr(publisher, "platform", ""))
            if settings is not None and hasattr(publisher, "meter"):
                publisher.meter = AccountMeter(self, name, publisher.app, settings.prices,
                                               publisher)
                self.meters[name] = publisher.meter
                apps[name] = publisher.app
        return apps

    def _current(self) -> _Context:
        return _context.get() or _Context(None, "check", self.clock)


class AccountMeter:
    """The meter of one billed account (platforms/billing.py `Meter`)."""

    def __init__(self, ledger: SpendLedger, account: str, app: str, prices: Prices,
                 publisher: object = None) -> None:
        self.ledger = ledger
        self.account = account
        self.app = app
        self.prices = prices
        self.publisher = publisher

    def start(self, operation: str) -> int:
        ctx = self.ledger._current()
        prepaid = ctx.prepaid
        if prepaid is not None and not prepaid.used and prepaid.operation == operation:
            prepaid.used = True
            return prepaid.charge_id
        return self.ledger.store.start(account=self.account, app=self.app, operation=operation,
                                       unit_micros=self.prices.of(operation),
                                       at=ctx.clock(), purpose=ctx.purpose, post_id=ctx.post_id)

    def settle(self, token: object, *, charged: bool | None,
               remote_id: str | None = None) -> None:
        # Unknown: it stays pending (spent) until the timeline check settles the post.
        if isinstance(token, int) and charged is not None:
            waiting = self.ledger._current().settlements
            if waiting is not None:
                waiting.append(Settlement(token, charged, remote_id))
            else:
                self.ledger.store.settle(token, charged=charged, remote_id=remote_id)

    def record(self, operation: str, *, units: int = 1,
               resources: Sequence[str] | None = None) -> None:
        ctx = self.ledger._current()
        self.ledger.store.record(account=self.account, app=self.app, operation=operation,
                                 unit_micros=self.prices.of(operation), units=units,
                                 resources=resources, at=ctx.clock(), purpose=ctx.purpose,
                                 post_id=ctx.post_id)


# -- the monthly cap ------------------------------------------------------------------------------

def platform_of(account: str, config: Config) -> PlatformSpec | None:
    """The billing platform an account's ledger rows belong to: its configured platform, or,
    for an account no longer configured, the one billing platform there is."""
    for configured in config.accounts:
        if configured.name == account:
            return configured.spec if configured.spec.billing is not None else None
    billing = billing_specs()
    return billing[0] if len(billing) == 1 else None


@dataclass(frozen=True)
class CapState:
    """One billing app's spend this month against its platform's cap."""

    app: str
    accounts: tuple[str, ...]
    spent: int
    cap: int | None
    resets_at: datetime
    #: The platform's title and its config table ("X", "x").
    title: str = ""
    table: str = ""

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
    def message(self) -> Words | None:
        """The warning at 80% and at 100% of the cap (kept as words, posts/words.py)."""
        if self.level == "ok":
            return None
        who = ", ".join(self.accounts) or words("app %(app)s", app=self.app)
        values = {"platform": self.title, "who": who, "spent": Dollars(self.spent),
                  "cap": Dollars(self.cap or 0), "share": f"{self.share:.0%}"}
        if self.level == "reached":
            return words(
                "%(platform)s spend for %(who)s is %(spent)s of the %(cap)s monthly cap "
                "(%(share)s): new %(platform)s posts wait until %(resets)s UTC; raise "
                "[%(table)s] monthly_spend_usd in the config and restart the daemon to publish "
                "sooner (threads already started are finished)",
                resets=f"{self.resets_at:%Y-%m-%d %H:%M}", table=self.table, **values)
        return words("%(platform)s spend for %(who)s is %(spent)s of the %(cap)s monthly cap "
                     "(%(share)s); at 100%% new %(platform)s posts wait until the month ends",
                     **values)

    def as_dict(self) -> dict:
        return {"app": self.app, "accounts": list(self.accounts), "spent_usd": usd(self.spent),
                "cap_usd": usd(self.cap) if self.cap else None,
                "share": round(self.share, 4) if self.share is not None else None,
                "level": self.level, "resets_at": self.resets_at.isoformat(),
                "message": self.message}


def cap_states(store: Store, config: Config, now: datetime) -> list[CapState]:
    """Every billing app that has spent this month, with its platform's cap."""
    start, end = month_bounds(now)
    spent = store.spend.spent_by_app(since=start, until=end)
    states = []
    for app, (micros, accounts) in sorted(spent.items()):
        spec = next((s for s in map(lambda a: platform_of(a, config), accounts) if s), None)
        settings = config.billing_for(spec.name) if spec is not None else None
        states.append(CapState(app, accounts, micros,
                               settings.monthly_cap_micros if settings else None, end,
                               spec.title if spec else "", spec.billing.table if spec else ""))
    return states


class MonthlyCap:
    """The daemon's side of `monthly_spend_usd`: the rules its claims hold the caps by, and
    which posts wait until the month ends.

    The store admits a unit (a thread with, for the leading post of a pair, the partner's
    thread) when its first post is claimed, reserving the unit's cost under the cap of each
    billing app concerned in the claim's own transaction (db/reservations.py), so racing
    account threads and daemons never both take the last of a cap; later parts are never
    weighed, so the cap cannot cut a thread. A unit that does not fit waits (`waiting`): this
    daemon weighs it again every `RECHECK` (what was set aside for others may have been given
    back: a post failed, or X charged nothing), and not at all once the month's spend alone
    leaves no room for it, until the month ends.
    """

    #: How long a unit that did not fit is passed over before it is weighed again.
    RECHECK = timedelta(minutes=10)

    def __init__(self, store: Store, ledger: SpendLedger, apps: Mapping[str, str],
                 config: Config) -> None:
        """`apps`: the billing app of each billed account, by account name."""
        self.store = store
        self.ledger = ledger
        self.apps = dict(apps)
        self.config = config
        self._lock = threading.Lock()
        # Per account: (month, {id of a post passed over: until when}).
        self._waiting: dict[str, tuple[datetime, dict[int, datetime]]] = {}
        self._told: set[int] = set()
        self._warned: set[tuple[str, datetime, str]] = set()
        self._specs = {name: self.config.account(name).spec for name in self.apps}
        caps = {}
        for name, app in self.apps.items():
            cap = self.config.billing_for(self._specs[name].name).monthly_cap_micros
            if cap is not None:
                caps[app] = cap
        #: What the store's claims hold the caps by; None when no app has a cap.
        self.rules = CapRules(price=self._price, caps=caps, explain=self._explain,
                              observe=self._observe) if caps else None

    def waiting(self, account: str, now: datetime) -> set[int]:
        """Posts of `account` passed over until the month of `now` ends."""
        month = month_bounds(now)[0]
        with self._lock:
            held = self._waiting.get(account)
            if held is None or held[0] != month:
                held = self._waiting[account] = (month, {})
            return {post_id for post_id, until in held[1].items() if until > now}

    def _price(self, post: Post) -> tuple[str, int] | None:
        app = self.apps.get(post.account)
        if app is None:
            return None
        spec = self._specs[post.account]
        prices = self.config.billing_for(spec.name).prices
        return app, spec.billing.post_cost(post.text, prices,
                                           with_media=post.media_id is not None)

    def _spec_of(self, app: str) -> PlatformSpec:
        return next(self._specs[name] for name, a in sorted(self.apps.items()) if a == app)

    def _explain(self, post: Post, refusal: Refusal) -> str:
        """Why `post`'s unit waits (and from now on it is among `waiting`)."""
        spec = self._spec_of(refusal.app)
        month = month_bounds(refusal.at)[0]
        spent = self.ledger.store.spent(refusal.app, since=month, until=refusal.resets_at)
        # Room may come back from reservations given back; never from spend.
        until = (refusal.resets_at if spent + refusal.unit_micros > refusal.cap
                 else min(refusal.resets_at, refusal.at + self.RECHECK))
        with self._lock:
            held = self._waiting.setdefault(post.account, (month, {}))[1]
            held.update(dict.fromkeys(refusal.post_ids, until))
            first = post.id not in self._told
            self._told.add(post.id)
        what = (f"this thread of {post.thread_size} posts" if post.thread_size > 1
                else "this post")
        reason = (f"waiting for the monthly {spec.title} spend cap: {what} costs "
                  f"{usd(refusal.unit_micros)} and {usd(refusal.committed)} of "
                  f"{usd(refusal.cap)} is spent or set aside this month; it goes after "
                  f"{refusal.resets_at:%Y-%m-%d %H:%M} UTC, or sooner if "
                  f"[{spec.billing.table}] monthly_spend_usd is raised and the daemon "
                  "restarted")
        if first:
            log.warning("post %s to %s %s", post.id, post.account, reason)
        return reason

    def _observe(self, app: str, committed: int, cap: int, month: datetime) -> None:
        self._warn(app, committed, month, cap, self._spec_of(app))

    def _warn(self, app: str, spent: int, month: datetime, cap: int,
              spec: PlatformSpec) -> None:
        """Log once per app, month and level when spend reaches 80% and 100% of the cap."""
        level = ("reached" if spent >= cap else
                 "warning" if spent >= cap * WARN_SHARE else None)
        if level is None:
            return
        with self._lock:
            if (app, month, level) in self._warned:
                return
            self._warned.add((app, month, level))
        accounts = ", ".join(sorted(n for n, a in self.apps.items() if a == app))
        log.warning("%s spend for %s is %s of the %s monthly cap (%.0f%%)%s", spec.title,
                    accounts, usd(spent), usd(cap), 100 * spent / cap,
                    f"; new {spec.title} posts wait until the month ends"
                    if level == "reached" else "")


def spend_reports(store: Store, config: Config, now: datetime) -> dict[str, dict]:
    """The spend figures of `factpost status` and the Status page, per billing platform,
    keyed "<platform>_spend" (e.g. "x_spend"): this month per app against the cap, and today
    per account (UTC days)."""
    start = month_bounds(now)[0]
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    days = store.spend.by_day(since=today)
    states = cap_states(store, config, now)
    reports = {}
    for spec in billing_specs():
        cap = config.billing_for(spec.name).monthly_cap_micros
        reports[f"{spec.name}_spend"] = {
            "platform": spec.name, "title": spec.title,
            "month": f"{start:%Y-%m}",
            "cap_usd": usd(cap) if cap else None,
            "apps": [state.as_dict() for state in states if state.title == spec.title],
            "today": [{"account": d.account, "posts": d.posts,
                       "posts_with_links": d.posts_with_links,
                       "resources_read": d.resources_read, "spent_usd": usd(d.micros)}
                      for d in days if platform_of(d.account, config) is spec],
            "prices_read_on": spec.billing.read_on.isoformat(),
            "prices_url": spec.billing.prices_url,
        }
    return reports
