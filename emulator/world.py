"""What every emulated platform shares: one lock over all state, the emulator's clock, the
request log, uploaded images, the bill of platforms that bill per request, and rate-limit
windows. Each platform's own accounts and posts live in its module (x.py, facebook.py)."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

DAY_SECONDS = 86_400


class Window:
    """A fixed rate-limit window: at most `limit` hits until `reset_at`, then a fresh one."""

    def __init__(self, limit: int, seconds: int) -> None:
        self.limit = limit
        self.seconds = seconds
        self.count = 0
        self.reset_at = 0.0

    def _roll(self, now: float) -> None:
        if now >= self.reset_at:
            self.count = 0
            self.reset_at = now + self.seconds

    def exhausted(self, now: float) -> bool:
        self._roll(now)
        return self.count >= self.limit

    def hit(self, now: float) -> None:
        self._roll(now)
        self.count += 1

    def remaining(self, now: float) -> int:
        self._roll(now)
        return max(self.limit - self.count, 0)

    def reset_epoch(self, now: float) -> int:
        self._roll(now)
        return int(self.reset_at)

    def restart(self, now: float) -> None:
        """Forget the hits so far: the next request opens a fresh window."""
        self.reset_at = now - 1


def numeric_id(text: str, digits: int) -> str:
    """A stable id of `digits` digits derived from `text`, so restarts keep the same ids."""
    h = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")
    low = 10 ** (digits - 1)
    return str(low + h % (9 * low))


@dataclass
class StoredImage:
    """An uploaded image (X media, Graph photo) with its alt text, as the platform keeps it."""

    id: str
    owner: str  # the id of the account that uploaded it
    mime_type: str
    content: bytes = field(repr=False)
    alt_text: str | None = None
    expires_at: float = float("inf")  # X media ids lapse if no post uses them in time

    def snapshot(self) -> dict:
        return {"id": self.id, "mime_type": self.mime_type, "alt_text": self.alt_text,
                "size": len(self.content),
                "sha256": hashlib.sha256(self.content).hexdigest()}


class World:
    """What the emulated platforms share. Hold `lock` while touching any platform's state."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.requests_log: list[dict] = []
        # The bill of platforms that bill per request: one entry per billable request.
        self.bill: list[dict] = []
        self.images: dict[str, StoredImage] = {}  # X media and Graph photos, by id
        # Whether identical text is refused, by platform name; a platform left out does what
        # its double says the platform does (`Double.duplicates_refused`).
        self.duplicate_refusal: dict[str, bool] = {}

    def refuses_duplicates(self, platform: str, documented: bool) -> bool:
        """Whether `platform` refuses a post whose text repeats one of the account's:
        `documented` (what the platform does) unless a test said otherwise."""
        return self.duplicate_refusal.get(platform, documented)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def today(self) -> date:
        return self.now().date()

    def clear_activity(self) -> None:
        """Forget the request log, images and the bill (each platform clears its own)."""
        self.images.clear()
        self.requests_log.clear()
        self.bill.clear()
