"""``switch``: the first case whose condition holds activates its ``then`` steps; steps of the
other cases are skipped (``default`` when no case holds).

Output: ``{"case": <index of the chosen case, or null for default>, "activated": [ids]}``. The
scheduler reads ``activated`` to gate the routed steps (see :mod:`evopipe.engine.scheduler`).
"""

from __future__ import annotations

from evopipe.spec.kinds import SwitchStep
from evopipe.steps.base import StepContext, StepResult

kind = "switch"
config_model = SwitchStep


async def run(ctx: StepContext, config: SwitchStep) -> StepResult:
    for i, case in enumerate(config.cases):
        if ctx.evaluate(case.when):
            return StepResult(output={"case": i, "activated": list(case.then)})
    return StepResult(output={"case": None, "activated": list(config.default)})
