"""Taking a published post down on its platform, and answering a post in public: the one path
for `factpost post retract/correct`, the post page's Retract and Correct forms and their /api
routes.

A retraction (DoD Instruction 5400.17's grounds, posts/retractions.py) is recorded before the
platform is asked (db/retractions.py `begin`), then each part is deleted, a thread's last part
first, through the publisher's optional `delete` (platforms/base.py `Deleter`). A deletion
whose answer was lost (`Ambiguous`: a timeout after sending, a dropped connection, a 5xx) is
settled by asking again, never guessed: deleting is idempotent, and the platform's second
answer says whether the post is gone (deleted now, or already gone). When that answer is lost
too, the post stays `retracting` for a person to ask again (`factpost post retract ID` once
more); the audit row says so. A refusal, or a platform that could not be reached, leaves the
post `published`, as it still is, with the reason in its trail.

The acknowledgment that DoDI 5400.17 asks for is queued as a draft for approval (with its pair
partner's, in the other language). A correction is a new post linked to the one it corrects:
on a platform that threads (X) a reply to its last part; elsewhere (Facebook) a post of its
own. factpost never edits a published post in place: X allows an edit only within 30 minutes
of posting, five times at most, and not for every post
(https://docs.x.com/x-api/fundamentals/edit-posts); Graph can change a Page post's text
(https://developers.facebook.com/docs/pages-api/posts), but readers would then see the new
text only, and the record of what went out would be the platform's edit history rather than
the office's own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from db.errors import NotEditable
from db.models import Post
from db.retractions import Answer
from db.store import Store
from posts.retractions import acknowledgment, audit_reason, check_reason
from posts.states import Actor, PostStatus
from scheduler.compose import texts_to_queue
from scheduler.config import AccountConfig, Config
from scheduler.platforms import registry
from scheduler.platforms.base import Ambiguous, Publisher, PublishError, delete_post
from scheduler.spend import SpendLedger

S = PostStatus
PublisherFor = Callable[[AccountConfig], Publisher]


@dataclass
class Retraction:
    """What a retraction did: posts now retracted, posts left published (with why), posts
    still retracting because no answer could be had (with why), and the acknowledgment
    drafts queued."""

    retracted: list[int] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)
    unsettled: list[tuple[int, str]] = field(default_factory=list)
    acknowledgments: list[Post] = field(default_factory=list)


def retract(store: Store, config: Config, actor: Actor, post_id: int, *, reason: str,
            note: str | None, now: datetime, acknowledge: str | None = None,
            acknowledge_pair: str | None = None,
            publisher_for: PublisherFor | None = None) -> Retraction:
    """Delete post `post_id` on its platform with every published part of its thread and of
    its pair partner's, keeping them in the records as `retracted` with `reason` (one of
    posts.retractions.REASONS) and `note` in the audit trail. With `acknowledge` ("" for the
    default wording), queue a public acknowledgment as a draft, and for a pair its partner's
    (`acknowledge_pair`, or the default wording in the partner's language). Raises
    `BadRetraction`, `NotEditable` (nothing published), `NotPermitted`, `CredentialsMissing`
    before anything is written."""
    reason, note = check_reason(reason, note)
    post = store.history.get(post_id)
    partner = store.history.get(post.pair_id) if post.pair_id else None
    accounts = {p.account: config.account(p.account) for p in (post, partner) if p}
    build = publisher_for or registry.build_publisher
    publishers = {name: build(account) for name, account in accounts.items()}
    ledger = SpendLedger(store, config)
    ledger.attach(publishers)
    targets = store.retractions.begin(post_id, reason=audit_reason(reason, note),
                                      actor=actor, now=now)
    done = Retraction()
    stopped: str | None = None
    for target in targets:
        if stopped is not None:
            store.retractions.settle(target.post_id, gone=False, detail=stopped, actor=actor,
                                     now=now)
            done.refused.append((target.post_id, stopped))
            continue
        publisher = publishers[target.account]
        with ledger.charging(purpose="retract", post_id=target.post_id, clock=lambda: now):
            gone, detail = _delete(publisher, target.remote_id)
        store.retractions.settle(target.post_id, gone=gone, detail=detail, actor=actor,
                                 now=now)
        if gone:
            done.retracted.append(target.post_id)
            continue
        (done.refused if gone is False else done.unsettled).append((target.post_id, detail))
        # Stop at the first part not known to be gone: deleting the parts before it would
        # leave it a reply to nothing.
        stopped = f"not asked to delete: post {target.post_id} was not deleted ({detail})"
    if acknowledge is not None and done.retracted:
        texts = {post.account: acknowledge or None}
        if partner is not None:
            texts[partner.account] = acknowledge_pair or None
        answers = [Answer(name, accounts[name].platform, texts_to_queue(
            text or acknowledgment(reason, accounts[name].language), accounts[name]))
            for name, text in texts.items()]
        done.acknowledgments = store.retractions.answer(
            post_id, answers, why="acknowledgment of the removal", actor=actor, now=now,
            status=S.DRAFT)
    return done


def retraction_notice(done: Retraction) -> str:
    """What a retraction did, in one line for people."""
    said = []
    if done.retracted:
        said.append(f"retracted post {', '.join(str(i) for i in done.retracted)}")
    said += [f"post {i} still published: {why}" for i, why in done.refused]
    said += [f"post {i} still retracting: {why}" for i, why in done.unsettled]
    if done.acknowledgments:
        said.append("acknowledgment drafted for approval: post "
                    + ", ".join(str(p.id) for p in done.acknowledgments))
    return "; ".join(said)


def _delete(publisher: Publisher, remote_id: str) -> tuple[bool | None, str]:
    """Whether the post is gone (None: no answer could be had), and the line for the trail."""
    title = registry.spec(publisher.platform).title
    try:
        try:
            deleted = delete_post(publisher, remote_id)
        except Ambiguous:
            # Asked again, not guessed: the second answer says whether the first deleted it.
            deleted = delete_post(publisher, remote_id)
    except Ambiguous as exc:
        return None, (f"{title} did not answer whether {remote_id} was deleted, twice "
                      f"({exc.code}); it may still be live: check the account, then retract "
                      "the post again to settle it")
    except PublishError as exc:
        return False, f"{title} did not delete {remote_id}, which is still live: {exc}"
    if deleted.already_gone:
        return True, f"{remote_id} is gone from {title} (it says no such post exists)"
    return True, f"deleted {remote_id} on {title}"


def correct(store: Store, config: Config, actor: Actor, post_id: int, text: str, *,
            now: datetime) -> list[Post]:
    """Post `text` as the correction of published post `post_id`, due now (a draft under
    review): a reply to its last part where the platform threads, a post of its own where
    not, linked to it in the records either way. Returns the stored parts. Raises
    `NotEditable` for a post that is not published, `PostTextError`, `NotPermitted`."""
    post = store.history.get(post_id)
    if post.status != S.PUBLISHED:
        raise NotEditable(f"post {post_id} is {post.status}; only a published post is "
                          "corrected (edit one not yet out; for a retracted one, add a new "
                          "post)")
    account = config.account(post.account)
    texts = texts_to_queue(text, account)
    status = S.DRAFT if config.require_approval else S.QUEUED
    return store.retractions.answer(
        post_id, [Answer(account.name, account.platform, texts, reply=account.text.threads)],
        why="correction", actor=actor, now=now, status=status)
