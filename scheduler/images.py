"""Reading an image file for a post: the file is read once, checked against the platform's
limits (posts.media) and then lives in the database, never at its path."""

from __future__ import annotations

from pathlib import Path

from posts.media import MAX_BYTES, MB, Media, MediaError, check_image


def read_image(path: Path, alt_text: str | None, platform: str) -> Media:
    """The image at `path` as Media for `platform`; raises MediaError with a one-line reason."""
    name = str(path)
    if not path.is_file():
        raise MediaError(f"{name}: image file not found; check the path")
    size = path.stat().st_size
    limit = MAX_BYTES[platform]
    if size > limit:  # refuse before reading a possibly huge file into memory
        raise MediaError(f"{name}: {size / MB:.1f} MB is over the {limit // MB} MB limit for "
                         "images on this platform; export a smaller or more compressed version")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MediaError(f"{name}: cannot be read ({exc.strerror}); check permissions") from None
    return check_image(data, alt_text, platform, name=name)
