"""X's bill, kept by the emulator as X keeps it under pay-per-use
(https://docs.x.com/x-api/getting-started/pricing; prices in publishers/x_terms.py):

- a write is billed per request that did what it asked: a post created (whatever answer the
  client got afterwards), an image stored, alt text set, a post deleted;
- a read is billed per resource returned, and each resource once per app and UTC day;
- requests X refused (4xx, 429, or a failure before anything was stored) are not billed.

An entry: {"at", "app" (the consumer key's fingerprint, as the factpost ledger names apps),
"handle", "endpoint", "operation", "units", "billed_units", "micros", "tweet_id"}.
"""

from __future__ import annotations

from collections.abc import Sequence

from scheduler.emulator.state import World, XAccount
from scheduler.publishers.x_terms import DEFAULT, app_fingerprint


def charge(world: World, account: XAccount, endpoint: str, operation: str, *,
           resources: Sequence[str] | None = None, tweet_id: str | None = None) -> None:
    """Add a billable request to the bill. Hold `world.lock`."""
    now = world.now()
    units, billed = 1, 1
    if resources is not None:
        day = now.date().isoformat()
        units = len(resources)
        fresh = [r for r in dict.fromkeys(resources)
                 if (account.consumer_key, day, r) not in world.read_charges]
        world.read_charges.update((account.consumer_key, day, r) for r in fresh)
        billed = len(fresh)
    world.bill.append({
        "at": now.isoformat(), "app": app_fingerprint(account.consumer_key),
        "handle": account.handle, "endpoint": endpoint, "operation": operation,
        "units": units, "billed_units": billed, "micros": DEFAULT.of(operation, billed),
        "tweet_id": tweet_id})
