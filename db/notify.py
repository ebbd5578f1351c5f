"""Wake-ups for daemons: PostgreSQL announces queued posts on the `factpost_due` channel.

A trigger (migration 0002) sends the notification whenever a post becomes queued or is
rescheduled, whoever wrote it. Listening is an optimisation only: a daemon that misses a
notification (connection lost, SQLite) still finds the post at its next poll.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import Engine

log = logging.getLogger(__name__)

CHANNEL = "factpost_due"


def supports_notifications(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


class DueListener:
    """Calls `on_due` from a background thread each time a post is queued on PostgreSQL.

    Holds its own connection outside the engine's pool, in autocommit mode as LISTEN requires,
    and reconnects after a loss (waiting `retry_seconds`), logging once per outage.
    """

    def __init__(self, engine: Engine, on_due: Callable[[], None], *,
                 retry_seconds: float = 5.0) -> None:
        if not supports_notifications(engine):
            raise ValueError(f"{engine.dialect.name} has no notifications; poll instead")
        self._url = engine.url.set(drivername="postgresql")
        self._on_due = on_due
        self._retry = retry_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="due-listener", daemon=True)
        self.listening = threading.Event()

    def start(self) -> DueListener:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        import psycopg

        failing = False
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._url.render_as_string(hide_password=False),
                                     autocommit=True, connect_timeout=10) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    if failing:
                        log.info("listening for queued posts again")
                    failing = False
                    while not self._stop.is_set():
                        # A short timeout keeps stop() prompt.
                        for _ in conn.notifies(timeout=0.5, stop_after=1):
                            self._on_due()
            except psycopg.Error as exc:
                self.listening.clear()
                if not failing:
                    log.warning("cannot listen for queued posts (%s); polling until the "
                                "database answers again", type(exc).__name__)
                failing = True
                self._stop.wait(self._retry)
