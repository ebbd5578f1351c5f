"""Before queueing: will some planned posts fit their billing app's monthly cap? Import,
compose and the correction review ask here, so a post dearer than a whole cap is refused before
anything is written and a month that would go over is a warning staff see first. What was spent
and the cap itself are scheduler/spend.py's; this module only reads them.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from db.reservations import month_bounds
from db.store import Store
from posts.errors import FactpostError
from posts.words import Dollars, Words, words
from scheduler.config import Config, CredentialsMissing
from scheduler.platforms import registry
from scheduler.platforms.billing import usd


class CapExceeded(FactpostError):
    """A unit (a post, or a thread) that costs more than a whole monthly cap: it could never
    be admitted, so it is not queued."""


@dataclass(frozen=True)
class CapOutlook:
    """What queueing some posts does to one billing app's month against its cap (micro-dollars).

    The cap holds posts rather than refusing them (they wait until the month ends), so going
    over it is a warning; only a unit dearer than the whole cap, which could never go, is
    refused (`refuse_what_never_fits`)."""

    title: str
    table: str
    accounts: tuple[str, ...]
    cap: int
    #: Spent, or set aside for admitted posts, this month.
    committed: int
    #: Queued or drafted for this month and not yet set aside.
    queued: int
    #: The new posts due this month.
    adding: int
    #: The dearest new unit, and the account it is for.
    largest_unit: int
    largest_for: str
    resets_at: datetime

    @property
    def over(self) -> int:
        return max(0, self.committed + self.queued + self.adding - self.cap)

    @property
    def never_fits(self) -> bool:
        return self.largest_unit > self.cap

    @property
    def message(self) -> str | None:
        """The warning to show before or after queueing, or None when all fits."""
        return None if self.warning is None else str(self.warning)

    @property
    def warning(self) -> Words | None:
        """`message` kept as words (posts/words.py), for a reader of another language."""
        if not self.over or not self.adding:
            return None
        total = self.committed + self.queued + self.adding
        return words(
            "%(platform)s monthly cap: queueing these posts (%(adding)s) takes %(accounts)s to "
            "%(total)s this month, %(over)s over the %(cap)s cap (%(committed)s spent or set "
            "aside, %(queued)s already queued); the posts past the cap wait until %(resets)s "
            "UTC, or raise [%(table)s] monthly_spend_usd", platform=self.title,
            adding=Dollars(self.adding), accounts=", ".join(self.accounts),
            total=Dollars(total), over=Dollars(self.over), cap=Dollars(self.cap),
            committed=Dollars(self.committed), queued=Dollars(self.queued),
            resets=f"{self.resets_at:%Y-%m-%d %H:%M}", table=self.table)

    def as_dict(self) -> dict:
        return {"accounts": list(self.accounts), "cap_usd": usd(self.cap),
                "committed_usd": usd(self.committed), "queued_usd": usd(self.queued),
                "adding_usd": usd(self.adding), "over_usd": usd(self.over),
                "message": self.message}


def cap_outlook(store: Store | None, config: Config, planned: Sequence, now: datetime, *,
                leaving: Collection[int] = ()) -> list[CapOutlook]:
    """Per billing app with a cap that `planned` posts (PlannedPost-like: account, text,
    scheduled_at, thread_position, media) would be charged to: the month's outlook if they
    were queued (and the posts in `leaving`, which they replace, cancelled). Without a store
    (a preview with no database) nothing is counted as spent or queued. Posts due in a later
    month count only towards `never_fits`."""
    end = month_bounds(now)[1]
    groups: dict[str, dict] = {}
    unit = None
    # Looked up once per account, not once per post: an import plans thousands, and finding
    # the app reads the account's credentials.
    capped: dict[str, tuple | None] = {}
    for post in planned:
        if post.account not in capped:
            capped[post.account] = _capped(config, post.account, store)
        if capped[post.account] is None:
            continue
        account, settings, app = capped[post.account]
        group = groups.setdefault(app, {"spec": account.spec, "settings": settings,
                                        "accounts": set(), "adding": 0, "largest": (0, "")})
        group["accounts"].add(account.name)
        cost = account.spec.billing.post_cost(post.text, settings.prices,
                                              with_media=getattr(post, "media", None) is not None)
        if post.scheduled_at < end:
            group["adding"] += cost
        if post.thread_position == 1 or unit is None or unit[2] != account.name:
            unit = [app, 0, account.name]
        unit[1] += cost
        if unit[1] > group["largest"][0]:
            group["largest"] = (unit[1], unit[2])
    outlooks = []
    for app, group in sorted(groups.items()):
        spec, settings = group["spec"], group["settings"]
        accounts = sorted({*group["accounts"], *(a.name for a in config.accounts
                                                 if a.spec is spec and _app_of(a, store) == app)})
        committed = queued = 0
        if store is not None:
            committed = store.spend.committed(app, now)
            queued = sum(spec.billing.post_cost(p.text, settings.prices,
                                                with_media=p.media_id is not None)
                         for p in store.spend.unreserved(accounts, until=end)
                         if p.id not in leaving)
        outlooks.append(CapOutlook(spec.title, spec.billing.table, tuple(accounts),
                                   settings.monthly_cap_micros, committed, queued,
                                   group["adding"], group["largest"][0], group["largest"][1],
                                   end))
    return outlooks


def refuse_what_never_fits(outlooks: Sequence[CapOutlook]) -> None:
    """Raise CapExceeded when a planned unit costs more than a whole monthly cap."""
    for o in outlooks:
        if o.never_fits:
            raise CapExceeded(
                f"a post or thread for {o.largest_for} costs {usd(o.largest_unit)} on "
                f"{o.title}, more than the whole {usd(o.cap)} monthly cap, so it could never "
                f"be sent; nothing was queued. Shorten it, or raise [{o.table}] "
                "monthly_spend_usd")


def _capped(config: Config, name: str, store: Store | None) -> tuple | None:
    """(account, billing settings, billing app) of the account called `name` where its
    platform bills under a monthly cap; None where it does not (or no such account)."""
    account = next((a for a in config.accounts if a.name == name), None)
    if account is None or account.spec.billing is None:
        return None
    settings = config.billing_for(account.platform)
    if settings.monthly_cap_micros is None:
        return None
    return account, settings, _app_of(account, store)


def _app_of(account, store: Store | None) -> str:
    """The billing app an account is charged to: from its credentials, or else from the
    ledger, or else its own name (nothing known about it)."""
    try:
        return account.spec.billing.app(registry.credentials(account, os.environ))
    except CredentialsMissing:
        known = store.spend.app_of(account.name) if store is not None else None
        return known or f"account:{account.name}"
