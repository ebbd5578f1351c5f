"""The root of every error factpost raises on purpose.

Each such error is a `FactpostError`: its message is one line for people, naming what is wrong
and what to do, and it never holds a secret. The classes are defined next to the code that
raises them (a document reader, the store, the config loader, a publisher); the whole tree,
and how the command line and the web show each branch, is drawn in `scheduler/errors.py`.
`posts` is the lowest layer, so the root lives here where every layer can import it.
"""

from __future__ import annotations


class FactpostError(Exception):
    """Base of every error factpost raises for people to read (never for a bug)."""
