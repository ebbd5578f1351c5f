"""A link in a document, as post text: the words a reader clicks and where they lead.

A post cannot carry a hidden link, so the address is written out after its anchor text
("task force website (https://www.jtf-meridian.mil/reports)"), or stands alone where the anchor
text is the address itself ("www.jtf-meridian.mil"). Written out, X finds and counts it as a
link (23 weighted characters, https://docs.x.com/fundamentals/counting-characters).

Every address, from every format (HTML `href`, Markdown link destination, Word hyperlink
relationship target and HYPERLINK field), goes through `link_address`, which writes it as the
WHATWG URL standard serializes it (https://url.spec.whatwg.org/#concept-url-serializer, via
the `ada-url` parser): spaces and other characters a URL cannot hold are percent-encoded
("a b" -> "a%20b"), so the whole address is one link in the post and not just its first word.

Addresses a reader of the post could not follow are left out and the anchor text kept: links
inside the document (`#section`, Word bookmarks), relative addresses without a base, scripts
and other schemes with no public place (`javascript:`, `file:`, `data:`). A relative address
("/factsheets/x") is resolved against the page's `<base href>` or the base the importer was
given (`--base-url`). Every link whose address was left out, except those to a place in the
document itself, is named in the reader's note (`dropped_links_note`): nothing is lost
silently.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from ada_url import URL, idna_to_ascii, idna_to_unicode

from posts.text import fold_spaces
from posts.weight import find_urls
from posts.words import Words, words

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)
# Schemes whose "//host" address is no place a reader of the post can go to: a file on the
# author's machine or network share, a script, data inside the link.
_PRIVATE = frozenset({"file:", "javascript:", "vbscript:", "data:", "blob:", "about:"})


def web_address(href: str, base: str | None = None) -> str | None:
    """`href` (resolved against `base` when given) as the WHATWG URL standard serializes it,
    percent-encoded ("https://x.mil/a b" -> "https://x.mil/a%20b"); None when it is no URL.

    Two things are written as a reader knows them, not as the serializer does: a host in
    another script stays in it ("مثال.عراق", not "xn--mgbh0fb.xn--mgbtx2b"; X links either,
    and Markdown's parser has already turned it to the latter), and an address written without
    a path gets no "/" ("https://x.mil" is the same place as "https://x.mil/")."""
    try:
        url = URL(href, base) if base else URL(href)
    except ValueError:
        return None
    address = url.href
    host = url.hostname
    if "xn--" in host:
        shown = idna_to_unicode(host)
        if shown and shown != host and idna_to_ascii(shown) == host.encode():
            at = address.index(host, len(url.protocol))
            address = address[:at] + shown + address[at + len(host):]
    if (url.pathname == "/" and not url.search and not url.hash and address.endswith("/")
            and not urlsplit(href.strip()).path):
        address = address[:-1]
    return address


def link_address(href: str | None, base: str | None = None) -> str | None:
    """The address a link leads to, as a reader can use it: an absolute URL with a host
    (http, https, ftp, ...), percent-encoded by `web_address`; e-mail address(es) (from
    `mailto:`); a phone number (from `tel:`); None for anything else."""
    href = (href or "").strip()
    if not href or href.startswith("#"):
        return None
    web_base = base if base and urlsplit(base).scheme.lower() in ("http", "https") else None
    scheme = _SCHEME.match(href)
    if scheme is None:
        if href.startswith(("//", "\\\\", "/\\", "\\/")):
            # A protocol-relative address ("//www.example.mil/x") takes the scheme of the page
            # it is on; without a base, https: fact sheets are published over https, and a
            # site serving http too answers https (or redirects), so the reader lands there.
            return web_address(href, web_base or "https://example.invalid/")
        if web_base:
            return web_address(href, web_base)
        # "www.example.mil" written as a link target without a scheme is still an address.
        spans = find_urls(href)
        return href if spans == [(0, len(href))] else None
    kind = scheme.group().lower()
    rest = href[len(kind):]
    if kind == "mailto:":
        addresses = [unquote(a).strip() for a in rest.split("?", 1)[0].split(",")]
        if all(_EMAIL.fullmatch(a) for a in addresses):
            return ", ".join(addresses)
        return None
    if kind == "tel:":
        number = unquote(rest).strip()
        return number if any(ch.isdigit() for ch in number) else None
    if kind in _PRIVATE:
        return None
    address = web_address(href)
    return address if address is not None and urlsplit(address).hostname else None


def is_dropped(href: str | None, base: str | None = None) -> bool:
    """Whether `link_address` drops `href`, a link to some other place than this document
    ("#x" and empty links name no other place): the reader notes it (`dropped_links_note`)."""
    href = (href or "").strip()
    if not href or href.startswith("#"):
        return False
    return link_address(href, base) is None


def dropped_links_note(name: str, hrefs: list[str]) -> Words | None:
    """The note for links whose address was left out (None when there were none): relative
    ones (which --base-url would keep) and ones a reader cannot follow, each named (by scheme
    only for the latter: a `javascript:` or `data:` link may be long, and is no address)."""
    if not hrefs:
        return None
    relative = [h.strip() for h in hrefs if not _SCHEME.match(h.strip())]
    other = [h.strip() for h in hrefs if _SCHEME.match(h.strip())]
    notes: dict[str, Words] = {}
    if relative:
        notes["relative"] = words(
            "%(count)s link(s) with a relative address (%(links)s) kept as text without the "
            "address; give --base-url https://your-site (or a <base href> in the page) to keep "
            "the addresses in the posts", count=len(relative), links=_shown(relative))
    if other:
        named = [_clip(h) if _SCHEME.match(h).group().lower() in ("mailto:", "tel:")
                 else _SCHEME.match(h).group().lower() for h in other]
        notes["other"] = words(
            "%(count)s link(s) with an address a reader of the post cannot follow (%(links)s) "
            "kept as text without the address; link a web page (https://...), an e-mail "
            "address or a phone number instead", count=len(other), links=_shown(named))
    if len(notes) == 2:
        return words("%(name)s: %(relative)s; %(other)s", name=name, **notes)
    [(_, note)] = notes.items()
    return words("%(name)s: %(note)s", name=name, note=note)


def _shown(items: list[str]) -> Words | str:
    unique = list(dict.fromkeys(_clip(i) for i in items))
    if len(unique) > 3:
        return words("%(first)s and %(more)s more", first=", ".join(unique[:3]),
                     more=len(unique) - 3)
    return ", ".join(unique)


def _clip(text: str, size: int = 80) -> str:
    return text if len(text) <= size else text[:size - 1] + "…"
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
