"""Costs: spend per tenant, pipeline, model and day over the last N days (from the runs'
journaled usage; per model from the journaled model calls)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from evopipe.server.security import server_state
from evopipe.server.web.render import render
from evopipe.server.web.session import SignedIn

router = APIRouter(prefix="/ui/costs", include_in_schema=False)
GROUPS = (("tenant", "Per tenant"), ("pipeline", "Per pipeline"), ("model", "Per model"))


@router.get("")
def costs(request: Request, user: SignedIn, days: int = 30) -> HTMLResponse:
    days = max(1, min(days, 366))
    tenant = None if user.local else user.principal.tenant
    grouped = server_state(request).app.dashboard.costs(tenant, days=days)
    return render(request, "costs.html", user=user, grouped=grouped, groups=GROUPS, days=days)
