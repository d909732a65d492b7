"""``llm``: ask a model. Prompt and system are templates; a persona supplies a system prompt and
settings; demos become few-shot turns; settings inherit step → persona → ``defaults``.

Output: the response text, or — when the step has an ``output`` contract with a schema — the
parsed JSON value (repaired and re-asked like ``extract``).
"""

from __future__ import annotations

from evopipe.engine.llmcall import build_request, contract_schema, structured_call
from evopipe.spec.kinds import LlmStep
from evopipe.steps.base import StepContext, StepResult

kind = "llm"
config_model = LlmStep


async def run(ctx: StepContext, config: LlmStep) -> StepResult:
    schema = contract_schema(ctx, config.output)
    request = build_request(ctx, config, schema)
    if schema is not None and config.output is not None:
        value, response = await structured_call(ctx, request, config.output, schema)
        cached = bool(response and response.cached)
        return StepResult(output=value, cached=cached, meta=_meta(response))
    response = await ctx.complete(request)
    return StepResult(output=response.text, cached=response.cached, meta=_meta(response))


def _meta(response: object) -> dict[str, object]:
    model = getattr(response, "model", None)
    return {"model": model} if model else {}
