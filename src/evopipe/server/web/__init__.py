"""The dashboard: server-rendered pages (Jinja2 + htmx) under ``/ui``, served by
``evopipe serve`` beside the API. Every script and style is vendored into ``static/`` (see
``static/vendor/VENDOR.json`` and ``scripts/vendor_web.py``): the pages need no network.

Each page group is one module with a ``router`` and is listed once in :data:`PAGES`; the
navigation is built from the same table.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from evopipe.server.web.render import Nav, WebState, install_errors

__all__ = ["PAGES", "mount"]

PAGES: tuple[Nav, ...] = (
    Nav("runs", "Runs", "/ui/runs"),
    Nav("approvals", "Approvals", "/ui/approvals"),
    Nav("pipelines", "Pipelines", "/ui/pipelines"),
    Nav("generations", "Generations", "/ui/generations"),
    Nav("evolution", "Evolution", "/ui/evolutions"),
    Nav("costs", "Costs", "/ui/costs"),
    Nav("chat", "Chat", "/ui/chat"),
)
"""Module (under ``evopipe.server.web``), navigation label, and the page the label opens."""

_STATIC = Path(__file__).parent / "static"


def mount(api: FastAPI) -> None:
    """Add the dashboard to ``api`` (whose ``state.evopipe`` is the server's state)."""
    api.state.evopipe_web = WebState(nav=PAGES)
    api.mount("/ui/static", StaticFiles(directory=_STATIC), name="ui-static")
    for module in ("session", *(p.module for p in PAGES)):
        api.include_router(importlib.import_module(f"evopipe.server.web.{module}").router)
    install_errors(api)

    @api.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/ui/runs", status_code=307)
