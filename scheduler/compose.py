"""A post written by hand: the one way typed text becomes posts, for the CLI's `post add`, the
web UI's Compose page, `POST /api/posts` and the `/api/preview` counter alike.

Composed text is split by the account's platform rules exactly as an imported section is
(`importing.snippets_for` on a one-section sheet, paragraphs at blank lines): text that fits one
post is one post; longer text becomes a thread where the platform threads (its spec's
`text.threads`) and is refused where it does not; the account's configured hashtags are added
where the text lacks them and they fit. What `preview` shows is what `compose` stores and the
daemon sends. Composed posts belong to no document, so the importer's correction detection
(a changed version of a file) never sees them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from db.models import Post
from db.store import ComposedThread, PlannedPost, Store
from posts.errors import FactpostError
from posts.factsheet import Contacts, FactSheet, Section
from posts.formats.limits import DEFAULT_LIMITS
from posts.media import Media, MediaError, check_image
from posts.pairs import pair_keys
from posts.split import TextRules
from posts.states import Actor, PostStatus
from posts.text import canonicalise
from scheduler.config import AccountConfig, Config, offered_pairs
from scheduler.planning import snippets_for
from scheduler.platforms import registry
from scheduler.platforms.billing import Estimate
from scheduler.spend import cap_outlook, refuse_what_never_fits


class PostTextError(FactpostError):
    """Text that cannot be posted as it is; the message says what to change."""


@dataclass(frozen=True)
class Part:
    text: str
    weighted_length: int
    position: int
    size: int


@dataclass(frozen=True)
class Preview:
    platform: str
    #: The platform's name for people ("X").
    title: str
    #: The text's length as the platform counts it, in `unit`s.
    length: int
    limit: int
    unit: str
    #: Whether the text fits one post.
    fits: bool
    #: Whether the platform takes a longer text as a thread.
    threads: bool
    parts: tuple[Part, ...]
    #: Where the platform bills per request: what publishing the parts will cost.
    cost: Estimate | None = None


#: Characters of typed text read at all: above the longest post any platform takes
#: (Facebook's 63,206), with room for the spaces canonicalising drops; the API's models say
#: the same. Without it the Compose form split whatever its 11 MB body limit let through.
MAX_TEXT_CHARS = 70_000


def clean(text: str) -> str:
    """The canonical text (posts.text.canonicalise), stripped. Raises PostTextError for text
    over MAX_TEXT_CHARS, before anything else is done with it."""
    if len(text) > MAX_TEXT_CHARS:
        raise PostTextError(f"the text is {len(text):,} characters, over the "
                            f"{MAX_TEXT_CHARS:,} a post may be written with; shorten it, or "
                            "import it as a fact sheet")
    return canonicalise(text).strip()


def check_text(text: str, rules: TextRules, title: str) -> str:
    """The canonical text if it fits one post of a platform with `rules` (called `title`);
    raises PostTextError otherwise. For an edit, which changes one post."""
    text = clean(text)
    if not text:
        raise PostTextError("the post text is empty")
    length = rules.measure(text)
    if length > rules.limit:
        raise PostTextError(f"the text is {length}/{rules.limit} {rules.unit} for {title}; "
                            "shorten it")
    return text


def _rules_of(post: Post, config: Config) -> tuple[TextRules, str]:
    spec = registry.spec(post.platform)
    account = next((a for a in config.accounts if a.name == post.account), None)
    return (account.text if account else spec.text), spec.title


def part_suffix(post: Post, config: Config) -> str:
    """The numbering a thread part's text ends with (" 2/3"); "" for a single post."""
    if post.thread_size <= 1:
        return ""
    return _rules_of(post, config)[0].part_suffix(post.thread_position, post.thread_size)


def editable_text(post: Post, config: Config) -> str:
    """A stored post's text as the edit box shows it: a thread part without its numbering,
    which `edited_text` adds back, so staff cannot break or duplicate it."""
    suffix = part_suffix(post, config)
    return post.text.removesuffix(suffix) if suffix else post.text


def edited_text(text: str, post: Post, config: Config) -> str:
    """New text for a stored post, canonical, with a thread part's numbering added back
    (unless the text already ends with it), if it fits one post by its account's rules (an
    edit changes one post, never a thread); raises PostTextError otherwise."""
    rules, title = _rules_of(post, config)
    return check_text(_with_numbering(text, post, config), rules, title)


def _with_numbering(text: str, post: Post, config: Config) -> str:
    """`text` canonical, with a thread part's numbering added back unless it ends with it."""
    suffix = part_suffix(post, config)
    text = clean(text)
    if suffix and text and not text.endswith(suffix):
        text += suffix
    return text


def edit_preview(text: str, post: Post, config: Config) -> Preview:
    """How the edit box's `text` counts for the stored `post`: the one post an edit saves,
    numbering included, against its account's limit (an edit never becomes a thread)."""
    rules, title = _rules_of(post, config)
    text = _with_numbering(text, post, config)
    length = rules.measure(text)
    part = Part(text, length, post.thread_position, post.thread_size)
    return Preview(post.platform, title, length, rules.limit, rules.unit,
                   bool(text) and length <= rules.limit, False, (part,) if text else ())


def as_sheet(text: str) -> FactSheet:
    """Composed text as a one-section fact sheet (paragraphs at blank lines), to be split like
    any other."""
    paragraphs = tuple(p.strip() for p in clean(text).split("\n\n") if p.strip())
    return FactSheet(title=None, sections=(Section(None, paragraphs),), contacts=Contacts())


def compose_parts(text: str, account: AccountConfig) -> tuple[Part, ...]:
    """The post (or thread parts) `text` becomes for `account`, exactly as stored and sent:
    canonical text, hashtags added where missing and where they fit."""
    text = clean(text)
    if not text:
        return ()
    [(_, snippets)] = snippets_for(as_sheet(text), account)
    return tuple(Part(s.text, s.weighted_length, s.thread_position, s.thread_size)
                 for s in snippets)


def texts_to_queue(text: str, account: AccountConfig) -> tuple[str, ...]:
    """The texts `compose` stores for `account`: one post, or the parts of a thread on a
    platform that threads. Raises PostTextError for empty text, for text too long for one
    post on a platform that does not thread, and for a thread of more parts than a section of
    a fact sheet may become (posts.formats.limits)."""
    spec = account.spec
    cleaned = clean(text)
    if not cleaned:
        raise PostTextError("the post text is empty")
    parts = compose_parts(cleaned, account)
    if len(parts) > 1 and not account.text.threads:
        check_text(cleaned, account.text, spec.title)  # names the length and the limit
        raise PostTextError(f"the text does not fit one {spec.title} post; shorten it")
    most = DEFAULT_LIMITS.thread_parts  # as for a section of an imported fact sheet
    if len(parts) > most:
        raise PostTextError(f"the text would be a {len(parts)}-part thread on {spec.title}, "
                            f"over the {most} parts one post may become; shorten it, or "
                            "import it as a fact sheet with headings")
    return tuple(p.text for p in parts)


@dataclass(frozen=True)
class Draft:
    """One account's post in a compose: its text (the shared text, or the account's own
    variant), when it is due (UTC) and the image for its first part (checked for the
    account's platform already, `image_for`)."""

    account: AccountConfig
    text: str
    when: datetime
    media: Media | None = None


def image_for(data: bytes, alt_text: str | None, account: AccountConfig) -> Media:
    """An uploaded image as Media for `account`, checked by its platform's image rules
    (posts.media.check_image: type from the bytes, size, alt text required). Raises
    MediaError naming the account."""
    spec = account.spec
    try:
        return check_image(data, alt_text, spec.media, platform=spec.title)
    except MediaError as exc:
        raise MediaError(f"{account.name}: {exc}") from None


def compose(store: Store, config: Config, actor: Actor, account: AccountConfig, text: str, *,
            when: datetime, now: datetime, media: Media | None = None,
            warnings: list[str] | None = None) -> list[Post]:
    """Queue (or, under review, draft) a hand-written post, or the thread it becomes, due at
    `when`; `media` (checked for the platform already) goes with the first part. Returns the
    stored posts in thread order; appends to `warnings` where queueing them takes a billing
    app past its monthly cap. Raises PostTextError (also for text too long to go with the
    image, where the platform says so), NeedsApproval, CapExceeded (the post or thread costs
    more than the whole cap, so it could never go)."""
    [posts] = compose_many(store, config, actor, [Draft(account, text, when, media)], now=now,
                           warnings=warnings)
    return posts


def check_caption(first: str, media: Media | None, account: AccountConfig) -> None:
    """Raise PostTextError where the platform holds less text with an image than without
    (its spec's `media.max_caption`) and the first part is over it."""
    caption = account.spec.media.max_caption
    if media is not None and caption is not None and account.text.measure(first) > caption:
        raise PostTextError(f"a {account.spec.title} post with an image holds {caption:,} "
                            f"{account.text.unit}; shorten the text or leave the image out")


def compose_many(store: Store, config: Config, actor: Actor, drafts: Sequence[Draft], *,
                 now: datetime, warnings: list[str] | None = None) -> list[list[Post]]:
    """`compose` for several accounts at once: every account's post (or thread) is checked
    first and all are stored in one transaction, or none is. Returns each draft's posts in
    thread order, in the order given. With more than one draft, a refusal names the account
    it is for. Where both accounts of an English/Arabic pair are chosen (`pairs_among`), their
    posts are linked as pair partners by the import's rule, the English side leading; give
    both the same time, as an import does. Raises PostTextError (also for no accounts or one
    account twice), NeedsApproval, CapExceeded."""
    if not drafts:
        raise PostTextError("no account chosen; pick at least one account to post to")
    names = [d.account.name for d in drafts]
    if len(set(names)) < len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise PostTextError(f"account {twice!r} is chosen twice; choose each account once")
    status = PostStatus.DRAFT if config.require_approval else PostStatus.QUEUED
    texts_of: dict[str, tuple[str, ...]] = {}
    for d in drafts:
        account = d.account
        try:
            texts = texts_to_queue(d.text, account)
            check_caption(texts[0], d.media, account)
        except PostTextError as exc:
            if len(drafts) == 1:
                raise
            raise PostTextError(f"{account.name}: {exc}") from None
        texts_of[account.name] = texts
    pairs = pairs_among([d.account for d in drafts], config)
    keys: dict[str, list[str | None]] = {}
    for en, ar in pairs:
        # The import's rule (posts.pairs): part by part when both threads have as many
        # parts, else only the first parts, so that the two threads start together.
        [en_keys], [ar_keys] = pair_keys([len(texts_of[en.name])], [len(texts_of[ar.name])])
        keys[en.name] = [f"{en.platform}:{k[0]}:{k[1]}" if k else None for k in en_keys]
        keys[ar.name] = [f"{en.platform}:{k[0]}:{k[1]}" if k else None for k in ar_keys]
    # The store links a pair with the side stored first leading (the daemon sends the
    # partner once the leader is out), and an import stores the English side first.
    arabic = {ar.name for _, ar in pairs}
    order = sorted(range(len(drafts)), key=lambda i: drafts[i].account.name in arabic)
    threads: list[ComposedThread] = []
    planned: list[PlannedPost] = []
    for d in (drafts[i] for i in order):
        account, texts = d.account, texts_of[d.account.name]
        threads.append(ComposedThread(account=account.name, platform=account.platform,
                                      texts=texts, scheduled_at=d.when, media=d.media,
                                      pair_keys=tuple(keys.get(account.name, ()))))
        planned.extend(PlannedPost(account=account.name, platform=account.platform, text=t,
                                   scheduled_at=d.when, thread_position=n,
                                   thread_size=len(texts), media=d.media if n == 1 else None)
                       for n, t in enumerate(texts, 1))
    outlooks = cap_outlook(store, config, planned, now)
    refuse_what_never_fits(outlooks)
    if warnings is not None:
        warnings.extend(o.message for o in outlooks if o.message)
    stored = store.posts.add_threads(threads, actor=actor, now=now, status=status)
    by_draft = dict(zip(order, stored, strict=True))
    return [by_draft[i] for i in range(len(drafts))]


def pairs_among(accounts: Sequence[AccountConfig], config: Config
                ) -> list[tuple[AccountConfig, AccountConfig]]:
    """The (English, Arabic) pairs that the config offers (scheduler.config.offered_pairs)
    both of whose accounts are among `accounts`: a compose for both links their posts as
    pair partners, as an import does."""
    names = {a.name for a in accounts}
    return [(en, ar) for en, ar in offered_pairs(config.accounts)
            if en.name in names and ar.name in names]


def preview(text: str, account: AccountConfig, config: Config | None = None) -> Preview:
    """How `text` goes out on `account`: its length, its parts (hashtags included) and, where
    the platform bills per request, their cost at the office's prices (the platform's own
    without a config)."""
    spec = account.spec
    text = clean(text)
    rules = account.text
    length = rules.measure(text)
    parts = compose_parts(text, account)
    cost = None
    if spec.billing is not None:
        settings = config.billing_for(spec.name) if config else spec.billing.defaults()
        cost = spec.billing.estimate((p.text for p in parts), settings.prices)
    return Preview(spec.name, spec.title, length, rules.limit, rules.unit,
                   bool(text) and length <= rules.limit, rules.threads, parts, cost)
