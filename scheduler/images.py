"""Reading an image file for a post: the file is read once, checked against the platform's
limits (posts.media) and then lives in the database, never at its path."""

from __future__ import annotations

from pathlib import Path

from posts.media import MB, Media, MediaError, check_image
from scheduler.platforms.spec import PlatformSpec


def read_image(path: Path, alt_text: str | None, spec: PlatformSpec) -> Media:
    """The image at `path` as Media for the platform of `spec`; raises MediaError with a
    one-line reason."""
    name = str(path)
    if not path.is_file():
        raise MediaError(f"{name}: image file not found; check the path")
    size = path.stat().st_size
    limit = spec.media.max_bytes
    if size > limit:  # refuse before reading a possibly huge file into memory
        raise MediaError(f"{name}: {size / MB:.1f} MB is over the {limit // MB} MB limit for "
                         "images on this platform; export a smaller or more compressed version")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MediaError(f"{name}: cannot be read ({exc.strerror}); check permissions") from None
    return check_image(data, alt_text, spec.media, platform=spec.title, name=name)
