"""The root of every error factpost raises on purpose.

Each such error is a `FactpostError`: its message is one line for people, naming what is wrong
and what to do, and it never holds a secret. The classes are defined next to the code that
raises them (a document reader, the store, the config loader, a publisher); the whole tree,
and how the command line and the web show each branch, is drawn in `scheduler/errors.py`.
`posts` is the lowest layer, so the root lives here where every layer can import it.
"""

from __future__ import annotations

from posts.words import Words


class FactpostError(Exception):
    """Base of every error factpost raises for people to read (never for a bug).

    Raised with a `Words` (posts/words.py) rather than a finished string, the error keeps its
    wording and values as `words`, so the web can say it in the reader's language; `str()` is
    the English line either way."""

    words: Words | None = None

    def __init__(self, *args: object) -> None:
        if args and isinstance(args[0], Words):
            self.words = args[0]
            args = (str(args[0]), *args[1:])
        super().__init__(*args)
