"""The approvals inbox: every step waiting for a decision, across the runs this user may see;
approve or reject with a reason (CSRF-protected, runner role). The run then continues in the
background from its journal (exactly that step runs again)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from evopipe.app import Decision, EvopipeError, FieldValuesError, ResumeRefused
from evopipe.app.queue import QueueError
from evopipe.server.security import server_state
from evopipe.server.web.render import render, web_state
from evopipe.server.web.runs import owned
from evopipe.server.web.session import SignedIn, posted

router = APIRouter(prefix="/ui/approvals", include_in_schema=False)


VALUE = "value."
"""Form fields named ``value.NAME`` answer the step's typed field ``NAME``."""
SECRET = "secret."
"""Form fields named ``secret.NAME`` give the run's secret input ``NAME`` again."""


@router.get("")
def inbox(request: Request, user: SignedIn) -> HTMLResponse:
    return _inbox(request, user)


def _inbox(
    request: Request,
    user: SignedIn,
    *,
    refused: tuple[str, str, str] | None = None,
    given: dict[str, str] | None = None,
) -> HTMLResponse:
    """The inbox; ``refused`` (run, step, why) re-shows a decision whose values did not fit,
    with what was typed (``given``) kept in its form (a page like any other, not an error
    status: the form is the answer)."""
    dash = server_state(request).app.dashboard
    waiting = dash.waiting(None if user.local else user.principal.tenant)
    return render(
        request,
        "approvals.html",
        user=user,
        waiting=waiting,
        refused=refused,
        given=given or {},
    )


@router.post("/{run_id}/{step_id}", response_model=None)
async def decide(
    run_id: str, step_id: str, request: Request, user: SignedIn
) -> RedirectResponse | HTMLResponse:
    form = await posted(request, user, "runner")
    owned(request, user, run_id)
    app = server_state(request).app
    view = app.dashboard.run(run_id)
    if not any(s["id"] == step_id and s["status"] == "waiting" for s in view["steps"]):
        raise EvopipeError(f"step {step_id!r} of run {run_id!r} is not waiting for a decision")
    reject = form.get("decision") == "reject"
    reason = form.get("reason", "").strip() or None
    if reject and reason is None:
        raise EvopipeError("a rejection needs a reason")
    decided_by = user.principal.key_id or "local"
    values = {k.removeprefix(VALUE): v for k, v in form.items() if k.startswith(VALUE)}
    secrets = {k.removeprefix(SECRET): v for k, v in form.items() if k.startswith(SECRET) and v}
    decision = Decision(step_id, not reject, reason, decided_by, values)
    try:
        if app.dashboard.queued(run_id):  # a worker continues it, metered for its tenant
            app.queue.resume(run_id, decision, secrets=secrets)
        else:  # started outside the queue (``evopipe run``): recorded now, continued here
            app.runs.require_secrets(run_id, secrets)
            app.runs.decide(run_id, decision)
            web_state(request).spawn(app.runs.resume(run_id, inputs=secrets))
    except (FieldValuesError, QueueError, ResumeRefused) as exc:
        return _inbox(request, user, refused=(run_id, step_id, str(exc)), given=values)
    return RedirectResponse(f"/ui/runs/{run_id}", status_code=303)
