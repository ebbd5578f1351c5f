"""Retry policy: how long to wait before trying a post again. A value the dispatcher reads."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, capped; `max_attempts` sends in all."""

    max_attempts: int = 5
    base_seconds: float = 30.0
    max_seconds: float = 3_600.0

    def delay(self, attempt: int, rng: random.Random) -> timedelta:
        """Wait after the `attempt`-th failed try (1-based)."""
        ceiling = min(self.max_seconds, self.base_seconds * 2 ** (attempt - 1))
        # Full jitter spreads retries of many posts hit by the same outage
        # (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/).
        return timedelta(seconds=ceiling / 2 + rng.uniform(0, ceiling / 2))

    def exhausted(self, attempts: int) -> bool:
        return attempts >= self.max_attempts
