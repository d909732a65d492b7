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

Where the decision comes from, first match wins:

1. ``services.hooks["approvals"]``: a mapping ``step id → {"approved": bool, "comment": str}``
   (in-process use and tests);
2. the store: ``services.store.get_approval(run_id, step_id)`` (what ``evopipe approve``
   writes).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evopipe.spec.kinds import ApprovalStep
from evopipe.steps.base import StepContext, StepFailed, StepResult

kind = "approval"
config_model = ApprovalStep


def find_decision(ctx: StepContext) -> dict[str, Any] | None:
    """The recorded decision on this step, normalised, or None if nobody decided yet."""
    table = ctx.services.hooks.get("approvals")
    if isinstance(table, Mapping) and ctx.step_id in table:
        raw = table[ctx.step_id]
        if isinstance(raw, bool):
            return {"approved": raw, "comment": None, "by": None}
        return {
            "approved": bool(raw.get("approved")),
            "comment": raw.get("comment"),
            "by": raw.get("by"),
        }
    store = ctx.services.store
    getter = getattr(store, "get_approval", None) if store is not None else None
    if getter is None:
        return None
    record = getter(ctx.run_id, ctx.step_id)
    if record is None:
        return None
    return {"approved": bool(record.approved), "comment": record.comment, "by": record.by}


async def run(ctx: StepContext, config: ApprovalStep) -> StepResult:
    message = ctx.render(config.message)
    decision = find_decision(ctx)
    if decision is None:
        return StepResult(status="waiting", meta={"message": str(message)})
    if decision["approved"]:
        return StepResult(output=decision, meta={"message": str(message)})
    if config.on_reject == "skip":
        return StepResult(status="skipped", output=decision, meta={"message": str(message)})
    who = f" by {decision['by']}" if decision["by"] else ""
    why = f": {decision['comment']}" if decision["comment"] else ""
    raise StepFailed(ctx.step_id, f"rejected{who}{why}")
