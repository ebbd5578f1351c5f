"""Loading and checking `config.toml`, and reading account secrets from the environment.

Secrets never live in the file: each account's credentials come from environment variables
`FACTPOST_<NAME>_<FIELD>` (NAME upper-cased, non-alphanumerics as `_`). Everything is checked
when the config is loaded, so a bad file fails at start-up with one line naming the file, the
key and the fix.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

from posts.errors import FactpostError
from posts.states import Review
from scheduler.publishers import graph_versions, x_terms

PLATFORMS = ("x", "facebook")
LANGUAGES = ("en", "ar")
CREDENTIAL_FIELDS = {
    "x": ("CONSUMER_KEY", "CONSUMER_SECRET", "ACCESS_TOKEN", "ACCESS_TOKEN_SECRET"),
    "facebook": ("PAGE_TOKEN",),
}
DEFAULT_API_URLS = {"x": "https://api.twitter.com", "facebook": "https://graph.facebook.com"}
DEFAULT_GRAPH_VERSION = graph_versions.DEFAULT_VERSION
# X's posting limits (pay-per-use, and the legacy contracts' tiers) live with X's other terms,
# in scheduler/publishers/x_terms.py, with their sources.
X_TIER_BUDGETS = {x_terms.PAY_PER_USE: x_terms.USER_POST_LIMIT, **x_terms.LEGACY_TIERS}
#: How a thread carries its section's links: where the text has them, or all in the first part
#: (on X a post with a link costs 13 times one without, so one such part is the cheaper choice).
LINK_PLACEMENTS = ("as-written", "first-part")
# Facebook documents no fixed post count for Pages; this default keeps a page well under
# the spam heuristics (error 368) while the usage headers do the real pacing.
FACEBOOK_DEFAULT_BUDGET = (50, 3_600)


class ConfigError(FactpostError):
    """The configuration file cannot be used; the message says which key and how to fix it."""


class CredentialsMissing(ConfigError):
    """An account's secrets are not in the environment."""


@dataclass(frozen=True)
class Budget:
    """At most `posts` publishes per `window_seconds`, per account."""

    posts: int
    window_seconds: int


@dataclass(frozen=True)
class AccountConfig:
    name: str
    platform: str
    handle: str
    api_url: str
    slots: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()
    budget: Budget = Budget(*x_terms.USER_POST_LIMIT)
    #: X: "pay-per-use" (the default) or a legacy contract's tier; None on Facebook.
    tier: str | None = None
    graph_version: str = DEFAULT_GRAPH_VERSION
    #: X: "as-written" or "first-part" (see LINK_PLACEMENTS).
    links: str = "as-written"
    timeout_seconds: float = 30.0
    #: The language this account publishes in; decides its side of an English/Arabic pair
    #: and the sentence rules its posts are split by.
    language: str = "en"

    @property
    def env_prefix(self) -> str:
        return "FACTPOST_" + re.sub(r"[^A-Za-z0-9]", "_", self.name).upper() + "_"

    def credential_names(self) -> tuple[str, ...]:
        return tuple(self.env_prefix + f for f in CREDENTIAL_FIELDS[self.platform])

    def credentials(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """The account's secrets, keyed by field in lower case (`consumer_key`, `page_token`)."""
        environ = os.environ if environ is None else environ
        missing = [n for n in self.credential_names() if not environ.get(n)]
        if missing:
            raise CredentialsMissing(
                f"account {self.name!r}: set the environment variable(s) {', '.join(missing)} "
                "(secrets are never read from config.toml)"
            )
        return {f.lower(): environ[self.env_prefix + f] for f in CREDENTIAL_FIELDS[self.platform]}


@dataclass(frozen=True)
class XTerms:
    """The `[x]` table: what the office pays X and how much it lets itself spend."""

    prices: x_terms.Prices = x_terms.DEFAULT
    #: Per X app (consumer key) and calendar month (UTC), in micro-dollars; None: no cap.
    monthly_cap_micros: int | None = None
    #: POST /2/tweets across every account of one app (X's documented per-app limit).
    app_budget: Budget = Budget(*x_terms.APP_POST_LIMIT)


@dataclass(frozen=True)
class Config:
    path: Path
    database_url: str
    timezone: ZoneInfo
    require_approval: bool = False
    two_person_rule: bool = False
    #: Mark the web UI's session cookie Secure (sent over HTTPS only); set behind TLS.
    secure_cookies: bool = False
    #: Addresses (or networks) of reverse proxies whose X-Forwarded-For / X-Forwarded-Proto
    #: the web UI believes; nobody's by default.
    trusted_proxies: tuple[str, ...] = ()
    #: Requests larger than this are refused (413) before anything reads them.
    max_request_bytes: int = 11 * 1024 * 1024
    #: How long a new API token works.
    api_token_days: int = 90
    poll_seconds: float = 5.0
    max_attempts: int = 5
    lease_seconds: int = 120
    retry_base_seconds: float = 30.0
    retry_max_seconds: float = 3_600.0
    accounts: tuple[AccountConfig, ...] = field(default_factory=tuple)
    x: XTerms = field(default_factory=lambda: XTerms())

    @property
    def review(self) -> Review:
        return Review(self.require_approval, self.two_person_rule)

    def account(self, name: str) -> AccountConfig:
        for account in self.accounts:
            if account.name == name:
                return account
        known = ", ".join(a.name for a in self.accounts) or "none configured"
        raise ConfigError(f"{self.path}: no account named {name!r} (known: {known})")


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
    poll = _number(schedule, "poll_seconds", 5.0, "schedule.poll_seconds", fail, minimum=0.05)
    max_attempts = int(_number(schedule, "max_attempts", 5, "schedule.max_attempts", fail, 1))
    lease = int(_number(schedule, "lease_seconds", 120, "schedule.lease_seconds", fail, 2))
    retry_base = _number(schedule, "retry_base_seconds", 30.0, "schedule.retry_base_seconds",
                         fail, 0.01)
    retry_max = _number(schedule, "retry_max_seconds", 3_600.0, "schedule.retry_max_seconds",
                        fail, retry_base)

    review = _table(raw, "review", fail)
    require_approval = _bool(review, "require_approval", "review.require_approval", fail)
    two_person = _bool(review, "two_person_rule", "review.two_person_rule", fail)
    web = _table(raw, "web", fail)
    secure_cookies = _bool(web, "secure_cookies", "web.secure_cookies", fail)
    trusted_proxies = _proxies(web, fail)
    max_request_mb = _number(web, "max_request_mb", 11, "web.max_request_mb", fail, 1)
    token_days = _number(web, "api_token_days", 90, "web.api_token_days", fail, 1)

    x = _parse_x(_table(raw, "x", fail), fail)

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
                  secure_cookies=secure_cookies, trusted_proxies=trusted_proxies,
                  max_request_bytes=int(max_request_mb * 1024 * 1024),
                  api_token_days=int(token_days),
                  poll_seconds=poll, max_attempts=max_attempts, lease_seconds=lease,
                  retry_base_seconds=retry_base, retry_max_seconds=retry_max,
                  accounts=tuple(accounts), x=x)


def _parse_x(table: Mapping, fail) -> XTerms:
    known = {"monthly_spend_usd", "prices", "app_budget_posts", "app_budget_window_seconds"}
    if extra := sorted(set(table) - known):
        raise fail(f"x.{extra[0]}", "unknown key", f"use {', '.join(sorted(known))}")
    cap = table.get("monthly_spend_usd")
    if cap is not None:
        cap = _number(table, "monthly_spend_usd", None, "x.monthly_spend_usd", fail, 0.01)
    prices = table.get("prices", {})
    if not isinstance(prices, dict):
        raise fail("x.prices", "must be a table", "write it as [x.prices]")
    overrides = {}
    for operation, value in prices.items():
        if operation not in x_terms.DEFAULT_PRICES:
            raise fail(f"x.prices.{operation}", "unknown operation",
                       f"use {', '.join(x_terms.DEFAULT_PRICES)}")
        _number(prices, operation, 0, f"x.prices.{operation}", fail, 0)
        overrides[operation] = Decimal(str(value))
    posts = _number(table, "app_budget_posts", x_terms.APP_POST_LIMIT[0], "x.app_budget_posts",
                    fail, 1)
    window = _number(table, "app_budget_window_seconds", x_terms.APP_POST_LIMIT[1],
                     "x.app_budget_window_seconds", fail, 1)
    return XTerms(prices=x_terms.Prices.from_usd(overrides),
                  monthly_cap_micros=(int(Decimal(str(cap)) * x_terms.MICROS)
                                      if cap is not None else None),
                  app_budget=Budget(int(posts), int(window)))


def _parse_account(entry, key: str, timezone: ZoneInfo, fail) -> AccountConfig:
    if not isinstance(entry, dict):
        raise fail(key, "must be a table", "write each account as [[accounts]]")
    name = entry.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise fail(f"{key}.name", f"{name!r} is not a usable account name",
                   "use letters, digits, '-', '_' or '.', e.g. \"office-x\"")
    platform = entry.get("platform")
    if platform not in PLATFORMS:
        raise fail(f"{key}.platform", f"unknown platform {platform!r}", 'use "x" or "facebook"')
    handle = entry.get("handle")
    if not isinstance(handle, str) or not handle.strip():
        raise fail(f"{key}.handle", "missing", "give the X username or the Facebook page id")
    handle = handle.strip().lstrip("@")
    api_url = entry.get("api_url", DEFAULT_API_URLS[platform])
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
    tier, budget = _parse_budget(entry, platform, key, fail)
    graph_version = entry.get("graph_version", DEFAULT_GRAPH_VERSION)
    if not isinstance(graph_version, str) or not graph_versions.is_plausible(graph_version):
        raise fail(f"{key}.graph_version", f"{graph_version!r} is not a Graph API version",
                   f'use e.g. "{DEFAULT_GRAPH_VERSION}" ({graph_versions.VERSIONS_URL})')
    links = entry.get("links", "as-written")
    if links not in LINK_PLACEMENTS:
        raise fail(f"{key}.links", f"unknown link placement {links!r}",
                   'use "as-written" or "first-part"')
    timeout = _number(entry, "timeout_seconds", 30.0, f"{key}.timeout_seconds", fail, 0.1)
    language = entry.get("language", "en")
    if language not in LANGUAGES:
        raise fail(f"{key}.language", f"unknown language {language!r}",
                   'use "en" (English) or "ar" (Arabic)')
    return AccountConfig(name=name, platform=platform, handle=handle,
                         api_url=api_url.rstrip("/"), slots=tuple(slots),
                         hashtags=tuple(hashtags), budget=budget, tier=tier,
                         graph_version=graph_version, links=links, timeout_seconds=timeout,
                         language=language)


def _parse_budget(entry, platform: str, key: str, fail) -> tuple[str | None, Budget]:
    tier = entry.get("tier")
    if platform == "x":
        tier = tier or x_terms.PAY_PER_USE
        if tier not in X_TIER_BUDGETS:
            raise fail(f"{key}.tier", f"unknown X API tier {tier!r}",
                       f'leave it out for X\'s pay-per-use terms, or use "free", "basic" or '
                       f'"pro" for a legacy contract ({x_terms.PRICING_URL})')
        default = X_TIER_BUDGETS[tier]
    else:
        default = FACEBOOK_DEFAULT_BUDGET
    posts = _number(entry, "budget_posts", default[0], f"{key}.budget_posts", fail, 1)
    window = _number(entry, "budget_window_seconds", default[1],
                     f"{key}.budget_window_seconds", fail, 1)
    return tier, Budget(int(posts), int(window))


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


def _number(table: Mapping, name: str, default, key: str, fail, minimum) -> float:
    value = table.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise fail(key, f"{value!r} is not a number >= {minimum}", f"set a number >= {minimum}")
    return value


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
