"""The platforms factpost publishes to: one module each, listed here.

A platform module opens with `SPEC`, its `PlatformSpec` (spec.py), and ends with
`publisher(account, credentials, *, session=None)`, which builds its `Publisher` (base.py).
Adding a platform is one new module and one entry in `MODULES`; the config, the splitter,
image checks, compose, the CLI, the web UI, spend and status all ask the spec, and the
contract tests (tests/contract/) run against every module listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType

from scheduler.platforms import bluesky, facebook, mastodon, telegram, x
from scheduler.platforms.base import Account, CredentialsMissing, Publisher
from scheduler.platforms.spec import PlatformSpec

MODULES: tuple[ModuleType, ...] = (x, facebook, telegram, mastodon, bluesky)


def modules() -> dict[str, ModuleType]:
    """Every platform module by its spec's name, in the order listed."""
    return {module.SPEC.name: module for module in MODULES}


def specs() -> tuple[PlatformSpec, ...]:
    return tuple(module.SPEC for module in MODULES)


def names() -> tuple[str, ...]:
    return tuple(spec.name for spec in specs())


def spec(name: str) -> PlatformSpec:
    """The spec of the platform called `name`; KeyError for one factpost does not know (the
    config refuses those before anything asks)."""
    return modules()[name].SPEC


def credential_names(account: Account) -> tuple[str, ...]:
    """The environment variables holding `account`'s secrets."""
    return tuple(account.env_prefix + f for f in spec(account.platform).credentials)


def credentials(account: Account, environ: Mapping[str, str]) -> dict[str, str]:
    """The account's secrets from `environ`, keyed by field in lower case (`page_token`).
    Raises CredentialsMissing naming every variable that is not set."""
    missing = [n for n in credential_names(account) if not environ.get(n)]
    if missing:
        raise CredentialsMissing(
            f"account {account.name!r}: set the environment variable(s) {', '.join(missing)} "
            "(secrets are never read from config.toml)")
    return {f.lower(): environ[account.env_prefix + f]
            for f in spec(account.platform).credentials}


def build_publisher(account: Account, environ: Mapping[str, str] | None = None, *,
                    session=None) -> Publisher:
    """The publisher for `account`, with its secrets from `environ` (default: the process
    environment). Raises CredentialsMissing when they are not set; makes no request."""
    import os

    secrets = credentials(account, os.environ if environ is None else environ)
    return modules()[account.platform].publisher(account, secrets, session=session)


def tightest_threads() -> PlatformSpec:
    """The threading platform whose posts hold least: a document is refused when one of its
    sections would become too long a thread there (posts/formats/limits.py)."""
    return min((s for s in specs() if s.text.threads), key=lambda s: s.text.limit)
