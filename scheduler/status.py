"""The figures of `factpost status` and the web UI's Status page, computed in one place."""

from __future__ import annotations

from datetime import UTC, datetime

from db.queue import held_message
from db.store import Store
from posts.states import PostStatus
from scheduler.config import Config
from scheduler.records import iso
from scheduler.spend import spend_reports


def status_report(store: Store, config: Config | None = None,
                  now: datetime | None = None) -> dict:
    """Daemon heartbeats, posts per state, the next due post, paused accounts, last error;
    with the config, also each billing platform's spend this month against the cap
    (`x_spend` for X) and `warnings` (an account setting its platform says needs a person,
    such as a Graph API version near or past its retirement). `held_for_review` lists the
    drafts that were queued before review was turned on (db/queue.py `hold_unreviewed`)."""
    now = now or datetime.now(UTC)
    workers = store.workers.all()
    running = [w for w in workers if w.stopped_at is None]
    upcoming = [p for p in store.history.upcoming() if p.status == PostStatus.QUEUED]
    states = store.accounts.states()
    last = store.history.last_error()
    counts = store.history.counts_by_status()
    held = store.queue.held_for_review()
    extra: dict = {}
    if config is not None:
        extra.update(spend_reports(store, config, now))
        extra["warnings"] = [
            f"account {a.name}: {check.message}" for a in config.accounts
            if (check := a.spec.check_settings(a, now.date())) and check.message]
    return {
        "daemons": [{"worker": w.id, "last_seen": iso(w.last_seen),
                     "running": w.stopped_at is None} for w in workers[:10]],
        "last_seen": iso(running[0].last_seen) if running else None,
        "running_worker": running[0].id if running else None,
        "posts": {s.value: counts.get(s.value, 0) for s in PostStatus},
        "next_due": ({"id": upcoming[0].id, "account": upcoming[0].account,
                      "scheduled_at": iso(upcoming[0].scheduled_at)} if upcoming else None),
        "paused_accounts": [{"name": n, "reason": s.paused_reason}
                            for n, s in states.items() if s.paused],
        "last_error": ({"post_id": last.post_id, "at": iso(last.finished_at),
                        "outcome": last.outcome, "explanation": last.explanation}
                       if last else None),
        "held_for_review": {"post_ids": held,
                            "message": held_message(len(held)) if held else None},
        **extra,
    }

