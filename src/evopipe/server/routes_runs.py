"""``/runs``: submit to the queue, wait, list, read, cancel, approve/reject, and the event
stream replayed from the journal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from evopipe.app import Decision
from evopipe.app.auth import Principal
from evopipe.app.tenancy import TargetSpec
from evopipe.app.tenant_runs import TenantRuns
from evopipe.server import schemas as s
from evopipe.server import sse
from evopipe.server.problems import RESPONSES
from evopipe.server.security import role, server_state, stream_caller, tenant_of

router = APIRouter(prefix="/runs", tags=["runs"], responses=RESPONSES)
Viewer = Annotated[Principal, Depends(role("viewer"))]
Runner = Annotated[Principal, Depends(role("runner"))]
QueueStatus = Literal["queued", "leased", "done"]


def _runs(request: Request, principal: Principal) -> TenantRuns:
    return TenantRuns(tenant_of(request, principal))


def _target(body: s.RunRequest) -> TargetSpec:
    return TargetSpec(pipeline=body.pipeline, spec=body.spec)


@router.post("", status_code=202, response_model=s.Run, summary="Queue a run")
async def submit(body: s.RunRequest, request: Request, principal: Runner) -> dict[str, Any]:
    runs = _runs(request, principal)
    return await runs.submit(
        _target(body), body.inputs, key=body.key, strategy=body.strategy, model=body.model
    )


@router.post("/wait", response_model=s.RunWaited, summary="Queue a run and wait for it")
async def submit_and_wait(
    body: s.WaitRequest, request: Request, response: Response, principal: Runner
) -> dict[str, Any]:
    runs = _runs(request, principal)
    queued = await runs.submit(
        _target(body), body.inputs, key=body.key, strategy=body.strategy, model=body.model
    )
    limit = min(body.timeout_s, server_state(request).options.wait_timeout_s)
    done, run = await runs.wait(queued["run_id"], limit)
    if not done:
        response.status_code = 202
    return {"done": done, "run": run}


@router.get("", response_model=s.RunPage, summary="This tenant's runs, newest first")
async def list_runs(
    request: Request,
    principal: Viewer,
    status: QueueStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=40, pattern=r"^[0-9]+$")] = None,
) -> dict[str, Any]:
    page = _runs(request, principal).list(status=status, limit=limit, cursor=cursor)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/{run_id}", response_model=s.Run, summary="One run")
async def get_run(run_id: str, request: Request, principal: Viewer) -> dict[str, Any]:
    return _runs(request, principal).get(run_id)


@router.post("/{run_id}/cancel", status_code=202, response_model=s.Run, summary="Cancel")
def cancel_run(run_id: str, request: Request, principal: Runner) -> dict[str, Any]:
    return _runs(request, principal).cancel(run_id)


@router.post("/{run_id}/{decision}", response_model=s.Run, summary="Approve or reject a step")
async def decide(
    run_id: str,
    decision: Literal["approve", "reject"],
    body: s.Decision,
    request: Request,
    principal: Runner,
) -> dict[str, Any]:
    """The decision on a step waiting for approval; the run then continues (the answer comes
    when it stops again)."""
    runs = _runs(request, principal)
    limit = server_state(request).options.wait_timeout_s
    made = Decision(body.step_id, decision == "approve", body.comment, values=body.values)
    return await runs.decide(run_id, made, timeout_s=limit, secrets=body.secrets)


@router.get(
    "/{run_id}/events",
    summary="The run's events (SSE), replayed from the journal",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "event stream"}},
)
async def events(
    run_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(stream_caller)],
    start: sse.StartAfter,
) -> StreamingResponse:
    """``id`` is the journal ``seq``: reconnect with ``Last-Event-ID`` to continue, gap-free.
    ``access_token`` takes a signed token from ``POST /tokens`` (never an API key)."""
    runs = _runs(request, principal)
    runs.get(run_id)  # another tenant's run: 404 before the stream starts

    async def frames() -> AsyncIterator[bytes]:
        async for event in runs.events(run_id, after=start):
            yield sse.frame(event.seq, event.type, event.to_json())
        yield sse.frame(None, "end", runs.get(run_id))

    return sse.stream(frames(), server_state(request).options.keepalive_s)
