"""The newsroom web UI and the /api JSON API (`factpost serve`).

Server-rendered pages over the same Store and importing code as the CLI. Modules:

    app.py      create_app: wiring, error pages, security headers
    context.py  `Web`, what every route shares (config, store, clock, templates)
    limits.py   body limits by route, sign-in before any body is read, time limits on
                headers and bodies, and uvicorn's settings
    auth.py     sessions, roles, CSRF, API tokens
    actions.py  what a page and the API both do (compose a post, read a time)
    paging.py   history pages by key (the `after` cursor)
    pages.py    queue, calendar, history (+ CSV), status
    posts.py    compose, post detail and its actions, approvals
    imports.py  upload or paste a fact sheet, review, queue
    people.py   sign-in, sign-out, users
    api.py      /api, with an OpenAPI schema and its reference page (both behind a login)
"""

from scheduler.web.app import create_app

__all__ = ["create_app"]
