"""/metrics (Prometheus text format) and /healthz, computed from the store on request.

Everything reported is read from the database (db/metrics.py, the spend ledger, heartbeats),
never counted in a process, so several daemons and web servers on one database agree and a
restart resets nothing. A scrape costs a handful of aggregate queries; `Snapshots` keeps the
last answer for a few seconds so that a burst of scrapes costs one. The metric names are
listed in README, "Metrics".
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.utils import floatToGoString
from sqlalchemy.exc import DBAPIError

from db.engine import describe_error
from db.metrics import AttemptTally, accounts_held
from db.store import Store
from scheduler.config import Config
from scheduler.platforms.billing import usd
from scheduler.spend import cap_states

#: prometheus-client's content type for the text format (version 0.0.4).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: How long one computed answer serves later requests.
CACHE_SECONDS = 5.0


class StoreCollector:
    """A prometheus-client collector whose every sample comes from the store at `clock()`."""

    def __init__(self, store: Store, config: Config, clock: Callable[[], datetime]) -> None:
        self.store, self.config, self.clock = store, config, clock
        self.tally = AttemptTally()

    def collect(self) -> Iterator[Metric]:
        measures, now = self.store.measures, self.clock()
        platforms = {a.name: a.platform for a in self.config.accounts}
        posts = GaugeMetricFamily("factpost_posts", "Posts by account and state (platform: "
                                  "the account's, empty for one no longer configured).",
                                  labels=["account", "platform", "state"])
        for (account, state), n in sorted(measures.posts_by_state().items()):
            posts.add_metric([account, platforms.get(account, ""), state], n)
        yield posts

        measures.advance(self.tally, now=now)
        published = CounterMetricFamily(
            "factpost_publishes", "Attempts that published a post, by platform (a post "
            "found live by the timeline check after an unsure outcome is in factpost_posts "
            "only).", labels=["platform"])
        attempts = CounterMetricFamily(
            "factpost_attempts", "Finished publish attempts by platform and outcome "
            "(published, or the failure class: retryable, rate_limited, permanent, ambiguous, "
            "duplicate, credentials_rejected, abandoned).", labels=["platform", "outcome"])
        failures = CounterMetricFamily(
            "factpost_publish_failures", "Publish attempts that did not publish, by platform.",
            labels=["platform"])
        done: dict[str, int] = {}
        failed: dict[str, int] = {}
        for (platform, outcome), n in sorted(self.tally.outcomes.items()):
            attempts.add_metric([platform, outcome], n)
            target = done if outcome == "published" else failed
            target[platform] = target.get(platform, 0) + n
        for platform, n in sorted(done.items()):
            published.add_metric([platform], n)
        for platform, n in sorted(failed.items()):
            failures.add_metric([platform], n)
        yield published
        yield attempts
        yield failures

        latency = HistogramMetricFamily(
            "factpost_claim_latency_seconds", "How long after its due time each attempt that "
            "published a post started.", labels=["platform"])
        for platform, h in sorted(self.tally.latency.items()):
            latency.add_metric([platform], [(floatToGoString(bound), n)
                                            for bound, n in h.buckets]
                               + [("+Inf", h.count)], h.total_seconds)
        yield latency

        states = measures.account_states()
        held = {a.name: a for a in accounts_held(states, now)}
        holds = GaugeMetricFamily(
            "factpost_account_held", "1 while a rate limit or the posting budget holds the "
            "account's posts.", labels=["account"])
        held_for = GaugeMetricFamily(
            "factpost_account_held_seconds", "Seconds until the account's hold ends.",
            labels=["account"])
        paused = GaugeMetricFamily(
            "factpost_account_paused", "1 while the account is paused (by staff, or after "
            "its credentials were rejected).", labels=["account"])
        for name in sorted({a.name for a in self.config.accounts} | {a.name for a in states}):
            state = next((a for a in states if a.name == name), None)
            holds.add_metric([name], 1 if name in held else 0)
            held_for.add_metric([name], (held[name].held_until - now).total_seconds()
                                if name in held else 0)
            paused.add_metric([name], 1 if state is not None and state.paused else 0)
        yield holds
        yield held_for
        yield paused

        spent = GaugeMetricFamily("factpost_spend_month_usd", "Spent (or possibly spent: an "
                                  "answer lost) this calendar month (UTC), USD, by billing app.",
                                  labels=["platform", "app"])
        caps = GaugeMetricFamily("factpost_spend_cap_usd", "The monthly spend cap, USD.",
                                 labels=["platform", "app"])
        for cap in cap_states(self.store, self.config, now):
            spent.add_metric([cap.title, cap.app], usd_value(cap.spent))
            if cap.cap:
                caps.add_metric([cap.title, cap.app], usd_value(cap.cap))
        yield spent
        yield caps

        last_seen = GaugeMetricFamily(
            "factpost_daemon_heartbeat_age_seconds", "Seconds since each running daemon's "
            "last heartbeat.", labels=["worker"])
        for worker in self.store.workers.all():
            if worker.stopped_at is None:
                last_seen.add_metric([worker.id], (now - worker.last_seen).total_seconds())
        yield last_seen

        deliveries = GaugeMetricFamily("factpost_alert_deliveries", "Alert deliveries by "
                                       "channel and state (pending, sent, dropped).",
                                       labels=["channel", "state"])
        for (channel, state), n in sorted(self.store.alerts.counts().items()):
            deliveries.add_metric([channel, state], n)
        yield deliveries


def usd_value(micros: int) -> float:
    """Micro-dollars as dollars (the ledger keeps integers; Prometheus wants a float)."""
    return micros / 1_000_000


def metrics_renderer(store: Store, config: Config, clock: Callable[[], datetime]
                     ) -> Callable[[], bytes]:
    """A function that renders /metrics, keeping its attempt tally between calls (call it
    from one thread at a time: `Snapshots` does)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(store, config, clock))
    return lambda: generate_latest(registry)


@dataclass(frozen=True)
class Health:
    """/healthz: whether the store answers and some daemon's heartbeat is fresh."""

    healthy: bool
    body: dict


def health(store: Store, config: Config, now: datetime) -> Health:
    stale_after = timedelta(seconds=config.alerts.heartbeat_stale_seconds)
    try:
        store.measures.reachable()
        workers = store.workers.all()
    except DBAPIError as exc:
        return Health(False, {"status": "unhealthy", "checked_at": now.isoformat(),
                              "store": {"ok": False,
                                        "error": describe_error(config.database_url, exc)},
                              "daemons": {"ok": False, "fresh": [], "stale": []}})
    running = [w for w in workers if w.stopped_at is None]
    fresh = [w.id for w in running if now - w.last_seen <= stale_after]
    stale = [{"worker": w.id, "last_seen": w.last_seen.isoformat()}
             for w in running if now - w.last_seen > stale_after]
    daemons = {"ok": bool(fresh), "fresh": fresh, "stale": stale,
               "stale_after_seconds": stale_after.total_seconds()}
    if not fresh:
        daemons["problem"] = ("no daemon has sent a heartbeat in the last "
                              f"{stale_after.total_seconds():g} s; start 'factpost run'")
    return Health(bool(fresh), {"status": "ok" if fresh else "unhealthy",
                                "checked_at": now.isoformat(), "store": {"ok": True},
                                "daemons": daemons})


class Snapshots:
    """The last answer of `compute`, for CACHE_SECONDS; concurrent callers wait for one
    computation rather than each running the queries."""

    def __init__(self, compute: Callable[[], object], seconds: float = CACHE_SECONDS) -> None:
        self.compute, self.seconds = compute, seconds
        self._lock = threading.Lock()
        self._value: object = None
        self._at = float("-inf")

    def get(self) -> object:
        with self._lock:
            if time.monotonic() - self._at >= self.seconds:
                self._value = self.compute()
                self._at = time.monotonic()
            return self._value


__all__ = ["CONTENT_TYPE", "Health", "Snapshots", "health", "metrics_renderer", "usd"]
