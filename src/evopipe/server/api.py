"""The HTTP API: a FastAPI application over one :class:`~evopipe.app.App`, under ``/api/v1``
(OpenAPI at ``/api/v1/openapi.json``, docs at ``/api/v1/docs``)."""

from __future__ import annotations

from fastapi import FastAPI

from evopipe import __version__
from evopipe.app import App
from evopipe.app.ratelimit import RateLimiter
from evopipe.app.serving import ServerOptions
from evopipe.server import problems, routes_other, routes_runs, web
from evopipe.server.security import Guard, ServerState

PREFIX = "/api/v1"


def create_server(app: App, options: ServerOptions | None = None, *, keyless: bool) -> FastAPI:
    """The API over ``app``; ``keyless`` serves the local session without credentials (only
    ever on loopback: see :func:`evopipe.app.serving.binding`)."""
    options = options or ServerOptions()
    api = FastAPI(
        title="evopipe",
        version=__version__,
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=f"{PREFIX}/docs",
        redoc_url=None,
    )
    api.state.evopipe = ServerState(
        app=app,
        auth=app.auth,
        limiter=RateLimiter(options.key_rate, options.tenant_rate),
        options=options,
        keyless=keyless,
    )
    problems.install(api)
    api.include_router(routes_other.router, prefix=PREFIX)
    api.include_router(routes_runs.router, prefix=PREFIX)
    web.mount(api)
    api.add_middleware(Guard, max_body_bytes=options.max_body_bytes)
    return api
