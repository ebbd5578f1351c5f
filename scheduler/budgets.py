"""The posting budgets a claim checks for an account (db/claims.py reads them from the hourly
publish counts): the account's own `budget_posts` per `budget_window`, and, for a platform that
limits posts per billing app (X), the app's limit shared by every account on it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from db.queue import Budget
from scheduler.config import AccountConfig, Config


def posting_budgets(account: AccountConfig, apps: Mapping[str, str], config: Config
                    ) -> list[Budget]:
    """The budgets of `account`; `apps` is the billing app of each billed account, by name."""
    budgets = [Budget((account.name,), account.budget.posts,
                      timedelta(seconds=account.budget.window_seconds),
                      f"posting budget of {account.budget.posts} per "
                      f"{_duration(account.budget.window_seconds)} used up")]
    app = apps.get(account.name)
    if app is not None:
        peers = sorted(n for n, a in apps.items() if a == app)
        limit = config.billing_for(account.platform).app_budget
        budgets.append(Budget(tuple(peers), limit.posts, timedelta(seconds=limit.window_seconds),
                              f"the {account.spec.title} app's limit of {limit.posts} posts "
                              f"per {_duration(limit.window_seconds)} (shared by "
                              f"{', '.join(peers)}) is used up"))
    return budgets


def _duration(seconds: int) -> str:
    if seconds % 86_400 == 0:
        return f"{seconds // 86_400} day(s)" if seconds != 86_400 else "24 hours"
    if seconds % 3_600 == 0:
        return f"{seconds // 3_600} hour(s)"
    if seconds % 60 == 0:
        return f"{seconds // 60} minutes"
    return f"{seconds} seconds"
