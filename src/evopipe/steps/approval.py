"""``approval``: a human gate. The run pauses in state ``waiting`` until someone decides.

On its first execution the step finds no decision and returns ``status="waiting"`` with the
rendered ``message`` (in ``meta``, for the ``step_waiting`` event and ``evopipe runs show``).
``evopipe approve RUN_ID STEP [--reject] [--comment TEXT]`` records the decision in the store
and resumes the run; the journal replay keeps every completed step, and this step — the only one
re-run — now reads the decision:

- approved → output ``{"approved": true, "comment": ..., "by": ...}``, plus ``values`` when the
  step asks for typed ``fields`` (checked against them when the decision was recorded, see
  :mod:`evopipe.spec.fields`; the waiting step's ``meta`` carries the fields, so every face can
  ask for them);
- rejected → the step fails (``on_reject: fail``, the default) or is recorded as skipped with
  output ``{"approved": false, ...}`` (``on_reject: skip``; its dependants follow the engine's
  rule for skipped steps).

The decision is :attr:`StepContext.decision` (the engine loads it from the journal's
``approval_decided`` events on resume).
"""

from __future__ import annotations

from typing import Any

from evopipe.spec.fields import coerce_values
from evopipe.spec.kinds import ApprovalStep
from evopipe.steps.base import StepContext, StepFailed, StepResult

kind = "approval"
config_model = ApprovalStep


async def run(ctx: StepContext, config: ApprovalStep) -> StepResult:
    meta: dict[str, Any] = {"message": str(ctx.render(config.message, where="message"))}
    if config.fields:
        meta["fields"] = {
            name: field.model_dump(exclude_none=True) for name, field in config.fields.items()
        }
    recorded = ctx.decision
    if recorded is None:
        return StepResult(status="waiting", meta=meta)
    decision: dict[str, Any] = {
        "approved": bool(recorded.approved),
        "comment": recorded.comment,
        "by": recorded.decided_by,
    }
    if decision["approved"]:
        if config.fields:
            decision["values"] = coerce_values(config.fields, recorded.values)
        return StepResult(output=decision, meta=meta)
    if config.on_reject == "skip":
        return StepResult(status="skipped", output=decision, meta=meta)
    who = f" by {decision['by']}" if decision["by"] else ""
    why = f": {decision['comment']}" if decision["comment"] else ""
    raise StepFailed(ctx.step_id, f"rejected{who}{why}")
