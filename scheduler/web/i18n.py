"""The web interface's languages: gettext catalogues, the language a request is served in,
and the `gettext` that pages and messages built in Python share.

The catalogues are `locale/<code>/LC_MESSAGES/messages.po` (Babel's layout; `make messages`
re-extracts `locale/messages.pot` and updates them). Only the .po files are kept: each is
compiled in memory the first time its language is asked for (Babel's own reader and writer,
a few milliseconds), so there is no .mo to build, to ship or to forget to rebuild after an edit.

A request's language lives in a context variable set once per request (`LanguageMiddleware`
in app.py, from the signed-in user's choice, else a cookie, else Accept-Language): route code,
error handlers and templates all read the same one, and concurrent requests never see each
other's. English is the source language; a string missing from a catalogue shows in English.
"""

from __future__ import annotations

import gettext as stdlib_gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from copy import copy
from datetime import date
from functools import cache
from io import BytesIO
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations
from jinja2 import Environment

from posts.words import Dollars, Words

LOCALE_DIR = Path(__file__).parent / "locale"
#: Every language the interface offers, by code, each named in itself (for the switch).
LANGUAGES = {"en": "English", "ar": "العربية"}
SOURCE_LANGUAGE = "en"
RIGHT_TO_LEFT = frozenset({"ar"})
#: The last language chosen in this browser: what the sign-in page is shown in.
LANGUAGE_COOKIE = "factpost_language"

_current: ContextVar[str] = ContextVar("factpost_language", default=SOURCE_LANGUAGE)


class UnknownLanguage(ValueError):
    """A language code the interface has no catalogue for."""


def check_language(code: str) -> str:
    """`code` if the interface offers it; raises `UnknownLanguage` otherwise."""
    if code not in LANGUAGES:
        raise UnknownLanguage(f"no interface language {code!r}; choose one of "
                              f"{', '.join(LANGUAGES)}")
    return code


@cache
def translations(code: str) -> stdlib_gettext.NullTranslations:
    """The compiled catalogue of language `code` (English: the source strings as they are).
    Fuzzy entries are left out, as msgfmt leaves them out: a guess is never shown."""
    if code == SOURCE_LANGUAGE:
        return stdlib_gettext.NullTranslations()
    with (LOCALE_DIR / check_language(code) / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=code)
    compiled = BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled)


def current_language() -> str:
    return _current.get()


def direction(code: str | None = None) -> str:
    """"rtl" or "ltr", the writing direction of `code` (default: this request's language)."""
    return "rtl" if (code or _current.get()) in RIGHT_TO_LEFT else "ltr"


@contextmanager
def language(code: str) -> Iterator[None]:
    """Serve what runs inside in language `code`."""
    token = _current.set(check_language(code))
    try:
        yield
    finally:
        _current.reset(token)


def gettext(message: str, /, **variables: object) -> str:
    """`message` in this request's language, with `%(name)s` placeholders filled from
    `variables` (as the templates' `_()` does)."""
    text = translations(_current.get()).gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, /, **variables: object) -> str:
    """The singular or plural form for `n` (Arabic has six); `%(num)d` is `n`."""
    text = translations(_current.get()).ngettext(singular, plural, n)
    return text % {"num": n, **variables}


def say(line: object) -> str:
    """A line from the core (posts/words.py) in this request's language: its wording looked up
    in the catalogue (English where it has none), filled with its values, each said the same
    way; numbers and dollar amounts in the locale's pattern, Western digits. Anything else
    (a plain string, a name) is shown as it is. In English: the core's line exactly, as the
    command line prints it."""
    code = _current.get()
    if code == SOURCE_LANGUAGE:
        return str(line)
    if isinstance(line, Words):
        catalogue = translations(code)
        if line.plural is not None:
            wording = catalogue.ngettext(line.text, line.plural, int(line.values[line.count]))
        else:
            wording = catalogue.gettext(line.text)
        return wording % {name: say(value) for name, value in line.values.items()}
    if isinstance(line, Dollars):
        return money(line)
    if isinstance(line, int) and not isinstance(line, bool):
        return format_decimal(line, locale=code)
    return str(line)


def money(amount: Dollars) -> str:
    """Dollars to four places, as the platforms price a request, in the locale's currency
    pattern: "$0.0150" in English, "0.0150 US$" (right-to-left marked) in Arabic."""
    locale = Locale.parse(_current.get())
    pattern = copy(locale.currency_formats["standard"])
    pattern.frac_prec = (4, 4)
    return pattern.apply(amount.amount, locale, currency="USD", currency_digits=False)


def N_(message: str) -> str:
    """Marks `message` for the catalogue where it is written; it is translated where shown."""
    return message


#: The words for a post's status and a user's role: the stored values stay English (they are
#: data the CLI, the API and the CSV share), only what a page shows is translated.
STATUS_WORDS = {"draft": N_("draft"), "queued": N_("queued"), "publishing": N_("publishing"),
                "published": N_("published"), "failed": N_("failed"),
                "needs_review": N_("needs review"), "cancelled": N_("cancelled"),
                "retracting": N_("retracting"), "retracted": N_("retracted")}
ROLE_WORDS = {"author": N_("author"), "approver": N_("approver"), "admin": N_("admin")}


def status_word(status: str) -> str:
    """A post status as a page shows it ("needs_review": "needs review", in Arabic ...)."""
    return gettext(STATUS_WORDS.get(str(status), str(status)))


def role_word(role: str) -> str:
    return gettext(ROLE_WORDS.get(role, role))


#: The units the platforms count text in (scheduler/platforms), as the Compose counter shows
#: them; a unit missing here shows as the platform module names it.
UNIT_WORDS = (N_("weighted characters"), N_("characters (UTF-16)"), N_("characters"),
              N_("graphemes"))


def script_words() -> dict:
    """The words factpost.js writes (the Compose and edit counters), in this request's
    language; `%(name)s` placeholders are filled by the script."""
    return {"unavailable": gettext("Preview unavailable (%(status)s)"),
            "thread": gettext(" — too long for one post: it will go out as a %(parts)s-part "
                              "thread"),
            "too_long": gettext(" — too long for %(title)s"),
            "cost": gettext(" · cost on %(title)s: %(cost)s"),
            "units": {unit: gettext(unit) for unit in UNIT_WORDS}}


class _ThisRequest:
    """What Jinja's i18n extension calls: the catalogue of the request being rendered, looked
    up on each call, so one Environment serves every language at once."""

    def gettext(self, message: str) -> str:
        return translations(_current.get()).gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return translations(_current.get()).ngettext(singular, plural, n)

    def pgettext(self, context: str, message: str) -> str:
        return translations(_current.get()).pgettext(context, message)

    def npgettext(self, context: str, singular: str, plural: str, n: int) -> str:
        return translations(_current.get()).npgettext(context, singular, plural, n)


def install(env: Environment) -> None:
    """Give `env` `{% trans %}`, `_()`, `gettext()` and `ngettext()` (new style: `%(name)s`
    filled and escaped by Jinja) and a `day_words` filter, all in the request's language."""
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_translations(_ThisRequest(), newstyle=True)  # type: ignore[attr-defined]
    env.filters["day_words"] = day_words
    env.filters["status_word"] = status_word
    env.filters["role_word"] = role_word
    env.filters["say"] = say
    env.globals["languages"] = LANGUAGES
    env.globals["script_words"] = script_words


def day_words(day: date, pattern: str = "long") -> str:
    """A day in words in this request's language, its numbers in Western digits as the
    rest of the interface writes them: "long" is "Monday 30 November 2026", "short" "Mon 30
    Nov", "month" "November 2026"."""
    locale = Locale.parse(_current.get())
    weekday = day.weekday()
    if pattern == "month":
        return f"{locale.months['format']['wide'][day.month]} {day.year}"
    width = "wide" if pattern == "long" else "abbreviated"
    words = (f"{locale.days['format'][width][weekday]} {day.day:02d} "
             f"{locale.months['format'][width][day.month]}")
    return f"{words} {day.year}" if pattern == "long" else words


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    """The language for someone not signed in: the cookie's, else the first of the browser's
    Accept-Language (by q-value) that the interface offers, else English."""
    if cookie in LANGUAGES:
        return cookie
    ranked = []
    for position, item in enumerate((accept_language or "").split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, position, tag.split("-")[0].lower()))
    for _quality, _position, code in sorted(ranked):
        if code in LANGUAGES:
            return code
    return SOURCE_LANGUAGE
