"""Generations: each request in plain language and what genesis did with it — the drafts
round by round, their diagnostics, the repairs, the final spec."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from evopipe.server.security import server_state, tenant_of
from evopipe.server.web.render import render
from evopipe.server.web.session import SignedIn

router = APIRouter(prefix="/ui/generations", include_in_schema=False)


@router.get("")
def generations(request: Request, user: SignedIn) -> HTMLResponse:
    app = server_state(request).app
    if user.local:
        rows = [r.to_json() for r in app.generations.list(limit=200)]
    else:
        rows = tenant_of(request, user.principal).generations(200)
    return render(request, "generations.html", user=user, rows=rows)


@router.get("/{generation_id}")
def generation(generation_id: str, request: Request, user: SignedIn) -> HTMLResponse:
    if user.local:
        found = server_state(request).app.generations.get(generation_id)
    else:
        found = tenant_of(request, user.principal).generation(generation_id)
    return render(request, "generation.html", user=user, g=found)
