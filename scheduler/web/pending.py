"""Import reviews waiting for "Queue these posts": the parsed document and the plan the review
page showed, kept in the web process for the user who asked, so that confirming stores exactly
that plan without the document being sent, or read, a second time.

A review is kept for `ttl_seconds` (30 minutes) and only for the user who made it; each user
has at most `per_user` reviews open and the process at most `total`, the oldest dropped first,
so held documents stay within a few times the upload limit per user. A review is lost when the
web process restarts: the user is told to upload the file again.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from scheduler.errors import FactpostError
from scheduler.importing import ImportPlan
from scheduler.reading import LoadedDocument


class ReviewExpired(FactpostError):
    """The review a confirmation names is not held any more (expired, replaced, or the web
    process restarted)."""


@dataclass
class PendingImport:
    """One review: what was read, what the user chose, and the plan shown."""

    user: str
    name: str
    loaded: LoadedDocument
    #: The form's choices: accounts, schedule, at, every, images.
    fields: dict
    plan: ImportPlan
    created: float = field(default_factory=time.monotonic)


class PendingImports:
    """Reviews by token; safe to use from the web's worker threads."""

    def __init__(self, *, ttl_seconds: float = 1800, per_user: int = 5, total: int = 50) -> None:
        self.ttl = ttl_seconds
        self.per_user = per_user
        self.total = total
        self._items: OrderedDict[str, PendingImport] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, pending: PendingImport) -> str:
        """Keep `pending`; returns the token its confirmation form carries."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._expire()
            mine = [t for t, p in self._items.items() if p.user == pending.user]
            for old in mine[:max(0, len(mine) - self.per_user + 1)]:
                del self._items[old]
            while len(self._items) >= self.total:
                self._items.popitem(last=False)
            self._items[token] = pending
        return token

    def get(self, token: str, user: str) -> PendingImport:
        """The review `token` names, made by `user`. Raises ReviewExpired otherwise (another
        user's token is answered as an unknown one)."""
        with self._lock:
            self._expire()
            pending = self._items.get(token)
        if pending is None or pending.user != user:
            raise ReviewExpired("this review has expired (reviews are kept 30 minutes) or was "
                                "replaced by a newer one; upload the fact sheet again")
        return pending

    def replace(self, token: str, pending: PendingImport) -> None:
        """Keep the newer plan under the same token (the review was shown again)."""
        with self._lock:
            if token in self._items:
                self._items[token] = pending

    def discard(self, token: str) -> None:
        with self._lock:
            self._items.pop(token, None)

    def _expire(self) -> None:
        cutoff = time.monotonic() - self.ttl
        while self._items:
            token, oldest = next(iter(self._items.items()))
            if oldest.created >= cutoff:
                break
            del self._items[token]
