"""Evolution: the evolutions, and one evolution's genealogy (operators on edges, fitness on
nodes, the champion marked), fitness per generation, Pareto points, operator success rates,
offspring check outcomes and spend — refreshed while the evolution runs."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from evopipe.app.tenancy import NotFound, Tenant
from evopipe.server.security import server_state, tenant_of
from evopipe.server.web.render import render
from evopipe.server.web.session import SignedIn, User

router = APIRouter(prefix="/ui/evolutions", include_in_schema=False)


@router.get("")
def evolutions(request: Request, user: SignedIn) -> HTMLResponse:
    rows = server_state(request).app.dashboard.evolutions()
    if not user.local:
        tenant = tenant_of(request, user.principal)
        rows = [r for r in rows if _visible(tenant, r["run_id"])]
    return render(request, "evolutions.html", user=user, rows=rows)


def _visible(tenant: Tenant, evolution_id: str) -> bool:
    try:
        tenant.lineage(evolution_id)
    except NotFound:
        return False
    return True


def _view(request: Request, user: User, evolution_id: str) -> dict[str, object]:
    if not user.local:
        tenant_of(request, user.principal).lineage(evolution_id)  # another tenant's: 404
    return server_state(request).app.dashboard.evolution(evolution_id)


@router.get("/{evolution_id}")
def evolution(evolution_id: str, request: Request, user: SignedIn) -> HTMLResponse:
    view = _view(request, user, evolution_id)
    return render(request, "evolution.html", user=user, view=view)


@router.get("/{evolution_id}/view.json")
def evolution_json(evolution_id: str, request: Request, user: SignedIn) -> JSONResponse:
    return JSONResponse(_view(request, user, evolution_id))
