"""``tool``: call a function of the deterministic toolbox (:mod:`evopipe.steps.toolbox`).

Always allowed, also under the untrusted policy: toolbox functions are pure, size-capped and
touch nothing outside their arguments. ``args`` are templates, rendered before the call::

    - id: how_many
      kind: tool
      tool: count
      args: {items: "{{ steps.extract.output.items }}"}
"""

from __future__ import annotations

from evopipe.spec.kinds import ToolStep
from evopipe.steps.base import StepContext, StepFailed, StepResult
from evopipe.steps.toolbox import ToolError, call_tool

kind = "tool"
config_model = ToolStep


async def run(ctx: StepContext, config: ToolStep) -> StepResult:
    args = ctx.render(config.args, where="args")
    if not isinstance(args, dict):
        raise StepFailed(ctx.step_id, f"tool args must render to a mapping, got {args!r:.80}")
    try:
        output = call_tool(config.tool, args)
    except ToolError as exc:
        raise StepFailed(ctx.step_id, str(exc)) from None
    return StepResult(output=output)
