"""Chat: the router agent (``app.chat``) on a page. Say what you want; the reply says which
pipeline would run and why (the routing stage, its score against the threshold, the reason)
and nothing with side effects happens until you confirm — running it (the inputs in a form
typed from its input schema), or, when nothing fits, generating one. A confirmed run goes
through the queue and streams live on its page. The conversation is the user's own (kept in
the store, per tenant and key) and is the same API the terminal's ``evopipe chat`` uses."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from evopipe.app.chat import Proposal
from evopipe.app.tenancy import TargetSpec
from evopipe.app.tenant_runs import TenantRuns
from evopipe.server.security import server_state, tenant_of
from evopipe.server.web.forms import coerce, fields
from evopipe.server.web.render import render
from evopipe.server.web.session import SignedIn, User, posted

router = APIRouter(prefix="/ui/chat", include_in_schema=False)
PREFIX = "in_"
SESSION = "web"


def _owner(user: User) -> str:
    return f"{user.principal.tenant}/{user.principal.key_id or 'local'}"


def _turns(request: Request, user: User) -> list[dict[str, Any]]:
    """The conversation's messages and proposals, the pending one with its form."""
    chat = server_state(request).app.chat
    owner = _owner(user)
    pending = chat.pending(owner, SESSION)
    turns = []
    for m in chat.history(owner, SESSION, limit=30):
        if m["role"] == "proposal":
            proposal = Proposal(**m["content"])
            live = pending is not None and proposal == pending
            form = fields(proposal.schema, proposal.inputs) if live else []
            turns.append({"role": "proposal", "proposal": proposal, "live": live, "form": form})
        elif not str(m["content"]).startswith("/"):
            turns.append({"role": m["role"], "text": m["content"], "run_id": m["run_id"]})
    return turns


def _page(request: Request, user: User) -> HTMLResponse:
    return render(request, "chat.html", user=user, turns=_turns(request, user), prefix=PREFIX)


@router.get("")
def chat(request: Request, user: SignedIn) -> HTMLResponse:
    return _page(request, user)


@router.post("")
async def say(request: Request, user: SignedIn) -> HTMLResponse:
    form = await posted(request, user, "viewer")
    await server_state(request).app.chat.say(_owner(user), SESSION, form.get("message", ""))
    return _page(request, user)


@router.post("/no")
async def decline(request: Request, user: SignedIn) -> RedirectResponse:
    await posted(request, user, "viewer")
    server_state(request).app.chat.decline(_owner(user), SESSION)
    return RedirectResponse("/ui/chat", status_code=303)


@router.post("/run")
async def run(request: Request, user: SignedIn) -> RedirectResponse:
    """The confirmed run: queued for this tenant; its page streams it."""
    form = await posted(request, user, "runner")
    chat, owner = server_state(request).app.chat, _owner(user)
    pending = chat.pending(owner, SESSION)
    inputs = coerce(pending.schema, form, PREFIX) if pending is not None else {}
    taken = chat.confirm(owner, SESSION, inputs)
    tenant = tenant_of(request, user.principal)
    queued = await TenantRuns(tenant).submit(TargetSpec(pipeline=taken.target), taken.inputs)
    chat.ran(owner, SESSION, queued["run_id"], "queued")
    return RedirectResponse(f"/ui/runs/{queued['run_id']}", status_code=303)


@router.post("/generate")
async def generate(request: Request, user: SignedIn) -> HTMLResponse:
    """The confirmed generation: genesis drafts, checks and repairs a pipeline, registers it,
    and the chat proposes running it."""
    await posted(request, user, "editor")
    chat, owner = server_state(request).app.chat, _owner(user)
    taken = chat.confirm(owner, SESSION)
    await chat.generate(owner, SESSION, taken.request)
    return _page(request, user)
