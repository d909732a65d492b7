"""``set``: compute values from templates; no model involved. Output: the rendered mapping."""

from __future__ import annotations

from evopipe.spec.kinds import SetStep
from evopipe.steps.base import StepContext, StepResult

kind = "set"
config_model = SetStep


async def run(ctx: StepContext, config: SetStep) -> StepResult:
    return StepResult(output=ctx.render(config.values, where="values"))
