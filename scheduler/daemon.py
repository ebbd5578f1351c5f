"""The daemon: APScheduler decides *when* to run a dispatch tick; the database decides *what*.

One job only. It runs at the next due time and at least every `poll_seconds` (to notice work
other processes queued); after each tick it moves its own next run to the soonest due post.
On PostgreSQL it also listens for queued posts and runs at once when one arrives, so a post
queued "now" goes out now rather than at the next poll.
The daemon keeps no state of its own: everything it needs is in the database.

While the database itself fails (a full disk, a damaged file, a server gone), the daemon says
so once, waits longer between tries (doubling up to `MAX_BACKOFF`), and says so again when the
database answers.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
from datetime import UTC, datetime, timedelta

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.base import SchedulerNotRunningError
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.exc import DBAPIError

from db.engine import describe_error
from db.notify import DueListener, supports_notifications
from db.store import Store
from scheduler.dispatch import Dispatcher, TickReport

log = logging.getLogger(__name__)


RUN_GAP = timedelta(seconds=0.1)
#: The longest wait between tries while the database is failing.
MAX_BACKOFF = timedelta(minutes=2)


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
        # Set by a notification; a tick already running reads it when choosing its next run, so
        # a post queued while the tick was busy is not left to the next poll.
        self._woken = threading.Event()
        self._ticking = threading.Event()
        self._listener = (DueListener(store.engine, self.wake)
                          if supports_notifications(store.engine) else None)
        #: When the next tick is due (set after each tick).
        self.next_run: datetime | None = None
        #: Failed ticks in a row because the database failed, and since when.
        self.store_failures = 0
        self._failing_since: datetime | None = None

    def run(self) -> TickReport:
        """Publish until stopped (SIGTERM/SIGINT) or, with until_idle, until nothing is left."""
        previous = {sig: signal.signal(sig, self._on_signal)
                    for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.store.workers.heartbeat(self.dispatcher.worker, now=self._now())
            self._scheduler.add_job(self._tick, "interval", id="dispatch",
                                    seconds=self.poll.total_seconds(), next_run_time=self._now(),
                                    max_instances=1, coalesce=True, misfire_grace_time=None)
            if self._listener is not None:
                self._listener.start()
            self._scheduler.start()
        finally:
            if self._listener is not None:
                self._listener.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            try:
                self.dispatcher.shutdown()
                self.store.workers.heartbeat(self.dispatcher.worker, now=self._now(), stopping=True)
            except DBAPIError as exc:
                log.error("stopping without a last word to the database: %s",
                          describe_error(self.store.engine.url, exc))
        return self.total

    def stop(self) -> None:
        self._stop_requested.set()
        # Finish the post in hand, claim no more.
        self.dispatcher.stopping.set()
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def wake(self) -> None:
        """Run a tick as soon as possible (a post was queued somewhere)."""
        self._woken.set()
        # A running tick picks the flag up itself; moving the job now would only make
        # APScheduler skip the run with a warning (max_instances=1).
        if self._ticking.is_set() or self._stop_requested.is_set():
            return
        self._reschedule(self._now())

    def _on_signal(self, signum, _frame) -> None:
        log.info("received %s: finishing the post in hand, then stopping",
                 signal.Signals(signum).name)
        self.stop()

    def _tick(self) -> None:
        if self._stop_requested.is_set():
            return
        self._ticking.set()
        # While this run lasts, the interval must not fire: APScheduler would only skip it and
        # log a warning each poll. The run sets its real successor when it ends, even on error.
        self._reschedule(self._now() + timedelta(days=1))
        wakeup = backoff = None
        try:
            wakeup = self._run_tick()
            self._store_answers()
            # Work due sooner than this job could be run again (RUN_GAP after it ends) is
            # done in this run, after waiting for it here: rescheduled, a post falling due
            # while a tick finished waited for the gap on top (most of the 68 ms median of
            # the latency benchmark).
            while not self._stop_requested.is_set() and (
                    self._woken.is_set()
                    or (wakeup is not None and wakeup - self._now() <= RUN_GAP)):
                if not self._woken.is_set() and wakeup is not None:
                    self._stop_requested.wait((wakeup - self._now()).total_seconds())
                wakeup = self._run_tick()
        except DBAPIError as exc:
            backoff = self._store_failed(exc)
        finally:
            self._ticking.clear()
            now = self._now()
            if wakeup is None or wakeup > now + self.poll:
                wakeup = now + self.poll
            if self._woken.is_set():
                wakeup = now
            if backoff is not None:
                wakeup = now + backoff
            if not self._stop_requested.is_set():
                # The margin lets this run end before the next starts (max_instances=1).
                self.next_run = max(wakeup, now + RUN_GAP)
                self._reschedule(self.next_run)

    def _store_failed(self, exc: DBAPIError) -> timedelta:
        """Note a tick the database failed; returns how long to wait before the next. Logs
        only the first failure of a run of them (no traceback: the cause is in the line)."""
        self.store_failures += 1
        delay = min(self.poll * 2 ** min(self.store_failures, 16), MAX_BACKOFF)
        if self.store_failures == 1:
            self._failing_since = self._now()
            log.error("the database is failing: %s; publishing stops, and the daemon tries "
                      "again with growing pauses (up to %d s) without logging each try",
                      describe_error(self.store.engine.url, exc), MAX_BACKOFF.total_seconds())
        return delay

    def _store_answers(self) -> None:
        if self.store_failures:
            seconds = (self._now() - self._failing_since).total_seconds()
            log.warning("the database answers again after %d failed tries (%.0f s); "
                        "publishing resumes", self.store_failures, seconds)
        self.store_failures = 0
        self._failing_since = None

    def _run_tick(self) -> datetime | None:
        """One dispatch tick; returns when the next has work (None: nothing known)."""
        self._woken.clear()
        started = self._now()
        report = self.dispatcher.tick()
        self.total.add(report)
        now = self._now()
        self.store.workers.heartbeat(self.dispatcher.worker, now=now)
        wakeup = self.dispatcher.next_wakeup(now)
        if self.until_idle and wakeup is None:
            waiting = self.store.queue.pending_count([a.name for a in self.dispatcher.accounts])
            log.info("nothing left to publish%s; stopping",
                     f" ({waiting} post(s) wait on paused accounts or the monthly X spend "
                     "cap; 'factpost status' says which)" if waiting else "")
            self.stop()
        idle_tick = (report.published + report.retried + report.failed
                     + report.needs_review) == 0
        if idle_tick and wakeup is not None and wakeup <= started:
            # A post due but not claimable (its pair partner is not due yet, or held) waits
            # for the next poll rather than spinning the tick. Only one that was due when the
            # tick began, though: the timer can fire a little before the due time (it sleeps
            # on the monotonic clock, posts are due by the wall clock), and a post that came
            # due while the tick looked was not passed over, only not yet due; it waited a
            # whole poll (5 s) for that, the tail of the latency benchmark.
            return now + self.poll
        # Runs at the next due post rather than the next poll: a post due in 2 s goes out in
        # 2 s, not at the next 5 s poll.
        return wakeup

    def _reschedule(self, when: datetime) -> None:
        with contextlib.suppress(JobLookupError, SchedulerNotRunningError):
            self._scheduler.modify_job("dispatch", next_run_time=when)

    @staticmethod
    def _now() -> datetime:
        return datetime.now(UTC)
