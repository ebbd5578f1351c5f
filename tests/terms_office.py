"""An office on X's and Meta's current terms, with a clock the test moves: the emulator, the
dispatcher and the ledger all read it, so a tick at `clock.now` is that moment everywhere."""

from __future__ import annotations

import os
import random
import textwrap
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from migrated import open_migrated

from db.store import Store
from posts.states import Actor, PostStatus

AUTHOR = Actor("tester", "author")

#: The office's config with nothing about pacing, prices or versions: the defaults apply.
DEFAULT_TERMS = """
[database]
url = "sqlite:///factpost.db"
[schedule]
timezone = "UTC"
poll_seconds = 0.2
retry_base_seconds = 0.02
retry_max_seconds = 0.05
{x_table}
[[accounts]]
name = "office-x"
platform = "x"
handle = "OfficeX"
api_url = "{url}"
timeout_seconds = 5
{x_extra}
[[accounts]]
name = "office-fb"
platform = "facebook"
handle = "OfficeFB"
api_url = "{url}"
timeout_seconds = 5
{fb_extra}
{accounts}
"""


@dataclass
class Clock:
    now: datetime

    def advance(self, **delta) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def unix(self) -> float:
        return self.now.timestamp()


@dataclass
class TermsOffice:
    config_path: Path
    config: object
    emulator: object
    store: Store
    clock: Clock
    dispatchers: list = field(default_factory=list)

    def dispatcher(self):
        from scheduler.dispatch import Dispatcher
        from scheduler.platforms.registry import build_publisher

        publishers = {a.name: build_publisher(a) for a in self.config.accounts}
        dispatcher = Dispatcher(self.store, self.config, publishers, worker="test-worker",
                                clock=lambda: self.clock.now, rng=random.Random(1))
        self.dispatchers.append(dispatcher)
        return dispatcher

    def add(self, text: str, account: str = "office-x", at: datetime | None = None) -> int:
        platform = self.config.account(account).platform
        return self.store.posts.add(account=account, platform=platform, text=text,
                                    scheduled_at=at or self.clock.now, actor=AUTHOR,
                                    now=self.clock.now, status=PostStatus.QUEUED).id

    def close(self) -> None:
        for dispatcher in self.dispatchers:
            dispatcher.shutdown()
        self.store.close()


def build_office(tmp_path: Path, monkeypatch, clock: Clock, *, x_table: str = "",
                 x_extra: str = "", fb_extra: str = "", accounts: str = "",
                 shared_app: bool = False):
    """An emulator on `clock` and an office using it; returns (office, emulator). `accounts`
    is TOML for more [[accounts]] ({url} is the emulator's); with `shared_app` every X
    account posts through the first one's app (consumer key)."""
    from emulator import Emulator
    from scheduler.config import load_config
    from scheduler.emulated import demo_credentials

    emulator = Emulator(port=0, seed=7, clock=clock.unix).start()
    path = tmp_path / "config.toml"
    path.write_text(textwrap.dedent(DEFAULT_TERMS.format(
        url=emulator.url, x_table=x_table, x_extra=x_extra, fb_extra=fb_extra,
        accounts=accounts.replace("{url}", emulator.url))),
        encoding="utf-8")
    config = load_config(path)
    app = None
    for account in config.accounts:
        credentials = demo_credentials(account)
        if account.platform == "x" and shared_app:
            app = app or {f: credentials[account.env_prefix + f]
                          for f in ("CONSUMER_KEY", "CONSUMER_SECRET")}
            credentials.update({account.env_prefix + f: v for f, v in app.items()})
        for name, value in credentials.items():
            monkeypatch.setenv(name, value)
    emulator.register_accounts(config.accounts, os.environ)
    store = open_migrated(config.database_url)
    return TermsOffice(path, config, emulator, store, clock), emulator
