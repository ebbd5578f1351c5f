"""Every error factpost shows to people, in one place, and how each reaches them.

Every error raised for people to read is a `FactpostError` (posts/errors.py): one line naming
what is wrong and what to do, never a secret. The command line prints it as
`factpost: error: <message>` with exit status 1 (scheduler/cli/common.py); the web UI shows it
on an error page and /api as `{"detail": <message>}`, with the HTTP status `http_status` gives
(scheduler/web/app.py). Anything else is a bug and is never caught on the way out.

    FactpostError
    ├── DocumentError           posts/text.py       a file cannot be read as a fact sheet
    ├── PairingError            posts/pairs.py      two language versions do not pair
    ├── MediaError              posts/media.py      an image a platform would refuse
    ├── IllegalTransition       posts/states.py     a move no action makes          409
    ├── NotPermitted            posts/states.py     the actor's role does not allow it  403
    ├── DatabaseUnavailable     db/engine.py        the database cannot be used     503
    ├── StoreError              db/errors.py        a request the store cannot carry out
    │   ├── PostNotFound                                                            404
    │   ├── NotEditable, SelfApproval, NeedsApproval, PostChanged, WrongStep        409
    │   ├── BadFilter, BadLink, EmptySearch, UserError, VersionMissing
    ├── ConfigError             scheduler/config.py  config.toml or a secret is wrong
    │   └── CredentialsMissing
    ├── DocumentImportError     scheduler/importing.py
    ├── PostTextError           scheduler/compose.py
    ├── CapExceeded             scheduler/cap_outlook.py  a unit dearer than a whole monthly cap
    ├── TimeFormatError         scheduler/timing.py
    ├── PortUnavailable         scheduler/listening.py
    ├── LoginThrottled          scheduler/users.py                                  429
    ├── TimelineIncomplete      scheduler/reconcile.py  too many posts to read back to a try
    ├── ReviewExpired           scheduler/web/pending.py  an import review no longer held
    └── PublishError            scheduler/platforms/base.py  a platform's answer, sorted
                                (its own tree is drawn there)

Every other FactpostError is a bad request (400).
"""

from __future__ import annotations

from db.engine import DatabaseUnavailable
from db.errors import (
    NeedsApproval,
    NotEditable,
    PostChanged,
    PostNotFound,
    SelfApproval,
    WrongStep,
)
from posts.errors import FactpostError
from posts.states import IllegalTransition, NotPermitted
from scheduler.users import LoginThrottled

__all__ = ["FactpostError", "http_status"]

#: The HTTP status of each kind of error; the first class an error is an instance of decides.
HTTP_STATUS: tuple[tuple[type[FactpostError] | tuple[type[FactpostError], ...], int], ...] = (
    (PostNotFound, 404),
    (NotPermitted, 403),
    ((NotEditable, SelfApproval, IllegalTransition, NeedsApproval, PostChanged,
      WrongStep), 409),
    (LoginThrottled, 429),
    (DatabaseUnavailable, 503),
    (FactpostError, 400),
)


def http_status(error: FactpostError) -> int:
    """The HTTP status the web UI and /api answer `error` with."""
    return next(status for kinds, status in HTTP_STATUS if isinstance(error, kinds))
