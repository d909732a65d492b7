"""Pipelines: the registered names with their champion; a name's versions with YAML diffs,
tags and aliases, the champion pointer's history; promote a candidate and roll back (editor
role, CSRF-protected)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from evopipe.server.security import server_state, tenant_of
from evopipe.server.web.render import render
from evopipe.server.web.session import SignedIn, posted

router = APIRouter(prefix="/ui/pipelines", include_in_schema=False)


@router.get("")
def pipelines(request: Request, user: SignedIn) -> HTMLResponse:
    tenant = tenant_of(request, user.principal)
    entries = server_state(request).app.registry.list() if user.local else tenant.registry_list()
    return render(request, "pipelines.html", user=user, entries=entries)


@router.get("/{name}")
def pipeline(name: str, request: Request, user: SignedIn) -> HTMLResponse:
    if not user.local:
        tenant_of(request, user.principal).registry_show(name)  # another tenant's: 404
    shown = server_state(request).app.dashboard.pipeline(name)
    return render(request, "pipeline.html", user=user, p=shown)


@router.post("/{name}/rollback")
async def rollback(name: str, request: Request, user: SignedIn) -> RedirectResponse:
    await posted(request, user, "editor")
    tenant_of(request, user.principal).rollback(name)
    return RedirectResponse(f"/ui/pipelines/{name}", status_code=303)


@router.post("/promote")
async def promote(request: Request, user: SignedIn) -> RedirectResponse:
    form = await posted(request, user, "editor")
    tenant = tenant_of(request, user.principal)
    decision = await tenant.promote(form.get("candidate", "").strip())
    name = decision.get("name")
    return RedirectResponse(f"/ui/pipelines/{name}" if name else "/ui/pipelines", status_code=303)
