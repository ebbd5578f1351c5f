"""The daemon: APScheduler decides *when* to run a dispatch tick; the database decides *what*.

One job only. It runs at the next due time and at least every `poll_seconds` (to notice work
other processes queued); after each tick it moves its own next run to the soonest due post.
The daemon keeps no state of its own: everything it needs is in the database.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.blocking import BlockingScheduler

from db.store import Store
from scheduler.dispatch import Dispatcher, TickReport

log = logging.getLogger(__name__)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Daemon:
    def __init__(self, dispatcher: Dispatcher, store: Store, *, poll_seconds: float,
                 until_idle: bool = False) -> None:
        self.dispatcher = dispatcher
        self.store = store
        self.poll = timedelta(seconds=poll_seconds)
        self.until_idle = until_idle
        self.total = TickReport()
        self._scheduler = BlockingScheduler(timezone=UTC)
        self._stop_requested = threading.Event()

    def run(self) -> TickReport:
        """Publish until stopped (SIGTERM/SIGINT) or, with until_idle, until nothing is left."""
        previous = {sig: signal.signal(sig, self._on_signal)
                    for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.store.heartbeat(self.dispatcher.worker, now=self._now())
            self._scheduler.add_job(self._tick, "interval", id="dispatch",
                                    seconds=self.poll.total_seconds(), next_run_time=self._now(),
                                    max_instances=1, coalesce=True, misfire_grace_time=None)
            self._scheduler.start()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.dispatcher.shutdown()
            self.store.heartbeat(self.dispatcher.worker, now=self._now(), stopping=True)
        return self.total

    def stop(self) -> None:
        self._stop_requested.set()
        # Finish the post in hand, claim no more.
        self.dispatcher.stopping.set()
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def _on_signal(self, signum, _frame) -> None:
        log.info("received %s: finishing the post in hand, then stopping",
                 signal.Signals(signum).name)
        self.stop()

    def _tick(self) -> None:
        if self._stop_requested.is_set():
            return
        report = self.dispatcher.tick()
        self.total.add(report)
        now = self._now()
        self.store.heartbeat(self.dispatcher.worker, now=now)
        wakeup = self.dispatcher.next_wakeup(now)
        if self.until_idle and wakeup is None:
            waiting = self.store.pending_count([a.name for a in self.dispatcher.accounts])
            log.info("nothing left to publish%s; stopping",
                     f" ({waiting} post(s) wait on paused accounts)" if waiting else "")
            self.stop()
            return
        idle_tick = (report.published + report.retried + report.failed
                     + report.needs_review) == 0
        if wakeup is None or wakeup > now + self.poll or (idle_tick and wakeup <= now):
            # A post due but not claimable (its pair partner is not due yet, or held) waits
            # for the next poll rather than spinning the tick.
            wakeup = now + self.poll
        if not self._stop_requested.is_set():
            # Runs at the next due post rather than the next poll: a post due in 2 s goes out
            # in 2 s, not at the next 5 s poll.
            # The small margin lets this run end before the next starts (max_instances=1).
            self._scheduler.modify_job("dispatch",
                                       next_run_time=max(wakeup, now + timedelta(seconds=0.2)))

    @staticmethod
    def _now() -> datetime:
        return datetime.now(UTC)
