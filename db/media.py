"""Images attached to posts: stored once per distinct bytes and alt text (found by SHA-256),
and read back to publish or to list."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.database import Database
from db.models import MediaItem, Post
from posts.media import Media


class MediaStore:
    """The `media` table; each method is one transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def for_post(self, post: Post) -> Media | None:
        """The image to publish with `post`, if it has one."""
        if post.media_id is None:
            return None
        with self.db.reading() as s:
            row = s.get(MediaItem, post.media_id)
            return Media(content=row.content, mime_type=row.mime_type, alt_text=row.alt_text)

    def summary(self, media_id: int) -> dict:
        """What a listing shows of an image: everything but the bytes."""
        with self.db.reading() as s:
            row = s.execute(select(MediaItem.id, MediaItem.sha256, MediaItem.mime_type,
                                   MediaItem.size, MediaItem.alt_text)
                            .where(MediaItem.id == media_id)).one()
            return dict(row._mapping)

    def count(self) -> int:
        with self.db.reading() as s:
            return s.scalar(select(func.count()).select_from(MediaItem))


def stored_media(s: Session, media: Media, now: datetime) -> MediaItem:
    """The stored row for this image and alt text, created on first use."""
    row = s.scalar(select(MediaItem).where(MediaItem.sha256 == media.sha256,
                                           MediaItem.alt_text == media.alt_text))
    if row is None:
        row = MediaItem(sha256=media.sha256, mime_type=media.mime_type,
                        content=media.content, alt_text=media.alt_text, size=media.size,
                        created_at=now)
        s.add(row)
        s.flush()
    return row
