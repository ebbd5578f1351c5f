"""Planning posts: the snippets each account gets from a parsed sheet (by its platform's text
rules), the time of each unit (a single post, or a whole thread back to back), what the posts
will cost where the platform bills, and the section images that go with them. Nothing here
writes: the importer (importing.py) and compose (compose.py) store what is planned.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import replace as replace_fields
from datetime import datetime, timedelta

from db.store import PlannedPost, Store
from posts.factsheet import (
    FactSheet,
)
from posts.formats.images import (
    FoundImage,
)
from posts.formats.limits import DEFAULT_LIMITS, Limits
from posts.media import MediaError, check_image
from posts.split import Snippet, split_section
from posts.words import Words, words
from scheduler.config import AccountConfig, Config
from scheduler.platforms import registry
from scheduler.platforms.billing import Estimate
from scheduler.reading import DocumentImportError
from scheduler.timing import free_slots


@dataclass(frozen=True)
class Cost:
    """What one account's planned posts will cost on its platform (called `title`)."""

    account: str
    title: str
    estimate: Estimate

    def __str__(self) -> str:
        return str(self.line)

    @property
    def line(self) -> Words:
        return words("%(account)s on %(platform)s: %(estimate)s", account=self.account,
                     platform=self.title, estimate=self.estimate.line)


def snippets_for(sheet: FactSheet, account: AccountConfig, language: str | None = None
                 ) -> list[tuple[int, list[Snippet]]]:
    """Per section (by index), the snippets this account will post; `language` picks the
    sentence rules (detected from the text when None)."""
    return [(i, split_section(section, account.text, hashtags=account.hashtags,
                              language=language, links=account.links))
            for i, section in enumerate(sheet.sections)]


def check_post_count(count: int, limits: Limits | None) -> None:
    """Refuse an import that would queue more than `limits.posts` posts (all accounts together;
    the office's `[import] max_posts`, `Config.limits`; DEFAULT_LIMITS' for None). Raises
    DocumentImportError."""
    limit = (limits or DEFAULT_LIMITS).posts
    if count > limit:
        raise DocumentImportError(words(
            "this import would queue %(count)s posts or more, over the %(limit)s one import may "
            "queue; import it for fewer accounts or split the document, or raise [import] "
            "max_posts in the config", count=f"{count:,}", limit=f"{limit:,}"))


def unit_times(account: AccountConfig, count: int, *, config: Config, store: Store,
                now: datetime, at: datetime | None, every: timedelta | None) -> list[datetime]:
    if count == 0:
        return []
    if at is not None or every is not None:
        start, step = at or now, every or timedelta(0)
        return [start + step * n for n in range(count)]
    if not account.slots:
        raise DocumentImportError(words(
            "account %(account)s has no posting slots; add `slots` to it in the config or pass "
            "--at/--every", account=repr(account.name)))
    slots = free_slots(account.slots, config.timezone, now,
                       taken=store.history.scheduled_times(account.name))
    times = list(itertools.islice(slots, count))
    if len(times) < count:
        raise DocumentImportError(words(
            "account %(account)s has only %(free)s free posting slot(s) left in its `slots` "
            "(%(slots)s) for %(count)s post(s); add slots in the config or pass --at/--every",
            account=repr(account.name), free=len(times), slots=", ".join(account.slots),
            count=count))
    return times


def plan_posts(sheet: FactSheet, accounts: Sequence[AccountConfig], *, config: Config,
               store: Store, now: datetime, at: datetime | None = None,
               every: timedelta | None = None) -> list[PlannedPost]:
    """Give every unit (a single post, or a whole thread back to back) a time.

    With `at`/`every`, units are spaced evenly from `at`; otherwise each goes into the account's
    next free cron slot.
    """
    planned: list[PlannedPost] = []
    for account in accounts:
        units = snippets_for(sheet, account)
        check_post_count(len(planned) + sum(len(s) for _, s in units), config.limits)
        times = unit_times(account, len(units), config=config, store=store, now=now, at=at,
                            every=every)
        for when, (section_index, snippets) in zip(times, units, strict=True):
            planned.extend(PlannedPost(account=account.name, platform=account.platform,
                                       text=s.text, scheduled_at=when,
                                       section_index=section_index,
                                       thread_position=s.thread_position,
                                       thread_size=s.thread_size) for s in snippets)
    return planned


def costs(planned: Sequence[PlannedPost], config: Config) -> tuple[Cost, ...]:
    """Per account of a platform that bills per request (in the order planned), what
    publishing its planned posts will cost at the office's prices."""
    found = []
    for name in dict.fromkeys(p.account for p in planned):
        spec = registry.spec(next(p.platform for p in planned if p.account == name))
        settings = config.billing_for(spec.name)
        if spec.billing is None or settings is None:
            continue
        texts = (p.text for p in planned if p.account == name)
        found.append(Cost(name, spec.title, spec.billing.estimate(texts, settings.prices)))
    return tuple(found)


def attach_images(planned: Sequence[PlannedPost], images: Sequence[FoundImage],
                  sheet: FactSheet) -> tuple[list[PlannedPost], list[Words]]:
    """Give the first post of each section, per account, the section's first image that the
    account's platform takes (posts.media, as `post add` checks). Returns the posts and one
    line for each image left out, saying why and what to do."""
    planned = list(planned)
    notes: list[Words] = []
    # Images are told apart by their number in the document, never by their label: the label
    # is words for people, said in the reader's language.
    candidates: dict[int, list[tuple[int, Words, FoundImage]]] = {}
    for n, image in enumerate(images, 1):
        label = _image_label(n, image, sheet)
        if image.content is None:
            notes.append(words("%(image)s: skipped, %(why)s", image=label, why=image.skipped))
        elif image.section is None:
            notes.append(words("%(image)s: not attached, it follows the last section with "
                               "text; move it into a section", image=label))
        elif not image.alt:
            notes.append(words("%(image)s: not attached, it has no alt text; add alt text to "
                               "the image in the document (people using screen readers need "
                               "it)", image=label))
        else:
            candidates.setdefault(image.section, []).append((n, label, image))
    used: set[int] = set()
    refused: set[int] = set()
    firsts = {}
    for i, post in enumerate(planned):
        if post.thread_position == 1 and post.section_index is not None:
            firsts.setdefault((post.account, post.section_index), i)
    for (account, section), i in firsts.items():
        post = planned[i]
        for n, label, image in candidates.get(section, ()):
            spec = registry.spec(post.platform)
            try:
                media = check_image(image.content or b"", image.alt, spec.media,
                                    platform=spec.title, name=label)
            except MediaError as exc:
                notes.append(words("%(error)s (not attached for %(account)s)",
                                   error=exc.words or str(exc), account=account))
                refused.add(n)
                continue
            if (caption := spec.media.max_caption) is not None and (
                    length := spec.text.measure(post.text)) > caption:
                notes.append(words(
                    "%(image)s: not attached for %(account)s: a %(platform)s post with an image "
                    "holds %(caption)s %(unit)s and this one has %(length)s", image=label,
                    account=account, platform=spec.title, caption=f"{caption:,}",
                    unit=spec.text.unit, length=f"{length:,}"))
                refused.add(n)
                continue
            planned[i] = replace_fields(post, media=media)
            used.add(n)
            break
    for section_images in candidates.values():
        for n, label, _image in section_images:
            if n not in used and n not in refused:
                notes.append(words("%(image)s: not attached, a section's first post takes "
                                   "only the section's first image", image=label))
    return planned, notes


def _image_label(n: int, image: FoundImage, sheet: FactSheet) -> Words:
    if image.section is None:
        return words("image %(n)s (%(source)s)", n=n, source=image.source)
    heading = sheet.sections[image.section].heading
    if heading:
        return words("image %(n)s (%(source)s, section %(heading)s)", n=n,
                     source=image.source, heading=repr(heading))
    return words("image %(n)s (%(source)s, section %(number)s)", n=n, source=image.source,
                 number=image.section + 1)


