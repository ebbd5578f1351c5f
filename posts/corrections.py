"""What a changed version of a fact sheet changes, post by post, for one account.

A post and a snippet are the same place in the sheet when they have the same key: section
heading, which section of that heading it is (the first "Key facts", the second...), and the
part of the thread. Matching, in this order:

    same key, same text       -> unchanged
    same text, another key    -> unchanged (the section moved or was renamed)
    same key, other text      -> changed
    a snippet left over       -> new
    a post left over          -> removed

Whether a changed or removed post can still be replaced depends on its state: one that is out
of our hands (published, being published, or in doubt) is only reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from posts.states import REPLACEABLE

#: (section heading, occurrence of that heading, thread position)
Key = tuple[str | None, int, int]


@dataclass(frozen=True)
class OldPost:
    id: int
    key: Key
    text: str
    status: str
    remote_url: str | None = None


@dataclass(frozen=True)
class NewSnippet:
    key: Key
    text: str


@dataclass(frozen=True)
class Change:
    kind: Literal["unchanged", "changed", "new", "removed"]
    old: OldPost | None = None
    new: NewSnippet | None = None

    @property
    def out_of_reach(self) -> bool:
        """A changed or removed post that can no longer be replaced (published, or may be)."""
        return (self.kind in ("changed", "removed") and self.old is not None
                and self.old.status not in REPLACEABLE)


def diff_snippets(old: Sequence[OldPost], new: Sequence[NewSnippet]) -> list[Change]:
    """One change per new snippet (in order), then one per old post no snippet matched."""
    matched: dict[int, OldPost] = {}
    free = list(old)

    def take(i: int, post: OldPost) -> None:
        matched[i] = post
        free.remove(post)

    for i, snippet in enumerate(new):
        post = next((p for p in free if p.key == snippet.key and p.text == snippet.text), None)
        if post:
            take(i, post)
    for i, snippet in enumerate(new):
        if i not in matched:
            post = next((p for p in free if p.text == snippet.text), None)
            if post:
                take(i, post)
    changes: list[Change] = []
    for i, snippet in enumerate(new):
        if i in matched:
            changes.append(Change("unchanged", matched[i], snippet))
            continue
        post = next((p for p in free if p.key == snippet.key), None)
        if post:
            free.remove(post)
            changes.append(Change("changed", post, snippet))
        else:
            changes.append(Change("new", None, snippet))
    changes.extend(Change("removed", post, None) for post in free)
    return changes


def section_keys(headings: Sequence[str | None]) -> list[tuple[str | None, int]]:
    """(heading, occurrence) for each section, in order."""
    seen: dict[str | None, int] = {}
    keys = []
    for heading in headings:
        seen[heading] = seen.get(heading, 0) + 1
        keys.append((heading, seen[heading]))
    return keys
