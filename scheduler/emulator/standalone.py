"""Running the emulator by hand (`factpost emulator`) and the credentials it hands out."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterable, Mapping

from scheduler.config import CREDENTIAL_FIELDS, AccountConfig
from scheduler.emulator.server import Emulator
from scheduler.listening import listen_error


def demo_credentials(account: AccountConfig) -> dict[str, str]:
    """Fixed fake credentials for `account`, keyed by the environment variable its publisher
    reads, e.g. FACTPOST_OFFICE_X_CONSUMER_KEY -> "emulator-office-x-consumer-key"."""
    slug = re.sub(r"[^a-z0-9]+", "-", account.name.lower()).strip("-")
    return {account.env_prefix + f: f"emulator-{slug}-{f.lower().replace('_', '-')}"
            for f in CREDENTIAL_FIELDS[account.platform]}


def run_emulator(accounts: Iterable[AccountConfig], environ: Mapping[str, str],
                 host: str = "127.0.0.1", port: int = 8765, seed: int | None = None) -> None:
    """Serve every account (credentials from `environ` where set, else the demo ones) until
    SIGINT or SIGTERM, after printing one line with the URL."""
    emulator = Emulator(host, port, seed=seed)
    for account in accounts:
        names = account.credential_names()
        merged = {**demo_credentials(account),
                  **{n: environ[n] for n in names if environ.get(n)}}
        emulator.register_accounts([account], merged)

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    listening = False

    def announce(url: str) -> None:
        nonlocal listening
        listening = True
        print(f"emulator listening on {url}", flush=True)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        emulator.serve_forever(on_listening=announce)
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        if listening:
            raise
        raise listen_error(host, port, exc) from None
    finally:
        emulator.stop()
        signal.signal(signal.SIGTERM, previous)
