"""Serving the MCP server over stdio or streamable HTTP (stateless, JSON responses), with
one :class:`~evopipe.app.App` owned by the process for its lifetime: background runs and
evolutions live in its event loop, and are stopped (journaled, resumable) when it ends."""

from __future__ import annotations

from collections.abc import Callable

import uvicorn

from evopipe.app import App
from evopipe.app.remote import Remote
from evopipe.mcp.server import build_server

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
PATH = "/mcp"


async def serve(
    app: App,
    *,
    http: bool = False,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    announce: Callable[[str], None] | None = None,
) -> None:
    """Serve until the client closes stdin (stdio) or the process is interrupted (HTTP);
    ``app`` is then closed."""
    async with app:
        remote = Remote(app)
        try:
            if http:
                server = http_server(remote, host=host, port=port)
                if announce is not None:
                    announce(f"evopipe MCP server: http://{host}:{port}{PATH} (streamable HTTP)")
                await server.serve()
            else:
                await build_server(remote).run_stdio_async()
        finally:
            await remote.close()


def http_server(
    remote: Remote, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT
) -> uvicorn.Server:
    """A uvicorn server for streamable HTTP at ``http://HOST:PORT/mcp``, stateless: every
    request stands alone and runs are found again by id. ``await server.serve()`` runs it;
    ``server.should_exit = True`` stops it; port 0 binds a free port (see :func:`bound_url`).
    Bound to loopback, the SDK also refuses other Host/Origin headers (DNS rebinding)."""
    starlette_app = build_server(remote).streamable_http_app(
        streamable_http_path=PATH, stateless_http=True, json_response=True, host=host
    )
    return uvicorn.Server(uvicorn.Config(starlette_app, host=host, port=port, log_level="warning"))


def bound_url(server: uvicorn.Server) -> str:
    """The URL a started :func:`http_server` listens on."""
    host, port = server.servers[0].sockets[0].getsockname()[:2]
    return f"http://{host}:{port}{PATH}"
