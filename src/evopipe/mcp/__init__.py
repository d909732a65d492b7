"""evopipe as an MCP server (``evopipe mcp``; the ``mcp`` extra): a face over
:mod:`evopipe.app`, like the CLI and the HTTP server."""

from __future__ import annotations

from evopipe.mcp.serve import bound_url, http_server, serve
from evopipe.mcp.server import build_server

__all__ = ["bound_url", "build_server", "http_server", "serve"]
