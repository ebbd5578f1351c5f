"""The platforms the emulator serves: one module each, listed here (the emulator's side of
scheduler/platforms/registry.py). A new platform is one module with a `Double` and one entry in
`DOUBLES`; `Emulator(doubles=...)` serves another list (a test's stub platform).

A double answers its platform's API the way the platform's documentation says, never the way
factpost's code expects: its own error shapes, rate-limit headers, faults (faults.py) and
duplicate refusals.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from emulator.bluesky import BlueskyDouble
from emulator.facebook import GraphDouble
from emulator.faults import FaultPlan
from emulator.mastodon import MastodonDouble
from emulator.messages import Request, Response
from emulator.telegram import TelegramDouble
from emulator.world import World
from emulator.x import XDouble


class Double(Protocol):
    """One emulated platform."""

    #: The platform's name, as factpost's config names it ("x").
    name: str
    #: Whether the platform refuses a post whose text repeats one of the account's, as its
    #: documentation or a public report says (`Emulator.refuse_duplicates` overrides it).
    duplicates_refused: bool

    def __init__(self, world: World, faults: FaultPlan,
                 wait: Callable[[float], object]) -> None:
        """`world` is shared with the other doubles (hold its lock over any state); `faults`
        hands out faults for requests that create a post (`faults.take(name)`, played with
        `faults.run_publish`); `wait(seconds)` sleeps, cut short when the emulator stops."""
        ...

    def owns(self, request: Request) -> bool:
        """Whether `request` is for this platform (by its path)."""
        ...

    def handle(self, request: Request) -> Response:
        """Answer a request this platform owns; set `response.auth_ok`."""
        ...

    def register(self, handle: str, credentials: Mapping[str, str]) -> None:
        """Accept these credentials for the account `handle`, keyed as factpost holds them
        (the platform spec's credential fields, in lower case)."""
        ...

    def posts(self, handle: str) -> list[dict]:
        """The account's posts, oldest first: {"id", "text" (as sent), "reply_to" (a remote
        id or None), "media" ([{"id", "mime_type", "alt_text", "size", "sha256"}])}. Raises
        KeyError for an account never registered."""
        ...

    def lift_limits(self, handle: str) -> None:
        """Let the account post as often as a test likes (its platform's posting limits
        off), for tests that publish more than a window allows."""
        ...

    def state_snapshot(self) -> dict:
        """Every account's posts in the platform's own shape, for the control API."""
        ...

    def clear(self) -> None:
        """Forget posts, counters and throttles; keep accounts and limits."""
        ...


#: In routing order: the first double that owns a request answers it. The Graph API's paths
#: have no prefix of their own, so its double owns whatever the others do not, and goes last.
DOUBLES: tuple[type[Double], ...] = (XDouble, TelegramDouble, MastodonDouble, BlueskyDouble,
                                     GraphDouble)
