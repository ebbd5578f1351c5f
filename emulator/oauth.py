"""Checking OAuth 1.0a HMAC-SHA1 signatures the way X does (RFC 5849, section 3.4).

https://docs.x.com/resources/fundamentals/authentication/oauth-1-0a/creating-a-signature
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from types import SimpleNamespace

from oauthlib.oauth1.rfc5849 import signature, utils


def oauth_params(authorization: str) -> dict[str, str] | None:
    """The decoded parameters of an `Authorization: OAuth ...` header, or None if it is not
    one."""
    if not authorization.startswith("OAuth "):
        return None
    try:
        return {k: utils.unescape(v) for k, v in utils.parse_authorization_header(authorization)}
    except ValueError:
        return None


def signature_matches(*, method: str, urls: Iterable[str], query: str, form_body: str | None,
                      authorization: str, consumer_secret: str, token_secret: str) -> bool:
    """True when the header's signature verifies for any of `urls` (the same request may
    have been signed for the real host and then sent here)."""
    params = oauth_params(authorization) or {}
    sent = params.get("oauth_signature", "")
    if params.get("oauth_signature_method") != "HMAC-SHA1" or not sent:
        return False
    collected = signature.collect_parameters(
        uri_query=query, body=form_body or [], headers={"Authorization": authorization})
    normalized = signature.normalize_parameters(collected)
    secrets = SimpleNamespace(client_secret=consumer_secret, resource_owner_secret=token_secret)
    for url in urls:
        try:
            base_uri = signature.base_string_uri(url)
        except ValueError:  # no usable Host header
            continue
        base = signature.signature_base_string(method, base_uri, normalized)
        expected = signature.sign_hmac_sha1_with_client(base, secrets)
        if hmac.compare_digest(expected, sent):
            return True
    return False
