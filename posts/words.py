"""Lines for people, kept as a wording and its values rather than as finished English.

The core (posts/, db/, scheduler/) says what happened once, in English, and knows nothing of
languages. Where a line may be shown in another language (an import note, a cost, a warning,
why a file cannot be read), the core builds a `Words`: the English wording with `%(name)s`
placeholders, and the values to fill them. `str()` gives the English line the command line and
/api print; the web looks the wording up in its catalogue (the wording *is* the msgid:
`make messages` extracts every `words(...)` and `counted_words(...)` call) and fills the
translation with the same values. So each line's English is written in one place.

Values may be `Words` themselves (a word the sentence names, such as a language), `Dollars`,
or anything `str()` shows as it is (names, paths, numbers, times).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

MICROS = 1_000_000


@dataclass(frozen=True)
class Dollars:
    """An amount of US dollars, in micro-dollars, shown to four places ("$0.0150") as the
    platforms price a request."""

    micros: int

    def __str__(self) -> str:
        sign = "-" if self.micros < 0 else ""
        return f"{sign}${Decimal(abs(self.micros)) / MICROS:,.4f}"

    @property
    def amount(self) -> Decimal:
        return Decimal(self.micros) / MICROS


class Words(str):
    """One line for people: `text` (English, `%(name)s` placeholders) filled from `values`.
    With `plural`, `text` is the singular and `plural` the plural wording, chosen by the
    integer value named `count` (a language may have other forms: the web's catalogue has
    them).

    It *is* its English line (a `str`), so the command line, JSON and logs use it as they
    used the string it replaced; the wording and values ride along for the web."""

    text: str
    values: Mapping[str, object]
    plural: str | None
    count: str | None

    def __new__(cls, text: str, values: Mapping[str, object] | None = None,
                plural: str | None = None, count: str | None = None) -> Words:
        values = dict(values or {})
        wording = text if plural is None or values[count or ""] == 1 else plural
        line = super().__new__(cls, wording % {name: str(value)
                                               for name, value in values.items()})
        line.text, line.values, line.plural, line.count = text, values, plural, count
        return line

    def __getnewargs__(self) -> tuple:  # type: ignore[override]
        return self.text, self.values, self.plural, self.count


def words(text: str, /, **values: object) -> Words:
    """A line `text` with its values (see `Words`)."""
    return Words(text, values)


def counted_words(singular: str, plural: str, /, count: str, **values: object) -> Words:
    """A line in its singular or plural wording by `values[count]`, e.g.
    `counted_words("%(posts)s post", "%(posts)s posts", count="posts", posts=3)`."""
    return Words(singular, values, plural, count)
