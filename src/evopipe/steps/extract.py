"""``extract``: structured output. The ``output`` contract (schema or schema_file) is required.

The model is asked for JSON matching the schema (natively when it supports it). An answer that
is not valid JSON or violates the schema is first repaired (code fences, prose around the JSON,
trailing commas, single quotes, Python literals), then re-asked with the validation errors, up
to ``output.max_retries`` times; after that the step fails with a retryable
:class:`~evopipe.models.base.InvalidOutputError` (so ``retry`` and fallback models apply).
"""

from __future__ import annotations

from evopipe.engine.llmcall import build_request, contract_schema, structured_call
from evopipe.spec.kinds import ExtractStep
from evopipe.steps.base import StepContext, StepFailed, StepResult

kind = "extract"
config_model = ExtractStep


async def run(ctx: StepContext, config: ExtractStep) -> StepResult:
    schema = contract_schema(ctx, config.output)
    if schema is None or config.output is None:
        raise StepFailed(
            ctx.step_id, "an extract step needs `output.schema` or `output.schema_file`"
        )
    request = build_request(ctx, config, schema)
    value, response = await structured_call(ctx, request, config.output, schema)
    model = response.model if response is not None else None
    return StepResult(
        output=value,
        cached=bool(response and response.cached),
        meta={"model": model} if model else {},
    )
