"""What every route shares: the `Web` object (config, store, users, clock, templates) that
`create_app` keeps on the app, and how a route gets it (`web(request)`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, unquote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader

from db.store import Store
from posts.states import Actor
from scheduler.config import Config
from scheduler.timing import form_value, local_text, typed_value
from scheduler.web import i18n
from scheduler.web.i18n import N_

HERE = Path(__file__).parent
NAV = (("/", N_("Queue"), "author"), ("/calendar", N_("Calendar"), "author"),
       ("/compose", N_("Compose"), "author"), ("/import", N_("Import"), "author"),
       ("/approvals", N_("Approvals"), "approver"), ("/history", N_("History"), "author"),
       ("/status", N_("Status"), "author"), ("/users", N_("Users"), "admin"))
#: A one-time message for the next page ("approved", "cancelled"). It travels in a cookie
#: this site sets, never in the address: a link from elsewhere cannot make the site say things.
NOTICE_COOKIE = "factpost_notice"
#: The same for a message that something was refused ("nothing approved: ..."), shown as an
#: alert rather than as a notice.
ALERT_COOKIE = "factpost_alert"


def utcnow() -> datetime:
    return datetime.now(UTC)


class Web:
    """What every route needs: config, store, users, clock and templates."""

    def __init__(self, config: Config, store: Store, clock: Callable[[], datetime]) -> None:
        self.config = config
        self.store = store
        self.users = store.users
        self.now = clock
        self.tz = config.timezone
        env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True,
                          trim_blocks=True, lstrip_blocks=True)
        i18n.install(env)
        env.filters["local"] = self.local
        env.filters["form_value"] = lambda when: form_value(when, self.tz)
        env.filters["typed_value"] = lambda when: typed_value(when, self.tz)
        env.filters["short"] = shorten
        env.filters["web_link"] = web_link
        self.templates = Jinja2Templates(env=env)

    def local(self, when: datetime | None, fmt: str = "%Y-%m-%d %H:%M", zone: bool = True
              ) -> str:
        """Office time with its zone ("2026-12-01 09:00 UTC+03:00", `local_text`); without
        `zone`, only where the wall time happens twice (a calendar's cells, under a heading
        that names the zone). In a right-to-left language, isolated as left-to-right text."""
        text = local_text(when, self.tz, fmt, zone=zone)
        if text and i18n.direction() == "rtl":
            # Left-to-right isolate (U+2066 ... U+2069): in right-to-left text, a date, its
            # time and zone would otherwise be laid out in reverse order ("UTC+03:00 09:00
            # 2026-12-01"), in pages and in plain-text notices alike.
            return f"\u2066{text}\u2069"
        return text

    def render(self, request: Request, template: str, actor: Actor | None, status: int = 200,
               **context) -> HTMLResponse:
        path = request.url.path
        # Where the language switch comes back to: this page, unless it answers a form.
        this_page = (path + (f"?{request.url.query}" if request.url.query else "")
                     if request.method == "GET" else "/")
        # The menu marks the page it leads to (aria-current), a post's page under none.
        nav = [(href, i18n.gettext(label),
                path == href or (href != "/" and path.startswith(href + "/")))
               for href, label, role in NAV if actor and actor.may(role)]
        notice = request.cookies.get(NOTICE_COOKIE)
        alert = request.cookies.get(ALERT_COOKIE)
        response = self.templates.TemplateResponse(
            request, template, {"actor": actor, "csrf": actor.csrf if actor else None, "nav": nav,
                                "config": self.config, "tz": self.tz.key,
                                "lang": i18n.current_language(), "dir": i18n.direction(),
                                "this_page": this_page,
                                "notice": unquote(notice) if notice else None,
                                "alert": unquote(alert) if alert else None, **context},
            status_code=status)
        for name, value in ((NOTICE_COOKIE, notice), (ALERT_COOKIE, alert)):
            if value is not None:
                response.delete_cookie(name, path="/")
        return response

    def text(self, template: str, **context) -> str:
        """A message for a notice, from its template (templates/notices/), so the words live
        with the pages' and are translated with them."""
        # One line: the template's own line breaks are layout, not part of the message.
        return " ".join(self.templates.env.get_template(template).render(**context).split())

    def redirect(self, path: str, notice: str | None = None, *, alert: bool = False
                 ) -> RedirectResponse:
        """A 303 to `path` on this site, carrying `notice` to the page it leads to (shown as
        an alert with `alert`: something was refused)."""
        response = RedirectResponse(path, status_code=303)
        if notice:
            # Up to 600 characters (a bulk action names each post), but within what a browser
            # keeps of a cookie (4 KB); Arabic takes 6 bytes a letter once quoted.
            encoded = quote(notice[:600])
            while len(encoded) > 3000:
                notice = notice[: len(notice) * 3 // 4]
                encoded = quote(notice[:600])
            response.set_cookie(ALERT_COOKIE if alert else NOTICE_COOKIE, encoded,
                                max_age=120, path="/", httponly=True, samesite="lax",
                                secure=self.config.secure_cookies)
        return response

    def public_message(self, message: str) -> str:
        """A message fit for the browser: where the server keeps its files is not the
        reader's business, so the config's folder is left out of it."""
        path = self.config.path
        for shown in {str(path.resolve()), str(path)}:
            message = message.replace(shown, path.name)
        for folder in {str(path.resolve().parent), str(path.parent)}:
            if folder not in ("", "."):
                message = message.replace(folder + "/", "")
        return message


def shorten(text: str, width: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def web_link(url: str | None) -> str | None:
    """`url` when it is an http(s) address, else None: a stored link is never made into a
    `javascript:` or `data:` link, whatever put it in the database."""
    if url and url.lower().startswith(("https://", "http://")):
        return url
    return None


def web(request: Request) -> Web:
    """The shared state of the app serving `request`."""
    return request.app.state.web
