"""Images attached to posts: what each platform accepts, checked before anything is stored.

The type is read from the file's first bytes (magic numbers), never from its name, and each
platform's documented limits are applied:

- X: JPEG, PNG or WEBP up to 5 MB, through the one-request v2 upload (`POST /2/media/upload`,
  whose `media_type` enum has no GIF: GIFs need the chunked upload, which factpost does not
  use). https://docs.x.com/x-api/media/introduction (Image: 5 MB),
  https://docs.x.com/x-api/media/upload-media. Alt text at most 1,000 characters,
  https://docs.x.com/x-api/media/create-media-metadata.
- Facebook Pages: JPEG, PNG or GIF (the formats Meta lists; WEBP is not among them). Meta
  "recommend[s] uploading photos under 4MB", https://developers.facebook.com/docs/graph-api/photo-uploads/
  (third-party tools quote a 10 MB hard limit); factpost holds to the documented 4 MB.

Alt text is required on both: the office publishes for everyone, screen-reader users included.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from posts.errors import FactpostError

MB = 1024 * 1024
JPEG, PNG, GIF, WEBP = "image/jpeg", "image/png", "image/gif", "image/webp"
ACCEPTED = {"x": (JPEG, PNG, WEBP), "facebook": (JPEG, PNG, GIF)}
MAX_BYTES = {"x": 5 * MB, "facebook": 4 * MB}
MAX_ALT_CHARS = 1000
EXTENSIONS = {JPEG: "jpg", PNG: "png", GIF: "gif", WEBP: "webp"}
_NAMES = {JPEG: "JPEG", PNG: "PNG", GIF: "GIF", WEBP: "WEBP"}


class MediaError(FactpostError):
    """An image cannot be attached; the message names the problem and the fix."""


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


def check_image(data: bytes, alt_text: str | None, platform: str, *, name: str = "the image"
                ) -> Media:
    """The image as `Media` if `platform` accepts it; raises MediaError otherwise."""
    alt = " ".join((alt_text or "").split())
    if not alt:
        raise MediaError(f"{name}: alt text is required; describe the image with --alt TEXT "
                         "(for people using screen readers)")
    if len(alt) > MAX_ALT_CHARS:
        raise MediaError(f"{name}: the alt text is {len(alt)} characters; the limit is "
                         f"{MAX_ALT_CHARS}, so shorten the description")
    mime = sniff_image_type(data)
    accepted = ACCEPTED[platform]
    names = ", ".join(_NAMES[m] for m in accepted)
    if mime is None:
        raise MediaError(f"{name}: not a JPEG, PNG, GIF or WEBP image; save it as one of "
                         f"{names} for {_platform_name(platform)}")
    if mime not in accepted:
        raise MediaError(f"{name}: {_NAMES[mime]} images cannot be posted to "
                         f"{_platform_name(platform)}; convert it to {names}")
    limit = MAX_BYTES[platform]
    if len(data) > limit:
        raise MediaError(f"{name}: {len(data) / MB:.1f} MB is over "
                         f"{_platform_name(platform)}'s {limit // MB} MB limit for images; "
                         "export a smaller or more compressed version")
    return Media(content=data, mime_type=mime, alt_text=alt)


def _platform_name(platform: str) -> str:
    return {"x": "X", "facebook": "Facebook"}.get(platform, platform)
