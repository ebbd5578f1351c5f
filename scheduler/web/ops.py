"""/metrics and /healthz for monitoring: no session, optionally a bearer token.

Both are GET routes without a body, so the request gate (limits.py) lets them through without
asking who is calling and without reading anything; what bounds them is their cost, which is
the store's aggregate queries at most once per CACHE_SECONDS (metrics) or second (health),
however many requests arrive. With `[web] metrics_token_env` set, both require
`Authorization: Bearer <the variable's value>` (compared in constant time) and answer 401
otherwise.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from db.store import Store
from scheduler.config import Config, ConfigError
from scheduler.metrics import CONTENT_TYPE, Snapshots, health, metrics_renderer

#: Monitoring paths, outside the session's world.
PATHS = ("/metrics", "/healthz")


def add_monitoring(app: FastAPI, config: Config, store: Store,
                   clock: Callable[[], datetime], environ=None) -> None:
    """Add /metrics and /healthz to `app`. Raises ConfigError when `[web] metrics_token_env`
    names a variable that is not set (the routes would otherwise be open by mistake)."""
    environ = os.environ if environ is None else environ
    token = None
    if config.metrics_token_env is not None:
        token = environ.get(config.metrics_token_env)
        if not token:
            raise ConfigError(f"{config.path}: web.metrics_token_env names "
                              f"{config.metrics_token_env}, which is not set; export the "
                              "token /metrics and /healthz require, or leave the key out")
    expected = f"Bearer {token}".encode() if token else None
    metrics = Snapshots(metrics_renderer(store, config, clock))
    checked = Snapshots(lambda: health(store, config, clock()), seconds=1.0)
    router = APIRouter()

    def refused(request: Request) -> Response | None:
        if expected is None:
            return None
        given = request.headers.get("authorization", "").encode()
        if hmac.compare_digest(given, expected):
            return None
        return JSONResponse({"detail": "send 'Authorization: Bearer TOKEN' with the token in "
                             f"{config.metrics_token_env}"}, status_code=401,
                            headers={"WWW-Authenticate": "Bearer"})

    @router.get("/metrics", include_in_schema=False)
    async def metrics_page(request: Request) -> Response:
        if (answer := refused(request)) is not None:
            return answer
        body = await run_in_threadpool(metrics.get)
        return Response(body, media_type=CONTENT_TYPE)

    @router.get("/healthz", include_in_schema=False)
    async def healthz(request: Request) -> Response:
        if (answer := refused(request)) is not None:
            return answer
        result = await run_in_threadpool(checked.get)
        return JSONResponse(result.body, status_code=200 if result.healthy else 503)

    app.include_router(router)
