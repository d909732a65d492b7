"""Everything but runs: health, models, pipelines, registry, generations, evaluations,
evolutions, keys and tokens. Each handler is one call into the application layer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse

from evopipe import __version__
from evopipe.app.auth import Principal
from evopipe.app.evolve import EvolveConfig
from evopipe.app.tenancy import TargetSpec
from evopipe.server import schemas as s
from evopipe.server import sse
from evopipe.server.problems import RESPONSES
from evopipe.server.security import caller, role, server_state, stream_caller, tenant_of

router = APIRouter(responses=RESPONSES)
Viewer = Annotated[Principal, Depends(role("viewer"))]
Editor = Annotated[Principal, Depends(role("editor"))]
Admin = Annotated[Principal, Depends(role("admin"))]
Name = Annotated[str, Path(max_length=200)]


@router.get("/health", response_model=s.Health, tags=["meta"], summary="Liveness")
def health(request: Request) -> dict[str, Any]:
    keyless = server_state(request).keyless
    return {
        "status": "ok",
        "version": __version__,
        "authentication": "none (loopback only)" if keyless else "keys",
    }


@router.get("/models", response_model=list[s.ModelInfo], tags=["models"])
def models(request: Request, principal: Viewer) -> list[dict[str, Any]]:
    """Configured and built-in models, and whether each is usable now."""
    return [m.to_dict() for m in server_state(request).app.model_ops.list()]


# -- pipelines -----------------------------------------------------------------------------


@router.get("/pipelines", response_model=s.PipelineList, tags=["pipelines"])
def pipelines(request: Request, principal: Viewer) -> dict[str, Any]:
    """Library pipelines and this tenant's registered names."""
    return tenant_of(request, principal).pipelines()


@router.post("/pipelines/validate", response_model=s.Validation, tags=["pipelines"])
def validate(body: s.ValidateRequest, request: Request, principal: Viewer) -> dict[str, Any]:
    """The one validity check on a posted spec: diagnostics with rule, line and column."""
    verdict = tenant_of(request, principal).validate(body.spec, profile=body.profile)
    return {
        "valid": verdict.valid,
        "name": verdict.pipeline.name if verdict.pipeline is not None else None,
        "diagnostics": [d.to_json() for d in verdict.diagnostics],
    }


# -- registry ------------------------------------------------------------------------------


@router.get("/registry", response_model=list[s.Champion], tags=["registry"])
def registry(request: Request, principal: Viewer) -> list[dict[str, Any]]:
    return [
        {"name": e.name, "champion": e.champion}
        for e in tenant_of(request, principal).registry_list()
    ]


@router.get("/registry/{name}", response_model=s.Json, tags=["registry"])
def registry_show(name: Name, request: Request, principal: Viewer) -> dict[str, Any]:
    """Versions with their evidence, the champion, and the pointer's history."""
    return tenant_of(request, principal).registry_show(name)


@router.post("/registry/{name}/rollback", response_model=s.Champion, tags=["registry"])
def rollback(name: Name, request: Request, principal: Editor) -> dict[str, Any]:
    return tenant_of(request, principal).rollback(name)


@router.post("/registry/promote", response_model=s.Json, tags=["registry"])
async def promote(body: s.PromoteRequest, request: Request, principal: Editor) -> dict[str, Any]:
    """Promote a candidate of this tenant's evolutions, only if it beats the incumbent."""
    tenant = tenant_of(request, principal)
    return await tenant.promote(body.candidate, confidence=body.confidence)


# -- generations, evaluations, evolutions ------------------------------------------------


@router.post("/generations", response_model=s.Json, tags=["generate"])
async def generate(body: s.GenerateRequest, request: Request, principal: Editor) -> dict[str, Any]:
    """Request in plain language → a validated pipeline (recorded)."""
    tenant = tenant_of(request, principal)
    return await tenant.generate(body.request, model=body.model, max_rounds=body.max_rounds)


@router.get("/generations", response_model=list[s.Json], tags=["generate"])
def generations(
    request: Request, principal: Viewer, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[dict[str, Any]]:
    return tenant_of(request, principal).generations(limit)


@router.get("/generations/{generation_id}", response_model=s.Json, tags=["generate"])
def generation(generation_id: Name, request: Request, principal: Viewer) -> dict[str, Any]:
    return tenant_of(request, principal).generation(generation_id)


@router.post("/evaluations", response_model=s.Json, tags=["evaluate"])
async def evaluate(body: s.EvaluateRequest, request: Request, principal: Editor) -> dict[str, Any]:
    """Evaluate a pipeline on posted rows; returns the report."""
    tenant = tenant_of(request, principal)
    return await tenant.evaluate(
        TargetSpec(pipeline=body.pipeline, spec=body.spec),
        body.rows,
        metrics=body.metrics,
        split=body.split,
        model=body.model,
        budget_usd=body.budget_usd,
    )


@router.post("/evolutions", status_code=202, response_model=s.Evolution, tags=["evolve"])
async def evolve(body: s.EvolveRequest, request: Request, principal: Editor) -> dict[str, Any]:
    """Start an evolution on posted rows; follow it at ``/evolutions/{id}/events``."""
    state = server_state(request)
    config = EvolveConfig(
        generations=body.generations,
        population=body.population,
        offspring=body.offspring,
        budget_calls=body.budget_calls,
        budget_usd=body.budget_usd,
        seed=body.seed,
    )
    job = await state.app.evolution_jobs.start(
        tenant_of(request, principal),
        TargetSpec(pipeline=body.pipeline, spec=body.spec),
        body.rows,
        metric=body.metric,
        config=config,
        model=body.model,
    )
    return job.to_json()


@router.get("/evolutions/{evolution_id}", response_model=s.Evolution, tags=["evolve"])
def evolution(evolution_id: Name, request: Request, principal: Viewer) -> dict[str, Any]:
    jobs = server_state(request).app.evolution_jobs
    return jobs.get(tenant_of(request, principal), evolution_id).to_json()


@router.get(
    "/evolutions/{evolution_id}/events",
    tags=["evolve"],
    summary="The evolution's progress (SSE)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "progress stream"}},
)
def evolution_events(
    evolution_id: Name,
    request: Request,
    principal: Annotated[Principal, Depends(stream_caller)],
    start: sse.StartAfter,
) -> StreamingResponse:
    """One ``progress`` event after each evaluation and generation (``id`` numbers them;
    ``Last-Event-ID`` continues), then ``end`` with the outcome."""
    state = server_state(request)
    tenant = tenant_of(request, principal)
    jobs = state.app.evolution_jobs
    job = jobs.get(tenant, evolution_id)

    async def frames() -> AsyncIterator[bytes]:
        async for item in jobs.events(tenant, evolution_id, after=start):
            yield sse.frame(item["seq"], "progress", item)
        yield sse.frame(None, "end", job.to_json())

    return sse.stream(frames(), state.options.keepalive_s)


@router.get("/evolutions/{evolution_id}/lineage", response_model=s.Json, tags=["evolve"])
def lineage(evolution_id: Name, request: Request, principal: Viewer) -> Any:
    return tenant_of(request, principal).lineage(evolution_id)


# -- keys and tokens -----------------------------------------------------------------------


@router.post("/tokens", response_model=s.TokenOut, tags=["auth"])
def token(request: Request, principal: Annotated[Principal, Depends(caller)]) -> dict[str, Any]:
    """A short-lived signed token for this key (for ``?access_token=`` on event streams)."""
    value, expires = server_state(request).auth.issue_token(principal)
    return {"token": value, "expires_at": expires}


@router.get("/keys", response_model=list[s.KeyOut], tags=["auth"])
def keys(request: Request, principal: Admin) -> list[dict[str, Any]]:
    """This tenant's keys (never their secrets)."""
    return [k.to_json() for k in server_state(request).auth.list_keys(principal.tenant)]


@router.post("/keys", status_code=201, response_model=s.KeyCreated, tags=["auth"])
def create_key(body: s.KeyRequest, request: Request, principal: Admin) -> dict[str, Any]:
    key, info = server_state(request).auth.create_key(
        tenant=principal.tenant, role=body.role, name=body.name
    )
    return {**info.to_json(), "key": key}


@router.post("/keys/{key_id}/revoke", response_model=s.KeyOut, tags=["auth"])
def revoke_key(key_id: Name, request: Request, principal: Admin) -> dict[str, Any]:
    return server_state(request).auth.revoke(key_id, tenant=principal.tenant).to_json()
