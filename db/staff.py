"""Staff actions on posts: adding by hand, editing, approving, rejecting, cancelling, retrying
and resolving. Each goes through the transition function (transitions.py), which checks the
action, the actor's role and the review rules and writes the audit entry in the same
transaction. A pair's partner moves with its post where the action says so.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from db import clearance
from db.database import Database, load_post
from db.documents import partners
from db.errors import BadLink, NotEditable, PostChanged, VersionMissing
from db.media import stored_media
from db.models import Post
from db.transitions import Transitions, audit
from db.versions import content_version
from posts.media import Media
from posts.states import EDITABLE, Action, Actor, PostStatus, check_actor

S = PostStatus
A = Action


def check_remote(remote_id: str, remote_url: str | None) -> tuple[str, str | None]:
    """A remote id and link typed by staff, checked: the id is one word of at most 100
    characters, the link an http(s) address of at most 500 (a `javascript:` or `data:` link
    would run in the browser of whoever opens the post). Raises `BadLink`."""
    remote_id = (remote_id or "").strip()
    if not remote_id or len(remote_id) > 100 or not remote_id.isprintable() or any(
            ch.isspace() for ch in remote_id):
        raise BadLink(f"{remote_id[:40]!r} is not a post id; give the id the platform shows "
                      "for the post (at most 100 characters, no spaces)")
    remote_url = (remote_url or "").strip() or None
    if remote_url is not None:
        parts = urlsplit(remote_url)
        if (parts.scheme.lower() not in ("http", "https") or not parts.netloc
                or len(remote_url) > 500 or not remote_url.isprintable()
                or any(ch.isspace() for ch in remote_url)):
            raise BadLink(f"{remote_url[:60]!r} is not a web address; give the post's link "
                          "starting with https:// (at most 500 characters), or none")
    return remote_id, remote_url


def check_seen(post: Post, seen: str | None, current: str) -> None:
    """Raise `VersionMissing` or `PostChanged` unless `seen`, the version the approver saw,
    is the post's `current` one."""
    if not seen:
        raise VersionMissing(f"approving post {post.id} needs the version you reviewed; open "
                             "the post (factpost post show, the post's page, GET /api/posts/"
                             f"{post.id}) and approve what it shows")
    if seen.strip().lower() != current:
        raise PostChanged(f"post {post.id} changed since you opened it; review it again")


@dataclass(frozen=True)
class ComposedThread:
    """A hand-written post for one account: its text (or a thread's parts, in order), its
    time (UTC) and an image for the first part (checked for the platform already)."""

    account: str
    platform: str
    texts: tuple[str, ...]
    scheduled_at: datetime
    media: Media | None = None
    #: Each part's pair key, as an import's `PlannedPost.pair_key` (empty: none paired): the
    #: parts of one `add_threads` call sharing a key are an English/Arabic pair.
    pair_keys: tuple[str | None, ...] = ()


class StaffActions:
    """What people do to posts; each method is one transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.transitions = Transitions(db)

    def add(self, *, account: str, platform: str, text: str, scheduled_at: datetime,
            actor: Actor, now: datetime, status: PostStatus, media: Media | None = None
            ) -> Post:
        """Store one post, and its image (checked by the caller) in the same transaction.
        `status` is draft or queued; under review it must be draft (`NeedsApproval`)."""
        return self.add_thread(account=account, platform=platform, texts=[text],
                               scheduled_at=scheduled_at, actor=actor, now=now, status=status,
                               media=media)[0]

    def add_thread(self, *, account: str, platform: str, texts: Sequence[str],
                   scheduled_at: datetime, actor: Actor, now: datetime, status: PostStatus,
                   media: Media | None = None) -> list[Post]:
        """Store a hand-written post, or the parts of a thread in order (each a reply to the
        one before), in one transaction; `media` goes with the first. `status` is draft or
        queued; under review it must be draft (`NeedsApproval`)."""
        thread = ComposedThread(account=account, platform=platform, texts=tuple(texts),
                                scheduled_at=scheduled_at, media=media)
        return self.add_threads([thread], actor=actor, now=now, status=status)[0]

    def add_threads(self, threads: Sequence[ComposedThread], *, actor: Actor, now: datetime,
                    status: PostStatus) -> list[list[Post]]:
        """Store several hand-written posts (or threads), one per account of a compose for
        several accounts, in one transaction: all of them or, if any is refused, none. Returns
        each thread's posts in order, in the order given. Parts sharing a pair key are linked
        as pair partners, as an import links them (`documents.partners`); the leading side of
        a pair is the one stored first. Raises as `add_thread`, and StoreError for a pair key
        not held by exactly two parts."""
        with self.db.session() as s:
            created = [self._add_thread(s, t, actor=actor, now=now, status=status)
                       for t in threads]
            by_id = {p.id: p for posts in created for p in posts}
            for post_id, partner_id in partners(
                    (p.id, key) for t, posts in zip(threads, created, strict=True)
                    for p, key in zip(posts, t.pair_keys or [None] * len(posts),
                                      strict=True)).items():
                by_id[post_id].pair_id = partner_id
            return created

    def _add_thread(self, s: Session, t: ComposedThread, *, actor: Actor, now: datetime,
                    status: PostStatus) -> list[Post]:
        media_id = stored_media(s, t.media, now).id if t.media is not None else None
        created: list[Post] = []
        for position, text in enumerate(t.texts, 1):
            post = Post(account=t.account, platform=t.platform, text=text,
                        scheduled_at=t.scheduled_at, thread_position=position,
                        thread_size=len(t.texts), created_by=actor.name, created_at=now,
                        updated_at=now, parent=created[-1] if created else None,
                        media_id=media_id if position == 1 else None)
            self.transitions.create(s, post, actor, status, "added by hand" + (
                " with an image" if t.media is not None and position == 1 else ""), now)
            created.append(post)
        return created

    def edit(self, post_id: int, *, actor: Actor, now: datetime, text: str | None = None,
             scheduled_at: datetime | None = None) -> Post:
        """Change text and/or time. Under review, a post whose text changes goes back to draft:
        an approval covers the exact text. A failed or needs_review post is queued again (to
        draft when it needs a new approval). Raises `NotEditable`, `NotPermitted`."""
        with self.db.session() as s:
            post = load_post(s, post_id)
            check_actor(actor, A.EDIT)
            if post.status not in EDITABLE:
                raise NotEditable(f"post {post_id} is {post.status}; only draft, queued, failed "
                                  "or needs_review posts can be edited")
            changes = []
            if text is not None and text != post.text:
                post.text = text
                changes.append("text")
            if scheduled_at is not None and scheduled_at != post.scheduled_at:
                post.scheduled_at = scheduled_at
                changes.append("time")
            if not changes:
                return post
            reason = "edited " + " and ".join(changes)
            reapprove = "text" in changes and self.db.review.require_approval
            partner = s.get(Post, post.pair_id) if post.pair_id else None
            if reapprove and partner is not None and partner.status in EDITABLE:
                # A step cleared covered both versions as they were.
                withdrawn = clearance.withdraw(s, partner, now)
                if withdrawn and partner.approved_by is None:
                    audit(s, partner, actor.name, A.EDIT, partner.status, partner.status,
                          f"its pair partner, post {post.id}, was edited; its clearance "
                          "starts again at the first step", now)
            if (reapprove and partner is not None and partner.approved_by is not None
                    and partner.status in EDITABLE):
                # The approval covered both versions as they were; both need it again, the
                # partner too wherever it waits (a failed one would otherwise be retried on
                # the old approval). One already out keeps the record of who cleared it.
                partner.approved_by = partner.approved_at = partner.approved_content = None
                why = f"its pair partner, post {post.id}, was edited; needs approval again"
                if partner.status == S.QUEUED:
                    self.transitions.move(s, partner, A.EDIT, actor, now, S.DRAFT, why)
                else:
                    audit(s, partner, actor.name, A.EDIT, partner.status, partner.status,
                          why, now)
            if reapprove:
                post.approved_by = post.approved_at = post.approved_content = None
                if post.status != S.DRAFT:
                    reason += "; needs approval again"
                elif clearance.withdraw(s, post, now):
                    reason += "; its clearance starts again at the first step"
                clearance.withdraw(s, post, now)
                self.transitions.move(s, post, A.EDIT, actor, now, S.DRAFT, reason)
            elif post.status in (S.FAILED, S.NEEDS_REVIEW):
                target = self.transitions.queue_or_draft(post)
                self.transitions.move(s, post, A.EDIT, actor, now, target, reason + (
                    "; queued again" if target == S.QUEUED else "; needs approval"))
            else:
                self.transitions.move(s, post, A.EDIT, actor, now, post.status, reason)
            return post

    def cancel(self, post_id: int, *, actor: Actor, now: datetime, reason: str | None = None
               ) -> Post:
        """Withdraw a post that is not out (with its pair partner). Raises
        `IllegalTransition`, `NotPermitted`."""
        with self.db.session() as s:
            post = load_post(s, post_id)
            self.transitions.move(s, post, A.CANCEL, actor, now, S.CANCELLED, reason or "cancelled")
            partner = s.get(Post, post.pair_id) if post.pair_id else None
            if partner is not None and partner.status in EDITABLE:
                self.transitions.move(s, partner, A.CANCEL, actor, now, S.CANCELLED,
                                      f"its pair partner, post {post.id}, was cancelled")
            return post

    def reject(self, post_id: int, *, actor: Actor, now: datetime, reason: str | None = None
               ) -> Post:
        """An approver turns a draft down (with its pair partner): it is cancelled, and the
        reason is kept for the author. Raises `NotEditable`, `NotPermitted`."""
        why = f"rejected: {reason or 'no reason given'}"
        with self.db.session() as s:
            post = load_post(s, post_id)
            check_actor(actor, A.REJECT)
            if post.status != S.DRAFT:
                raise NotEditable(f"post {post_id} is {post.status}; only drafts are rejected")
            self.transitions.move(s, post, A.REJECT, actor, now, S.CANCELLED, why)
            partner = s.get(Post, post.pair_id) if post.pair_id else None
            if partner is not None and partner.status == S.DRAFT:
                self.transitions.move(s, partner, A.REJECT, actor, now, S.CANCELLED,
                                      f"{why} (with its pair partner, post {post.id})")
            return post

    def approve(self, post_ids: Iterable[int], *, seen: Mapping[int, str], actor: Actor,
                now: datetime) -> list[Post]:
        """Clear the step each draft waits for (all or none: one bad id leaves every post as
        it was), each with its pair partner, each at the version its approver saw: `seen` maps
        every post id to the version (`versions`) shown with it. A post whose last step is
        cleared is approved and queued; with one step (no `[review] steps`) that is every
        approval. Under the two-person rule, and always with named steps, the author of a
        post, or of an edit to its text, cannot approve it. Raises `PostChanged` (the post,
        or its partner, changed since it was shown), `VersionMissing`, `NotEditable`,
        `SelfApproval`, `WrongStep` (db/clearance.py), `NotPermitted`."""
        with self.db.session() as s:
            check_actor(actor, A.APPROVE)
            held = clearance.steps_held(s, actor.name) if self.db.review.steps else ()
            approved: list[Post] = []
            for post_id in post_ids:
                post = load_post(s, post_id)
                if post in approved:
                    continue  # already approved with its partner
                if post.status != S.DRAFT:
                    raise NotEditable(f"post {post_id} is {post.status}; only drafts need "
                                      "approval")
                version = content_version(s, post)
                self._clear(s, post, actor, held, now, version)
                # After the move, so the role and the two-person rule are reported first;
                # raising here undoes the whole transaction.
                check_seen(post, seen.get(post_id), version)
                approved.append(post)
                # A pair is cleared together, each partner on its own record and under its
                # own checks: the two versions say the same thing, and the version the
                # approver saw covers both.
                partner = s.get(Post, post.pair_id) if post.pair_id else None
                if partner is not None and partner.status == S.DRAFT:
                    self._clear(s, partner, actor, held, now, version, with_post=post.id)
                    approved.append(partner)
            return approved

    def _clear(self, s: Session, post: Post, actor: Actor, held: Collection[str],
               now: datetime, version: str, with_post: int | None = None) -> None:
        """Clear the step `post` waits for (with its pair partner, post `with_post`), with its
        audit row; the last step approves it."""
        review = self.db.review
        done = clearance.clear_step(s, post, actor, review, held, now)
        last = done.position == len(done.steps)
        if last:
            post.approved_by, post.approved_at = actor.name, now
            post.approved_content = content_version(s, post, with_time=False)
        if not review.steps:  # the one-step case reads as it always has
            partner = f" with its pair partner, post {with_post}" if with_post else ""
            reason = f"approved{partner} (version {version})"
        else:
            partner = f" with its pair partner, post {with_post}," if with_post else ""
            reason = (f"cleared step {done.waiting_for} ({done.position} of "
                      f"{len(done.steps)},{partner} version {version}); " + (
                          "approved" if last else f"waits for {done.steps[done.position]}"))
        self.transitions.move(s, post, A.APPROVE, actor, now, S.QUEUED if last else S.DRAFT,
                              reason)

    def progress(self, post_ids: Iterable[int]) -> dict[int, clearance.Progress]:
        """Where each post stands in its clearance (db/clearance.py): the steps, those
        cleared, the one it waits for. Raises `PostNotFound`."""
        with self.db.reading() as s:
            return {post_id: clearance.progress(s, load_post(s, post_id), self.db.review)
                    for post_id in post_ids}

    def step_holders(self) -> dict[str, list[str]]:
        """Each step's enabled holders, by name (who may clear a post waiting for it)."""
        with self.db.reading() as s:
            return clearance.holders(s)

    def versions(self, post_ids: Iterable[int]) -> dict[int, str]:
        """The version of each post as review sees it (db/versions.py): what an approver is
        shown with the post and hands back to `approve`. Raises `PostNotFound`."""
        with self.db.reading() as s:
            return {post_id: content_version(s, load_post(s, post_id)) for post_id in post_ids}

    def retry(self, post_id: int, *, actor: Actor, now: datetime) -> Post:
        """Queue a failed or needs_review post again, due now; under review, one that carries
        no approval goes to draft instead. Raises `IllegalTransition`, `NotPermitted`."""
        with self.db.session() as s:
            post = load_post(s, post_id)
            target = self.transitions.queue_or_draft(post)
            post.scheduled_at = now
            self.transitions.move(s, post, A.RETRY, actor, now, target,
                                  "queued again by staff" if target == S.QUEUED
                                  else "sent to draft by a retry: it needs an approval first")
            partner = s.get(Post, post.pair_id) if post.pair_id else None
            if partner is not None and partner.status == S.FAILED:
                # It failed only because this one did: the pair goes (or not) together again.
                partner.scheduled_at = now
                self.transitions.move(s, partner, A.RETRY, actor, now,
                                      self.transitions.queue_or_draft(partner),
                                      f"queued again with its pair partner, post {post.id}")
            return post

    def resolve_published(self, post_id: int, *, remote_id: str, remote_url: str | None,
                          actor: Actor, now: datetime) -> Post:
        """Staff confirm that a post in doubt is on the platform under `remote_id` (at
        `remote_url`, an http(s) address). Raises `NotEditable`, `BadLink`, `NotPermitted`."""
        remote_id, remote_url = check_remote(remote_id, remote_url)
        with self.db.session() as s:
            post = load_post(s, post_id)
            check_actor(actor, A.RESOLVE)
            if post.status != S.NEEDS_REVIEW:
                raise NotEditable(f"post {post_id} is {post.status}; only needs_review posts "
                                  "are resolved by hand")
            post.remote_id, post.remote_url, post.published_at = remote_id, remote_url, now
            self.transitions.move(s, post, A.RESOLVE, actor, now, S.PUBLISHED,
                                  f"confirmed published as {remote_id} by staff")
            return post
