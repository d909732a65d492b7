"""Chat: say what you want; evopipe's router picks a pipeline and says which and why (the
routing stage, its score against the threshold, the reason), then asks before doing anything
with side effects — running the pipeline (inputs in a form typed from its schema), or, when
nothing fits, generating a new one. A confirmed run goes through the queue and streams live
on its page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from evopipe.app.tenancy import TargetSpec
from evopipe.app.tenant_runs import TenantRuns
from evopipe.server.security import server_state, tenant_of
from evopipe.server.web.forms import coerce, fields
from evopipe.server.web.render import render
from evopipe.server.web.session import SignedIn, User, posted

router = APIRouter(prefix="/ui/chat", include_in_schema=False)
PREFIX = "in_"


def _proposal(request: Request, user: User, target: str, message: str) -> dict[str, Any]:
    """The pipeline to run and its input fields, the first text input filled with the ask."""
    pipeline = tenant_of(request, user.principal).resolve(TargetSpec(pipeline=target))
    texts = [k for k, v in pipeline.inputs.items() if v.get("type") == "string"]
    first = texts[0] if texts else None
    prefill = {first: message} if first else {}
    return {
        "target": target,
        "description": pipeline.description or "",
        "fields": fields(pipeline.inputs, prefill),
    }


@router.get("")
def chat(request: Request, user: SignedIn) -> HTMLResponse:
    return render(request, "chat.html", user=user, turns=[], prefix=PREFIX)


@router.post("")
async def say(request: Request, user: SignedIn) -> HTMLResponse:
    form = await posted(request, user, "viewer")
    message = form.get("message", "").strip()
    turns: list[dict[str, Any]] = [{"who": "you", "text": message}]
    if message:
        outcome = await server_state(request).app.routing.route(message, key=user.principal.tenant)
        decision = outcome.to_json()
        reply: dict[str, Any] = {"who": "evopipe", "decision": decision}
        if outcome.target is not None:
            reply["proposal"] = _proposal(request, user, outcome.target, message)
        turns.append(reply)
    return render(request, "chat.html", user=user, turns=turns, prefix=PREFIX, message=message)


@router.post("/run")
async def run(request: Request, user: SignedIn) -> RedirectResponse:
    """The confirmed run: queued for this tenant; its page streams it."""
    form = await posted(request, user, "runner")
    target = form.get("target", "")
    tenant = tenant_of(request, user.principal)
    pipeline = tenant.resolve(TargetSpec(pipeline=target))
    inputs = coerce(pipeline.inputs, form, PREFIX)
    queued = await TenantRuns(tenant).submit(TargetSpec(pipeline=target), inputs)
    return RedirectResponse(f"/ui/runs/{queued['run_id']}", status_code=303)


@router.post("/generate")
async def generate(request: Request, user: SignedIn) -> RedirectResponse:
    """The confirmed generation: genesis drafts, checks and repairs a pipeline."""
    form = await posted(request, user, "editor")
    made = await tenant_of(request, user.principal).generate(
        form.get("message", ""), model=None, max_rounds=3
    )
    return RedirectResponse(f"/ui/generations/{made['generation_id']}", status_code=303)
