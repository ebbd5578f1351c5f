"""What the emulated Facebook holds: Pages with their posts and the call counters behind the
usage headers. Guarded by the shared `World.lock`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from emulator.world import StoredImage, Window, World


def graph_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+0000")


@dataclass
class PagePost:
    id: str  # "<page id>_<post id>", as Graph spells it
    message: str
    created_time: datetime
    link: str | None = None
    photo: StoredImage | None = None

    def snapshot(self) -> dict:
        return {"id": self.id, "message": self.message,
                "created_time": graph_time(self.created_time),
                # Not in the Graph API: when the emulator received it (latency measurements).
                "received_at": self.created_time.isoformat(),
                "photo": self.photo.snapshot() if self.photo else None}

    @property
    def permalink_url(self) -> str:
        page_id, post_id = self.id.split("_", 1)
        return f"https://www.facebook.com/{page_id}/posts/{post_id}"


@dataclass
class Page:
    page_id: str
    token: str = field(repr=False)
    name: str
    username: str | None = None
    posts: list[PagePost] = field(default_factory=list)
    throttle_code: int | None = None
    blocked: bool = False
    # Set by an injected throttling fault: the page reads as throttled until then (epoch s).
    throttled_until: float = 0.0
    calls: Window = field(default_factory=lambda: Window(4_800, 3_600))

    @property
    def key(self) -> str:
        """The name the page is listed under in inspection output."""
        return self.username or self.page_id


class Pages:
    """Every Page the emulator knows, by id; found by id or username."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.pages: dict[str, Page] = {}
        self.app_calls = Window(2_000, 3_600)
        self._last_post_id = 0

    def add(self, page_id: str, *, page_token: str, name: str | None = None,
            username: str | None = None) -> None:
        """Register (or update the token of) a Page. Hold `world.lock`."""
        if not page_id.isdigit():
            raise ValueError(f"Facebook page id {page_id!r} must be digits; pass the name as "
                             "username=")
        existing = self.pages.get(page_id)
        holder = self.by_token(page_token)
        if holder is not None and holder is not existing:
            raise ValueError(f"Facebook page {page_id}: its token is already registered for "
                             f"page {holder.key}; give each page its own token")
        if existing is None:
            self.pages[page_id] = Page(page_id=page_id, token=page_token,
                                       name=name or username or page_id, username=username)
        else:
            existing.token = page_token
            existing.name = name or existing.name
            existing.username = username or existing.username

    def find(self, ref: str) -> Page | None:
        found = self.pages.get(ref)
        return found or next((p for p in self.pages.values()
                              if p.username and p.username.lower() == ref.lower()), None)

    def by_token(self, token: str) -> Page | None:
        return next((p for p in self.pages.values() if p.token == token), None)

    def next_post_id(self) -> str:
        self._last_post_id = max(self._last_post_id + 1, int(self.world.clock() * 1000) * 1000)
        return str(self._last_post_id)

    def clear(self) -> None:
        """Forget posts, throttles and counters; keep pages."""
        now = self.world.clock()
        for page in self.pages.values():
            page.posts.clear()
            page.throttle_code = None
            page.blocked = False
            page.calls.restart(now)
        self.app_calls.restart(now)
