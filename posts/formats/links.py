"""A link in a document, as post text: the words a reader clicks and where they lead.

A post cannot carry a hidden link, so the address is written out after its anchor text
("task force website (https://www.jtf-meridian.mil/reports)"), or stands alone where the anchor
text is the address itself ("www.jtf-meridian.mil"). Written out, X finds and counts it as a
link (23 weighted characters, https://docs.x.com/fundamentals/counting-characters).

Addresses a reader of the post could not follow are left out and the anchor text kept: links
inside the document (`#section`, Word bookmarks), relative addresses without a base, scripts.
A relative address ("/factsheets/x") is resolved against the page's `<base href>` or the base
the importer was given (`--base-url`); without either, the reader notes every one it dropped
(`relative_links_note`), so no address is lost silently.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urljoin, urlsplit

from posts.text import fold_spaces
from posts.weight import find_urls

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)


def link_address(href: str | None, base: str | None = None) -> str | None:
    """The address a link leads to, as a reader can use it: an absolute http(s) URL, an
    e-mail address (from `mailto:`), a phone number (from `tel:`); None for anything else."""
    href = (href or "").strip()
    if not href or href.startswith("#"):
        return None
    scheme = _SCHEME.match(href)
    if scheme is None:
        if base and urlsplit(base).scheme in ("http", "https"):
            return urljoin(base, href)
        # "www.example.mil" written as a link target without a scheme is still an address.
        spans = find_urls(href)
        return href if spans == [(0, len(href))] else None
    kind = scheme.group().lower()
    rest = href[len(kind):]
    if kind in ("http:", "https:"):
        return href if urlsplit(href).netloc else None
    if kind == "mailto:":
        address = unquote(rest.split("?", 1)[0]).strip()
        return address if _EMAIL.fullmatch(address) else None
    if kind == "tel:":
        number = unquote(rest).strip()
        return number if any(ch.isdigit() for ch in number) else None
    return None


def is_relative(href: str | None, base: str | None = None) -> bool:
    """Whether `link_address` drops `href` for want of a base: a relative address ("/x",
    "x.html", "../x") that names another page, not a place in this one ("#x")."""
    href = (href or "").strip()
    if not href or href.startswith("#") or _SCHEME.match(href) or href.startswith("//"):
        return False
    return link_address(href, base) is None


def relative_links_note(name: str, hrefs: list[str]) -> str | None:
    """The note for links whose relative address was dropped (None when there were none)."""
    if not hrefs:
        return None
    shown = ", ".join(dict.fromkeys(hrefs[:3]))
    more = f" and {len(hrefs) - 3} more" if len(hrefs) > 3 else ""
    return (f"{name}: {len(hrefs)} link(s) with a relative address ({shown}{more}) kept as "
            "text without the address; give --base-url https://your-site (or a <base href> "
            "in the page) to keep the addresses in the posts")


def link_text(anchor: str, address: str | None) -> str:
    """The anchor text with its address: "anchor (address)"; the address alone when the anchor
    is empty; the anchor alone when it is the address as written ("www.example.mil" for
    https://www.example.mil/) or already holds it, or when there is no usable address."""
    shown = fold_spaces(anchor)
    if address is None:
        return anchor
    if not shown:
        return address
    if _bare(address) in _bare(shown):
        return anchor
    core = anchor.rstrip()
    return f"{core} ({address}){anchor[len(core):]}"


def _bare(address: str) -> str:
    text = address.strip().lower()
    text = re.sub(r"^(?:https?://|mailto:|tel:)", "", text)
    text = text.removeprefix("www.")
    return text.rstrip("/")


def _same(anchor: str, address: str) -> bool:
    return _bare(anchor) == _bare(address)
