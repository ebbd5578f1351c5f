"""Loading and checking `config.toml`, and reading account secrets from the environment.

Secrets never live in the file: each account's credentials come from environment variables
`FACTPOST_<NAME>_<FIELD>` (NAME upper-cased, non-alphanumerics as `_`; the FIELDs are its
platform's). Everything is checked when the config is loaded, so a bad file fails at start-up
with one line naming the file, the key and the fix. What a platform accepts (its `platform`
name, its own account keys, its default budget, its billing table) is asked of its spec
(scheduler/platforms/registry.py).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from dataclasses import replace as replace_fields
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

from posts.errors import FactpostError
from posts.formats.limits import DEFAULT_LIMITS, MB, Limits
from posts.split import TextRules
from posts.states import Review
from posts.thread_links import LINK_PLACEMENTS
from scheduler.alert_settings import AlertSettings, parse_alerts
from scheduler.platforms import registry
from scheduler.platforms.base import Account, Budget, CredentialsMissing
from scheduler.platforms.billing import BillingSettings
from scheduler.platforms.spec import PlatformSpec, number

__all__ = ["AccountConfig", "Budget", "Config", "ConfigError", "CredentialsMissing",
           "load_config"]

LANGUAGES = ("en", "ar")


class ConfigError(FactpostError):
    """The configuration file cannot be used; the message says which key and how to fix it."""


@dataclass(frozen=True)
class AccountConfig(Account):
    """A configured account: what its publisher needs (`Account`), and how its posts are
    scheduled and split."""

    slots: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()
    #: At most this many publishes per window; by default its platform's (spec.budget).
    budget: Budget | None = None
    #: How a thread carries its section's links: "as-written", or "first-part" where a post
    #: with a link costs more (on X 13 times one without, so one such part is cheaper).
    links: str = "as-written"
    #: The language this account publishes in; decides its side of an English/Arabic pair
    #: and the sentence rules its posts are split by.
    language: str = "en"

    def __post_init__(self) -> None:
        if self.budget is None:
            object.__setattr__(self, "budget", self.spec.budget(self.options))

    @property
    def spec(self) -> PlatformSpec:
        """What its platform declares (scheduler/platforms/)."""
        return registry.spec(self.platform)

    @property
    def text(self) -> TextRules:
        """The text rules its posts are measured and split by (its platform's)."""
        return self.spec.text_for(self)

    def credential_names(self) -> tuple[str, ...]:
        return registry.credential_names(self)

    def credentials(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """The account's secrets, keyed by field in lower case (`consumer_key`, `page_token`).
        Raises CredentialsMissing."""
        return registry.credentials(self, os.environ if environ is None else environ)


@dataclass(frozen=True)
class Config:
    path: Path
    database_url: str
    timezone: ZoneInfo
    require_approval: bool = False
    two_person_rule: bool = False
    #: The named steps of clearance, in order (`[review] steps`); empty: one approval.
    review_steps: tuple[str, ...] = ()
    #: Mark the web UI's session cookie Secure (sent over HTTPS only); set behind TLS.
    secure_cookies: bool = False
    #: Addresses (or networks) of reverse proxies whose X-Forwarded-For / X-Forwarded-Proto
    #: the web UI believes; nobody's by default.
    trusted_proxies: tuple[str, ...] = ()
    #: A signed-in user's document upload larger than this is refused (413) before it is read.
    max_request_bytes: int = 11 * 1024 * 1024
    #: Any other request body (JSON, forms) larger than this is refused (413) likewise.
    max_body_bytes: int = 1024 * 1024
    #: A request body not complete this long after its headers is refused (408).
    body_timeout_seconds: float = 30.0
    #: How long a new API token works.
    api_token_days: int = 90
    poll_seconds: float = 5.0
    max_attempts: int = 5
    lease_seconds: int = 120
    retry_base_seconds: float = 30.0
    retry_max_seconds: float = 3_600.0
    accounts: tuple[AccountConfig, ...] = field(default_factory=tuple)
    #: The settings of each platform that bills per request, by platform name (its table,
    #: e.g. `[x]`; the platform's defaults where the table is left out).
    billing: Mapping[str, BillingSettings] = field(default_factory=dict)
    #: How much of a document is read and queued (`[import]`; the rest are fixed).
    limits: Limits = DEFAULT_LIMITS
    #: Alert channels and which events go to each (`[alerts]`, scheduler/alert_settings.py).
    alerts: AlertSettings = field(default_factory=AlertSettings)
    #: The environment variable whose value /metrics and /healthz require as a bearer token
    #: (`[web] metrics_token_env`); None: open to anyone who reaches the server.
    metrics_token_env: str | None = None

    @property
    def review(self) -> Review:
        return Review(self.require_approval, self.two_person_rule, self.review_steps)

    def billing_for(self, platform: str) -> BillingSettings | None:
        """The billing settings of `platform`, None where it does not bill."""
        return self.billing.get(platform)

    def account(self, name: str) -> AccountConfig:
        for account in self.accounts:
            if account.name == name:
                return account
        known = ", ".join(a.name for a in self.accounts) or "none configured"
        raise ConfigError(f"{self.path}: no account named {name!r} (known: {known})")


def offered_pairs(accounts: Sequence[AccountConfig]
                  ) -> list[tuple[AccountConfig, AccountConfig]]:
    """(English, Arabic) account for each platform that has exactly one of each, for
    choosing a pair in one click; platforms without a clear pair are left out, not refused."""
    pairs = []
    for platform in dict.fromkeys(a.platform for a in accounts):
        en = [a for a in accounts if a.platform == platform and a.language == "en"]
        ar = [a for a in accounts if a.platform == platform and a.language == "ar"]
        if len(en) == 1 and len(ar) == 1:
            pairs.append((en[0], ar[0]))
    return pairs


def default_config_path() -> Path:
    return Path(os.environ.get("FACTPOST_CONFIG", "config.toml"))


def load_config(path: Path | str | None = None) -> Config:
    """Read and check a config file; raises ConfigError with a one-line message."""
    path = Path(path) if path is not None else default_config_path()
    if not path.is_file():
        raise ConfigError(
            f"{path}: config file not found; pass --config FILE, set FACTPOST_CONFIG, "
            "or copy config.toml from the repository"
        )
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save the file as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the syntax") from None
    return parse_config(raw, path)


def parse_config(raw: Mapping, path: Path) -> Config:
    def fail(key: str, problem: str, fix: str) -> ConfigError:
        return ConfigError(f"{path}: {key}: {problem}; {fix}")

    database = _table(raw, "database", fail)
    url = database.get("url", "sqlite:///factpost.db")
    if not isinstance(url, str) or "://" not in url:
        raise fail("database.url", f"{url!r} is not a database URL",
                   'use e.g. "sqlite:///factpost.db" or "postgresql+psycopg://host/db"')
    url = _resolve_sqlite_path(url, path.parent)

    schedule = _table(raw, "schedule", fail)
    tz_name = schedule.get("timezone", "UTC")
    try:
        timezone = ZoneInfo(str(tz_name))
    except (ZoneInfoNotFoundError, ValueError):
        raise fail("schedule.timezone", f"unknown timezone {tz_name!r}",
                   'use an IANA name such as "Asia/Baghdad" or "UTC"') from None
    poll = number(schedule, "poll_seconds", 5.0, "schedule.poll_seconds", fail, minimum=0.05)
    max_attempts = int(number(schedule, "max_attempts", 5, "schedule.max_attempts", fail, 1))
    lease = int(number(schedule, "lease_seconds", 120, "schedule.lease_seconds", fail, 2))
    retry_base = number(schedule, "retry_base_seconds", 30.0, "schedule.retry_base_seconds",
                         fail, 0.01)
    retry_max = number(schedule, "retry_max_seconds", 3_600.0, "schedule.retry_max_seconds",
                        fail, retry_base)

    review = _table(raw, "review", fail)
    require_approval = _bool(review, "require_approval", "review.require_approval", fail)
    two_person = _bool(review, "two_person_rule", "review.two_person_rule", fail)
    steps = _steps(review, fail)
    if steps:
        # Named steps are a clearance, so they need the approval and keep authors out of it.
        for name in ("require_approval", "two_person_rule"):
            if review.get(name) is False:
                raise fail(f"review.{name}", "is false, but review.steps names steps of "
                           "clearance", f"remove review.{name} or set it to true")
        require_approval = two_person = True
    web = _table(raw, "web", fail)
    secure_cookies = _bool(web, "secure_cookies", "web.secure_cookies", fail)
    trusted_proxies = _proxies(web, fail)
    max_request_mb = number(web, "max_request_mb", 11, "web.max_request_mb", fail, 1)
    max_body_kb = number(web, "max_body_kb", 1024, "web.max_body_kb", fail, 1)
    body_timeout = number(web, "body_timeout_seconds", 30.0, "web.body_timeout_seconds", fail,
                          0.1)
    token_days = number(web, "api_token_days", 90, "web.api_token_days", fail, 1)
    metrics_token_env = web.get("metrics_token_env")
    if metrics_token_env is not None and (not isinstance(metrics_token_env, str) or
                                          not re.fullmatch(r"[A-Z_][A-Z0-9_]*",
                                                           metrics_token_env)):
        raise fail("web.metrics_token_env",
                   f"{metrics_token_env!r} is not an environment variable name",
                   'write e.g. "FACTPOST_METRICS_TOKEN" (the token itself goes in that '
                   "variable, never in this file)")

    billing = {spec.name: spec.billing.settings(_table(raw, spec.billing.table, fail), fail)
               for spec in registry.specs() if spec.billing is not None}
    limits = _import_limits(_table(raw, "import", fail), fail)
    alerts = parse_alerts(raw.get("alerts", {}), fail)

    raw_accounts = raw.get("accounts", [])
    if not isinstance(raw_accounts, list):
        raise fail("accounts", "must be an array of tables", "write each account as [[accounts]]")
    accounts: list[AccountConfig] = []
    seen: set[str] = set()
    for i, entry in enumerate(raw_accounts):
        account = _parse_account(entry, f"accounts[{i}]", timezone, fail)
        if account.name in seen:
            raise fail(f"accounts[{i}].name", f"duplicate account name {account.name!r}",
                       "give every account a unique name")
        seen.add(account.name)
        accounts.append(account)

    for i, account in enumerate(accounts):
        # A claim must outlive its request: a lease that expires while the request is still in
        # flight lets another daemon look at the timeline too early and send the post again.
        if lease <= account.timeout_seconds:
            raise fail("schedule.lease_seconds",
                       f"{lease} is not longer than accounts[{i}].timeout_seconds "
                       f"({account.timeout_seconds:g})",
                       "make lease_seconds longer than every account's timeout_seconds")
    return Config(path=path, database_url=url, timezone=timezone,
                  require_approval=require_approval, two_person_rule=two_person,
                  review_steps=steps,
                  secure_cookies=secure_cookies, trusted_proxies=trusted_proxies,
                  max_request_bytes=int(max_request_mb * 1024 * 1024),
                  max_body_bytes=int(max_body_kb * 1024), body_timeout_seconds=body_timeout,
                  api_token_days=int(token_days),
                  poll_seconds=poll, max_attempts=max_attempts, lease_seconds=lease,
                  retry_base_seconds=retry_base, retry_max_seconds=retry_max,
                  accounts=tuple(accounts), billing=billing, limits=limits, alerts=alerts,
                  metrics_token_env=metrics_token_env)


def _import_limits(table: Mapping, fail) -> Limits:
    """`[import]`: the caps an office may raise for its own long documents."""
    default = DEFAULT_LIMITS
    sections = number(table, "max_sections", default.sections, "import.max_sections", fail, 1)
    posts = number(table, "max_posts", default.posts, "import.max_posts", fail, 1)
    text_mb = number(table, "max_text_mb", default.text_bytes / MB, "import.max_text_mb",
                     fail, 0.01)
    return replace_fields(default, sections=int(sections), posts=int(posts),
                          text_bytes=int(text_mb * MB))


def _parse_account(entry, key: str, timezone: ZoneInfo, fail) -> AccountConfig:
    if not isinstance(entry, dict):
        raise fail(key, "must be a table", "write each account as [[accounts]]")
    name = entry.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise fail(f"{key}.name", f"{name!r} is not a usable account name",
                   "use letters, digits, '-', '_' or '.', e.g. \"office-x\"")
    platform = entry.get("platform")
    if platform not in registry.names():
        raise fail(f"{key}.platform", f"unknown platform {platform!r}",
                   "use " + " or ".join(f'"{n}"' for n in registry.names()))
    spec = registry.spec(platform)
    handle = entry.get("handle")
    if not isinstance(handle, str) or not handle.strip():
        raise fail(f"{key}.handle", "missing", f"give {spec.handle}")
    handle = handle.strip().lstrip("@")
    if (problem := spec.handle_problem(handle)) is not None:
        raise fail(f"{key}.handle", problem, f"give {spec.handle}")
    api_url = entry.get("api_url", spec.api_url)
    if not isinstance(api_url, str) or not re.match(r"https?://[^/\s]+", api_url):
        raise fail(f"{key}.api_url", f"{api_url!r} is not an http(s) URL",
                   'use e.g. "http://127.0.0.1:8765" or leave it out for the real API')
    slots = entry.get("slots", [])
    if not isinstance(slots, list) or not all(isinstance(s, str) for s in slots):
        raise fail(f"{key}.slots", "must be a list of cron strings",
                   'write e.g. ["0 9 * * mon-fri"]')
    for slot in slots:
        try:
            CronTrigger.from_crontab(slot, timezone=timezone)
        except ValueError as exc:
            raise fail(f"{key}.slots", f"bad cron expression {slot!r} ({exc})",
                       'use five fields: minute hour day month weekday, e.g. "0 9 * * mon-fri"'
                       ) from None
    hashtags = entry.get("hashtags", [])
    if not isinstance(hashtags, list) or not all(
        isinstance(h, str) and re.fullmatch(r"#?\w+", h) for h in hashtags
    ):
        raise fail(f"{key}.hashtags", "must be a list of single-word hashtags",
                   'write e.g. ["#DefeatDaesh"]')
    hashtags = ["#" + h.lstrip("#") for h in hashtags]
    options = {}
    for option in spec.options:
        value = entry.get(option.key, option.default)
        if (problem := option.check(value)) is not None:
            raise fail(f"{key}.{option.key}", problem, option.fix)
        options[option.key] = value
    default = spec.budget(options)
    budget = Budget(int(number(entry, "budget_posts", default.posts, f"{key}.budget_posts",
                               fail, 1)),
                    int(number(entry, "budget_window_seconds", default.window_seconds,
                               f"{key}.budget_window_seconds", fail, 1)))
    links = entry.get("links", "as-written")
    if links not in LINK_PLACEMENTS:
        raise fail(f"{key}.links", f"unknown link placement {links!r}",
                   'use "as-written" or "first-part"')
    timeout = number(entry, "timeout_seconds", 30.0, f"{key}.timeout_seconds", fail, 0.1)
    language = entry.get("language", "en")
    if language not in LANGUAGES:
        raise fail(f"{key}.language", f"unknown language {language!r}",
                   'use "en" (English) or "ar" (Arabic)')
    return AccountConfig(name=name, platform=platform, handle=handle,
                         api_url=api_url.rstrip("/"), timeout_seconds=timeout, options=options,
                         slots=tuple(slots), hashtags=tuple(hashtags), budget=budget,
                         links=links, language=language)


def _proxies(web: Mapping, fail) -> tuple[str, ...]:
    import ipaddress

    value = web.get("trusted_proxies", [])
    fix = 'list the proxy addresses, e.g. ["127.0.0.1"] or ["10.0.0.0/8"]; [] trusts none'
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise fail("web.trusted_proxies", f"{value!r} is not a list of addresses", fix)
    for entry in value:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise fail("web.trusted_proxies", f"{entry!r} is not an IP address or network",
                       fix) from None
    return tuple(value)


def _table(raw: Mapping, name: str, fail) -> Mapping:
    value = raw.get(name, {})
    if not isinstance(value, dict):
        raise fail(name, "must be a table", f"write it as [{name}]")
    return value


#: A step's name: what `factpost user set NAME --step` and the Approvals page show.
STEP_NAME = re.compile(r"[a-z][a-z0-9-]{0,49}")


def _steps(review: Mapping, fail) -> tuple[str, ...]:
    """`[review] steps`: the steps of clearance in order, each named once."""
    steps = review.get("steps", [])
    if not isinstance(steps, list) or not all(isinstance(step, str) for step in steps):
        raise fail("review.steps", f"{steps!r} is not a list of step names",
                   'write e.g. steps = ["legal", "public-affairs"]')
    for step in steps:
        if not STEP_NAME.fullmatch(step):
            raise fail("review.steps", f"{step!r} is not a step name",
                       "use lower-case letters, digits and hyphens, starting with a letter "
                       '(at most 50), e.g. "public-affairs"')
        if steps.count(step) > 1:
            raise fail("review.steps", f"step {step!r} is named twice",
                       "name each step once, in the order posts are cleared")
    return tuple(steps)


def _bool(table: Mapping, name: str, key: str, fail) -> bool:
    value = table.get(name, False)
    if not isinstance(value, bool):
        raise fail(key, f"{value!r} is not true or false", "write true or false")
    return value


def _resolve_sqlite_path(url: str, base: Path) -> str:
    # A relative SQLite path means "next to the config file", not "wherever the daemon was
    # started from": an operator running from another directory must not get a fresh empty db.
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        return prefix + str((base / url[len(prefix):]).resolve())
    return url
