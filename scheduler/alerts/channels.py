"""Sending one message to one channel: e-mail through SMTP, or a signed webhook.

A message carries one or more events (a digest carries many). Both senders raise
`DeliveryFailed` with a line that names the channel and the cause, never a secret; the
deliverer records it and tries again later.

Webhook signature: the POST carries `X-Factpost-Timestamp` (Unix seconds) and
`X-Factpost-Signature: sha256=HEX`, HEX being the HMAC-SHA256, keyed with the channel's secret,
of the timestamp, a full stop and the raw body (`signature`). A receiver recomputes it over the
bytes it received, compares in constant time, and refuses a timestamp more than five minutes
from its own clock, so a captured request cannot be replayed later; each event's `id` lets it
drop a message it has already seen (a deliverer that died between sending and recording sends
again). The same scheme as Stripe's (https://docs.stripe.com/webhooks#verify-manually) and
GitHub's `X-Hub-Signature-256`
(https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import ssl
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from db.alerts import Claimed
from posts.errors import FactpostError
from scheduler.alert_settings import EmailChannel, WebhookChannel

SIGNATURE_HEADER = "X-Factpost-Signature"
TIMESTAMP_HEADER = "X-Factpost-Timestamp"
#: How far a receiver should let a signed timestamp stray from its own clock.
REPLAY_WINDOW_SECONDS = 300


class DeliveryFailed(FactpostError):
    """A channel did not take a message; the message names the channel and why."""


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """The `X-Factpost-Signature` value for `body` sent at `timestamp` (Unix seconds)."""
    digest = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(secret: bytes, timestamp: str, signed: str, body: bytes, *, now: float) -> bool:
    """What a receiver checks: the signature matches and the timestamp is within
    REPLAY_WINDOW_SECONDS of `now` (Unix seconds)."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent) > REPLAY_WINDOW_SECONDS:
        return False
    return hmac.compare_digest(signature(secret, sent, body), signed)


def subject_of(events: Sequence[Claimed]) -> str:
    if len(events) == 1:
        return f"[factpost] {events[0].subject}"
    kinds = Counter(e.kind.replace("_", " ") for e in events)
    return f"[factpost] {len(events)} alerts: " + ", ".join(
        f"{n} {kind}" for kind, n in sorted(kinds.items()))


def text_of(events: Sequence[Claimed]) -> str:
    parts = []
    for e in events:
        parts.append(f"{e.at:%Y-%m-%d %H:%M:%S} UTC  {e.subject}\n{e.detail}\n"
                     f"(alert {e.event_id}, {e.kind})")
    return "\n\n".join(parts) + "\n"


def payload(events: Sequence[Claimed], sent_at: datetime) -> bytes:
    """The webhook's JSON body."""
    return json.dumps({"sent_at": sent_at.isoformat(), "alerts": [
        {"id": e.event_id, "kind": e.kind, "at": e.at.isoformat(), "subject": e.subject,
         "detail": e.detail, "post_id": e.post_id, "account": e.account} for e in events]},
        ensure_ascii=False).encode()


def send_email(channel: EmailChannel, password: str | None, events: Sequence[Claimed]) -> None:
    """One message with every event to the channel's recipients. Raises DeliveryFailed."""
    now = datetime.now(UTC)
    message = EmailMessage()
    message["Subject"] = subject_of(events)
    message["From"] = channel.sender
    message["To"] = ", ".join(channel.recipients)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=channel.sender.rpartition("@")[2])
    message["X-Factpost-Alerts"] = ",".join(str(e.event_id) for e in events)
    message.set_content(text_of(events))
    context = ssl.create_default_context(cafile=channel.ca_file)
    try:
        if channel.security == "ssl":
            smtp = smtplib.SMTP_SSL(channel.host, channel.port, timeout=channel.timeout_seconds,
                                    context=context)
        else:
            smtp = smtplib.SMTP(channel.host, channel.port, timeout=channel.timeout_seconds)
        with smtp:
            if channel.security == "starttls":
                smtp.starttls(context=context)
            if channel.username is not None:
                smtp.login(channel.username, password or "")
            smtp.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryFailed(f"e-mail channel {channel.name}: {channel.host} refused the "
                             f"sign-in of {channel.username} ({exc.smtp_code}); check "
                             f"{channel.password_env}") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryFailed(f"e-mail channel {channel.name}: {channel.host}:{channel.port} "
                             f"did not take the message ({_describe(exc)})") from None


def send_webhook(channel: WebhookChannel, secret: str, events: Sequence[Claimed], *,
                 session=None) -> None:
    """POST the events, signed, to the channel's URL; any 2xx is delivery (a redirect is
    not followed: the signature is for this URL). Raises DeliveryFailed."""
    import requests

    # The wall clock, whatever clock the outbox is run by: the receiver checks it against
    # its own to refuse a replay.
    now = datetime.now(UTC)
    body = payload(events, now)
    timestamp = int(now.timestamp())
    headers = {"Content-Type": "application/json", "User-Agent": "factpost-alerts",
               TIMESTAMP_HEADER: str(timestamp),
               SIGNATURE_HEADER: signature(secret.encode(), timestamp, body)}
    http = session or requests
    try:
        answer = http.post(channel.url, data=body, headers=headers,
                           timeout=channel.timeout_seconds, allow_redirects=False)
    except requests.RequestException as exc:
        raise DeliveryFailed(f"webhook {channel.name}: no answer from the receiver "
                             f"({type(exc).__name__})") from None
    if not 200 <= answer.status_code < 300:
        raise DeliveryFailed(f"webhook {channel.name}: the receiver answered "
                             f"{answer.status_code}")


def _describe(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {exc.smtp_error.decode(errors='replace')[:200]}"
    return type(exc).__name__ + (f": {exc.strerror}" if getattr(exc, "strerror", None) else "")
