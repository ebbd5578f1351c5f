"""HTTP plumbing shared by the publishers: one `requests` session per account that sends the
platform's traffic to the account's `api_url` with a timeout, the sorting of raw `requests`
failures into the publisher error classes, and secrets kept out of messages and logs.

Client libraries hard-code their platform's address and often set no timeout (a hung
connection would block the daemon forever); those factpost uses let us pass the `requests`
session, so the redirect and the timeout live in a transport adapter mounted on it, and no
library code is patched.
"""

from __future__ import annotations

import base64
import ipaddress
import logging
import re
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING
from urllib.parse import quote, quote_plus, urlsplit

from scheduler.platforms.base import Account, Ambiguous, PublishError, Retryable

if TYPE_CHECKING:  # requests loads with the first session, not with every command
    import requests


def quiet(*loggers: str) -> None:
    """Keep these libraries' DEBUG output, which holds headers and URLs (and so secrets),
    from ever reaching a handler. Each platform module names its client's loggers."""
    for name in loggers:
        logging.getLogger(name).setLevel(logging.INFO)


# urllib3 and requests log request URLs, which may carry a token in the query string.
quiet("urllib3", "requests")


@cache
def _adapter_class() -> type:
    """`BaseURLAdapter`: made on first use, so that importing this module (as every platform
    spec does) does not load requests."""
    from requests.adapters import HTTPAdapter

    class BaseURLAdapter(HTTPAdapter):
        """Rewrites `default_base` to `target_base` and applies a timeout to every request."""

        def __init__(self, default_base: str, target_base: str, timeout: float) -> None:
            # No automatic retries: whether a request may be sent again is the dispatcher's.
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

    return BaseURLAdapter


def api_session(account: Account, default_base: str) -> requests.Session:
    """A session for one account's API traffic."""
    import requests

    session = requests.Session()
    adapter = _adapter_class()(default_base, account.api_url, account.timeout_seconds)
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
    """Removes known secret values, and anything shaped like a token parameter, from text.

    A platform or a library may echo a secret transformed: upper- or lower-cased,
    percent-encoded (a query string), or base64-encoded (HTTP Basic authentication, a token
    inside a JSON blob). Each secret is matched in all of these forms; a base64 echo of a
    longer string that contains the secret is found too, whatever the secret's offset in it
    (the three alignments of base64, as secret scanners do)."""

    _PARAMS = re.compile(r"((?:access_token|oauth_[a-z_]+|client_secret)=)[^&\s'\",]+", re.I)
    #: Shorter values are not worth hunting in other forms (they would match ordinary words).
    _MIN_TRANSFORMED = 8

    def __init__(self, secrets: Iterable[str]) -> None:
        exact: set[str] = set()
        folded: set[str] = set()
        for secret in (s for s in secrets if s):
            exact.add(secret)
            if len(secret) < self._MIN_TRANSFORMED:
                continue
            folded.update({secret, quote(secret, safe=""), quote_plus(secret)})
            exact.update(_base64_forms(secret.encode("utf-8")))
        by_length = lambda values: sorted(values, key=len, reverse=True)  # noqa: E731
        self._exact = by_length(exact)
        self._folded = (re.compile("|".join(re.escape(v) for v in by_length(folded)),
                                   re.IGNORECASE) if folded else None)

    def __call__(self, text: str | None) -> str | None:
        if text is None:
            return None
        if self._folded is not None:
            text = self._folded.sub("[redacted]", text)
        for secret in self._exact:
            text = text.replace(secret, "[redacted]")
        return self._PARAMS.sub(r"\1[redacted]", text)


def _base64_forms(secret: bytes) -> set[str]:
    """The runs of base64 (standard and URL-safe) that encode `secret` wherever it sits in a
    longer string: for each of the three offsets, the characters that depend only on the
    secret's own bytes."""
    forms = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + secret).decode("ascii")
        start = -(-offset * 4 // 3)  # characters that also encode the padding bytes
        end = (offset + len(secret)) * 4 // 3  # characters wholly inside the secret
        core = encoded[start:end]
        if len(core) >= 8:
            forms.update({core, core.replace("+", "-").replace("/", "_")})
    return forms


def sort_transport_error(exc: requests.RequestException, *, creating: bool,
                         redact: Redactor, platform: str) -> PublishError:
    """A `requests` failure as a publisher error. `creating`: the request creates a post, so
    a failure after it was sent may have published it."""
    import requests

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
    from urllib3.exceptions import NameResolutionError, NewConnectionError

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
