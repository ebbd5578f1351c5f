"""A changed version of a fact sheet imported before: which queued posts changed, which snippets
are new, which posts the new version leaves out, and which were already published; and the
plan that replaces them (carried out by the store in one transaction, db/documents.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from db.models import Post
from db.store import PlannedPost, Relink, Store
from posts.corrections import Change, NewSnippet, OldPost, diff_snippets, section_keys
from posts.factsheet import (
    FactSheet,
)
from posts.states import REPLACEABLE
from scheduler.config import AccountConfig, Config
from scheduler.planning import check_post_count, snippets_for, unit_times


@dataclass(frozen=True)
class Correction:
    """What importing a changed version of an imported document would do.

    `changes` maps each account to its post-by-post diff; `supersede`, `posts` and `relinks`
    are what `store.documents.correct` carries out in one transaction.
    """

    previous_id: int
    changes: dict[str, list[Change]]
    supersede: tuple[int, ...]
    posts: tuple[PlannedPost, ...]
    relinks: tuple[Relink, ...]

    def count(self, kind: str) -> int:
        return sum(1 for changes in self.changes.values() for c in changes
                   if c.kind == kind and not c.out_of_reach)

    @property
    def out_of_reach(self) -> list[tuple[str, Change]]:
        """Changed or removed posts already published (or possibly): for a manual correction."""
        return [(account, c) for account, changes in self.changes.items() for c in changes
                if c.out_of_reach]

    @property
    def changes_posts(self) -> bool:
        return bool(self.supersede or self.posts or self.relinks)


def plan_correction(sheet: FactSheet, accounts: Sequence[AccountConfig],
                    earlier: Sequence[Post], *, previous_id: int, config: Config, store: Store,
                    now: datetime, at: datetime | None = None,
                    every: timedelta | None = None) -> Correction:
    """Diff the new sheet's snippets against the live posts of earlier versions, per account,
    and plan the replacement: changed unpublished posts are superseded by their new text at
    the same time, new snippets are scheduled, thread parts are chained across old and new."""
    by_id = {post.id: post for post in earlier}
    headings = section_keys([s.heading for s in sheet.sections])
    changes: dict[str, list[Change]] = {}
    supersede: list[int] = []
    planned: list[PlannedPost] = []
    relinks: list[Relink] = []
    for account in accounts:
        old = [_old_post(p) for p in earlier if p.account == account.name]
        units = snippets_for(sheet, account)
        # A correction queues no more than its new version would on a first import.
        check_post_count(len(planned) + sum(len(s) for _, s in units), config.limits)
        new = [NewSnippet((*headings[i], s.thread_position), s.text)
               for i, snippets in units for s in snippets]
        diff = diff_snippets(old, new)
        changes[account.name] = diff
        # Units (sections) that no earlier post belongs to get fresh times.
        per_unit: list[list[Change]] = []
        at_change = 0
        for _i, snippets in units:
            per_unit.append(diff[at_change:at_change + len(snippets)])
            at_change += len(snippets)
        fresh = [n for n, unit in enumerate(per_unit) if all(c.old is None for c in unit)]
        times = dict(zip(fresh, unit_times(account, len(fresh), config=config, store=store,
                                            now=now, at=at, every=every), strict=True))
        for n, ((section_index, snippets), unit) in enumerate(zip(units, per_unit,
                                                                   strict=True)):
            kept = [by_id[c.old.id].scheduled_at for c in unit if c.old is not None]
            unit_time = times[n] if n in times else min(kept)
            previous: tuple[int | None, int | None] = (None, None)  # (post id, planned index)
            for snippet, change in zip(snippets, unit, strict=True):
                chained = previous if snippet.thread_position > 1 else (None, None)
                if change.kind == "unchanged" or change.out_of_reach:
                    post = by_id[change.old.id]
                    if change.kind == "unchanged" and post.status in REPLACEABLE and (
                            chained[1] is not None or post.parent_id != chained[0]):
                        relinks.append(Relink(post.id, *chained))
                    previous = (post.id, None)
                    continue
                when = unit_time
                if change.kind == "changed":
                    supersede.append(change.old.id)
                    when = by_id[change.old.id].scheduled_at
                planned.append(PlannedPost(
                    account=account.name, platform=account.platform, text=snippet.text,
                    scheduled_at=when, section_index=section_index,
                    thread_position=snippet.thread_position, thread_size=snippet.thread_size,
                    parent_post_id=chained[0], parent_index=chained[1]))
                previous = (None, len(planned) - 1)
        supersede.extend(c.old.id for c in diff if c.kind == "removed" and not c.out_of_reach)
    return Correction(previous_id, changes, tuple(supersede), tuple(planned), tuple(relinks))


def _old_post(post: Post) -> OldPost:
    heading: tuple[str | None, int] = (None, 1)
    if post.section is not None and post.document is not None:
        keys = section_keys([s.heading for s in post.document.sections])
        positions = [s.position for s in post.document.sections]
        heading = keys[positions.index(post.section.position)]
    return OldPost(post.id, (*heading, post.thread_position), post.text, post.status,
                   post.remote_url)


