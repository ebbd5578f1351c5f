"""Why an official post may be taken down, and the public acknowledgment that says so.

DoD Instruction 5400.17, "Official Use of Social Media for Public Affairs Purposes" (section 3,
core principles), lets an office remove content from an official account only for a factual or
typographical error; a violation of a law, policy, term of service or user agreement; or an
operations or information security concern; and asks that a removal be acknowledged publicly,
with context (https://www.esd.whs.mil/Portals/54/Documents/DD/issuances/dodi/540017p.PDF,
summarised at https://www.army.mil/socialmedia/DODI5400.html). `REASONS` are those grounds, one
name each; nothing else takes a post down.
"""

from __future__ import annotations

from posts.errors import FactpostError

#: The grounds for removing a post (DoDI 5400.17 section 3), by the name staff give, with the
#: words the audit trail and an acknowledgment use.
REASONS: dict[str, str] = {
    "factual-error": "a factual error",
    "typo": "a typographical error",
    "legal": "a legal concern",
    "policy": "a policy violation",
    "terms-of-service": "a platform terms-of-service violation",
    "security": "an operations or information security concern",
}

#: The reasons' words in Arabic, for the Arabic acknowledgment.
REASONS_AR: dict[str, str] = {
    "factual-error": "خطأ في المعلومات",
    "typo": "خطأ مطبعي",
    "legal": "اعتبارات قانونية",
    "policy": "مخالفة للسياسات",
    "terms-of-service": "مخالفة لشروط استخدام المنصة",
    "security": "اعتبارات أمنية",
}

#: The acknowledgment queued when staff give none of their own, by language; `{reason}` is
#: the reason's words in that language.
DEFAULT_ACKNOWLEDGMENTS = {
    "en": "We removed an earlier post because of {reason}. We apologise for any confusion.",
    "ar": "حذفنا منشورًا سابقًا بسبب {reason}. نعتذر عن أي لبس.",
}
_WORDS = {"en": REASONS, "ar": REASONS_AR}


class BadRetraction(FactpostError):
    """A retraction asked for without a reason this office may remove a post for."""


def check_reason(reason: str, note: str | None) -> tuple[str, str]:
    """The reason's name and the note, checked: the reason one of `REASONS`, the note some
    words of at most 1,000 characters (the audit trail keeps it). Raises `BadRetraction`."""
    if reason not in REASONS:
        raise BadRetraction(f"{reason!r} is not a reason to remove an official post; use one "
                            f"of {', '.join(REASONS)} (DoD Instruction 5400.17)")
    note = " ".join((note or "").split())
    if not note:
        raise BadRetraction("say in a note what was wrong with the post (--note TEXT); the "
                            "audit trail keeps it with the reason")
    if len(note) > 1000:
        raise BadRetraction(f"the note is {len(note)} characters; keep it to 1,000")
    return reason, note


def audit_reason(reason: str, note: str) -> str:
    """How the reason and note read in the audit trail: `factual-error: <note>`."""
    return f"{reason}: {note}"


def acknowledgment(reason: str, language: str) -> str:
    """The default public acknowledgment of a removal, in `language` ("en" or "ar"; any other
    gets the English)."""
    if language not in DEFAULT_ACKNOWLEDGMENTS:
        language = "en"
    return DEFAULT_ACKNOWLEDGMENTS[language].format(reason=_WORDS[language][reason])
