"""The deliverer: notices what the store shows but no transaction records, routes new events
to their channels, and sends what is ready, never inside a write transaction.

Every daemon (`factpost run`) and `factpost serve` run one in a thread of its own
(`AlertLoop`), and `factpost alerts send` runs one pass, e.g. from cron; several at once on one
database share the work through the outbox's claims (db/alerts.py), so an event is recorded
delivered once per channel. A failed send is tried again with backoff and jitter
(`[alerts] retry_base_seconds`, doubling up to `retry_max_seconds`); publishing never waits
for it.
"""

from __future__ import annotations

import logging
import os
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from db.alerts import HEARTBEAT_LOST, SPEND_CAP, VERSION_RETIRING, Claimed
from db.store import Store
from scheduler.alert_settings import EmailChannel, WebhookChannel
from scheduler.alerts.channels import DeliveryFailed, send_email, send_webhook
from scheduler.config import Config, ConfigError
from scheduler.spend import cap_states

log = logging.getLogger(__name__)

#: A claim outlives the slowest send (timeouts are per connection step, so allow several).
LEASE = timedelta(minutes=10)
#: A daemon silent for longer than this is history, not news: no alert for it.
FORGOTTEN_AFTER = timedelta(days=1)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class PassReport:
    observed: int = 0
    routed: int = 0
    sent: int = 0
    failed: int = 0


class Deliverer:
    """One pass at a time over the outbox for `config.alerts`. Reads the channels' secrets
    from `environ` when built: raises ConfigError naming a variable that is not set."""

    def __init__(self, store: Store, config: Config, *, worker: str,
                 environ: Mapping[str, str] | None = None,
                 clock: Callable[[], datetime] = utcnow,
                 rng: random.Random | None = None, http=None) -> None:
        self.store, self.config, self.worker = store, config, worker
        self.settings = config.alerts
        self.clock = clock
        self.rng = rng or random.Random()
        self.http = http
        environ = os.environ if environ is None else environ
        self._secrets: dict[str, str | None] = {}
        for name, channel in self.settings.channels.items():
            variable = (channel.password_env if isinstance(channel, EmailChannel)
                        else channel.secret_env)
            if variable is None:
                self._secrets[name] = None
            elif environ.get(variable):
                self._secrets[name] = environ[variable]
            else:
                raise ConfigError(f"{config.path}: alerts channel {name!r} needs the "
                                  f"environment variable {variable}, which is not set; "
                                  "export it before starting factpost")

    def run_once(self) -> PassReport:
        """Observe, route, then send every channel's ready deliveries (one message per
        channel and pass: what is ready together goes together)."""
        report = PassReport()
        now = self.clock()
        report.observed = self.observe(now)
        report.routed = self.store.alerts.route(self.settings.routes, now=now)
        self.store.alerts.drop_unknown(list(self.settings.channels), now=now)
        for name, channel in self.settings.channels.items():
            claimed = self.store.alerts.claim(name, worker=self.worker, now=self.clock(),
                                              lease=LEASE)
            if not claimed:
                continue
            ids = [c.delivery_id for c in claimed]
            try:
                self._send(channel, claimed)
            except DeliveryFailed as exc:
                tries = max(c.tries for c in claimed)
                retry_at = self.clock() + timedelta(seconds=self._backoff(tries))
                self.store.alerts.failed(ids, worker=self.worker, error=str(exc),
                                         retry_at=retry_at)
                log.warning("%s; %d alert(s) wait, next try at %s", exc, len(claimed),
                            f"{retry_at:%H:%M:%S} UTC")
                report.failed += len(claimed)
                continue
            report.sent += self.store.alerts.sent(ids, worker=self.worker, now=self.clock())
        return report

    def observe(self, now: datetime) -> int:
        """Write the events the store shows but no transaction records (each once, by key):
        daemons gone silent, spend caps at 80% and 100%, platform settings nearing their end
        (a Graph API version retiring). Returns how many were new."""
        routes = self.settings.routes
        new = 0
        if HEARTBEAT_LOST in routes:
            stale = now - timedelta(seconds=self.settings.heartbeat_stale_seconds)
            for worker in self.store.workers.all():
                if (worker.stopped_at is None and now - FORGOTTEN_AFTER < worker.last_seen
                        <= stale):
                    silent = (now - worker.last_seen).total_seconds()
                    new += self.store.alerts.observe(
                        kind=HEARTBEAT_LOST, now=now,
                        key=f"heartbeat:{worker.id}:{worker.last_seen.isoformat()}",
                        subject=f"daemon {worker.id} silent for {silent:.0f} s",
                        detail=f"Its last heartbeat was at {worker.last_seen:%Y-%m-%d %H:%M:%S}"
                               " UTC and it did not say it was stopping. Its claims pass to "
                               "another daemon when their leases expire; with no daemon "
                               "running nothing is published. Check the host and restart "
                               "'factpost run'.")
        if SPEND_CAP in routes:
            for state in cap_states(self.store, self.config, now):
                if state.level == "ok":
                    continue
                new += self.store.alerts.observe(
                    kind=SPEND_CAP, now=now, subject=f"{state.title} spend cap {state.level}",
                    key=f"spend:{state.app}:{state.resets_at:%Y-%m}:{state.level}",
                    detail=state.message or "")
        if VERSION_RETIRING in routes:
            for account in self.config.accounts:
                check = account.spec.check_settings(account, now.date())
                if check is None or check.message is None:
                    continue
                new += self.store.alerts.observe(
                    kind=VERSION_RETIRING, now=now, account=account.name,
                    key=f"settings:{account.name}:{check.message}"[:300],
                    subject=f"account {account.name}: platform settings need action",
                    detail=check.message)
        return new

    def _send(self, channel: EmailChannel | WebhookChannel, claimed: list[Claimed]) -> None:
        secret = self._secrets.get(channel.name)
        if isinstance(channel, EmailChannel):
            send_email(channel, secret, claimed)
        else:
            send_webhook(channel, secret or "", claimed, session=self.http)

    def _backoff(self, tries: int) -> float:
        ceiling = min(self.settings.retry_max_seconds,
                      self.settings.retry_base_seconds * 2 ** min(tries - 1, 30))
        # Half fixed, half jitter: deliverers that failed together do not retry together.
        return ceiling / 2 + self.rng.random() * ceiling / 2


class AlertLoop:
    """Runs `Deliverer.run_once` every `[alerts] check_seconds` in a background thread until
    stopped. A failing pass (the database down) is logged once per run of failures."""

    def __init__(self, deliverer: Deliverer) -> None:
        self.deliverer = deliverer
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alerts", daemon=True)

    def start(self) -> AlertLoop:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        failing = False
        while not self._stop.is_set():
            try:
                self.deliverer.run_once()
                if failing:
                    log.info("alerts: delivering again")
                failing = False
            except Exception as exc:
                # The loop must outlive any one pass: alerts matter most when things fail.
                if not failing:
                    log.error("alerts: a delivery pass failed (%s: %s); trying again every "
                              "%g s", type(exc).__name__, exc,
                              self.deliverer.settings.check_seconds)
                failing = True
            self._stop.wait(self.deliverer.settings.check_seconds)


def start_alerts(store: Store, config: Config, *, worker: str) -> AlertLoop | None:
    """The alert loop for a long-running command, or None when no event goes anywhere.
    Raises ConfigError for a channel whose secret is not in the environment."""
    if not config.alerts.enabled:
        return None
    return AlertLoop(Deliverer(store, config, worker=worker)).start()
