"""``approval``: a human gate. The run pauses in state ``waiting`` until someone decides.

On its first execution the step finds no decision and returns ``status="waiting"`` with the
rendered ``message`` (in ``meta``, for the ``step_waiting`` event and ``evopipe runs show``).
``evopipe approve RUN_ID STEP [--reject] [--comment TEXT]`` records the decision in the store
and resumes the run; the journal replay keeps every completed step, and this step — the only one
re-run — now reads the decision:

- approved → output ``{"approved": true, "comment": ..., "by": ...}``;
- rejected → the step fails (``on_reject: fail``, the default) or is recorded as skipped with
  output ``{"approved": false, ...}`` (``on_reject: skip``; its dependants follow the engine's
  rule for skipped steps).

The decision is :attr:`StepContext.decision` (the engine loads it from the journal's
``approval_decided`` events on resume).
"""

from __future__ import annotations

from evopipe.spec.kinds import ApprovalStep
from evopipe.steps.base import StepContext, StepFailed, StepResult

kind = "approval"
config_model = ApprovalStep


async def run(ctx: StepContext, config: ApprovalStep) -> StepResult:
    message = ctx.render(config.message, where="message")
    recorded = ctx.decision
    if recorded is None:
        return StepResult(status="waiting", meta={"message": str(message)})
    decision = {
        "approved": bool(recorded.approved),
        "comment": recorded.comment,
        "by": recorded.decided_by,
    }
    if decision["approved"]:
        return StepResult(output=decision, meta={"message": str(message)})
    if config.on_reject == "skip":
        return StepResult(status="skipped", output=decision, meta={"message": str(message)})
    who = f" by {decision['by']}" if decision["by"] else ""
    why = f": {decision['comment']}" if decision["comment"] else ""
    raise StepFailed(ctx.step_id, f"rejected{who}{why}")
