"""`[alerts]` in config.toml: the channels alerts go to and which events go to each.

    [alerts]
    heartbeat_stale_seconds = 300        # a daemon silent this long is reported lost
    [alerts.email.duty]                  # a channel named "duty"
    host = "smtp.office.gov"
    port = 587
    security = "starttls"                # "starttls", "ssl", or "none" (loopback hosts only)
    username = "factpost"
    password_env = "FACTPOST_SMTP_PASSWORD"
    from = "factpost@office.gov"
    to = ["duty-officer@office.gov"]
    [alerts.webhook.ops]                 # a channel named "ops"
    url = "https://ops.office.gov/hooks/factpost"
    secret_env = "FACTPOST_WEBHOOK_SECRET"
    [alerts.events.post_failed]
    send_to = ["duty", "ops"]
    digest_minutes = 30                  # one message for everything within 30 minutes

Secrets (the SMTP password, the webhook's signing key) are never in the file: it names the
environment variables that hold them, read when a deliverer starts (scheduler/alerts/).
Nothing here imports the config module (which reads this one): it is given the `fail` that
builds the config's errors.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from db.alerts import KINDS, Route
from scheduler.platforms.spec import number

SECURITIES = ("starttls", "ssl", "none")
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+")
_CHANNEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class EmailChannel:
    """Mail through an SMTP server. `security`: "starttls" (upgrade a plain connection, port
    587), "ssl" (TLS from the start, port 465) or "none" (only to a loopback host)."""

    name: str
    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    security: str = "starttls"
    username: str | None = None
    #: The environment variable holding the password (never the password itself).
    password_env: str | None = None
    #: A CA bundle to trust instead of the system's (a private mail server).
    ca_file: str | None = None
    timeout_seconds: float = 30.0


@dataclass(frozen=True)
class WebhookChannel:
    """A JSON POST signed with HMAC-SHA256 (README, "Alerts"); any 2xx answer is delivery."""

    name: str
    url: str
    #: The environment variable holding the signing key (never the key itself).
    secret_env: str
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class AlertSettings:
    channels: Mapping[str, EmailChannel | WebhookChannel] = field(default_factory=dict)
    #: By event kind (db/alerts.py KINDS): where it goes, and its digest window.
    routes: Mapping[str, Route] = field(default_factory=dict)
    #: A daemon whose heartbeat is older than this (and that did not say it stopped) is lost;
    #: /healthz calls the daemons unhealthy likewise.
    heartbeat_stale_seconds: float = 300.0
    #: A failed send is tried again after 15-30 s, doubling each time, up to an hour.
    retry_base_seconds: float = 30.0
    retry_max_seconds: float = 3_600.0
    #: How often a deliverer looks for events to observe and deliveries to send.
    check_seconds: float = 10.0

    @property
    def enabled(self) -> bool:
        """Whether any event goes anywhere."""
        return any(route.channels for route in self.routes.values())


def parse_alerts(raw: object, fail) -> AlertSettings:
    """The `[alerts]` table, checked; `fail(key, problem, fix)` builds the error raised
    (scheduler.config's ConfigError)."""
    if not isinstance(raw, dict):
        raise fail("alerts", "must be a table", "write it as [alerts]")
    channels: dict[str, EmailChannel | WebhookChannel] = {}
    for kind, parse in (("email", _email), ("webhook", _webhook)):
        table = raw.get(kind, {})
        if not isinstance(table, dict):
            raise fail(f"alerts.{kind}", "must be a table of channels",
                       f"write each channel as [alerts.{kind}.NAME]")
        for name, entry in table.items():
            key = f"alerts.{kind}.{name}"
            if not _CHANNEL.fullmatch(name):
                raise fail(key, f"{name!r} is not a usable channel name",
                           "use letters, digits, '-', '_' or '.'")
            if name in channels:
                raise fail(key, f"channel {name!r} is defined twice",
                           "give every e-mail and webhook channel its own name")
            if not isinstance(entry, dict):
                raise fail(key, "must be a table", f"write it as [{key}]")
            channels[name] = parse(entry, name, key, fail)
    events = raw.get("events", {})
    if not isinstance(events, dict):
        raise fail("alerts.events", "must be a table", "write each as [alerts.events.KIND]")
    routes = {}
    for kind, entry in events.items():
        key = f"alerts.events.{kind}"
        if kind not in KINDS:
            raise fail(key, f"unknown event {kind!r}", "use one of " + ", ".join(KINDS))
        if not isinstance(entry, dict):
            raise fail(key, "must be a table", f"write it as [{key}]")
        send_to = entry.get("send_to", [])
        if not isinstance(send_to, list) or not all(isinstance(c, str) for c in send_to):
            raise fail(f"{key}.send_to", "must be a list of channel names",
                       'write e.g. ["duty", "ops"]')
        for channel in send_to:
            if channel not in channels:
                known = ", ".join(channels) or "none defined"
                raise fail(f"{key}.send_to", f"no channel named {channel!r} (known: {known})",
                           "define it as [alerts.email.NAME] or [alerts.webhook.NAME]")
        digest = number(entry, "digest_minutes", 0, f"{key}.digest_minutes", fail, 0)
        routes[kind] = Route(tuple(dict.fromkeys(send_to)), digest * 60.0)
    stale = number(raw, "heartbeat_stale_seconds", 300, "alerts.heartbeat_stale_seconds",
                   fail, 5)
    base = number(raw, "retry_base_seconds", 30, "alerts.retry_base_seconds", fail, 0.01)
    ceiling = number(raw, "retry_max_seconds", 3_600, "alerts.retry_max_seconds", fail, base)
    check = number(raw, "check_seconds", 10, "alerts.check_seconds", fail, 0.05)
    return AlertSettings(channels, routes, stale, base, ceiling, check)


def _email(entry: Mapping, name: str, key: str, fail) -> EmailChannel:
    host = entry.get("host")
    if not isinstance(host, str) or not host.strip():
        raise fail(f"{key}.host", "missing", 'give the SMTP server, e.g. "smtp.office.gov"')
    security = entry.get("security", "starttls")
    if security not in SECURITIES:
        raise fail(f"{key}.security", f"unknown security {security!r}",
                   'use "starttls" (port 587), "ssl" (port 465) or "none" (loopback only)')
    if security == "none" and not _loopback(host):
        raise fail(f"{key}.security", f'"none" would send mail (and any password) to {host} '
                   "in clear text", 'use "starttls" or "ssl"; "none" is for a relay on this '
                   "machine (127.0.0.1)")
    port = int(number(entry, "port", {"ssl": 465, "starttls": 587}.get(security, 25),
                      f"{key}.port", fail, 1))
    sender = entry.get("from")
    if not isinstance(sender, str) or not _ADDRESS.fullmatch(sender):
        raise fail(f"{key}.from", f"{sender!r} is not an e-mail address",
                   'write e.g. from = "factpost@office.gov"')
    recipients = entry.get("to")
    if (not isinstance(recipients, list) or not recipients
            or not all(isinstance(r, str) and _ADDRESS.fullmatch(r) for r in recipients)):
        raise fail(f"{key}.to", "must be a list of e-mail addresses",
                   'write e.g. to = ["duty-officer@office.gov"]')
    username = entry.get("username")
    if username is not None and (not isinstance(username, str) or not username):
        raise fail(f"{key}.username", "must be a name", "write it as text or leave it out")
    if "password" in entry:
        raise fail(f"{key}.password", "a password does not belong in the config file",
                   "put it in an environment variable and name that in password_env")
    password_env = _env_name(entry, "password_env", key, fail)
    if (username is None) != (password_env is None):
        raise fail(f"{key}.password_env" if username else f"{key}.username",
                   "username and password_env go together",
                   "give both to sign in to the server, or neither")
    ca_file = entry.get("ca_file")
    if ca_file is not None and (not isinstance(ca_file, str) or not ca_file):
        raise fail(f"{key}.ca_file", "must be a file path", "write it as text or leave it out")
    timeout = number(entry, "timeout_seconds", 30.0, f"{key}.timeout_seconds", fail, 0.1)
    return EmailChannel(name, host.strip(), port, sender, tuple(recipients), security,
                        username, password_env, ca_file, timeout)


def _webhook(entry: Mapping, name: str, key: str, fail) -> WebhookChannel:
    url = entry.get("url")
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("https", "http") or not parts.hostname:
        raise fail(f"{key}.url", f"{url!r} is not an http(s) URL",
                   'write e.g. url = "https://ops.office.gov/hooks/factpost"')
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise fail(f"{key}.url", f"{url} would carry alerts in clear text",
                   "use https; plain http is for a receiver on this machine (127.0.0.1)")
    if "secret" in entry:
        raise fail(f"{key}.secret", "a signing key does not belong in the config file",
                   "put it in an environment variable and name that in secret_env")
    secret_env = _env_name(entry, "secret_env", key, fail)
    if secret_env is None:
        raise fail(f"{key}.secret_env", "missing",
                   'name the environment variable with the signing key, e.g. '
                   '"FACTPOST_WEBHOOK_SECRET"')
    timeout = number(entry, "timeout_seconds", 10.0, f"{key}.timeout_seconds", fail, 0.1)
    return WebhookChannel(name, url, secret_env, timeout)


def _env_name(entry: Mapping, name: str, key: str, fail) -> str | None:
    value = entry.get(name)
    if value is not None and (not isinstance(value, str) or not _ENV_NAME.fullmatch(value)):
        raise fail(f"{key}.{name}", f"{value!r} is not an environment variable name",
                   'write e.g. "FACTPOST_SMTP_PASSWORD" (upper case, digits, "_")')
    return value


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
