"""What an approver is shown, as one short value: the version of a post; and every text a post
has had, kept for the records (`keep_text`).

An approval covers the post as the approver saw it, so it carries this version and the store
refuses it when the post has changed since (staff.py `approve`). The version is a digest of
everything review clears: the text, the time, the image and its alt text, and the same of the
pair partner, which is approved with the post. It is computed, never stored, so no path that
changes one of those can forget to bump it; a new field that review must clear belongs here.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.bulk import insert_many
from db.models import AuditEntry, MediaItem, Post, PostText

#: Hex digits kept: 64 bits, so an author cannot find other text with the version an approver
#: holds (a second preimage) in any practical time.
VERSION_DIGITS = 16


def content_version(s: Session, post: Post, *, with_time: bool = True) -> str:
    """The version of `post` as review sees it (16 lowercase hex digits). Without the time,
    what an approval keeps covering however often the post is rescheduled (an approved post
    keeps its approval when only its time changes, and the daemon moves times as it retries):
    `Post.approved_content`, which a claim checks."""
    digest = hashlib.sha256()
    partner = s.get(Post, post.pair_id) if post.pair_id else None
    for member in (post, partner):
        if member is None:
            continue
        media = s.get(MediaItem, member.media_id) if member.media_id else None
        when = member.scheduled_at.astimezone(UTC).isoformat() if with_time else None
        fields = [member.id, member.text, when,
                  media.sha256 if media else None, media.alt_text if media else None]
        digest.update(json.dumps(fields, ensure_ascii=False).encode())
    return digest.hexdigest()[:VERSION_DIGITS]


def keep_text(s: Session, post: Post, change: AuditEntry, *, new: bool = False) -> None:
    """Keep the text and image `post` has now as a version of it, tied to `change` (the audit
    row of what wrote it), unless it is the version kept last. `new`: the post was just
    created, so nothing is kept yet. The transition function calls this with every audit row
    of a post a person may have rewritten, so no path that changes a text can lose the one
    before (the records keep every version, docs/RECORDS.md)."""
    if not new:
        last = s.execute(select(PostText.text, PostText.media_id)
                         .where(PostText.post_id == post.id)
                         .order_by(PostText.id.desc()).limit(1)).first()
        if last is not None and tuple(last) == (post.text, post.media_id):
            return
    s.add(PostText(post_id=post.id, audit=change, at=change.at, actor=change.actor,
                   text=post.text, media_id=post.media_id))


def keep_new_texts(s: Session, versions: list[dict]) -> None:
    """`keep_text` for many new posts at once (an import), in one executemany: each a dict of
    `post_id`, `audit_id` (its `create` row), `at`, `actor`, `text` and `media_id`."""
    if versions:
        # Not the ORM's bulk insert, which adds bookkeeping per row (thousands for an import).
        insert_many(s.connection(), PostText.__table__, versions)
