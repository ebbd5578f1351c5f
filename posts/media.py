"""Images attached to posts, checked against a platform's `MediaRules` before anything is
stored.

The type is read from the file's first bytes (magic numbers), never from its name; each
platform's spec (scheduler/platforms/) declares the types and size it takes, with the source.
Alt text is always required: the office publishes for everyone, screen-reader users included.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from posts.errors import FactpostError

MB = 1024 * 1024
JPEG, PNG, GIF, WEBP = "image/jpeg", "image/png", "image/gif", "image/webp"
MAX_ALT_CHARS = 1000
EXTENSIONS = {JPEG: "jpg", PNG: "png", GIF: "gif", WEBP: "webp"}
_NAMES = {JPEG: "JPEG", PNG: "PNG", GIF: "GIF", WEBP: "WEBP"}


class MediaError(FactpostError):
    """An image cannot be attached; the message names the problem and the fix."""


@dataclass(frozen=True)
class MediaRules:
    """What images a platform takes: `types` (MIME types), at most `max_bytes`, alt text of
    at most `max_alt_chars` characters, with at most `max_caption` of text where set. With
    `alt_text` False the platform has nowhere to put
    alt text (Telegram's sendPhoto): it is still asked for and kept, but not sent."""

    types: tuple[str, ...]
    max_bytes: int
    max_alt_chars: int = MAX_ALT_CHARS
    alt_text: bool = True
    #: The most text a post with an image may hold, in the units of the platform's text
    #: rules, where less than a post without one (Telegram's 1,024-character caption).
    max_caption: int | None = None


@dataclass(frozen=True)
class Media:
    """An image with its alt text, as stored and as handed to a publisher."""

    content: bytes
    mime_type: str
    alt_text: str

    @property
    def size(self) -> int:
        return len(self.content)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def filename(self) -> str:
        return f"image.{EXTENSIONS.get(self.mime_type, 'bin')}"

    def __repr__(self) -> str:  # never dump megabytes into a log line
        return f"Media({self.mime_type}, {self.size} bytes, alt={self.alt_text[:30]!r})"


def sniff_image_type(data: bytes) -> str | None:
    """The MIME type of a JPEG, PNG, GIF or WEBP file, from its magic bytes; else None."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    return None


def check_image(data: bytes, alt_text: str | None, rules: MediaRules, *, platform: str,
                name: str = "the image") -> Media:
    """The image as `Media` if a platform with `rules` (called `platform` in messages) takes
    it; raises MediaError otherwise."""
    alt = " ".join((alt_text or "").split())
    if not alt:
        raise MediaError(f"{name}: alt text is required; describe the image with --alt TEXT "
                         "(for people using screen readers)")
    if len(alt) > rules.max_alt_chars:
        raise MediaError(f"{name}: the alt text is {len(alt)} characters; the limit is "
                         f"{rules.max_alt_chars}, so shorten the description")
    mime = sniff_image_type(data)
    names = ", ".join(_NAMES[m] for m in rules.types)
    if mime is None:
        raise MediaError(f"{name}: not a JPEG, PNG, GIF or WEBP image; save it as one of "
                         f"{names} for {platform}")
    if mime not in rules.types:
        raise MediaError(f"{name}: {_NAMES[mime]} images cannot be posted to {platform}; "
                         f"convert it to {names}")
    if len(data) > rules.max_bytes:
        raise MediaError(f"{name}: {len(data) / MB:.1f} MB is over {platform}'s "
                         f"{rules.max_bytes // MB} MB limit for images; export a smaller or "
                         "more compressed version")
    return Media(content=data, mime_type=mime, alt_text=alt)
