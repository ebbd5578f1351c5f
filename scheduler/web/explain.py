"""Errors from the core, told in the reader's language.

The core's messages (db/, posts/, scheduler/) are one English line each, written where the
error is raised and shared with the command line and /api; the core knows nothing of the web's
catalogue. Where the core raised the error with its words kept apart (posts/words.py: the
wording and its values), a page in another language shows the catalogue's translation filled
with those values. Otherwise it says what kind of refusal it is, in that language, from the
error's type (the list in scheduler/errors.py), and shows the core's exact line beside it,
isolated in its own direction. In English the line is shown alone, as before.
"""

from __future__ import annotations

from collections.abc import Callable

from markupsafe import Markup

from db.errors import (
    BadFilter,
    BadLink,
    EmptySearch,
    NeedsApproval,
    NotEditable,
    PostChanged,
    PostNotFound,
    SelfApproval,
    VersionMissing,
    WrongStep,
)
from db.users import UserError
from posts.errors import FactpostError
from posts.media import MediaError
from posts.pairs import PairingError
from posts.states import IllegalTransition, NotPermitted
from posts.text import DocumentError
from scheduler.compose import PostTextError
from scheduler.config import ConfigError
from scheduler.reading import DocumentImportError
from scheduler.spend import CapExceeded
from scheduler.timing import TimeFormatError
from scheduler.users import LoginThrottled
from scheduler.web.i18n import N_, SOURCE_LANGUAGE, current_language, gettext, say
from scheduler.web.pending import ReviewExpired

#: What each kind of refusal means, for a reader of another language; the first class an
#: error is an instance of decides.
KINDS: tuple[tuple[type[FactpostError] | tuple[type[FactpostError], ...], str], ...] = (
    (PostNotFound, N_("There is no such post: the link is wrong or the number mistyped.")),
    (PostChanged, N_("The post changed since you opened it; open it again and review it.")),
    (NotEditable, N_("The post cannot be changed in its present state.")),
    (SelfApproval, N_("Under the two-person rule nobody approves a post they wrote or "
                      "edited.")),
    (NeedsApproval, N_("The post needs an approval first.")),
    (WrongStep, N_("The post waits for a step of clearance you do not hold.")),
    (IllegalTransition, N_("The post cannot go from its present state to the one asked "
                           "for.")),
    (NotPermitted, N_("Your role does not allow this.")),
    (VersionMissing, N_("The form did not say which version of the post you reviewed; "
                        "reload the page.")),
    ((BadFilter, EmptySearch), N_("The filter cannot be used.")),
    (BadLink, N_("The id or link cannot be used.")),
    (UserError, N_("The change to the users cannot be made.")),
    (LoginThrottled, N_("Too many failed sign-ins; wait, then try again.")),
    (TimeFormatError, N_("The time cannot be used.")),
    (PostTextError, N_("The text cannot be posted as it is.")),
    (MediaError, N_("The image cannot be posted.")),
    (PairingError, N_("The two language versions do not pair.")),
    ((DocumentError, DocumentImportError), N_("The document cannot be imported.")),
    (ReviewExpired, N_("The import review is no longer held; upload the document again.")),
    (CapExceeded, N_("This would go past the monthly spend cap.")),
    (ConfigError, N_("The configuration does not allow this.")),
)


def explain(error: FactpostError, message: str | None = None, *,
            public: Callable[[str], str] = str) -> str | Markup:
    """What a page shows for `error` (`message`: its text as shown, default `str(error)`;
    `public` takes out of any text what the browser may not see): in English the message
    alone; in another language, the error's own words translated where the core kept them
    (posts/words.py), else what kind of refusal it is followed by the message in a `<bdi>`."""
    text = public(str(error)) if message is None else message
    if current_language() == SOURCE_LANGUAGE:
        return text
    if error.words is not None:
        return public(say(error.words))
    kind = next((words for kinds, words in KINDS if isinstance(error, kinds)), None)
    if kind is None:
        return text
    return Markup("{} <bdi>{}</bdi>").format(gettext(kind), text)
