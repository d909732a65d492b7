"""Who is asking, and may they: credentials, roles, rate limits, body size.

An API key comes only in a header (``Authorization: Bearer evp_…`` or ``X-API-Key``); a key in
a query string is refused, whatever its name. Event streams also take a short-lived signed
token as ``?access_token=evt_…`` (an ``EventSource`` cannot send headers). Without any key in
the store the server serves the local session, bound to 127.0.0.1.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from evopipe.app import App
from evopipe.app.auth import LOCAL, Auth, AuthError, Principal
from evopipe.app.ratelimit import RateLimiter
from evopipe.app.serving import ServerOptions
from evopipe.app.tenancy import Tenant
from evopipe.server.problems import PROBLEM, BodyTooLarge, RateLimited


@dataclass
class ServerState:
    app: App
    auth: Auth
    limiter: RateLimiter
    options: ServerOptions
    keyless: bool


def server_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.evopipe
    return state


def _header_credential(request: Request) -> str | None:
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("x-api-key") or None


def _authenticate(request: Request, *, query_token: bool) -> Principal:
    state = server_state(request)
    for name, value in request.query_params.multi_items():
        if value.startswith("evp_"):
            raise AuthError(f"API keys are never accepted in a query string (parameter {name!r})")
    credential = _header_credential(request)
    if credential is None and query_token:
        credential = request.query_params.get("access_token")
    if credential is None:
        if state.keyless:
            return LOCAL
        raise AuthError("an API key is required (Authorization: Bearer evp_…)")
    if credential.startswith("evt_"):
        return state.auth.authenticate_token(credential)
    return state.auth.authenticate(credential)


def _admit(request: Request, principal: Principal) -> None:
    decision = server_state(request).limiter.take(principal.key_id or "local", principal.tenant)
    request.state.ratelimit = decision.headers()
    if not decision.allowed:
        raise RateLimited(decision.headers())


async def caller(request: Request) -> Principal:
    """The authenticated, rate-limited principal of a request."""
    principal = _authenticate(request, query_token=False)
    _admit(request, principal)
    return principal


async def stream_caller(request: Request) -> Principal:
    """As :func:`caller`, also accepting a signed token in ``?access_token=``."""
    principal = _authenticate(request, query_token=True)
    _admit(request, principal)
    return principal


def role(needed: str) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency: the caller, who must hold ``needed`` or a stronger role. Dependencies
    and the cheap reads are coroutines: a key check is one primary-key read, cheaper on the
    event loop than a hop to the thread pool (which under load cost most of a request)."""

    async def dependency(request: Request) -> Principal:
        return (await caller(request)).require(needed)

    return dependency


def tenant_of(request: Request, principal: Principal) -> Tenant:
    return Tenant(server_state(request).app, principal)


class Guard:
    """ASGI middleware: refuses bodies above the limit (413) and adds the rate-limit fields
    to every response."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await _too_large(send, self.max_body)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_body:
                raise BodyTooLarge(self.max_body)
            return message

        async def with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra: dict[str, str] = (scope.get("state") or {}).get("ratelimit") or {}
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                for k, v in extra.items():
                    if k.lower().encode() not in present:
                        headers.append((k.lower().encode(), v.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, counted, with_limits)


async def _too_large(send: Send, limit: int) -> None:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": "Content Too Large",
        "status": 413,
        "detail": f"the request body exceeds {limit} bytes",
        "diagnostics": [],
    }
    data = json.dumps(body).encode()
    headers = [(b"content-type", PROBLEM.encode()), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": data})
