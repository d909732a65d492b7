"""Runs: the list (filters by status, pipeline, tenant and time; pages by key, so it stays
fast over any number of runs) and a run's page (live graph, steps in detail, cancel, resume,
fork)."""

from __future__ import annotations

import calendar
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from evopipe.app.dashboard import RunFilter
from evopipe.app.tenancy import NotFound, TargetSpec
from evopipe.app.tenant_runs import TenantRuns
from evopipe.server.security import server_state, tenant_of
from evopipe.server.web.render import render, web_state
from evopipe.server.web.session import SignedIn, User, posted

router = APIRouter(prefix="/ui/runs", include_in_schema=False)

STATUSES = ("running", "waiting", "succeeded", "failed", "cancelled", "interrupted")
PAGE = 50


def _epoch(day: str | None) -> float | None:
    """``YYYY-MM-DD`` (UTC) → epoch seconds; anything else → no bound."""
    if not day:
        return None
    try:
        return float(calendar.timegm(time.strptime(day, "%Y-%m-%d")))
    except ValueError:
        return None


def _filter(user: User, q: dict[str, str]) -> RunFilter:
    until = _epoch(q.get("until"))
    return RunFilter(
        status=q.get("status") or None,
        pipeline=q.get("pipeline") or None,
        # a key sees its own tenant; the local session sees them all
        tenant=(q.get("tenant") or None) if user.local else user.principal.tenant,
        since=_epoch(q.get("since")),
        until=None if until is None else until + 86400,
    )


def owned(request: Request, user: User, run_id: str) -> None:
    """Another tenant's run is not found (the local session owns every run)."""
    dash = server_state(request).app.dashboard
    if not user.local and dash.tenant_of(run_id) != user.principal.tenant:
        raise NotFound(f"no run {run_id!r}")


@router.get("")
def runs(request: Request, user: SignedIn) -> HTMLResponse:
    query = dict(request.query_params)
    dash = server_state(request).app.dashboard
    page = dash.runs(_filter(user, query), limit=PAGE, cursor=query.get("cursor") or None)
    more = {k: v for k, v in query.items() if k != "cursor" and v}
    template = "runs_rows.html" if request.headers.get("hx-request") else "runs.html"
    return render(
        request,
        template,
        user=user,
        page=page,
        query=query,
        more=more,
        statuses=STATUSES,
        pipelines=dash.pipeline_names(),
    )


def _view(request: Request, user: User, run_id: str) -> dict[str, Any]:
    owned(request, user, run_id)
    return server_state(request).app.dashboard.run(run_id)


@router.get("/{run_id}")
def run_page(run_id: str, request: Request, user: SignedIn) -> HTMLResponse:
    view = _view(request, user, run_id)
    state = server_state(request)
    token = (
        None if user.local else state.auth.issue_token(user.principal, 600, session=user.session)[0]
    )
    return render(request, "run.html", user=user, view=view, token=token)


@router.get("/{run_id}/view.json")
def run_json(run_id: str, request: Request, user: SignedIn) -> JSONResponse:
    return JSONResponse(_view(request, user, run_id))


@router.get("/{run_id}/steps")
def run_steps(run_id: str, request: Request, user: SignedIn) -> HTMLResponse:
    return render(request, "run_steps.html", user=user, view=_view(request, user, run_id))


@router.post("/{run_id}/cancel")
async def cancel(run_id: str, request: Request, user: SignedIn) -> RedirectResponse:
    await posted(request, user, "runner")
    owned(request, user, run_id)
    state = server_state(request)
    runs = TenantRuns(tenant_of(request, user.principal))
    if state.app.dashboard.tenant_of(run_id) == runs.tenant.name:
        runs.cancel(run_id)
    else:
        state.app.runs.cancel(run_id)
    return RedirectResponse(f"/ui/runs/{run_id}", status_code=303)


@router.post("/{run_id}/resume")
async def resume(run_id: str, request: Request, user: SignedIn) -> RedirectResponse:
    """Resume in the background: completed steps are kept, the rest run again."""
    await posted(request, user, "runner")
    owned(request, user, run_id)
    web_state(request).spawn(server_state(request).app.runs.resume(run_id))
    return RedirectResponse(f"/ui/runs/{run_id}", status_code=303)


@router.post("/{run_id}/fork")
async def fork(run_id: str, request: Request, user: SignedIn) -> RedirectResponse:
    """A new run of the same pipeline on the same inputs, through the queue."""
    await posted(request, user, "runner")
    owned(request, user, run_id)
    app = server_state(request).app
    record = app.store.get_run(run_id)
    runs = TenantRuns(tenant_of(request, user.principal))
    queued = await runs.submit(TargetSpec(spec=record.spec_json), record.inputs)
    return RedirectResponse(f"/ui/runs/{queued['run_id']}", status_code=303)
