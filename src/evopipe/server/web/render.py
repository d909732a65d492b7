"""Rendering the dashboard's pages: the Jinja2 environment (autoescaped; templates are the
package's own, values are data), formatting filters, the page response, and errors shown as
pages under ``/ui`` (problems elsewhere)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from evopipe.server.problems import STATUS, from_error

__all__ = ["LoginRequired", "Nav", "WebState", "install_errors", "render", "web_state"]


@dataclass(frozen=True)
class Nav:
    module: str
    label: str
    path: str


class LoginRequired(Exception):
    """No valid session: the browser is sent to the login page."""


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "—"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(float(epoch)))


def _usd(value: float | None) -> str:
    if value is None:
        return "unknown"
    return f"${value:.4f}" if value < 1 else f"${value:,.2f}"


def _ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f} ms" if value < 10_000 else f"{value / 1000:.1f} s"


def _short(value: str | None, n: int = 12) -> str:
    return "" if value is None else value if len(value) <= n else value[:n] + "…"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=_when, usd=_usd, ms=_ms, short=_short)
    env.filters["tojson_attr"] = lambda v: json.dumps(v, default=str)
    return env


@dataclass
class WebState:
    """The dashboard's own state on the server: the navigation, the templates, and the
    background work it started (kept referenced)."""

    nav: tuple[Nav, ...]
    env: Environment = field(default_factory=_environment)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


def web_state(request: Request) -> WebState:
    state: WebState = request.app.state.evopipe_web
    return state


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """The page ``template`` with ``context`` (and the navigation, the user, the path)."""
    web = web_state(request)
    user = context.get("user")
    body = web.env.get_template(template).render(
        nav=web.nav, path=request.url.path, request=request, **context
    )
    response = HTMLResponse(body, status_code=status)
    if user is not None and user.cookie is not None:
        from evopipe.server.web.session import set_cookie

        set_cookie(response, user.cookie)
    return response


def install_errors(api: FastAPI) -> None:
    """Errors on ``/ui`` pages become pages (a login redirect when there is no session)."""

    async def on_login(request: Request, _exc: Exception) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/ui/login?next={target}", status_code=303)

    async def on_error(request: Request, exc: Exception) -> Response:
        problem = from_error(exc)  # the API's answer (an unexpected error is logged there)
        if not request.url.path.startswith("/ui"):
            return problem
        body = json.loads(bytes(problem.body))
        return render(
            request,
            "error.html",
            status=problem.status_code,
            title=body["title"],
            detail=body["detail"],
            user=None,
        )

    api.add_exception_handler(LoginRequired, on_login)
    for kind, _code, _name in STATUS:
        if issubclass(kind, Exception):
            api.add_exception_handler(kind, on_error)
    api.add_exception_handler(Exception, on_error)
