"""`factpost demo`: the whole path on the embedded default, with no config and no credentials.

A temporary folder gets a config (an English and an Arabic account on every platform factpost
knows), a SQLite database and the sample fact sheets in both languages; the built-in emulator
stands in for the platforms on
loopback; the daemon publishes everything through the real client libraries' code paths and
stops when the queue is empty.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

from db import migrate
from db.store import Store
from emulator import Emulator
from posts.states import OPERATOR, Actor
from scheduler.config import load_config
from scheduler.daemon import Daemon, worker_name
from scheduler.dispatch import Dispatcher, TickReport
from scheduler.emulated import demo_credentials
from scheduler.importing import ImportReport, import_file
from scheduler.platforms import registry
from scheduler.platforms.registry import build_publisher

DEMO_CONFIG = """\
# Written by `factpost demo`: an English and an Arabic account per platform, all on the
# built-in emulator.
[database]
url = "sqlite:///factpost.db"

[schedule]
timezone = "Asia/Baghdad"
poll_seconds = 0.5

[review]
require_approval = false
{billing}{accounts}"""

#: Where a platform bills per request (X: https://docs.x.com/x-api/getting-started/pricing),
#: every request is priced and written to the spend ledger; new posts wait once the month's
#: spend reaches this.
DEMO_MONTHLY_SPEND_USD = 5

DEMO_ACCOUNT = """
[[accounts]]
name = "meridian-{name}{suffix}"
platform = "{name}"
handle = "JTFMeridian{handle}"
api_url = "{url}"
hashtags = ["#JTFMeridian"]
language = "{language}"
"""
#: The demo's sheets, each for the accounts of its language: (language, account name suffix,
#: handle suffix, the sample in posts/samples).
LANGUAGES = (("en", "", "", "factsheet.txt"), ("ar", "-ar", "AR", "factsheet_ar.txt"))

#: The sample sheets, by the language of the accounts they go to.
SAMPLES = {"en": "factsheet.txt", "ar": "factsheet_ar.txt"}


def demo_config(url: str) -> str:
    """The demo's config.toml: an English and an Arabic account on every platform factpost
    knows, at `url`."""
    billing = "".join(f"\n[{spec.billing.table}]\nmonthly_spend_usd = {DEMO_MONTHLY_SPEND_USD}\n"
                      for spec in registry.specs() if spec.billing is not None)
    accounts = "".join(DEMO_ACCOUNT.format(name=spec.name, url=url, suffix=suffix,
                                           handle=handle, language=language)
                       for language, suffix, handle, _ in LANGUAGES
                       for spec in registry.specs())
    return DEMO_CONFIG.format(billing=billing, accounts=accounts)


def sample_factsheet(name: str = "factsheet.txt") -> str:
    return resources.files("posts").joinpath(f"samples/{name}").read_text("utf-8")


def run_demo(workdir: Path, *, spacing: timedelta = timedelta(seconds=1)
             ) -> tuple[list[ImportReport], TickReport, Store, Emulator]:
    """Set up `workdir`, publish the English sample to the English accounts and the Arabic
    one to the Arabic accounts through the emulator; returns what happened (one import
    report per sheet). The caller closes the store and stops the emulator."""
    emulator = Emulator(port=0).start()
    try:
        config_path = workdir / "config.toml"
        config_path.write_text(demo_config(emulator.url), encoding="utf-8")
        config = load_config(config_path)
        environ = dict(os.environ)
        for account in config.accounts:
            environ.update(demo_credentials(account))
        emulator.register_accounts(config.accounts, environ)

        store = Store.open(config.database_url)
        migrate.upgrade(store.engine)
        now = datetime.now(UTC)
        reports = []
        for language, _, _, name in LANGUAGES:
            sheet = workdir / name
            sheet.write_text(sample_factsheet(name), encoding="utf-8")
            reports.append(import_file(
                sheet, store=store, config=config,
                accounts=[a for a in config.accounts if a.language == language],
                actor=Actor("demo", OPERATOR), now=now, at=now, every=spacing))
        publishers = {a.name: build_publisher(a, environ) for a in config.accounts}
        dispatcher = Dispatcher(store, config, publishers, worker=worker_name())
        published = Daemon(dispatcher, store, poll_seconds=config.poll_seconds,
                           until_idle=True).run()
        return reports, published, store, emulator
    except BaseException:
        emulator.stop()
        raise
