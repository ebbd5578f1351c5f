"""X's published terms as the emulated X bills and limits: its pay-per-use prices
(https://docs.x.com/x-api/getting-started/pricing) and its posting limits
(https://docs.x.com/x-api/fundamentals/rate-limits), read 2026-11-29.

The emulator keeps its own copy rather than reading factpost's (scheduler/platforms/x_terms.py):
a double that read the product's table would agree with any mistake in it. The spend tests hold
the two side by side, the ledger factpost keeps against the bill the emulator keeps.
"""

from __future__ import annotations

import hashlib

from posts.weight import find_urls

# Operations, named as X's price list names them (and as factpost's ledger does).
POST_CREATE = "post_create"
POST_CREATE_WITH_URL = "post_create_with_url"
POST_DELETE = "post_delete"
POST_READ = "post_read"
USER_READ = "user_read"
MEDIA_UPLOAD = "media_upload"
MEDIA_METADATA = "media_metadata"

#: Micro-dollars per request (writes) or per resource returned (reads). X lists no price for
#: POST /2/media/upload.
MICROS = {POST_CREATE: 15_000, POST_CREATE_WITH_URL: 200_000, POST_DELETE: 10_000,
          POST_READ: 5_000, USER_READ: 10_000, MEDIA_UPLOAD: 0, MEDIA_METADATA: 5_000}

#: POST /2/tweets under pay-per-use: per user, and per app, as (requests, window seconds).
USER_POST_LIMIT = (100, 900)
APP_POST_LIMIT = (10_000, 86_400)


def create_operation(text: str) -> str:
    """A create is priced as one with a URL when its text holds a link, as twitter-text finds
    links (the detection X's own counting uses)."""
    return POST_CREATE_WITH_URL if find_urls(text) else POST_CREATE


def app_name(consumer_key: str) -> str:
    """The app a bill entry is for: a short SHA-256 of its consumer key, the name factpost's
    ledger gives it, so the two can be compared."""
    return hashlib.sha256(consumer_key.encode("utf-8")).hexdigest()[:12]
