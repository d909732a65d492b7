"""Building model requests for llm-like steps, and structured output with repair and re-ask."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from evopipe.engine.repair import repair_json
from evopipe.models.base import InvalidOutputError, Message, ModelRequest, ModelResponse
from evopipe.spec.base import OutputContract
from evopipe.spec.kinds import LlmStep
from evopipe.steps.base import StepContext, StepFailed


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def build_request(ctx: StepContext, config: LlmStep, schema: dict[str, Any] | None) -> ModelRequest:
    """Messages (persona/system, demos as few-shot turns, the prompt) and settings inherited
    step → persona → pipeline defaults."""
    pipeline = ctx.pipeline
    persona = None
    if config.persona:
        persona = pipeline.personas.get(config.persona)
        if persona is None:
            known = ", ".join(sorted(pipeline.personas)) or "none"
            raise StepFailed(ctx.step_id, f"unknown persona {config.persona!r} (known: {known})")
    systems = []
    if persona is not None:
        systems.append(str(ctx.render(persona.system, where="persona.system")))
    if config.system:
        systems.append(str(ctx.render(config.system, where="system")))
    messages: list[Message] = []
    if systems:
        messages.append(Message("system", "\n\n".join(systems)))
    for i, demo in enumerate(config.demos):
        messages.append(Message("user", str(ctx.render(demo.input, where=f"demos[{i}].input"))))
        messages.append(
            Message("assistant", str(ctx.render(demo.output, where=f"demos[{i}].output")))
        )
    messages.append(Message("user", _as_text(ctx.render(config.prompt, where="prompt"))))
    defaults = pipeline.defaults
    return ModelRequest(
        messages=tuple(messages),
        temperature=_first(
            config.temperature, persona and persona.temperature, defaults.temperature
        ),
        max_tokens=_first(config.max_tokens, persona and persona.max_tokens, defaults.max_tokens),
        stop=tuple(config.stop),
        seed=_first(config.seed, defaults.seed),
        output_schema=schema,
        timeout_s=_first(config.timeout_s, defaults.timeout_s),
    )


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def contract_schema(ctx: StepContext, contract: OutputContract | None) -> dict[str, Any] | None:
    """The contract's JSON Schema (inline, or a file relative to the pipeline's directory)."""
    if contract is None:
        return None
    if contract.schema_ is not None:
        return dict(contract.schema_)
    if contract.schema_file is None:
        return None
    path = ctx.base_dir / contract.schema_file
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise StepFailed(ctx.step_id, f"cannot read output.schema_file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise StepFailed(ctx.step_id, f"output.schema_file {path} is not a JSON Schema object")
    return data


def validate(value: Any, schema: dict[str, Any]) -> list[str]:
    try:
        errors = sorted(Draft202012Validator(schema).iter_errors(value), key=str)
    except SchemaError as exc:
        return [f"invalid output schema: {exc.message}"]
    out = []
    for err in errors[:10]:
        where = "/".join(str(p) for p in err.absolute_path)
        out.append(f"{where or '(root)'}: {err.message}")
    return out


def parse_output(raw: str, data: Any, schema: dict[str, Any]) -> tuple[Any, list[str], list[str]]:
    """(value, validation errors, repairs). Tries the model's parsed data, then repairs raw."""
    if data is not None:
        errors = validate(data, schema)
        if not errors:
            return data, [], []
    try:
        value, repairs = repair_json(raw)
    except ValueError as exc:
        return None, [f"not JSON: {exc}"], []
    return value, validate(value, schema), repairs


def reask_message(errors: list[str]) -> Message:
    listed = "\n".join(f"- {e}" for e in errors)
    return Message(
        "user",
        "Your previous answer did not match the required JSON Schema:\n"
        f"{listed}\nReply again with only the corrected JSON value, no prose, no code fences.",
    )


async def structured_call(
    ctx: StepContext, request: ModelRequest, contract: OutputContract, schema: dict[str, Any]
) -> tuple[Any, ModelResponse | None]:
    """Ask for JSON matching ``schema``: repair common mistakes, then re-ask with the
    validation errors up to ``contract.max_retries`` (``on_invalid: retry``)."""
    tries = 1 + (contract.max_retries if contract.on_invalid == "retry" else 0)
    messages = list(request.messages)
    errors: list[str] = []
    raw = ""
    response: ModelResponse | None = None
    for n in range(tries):
        try:
            response = await ctx.complete(replace(request, messages=tuple(messages)))
            raw, data = response.text, response.data
        except InvalidOutputError as exc:
            raw, data = exc.raw, None
        value, errors, repairs = parse_output(raw, data, schema)
        if not errors:
            if repairs:
                ctx.emit("output_repaired", repairs=repairs)
            return value, response
        ctx.emit("output_invalid", attempt=n + 1, errors=errors[:5])
        if contract.on_invalid == "continue":
            return (value if value is not None else raw), response
        if contract.on_invalid == "fail":
            raise StepFailed(ctx.step_id, "output violates its schema: " + "; ".join(errors))
        messages += [Message("assistant", raw), reask_message(errors)]
    raise InvalidOutputError(
        f"step {ctx.step_id!r}: output still invalid after {tries} tries: " + "; ".join(errors),
        raw=raw,
        errors=errors,
    )
