"""HTTP plumbing shared by the publishers: one `requests` session per account that sends the
platform's traffic to the account's `api_url` with a timeout, and the sorting of raw
`requests` failures into the publisher error classes.

tweepy's Client hard-codes https://api.twitter.com and sets no timeout (a hung connection would
block the daemon forever); facebook-sdk hard-codes https://graph.facebook.com. Both let us pass
the `requests` session, so the redirect and the timeout live in a transport adapter mounted on
it, and no library code is patched.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NameResolutionError, NewConnectionError

from scheduler.config import AccountConfig
from scheduler.publishers.base import Ambiguous, PublishError, Retryable

# Libraries that log secrets at DEBUG: tweepy logs request headers (the OAuth header), urllib3
# and requests log URLs (facebook-sdk puts access_token in the query string), oauthlib logs
# signature base strings. Their DEBUG output never reaches a handler.
CHATTY_LOGGERS = ("tweepy", "urllib3", "requests", "requests_oauthlib", "oauthlib", "facebook")
for _name in CHATTY_LOGGERS:
    logging.getLogger(_name).setLevel(logging.INFO)


class BaseURLAdapter(HTTPAdapter):
    """Rewrites `default_base` to `target_base` and applies a timeout to every request."""

    def __init__(self, default_base: str, target_base: str, timeout: float) -> None:
        # No automatic retries: whether a request may be sent again is the dispatcher's call.
        super().__init__(max_retries=0)
        self.default_base = default_base.rstrip("/")
        self.target_base = target_base.rstrip("/")
        self.timeout = timeout

    def send(self, request: requests.PreparedRequest, **kwargs) -> requests.Response:
        if request.url and request.url.startswith(self.default_base):
            request.url = self.target_base + request.url[len(self.default_base):]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


def api_session(account: AccountConfig, default_base: str) -> requests.Session:
    """A session for one account's API traffic."""
    session = requests.Session()
    adapter = BaseURLAdapter(default_base, account.api_url, account.timeout_seconds)
    session.mount(default_base.rstrip("/") + "/", adapter)
    if account.api_url.rstrip("/") != default_base.rstrip("/"):
        session.mount(account.api_url.rstrip("/") + "/", adapter)
    if is_loopback(account.api_url):
        # HTTP(S)_PROXY from the environment must not carry emulator traffic off the machine.
        session.trust_env = False
    return session


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Redactor:
    """Removes known secret values, and anything shaped like a token parameter, from text."""

    _PARAMS = re.compile(r"((?:access_token|oauth_[a-z_]+|client_secret)=)[^&\s'\",]+", re.I)

    def __init__(self, secrets: Iterable[str]) -> None:
        self._secrets = sorted((s for s in secrets if s), key=len, reverse=True)

    def __call__(self, text: str | None) -> str | None:
        if text is None:
            return None
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return self._PARAMS.sub(r"\1[redacted]", text)


def sort_transport_error(exc: requests.RequestException, *, creating: bool,
                         redact: Redactor, platform: str) -> PublishError:
    """A `requests` failure as a publisher error. `creating`: the request creates a post, so
    a failure after it was sent may have published it."""
    message = redact(f"{type(exc).__name__}: {exc}")
    if isinstance(exc, requests.ConnectTimeout) or _never_connected(exc):
        return Retryable(f"{platform} could not be reached; factpost will try again",
                         code="connection", message=message)
    if not creating:
        return Retryable(f"{platform} did not answer; factpost will try again",
                         code="transport", message=message)
    if isinstance(exc, requests.ReadTimeout):
        return Ambiguous(f"{platform} did not answer in time; the post may or may not be "
                         "live, so factpost will check the account before trying again",
                         code="timeout", message=message)
    return Ambiguous(f"the connection to {platform} broke after the post was sent; factpost "
                     "will check the account before trying again", code="connection_lost",
                     message=message)


def _never_connected(exc: BaseException) -> bool:
    seen = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, NewConnectionError | NameResolutionError | ConnectionRefusedError):
            return True
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            current = reason
            continue
        args = [a for a in getattr(current, "args", ()) if isinstance(a, BaseException)]
        current = args[0] if args else (current.__cause__ or current.__context__)
    return False
