"""factpost's accounts on the built-in emulator (the `emulator` package): the fixed credentials
`factpost emulator --env` prints, and serving the configured accounts until a signal.

The credential variables are each account's platform's (its spec's `credentials`), so a new
platform is served with credentials of its own shape without a change here.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Iterable, Mapping

from emulator import Emulator
from scheduler.config import AccountConfig
from scheduler.listening import listen_error


def demo_credentials(account: AccountConfig) -> dict[str, str]:
    """Fixed fake credentials for `account`, keyed by the environment variable its publisher
    reads, e.g. FACTPOST_OFFICE_X_CONSUMER_KEY -> "emulator-office-x-consumer-key"."""
    slug = re.sub(r"[^a-z0-9]+", "-", account.name.lower()).strip("-")
    return {name: f"emulator-{slug}-{name[len(account.env_prefix):].lower().replace('_', '-')}"
            for name in account.credential_names()}


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
