"""pipeline_ex model steps (claude, gemini and their variants) as evopipe llm/extract steps."""

from __future__ import annotations

from typing import Any

from evopipe.interop.pex_context import PexContext, claude_model, gemini_model
from evopipe.spec.loader import PathKey

GEMINI_TYPES = frozenset({"gemini", "gemini_instructor"})
CLAUDE_TYPES = frozenset(
    {"claude", "claude_smart", "claude_session", "claude_extract", "claude_robust"}
)
COMMON_KEYS = frozenset({"name", "type", "condition"})
"""Keys every step handler consumes (the others report what they do not)."""

_AGENT_OPTIONS = {
    "max_turns": "agent turns (evopipe makes one model call per attempt)",
    "allowed_tools": "Claude Code tool permissions (evopipe llm steps use no tools)",
    "disallowed_tools": "Claude Code tool permissions (evopipe llm steps use no tools)",
    "cwd": "the agent's working directory",
    "verbose": "logging",
    "debug_mode": "logging",
    "output_format": "the Claude SDK output format (evopipe keeps the model's text)",
    "permission_mode": "Claude Code permission mode",
    "async_streaming": "streaming",
    "stream_handler": "streaming",
    "telemetry_enabled": "telemetry (evopipe journals every run)",
    "cost_tracking": "cost tracking (evopipe journals cost per call)",
}


def prompt_text(ctx: PexContext, prompt: object, where: PathKey) -> str:
    """A pipeline_ex prompt (a string or a list of parts) as one evopipe template."""
    if prompt is None:
        return ""
    if not isinstance(prompt, list):
        return ctx.template(prompt, where)
    return "\n".join(_part(ctx, part, (*where, i)) for i, part in enumerate(prompt))


def _part(ctx: PexContext, part: Any, where: PathKey) -> str:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind == "static":
        return ctx.template(part.get("content") or "", (*where, "content"))
    if kind == "file":
        return _file_part(ctx, part, where)
    if kind == "previous_response":
        return _previous(ctx, part, where)
    ctx.notes.unsupported(
        (*where, "type"),
        f"prompt part type {kind!r} has no evopipe equivalent",
        "evopipe has no conversation sessions; quote earlier outputs with steps.<id>.output",
    )
    return ""


def _file_part(ctx: PexContext, part: dict[str, Any], where: PathKey) -> str:
    path = str(part.get("path", ""))
    inner = path.strip()
    if inner.startswith("{{") and inner.endswith("}}") and "." not in inner:
        name = inner[2:-2].strip()
    else:
        name = "file_" + path
    ref = ctx.declare_input(name, f"contents of the file {path} (pipeline_ex read it from disk)")
    ctx.notes.approximated(
        (*where, "path"),
        f"file prompt part {path!r} becomes the input {ref.split('.')[1]!r}",
        "pass the file's contents as that input",
    )
    if "variables" in part:
        ctx.notes.dropped((*where, "variables"), "variables substituted into a prompt file")
    return "{{ " + ref + " }}"


def _previous(ctx: PexContext, part: dict[str, Any], where: PathKey) -> str:
    fields = str(part["extract"]).split(".") if part.get("extract") else []
    ref = ctx.step_ref(str(part.get("step")), fields)
    if ref is None:
        ctx.notes.unsupported(
            (*where, "step"), f"previous_response names no earlier step: {part.get('step')!r}"
        )
        return ""
    for key in sorted(set(part) - {"type", "step", "extract", "strict"}):
        ctx.notes.dropped((*where, key), f"previous_response option {key!r}")
    return "{{ " + ref + " }}"


def llm_step(ctx: PexContext, step: dict[str, Any], where: PathKey, sid: str) -> dict[str, Any]:
    """claude/gemini (and variants) → llm (or extract when a schema or function is given)."""
    out: dict[str, Any] = {"id": sid, "kind": "llm"}
    out["prompt"] = prompt_text(ctx, step.get("prompt"), (*where, "prompt"))
    kind = step["type"]
    defaults = ctx.workflow.get("defaults") or {}
    if kind in GEMINI_TYPES:
        out["model"] = gemini_model(
            step.get("model") or defaults.get("gemini_model") or "gemini-flash-lite-latest"
        )
    else:
        out["model"] = claude_model(defaults.get("claude_model") or "sonnet")
    seen = set(COMMON_KEYS | {"prompt", "model"})
    _budget(ctx, step, where, out, seen)
    _claude_options(ctx, step, where, out, seen)
    _contract(ctx, step, where, out, seen)
    _retry(ctx, step, where, out, seen)
    for key in sorted(set(step) - seen):
        ctx.notes.dropped((*where, key), f"{kind} step option {key!r} has no evopipe equivalent")
    return out


def _budget(
    ctx: PexContext, step: dict[str, Any], where: PathKey, out: dict[str, Any], seen: set[str]
) -> None:
    defaults = ctx.workflow.get("defaults") or {}
    budget = {**(defaults.get("gemini_token_budget") or {}), **(step.get("token_budget") or {})}
    seen.add("token_budget")
    for key, value in budget.items():
        if key == "max_output_tokens":
            out["max_tokens"] = int(value)
        elif key == "temperature":
            out["temperature"] = float(value)
        else:
            ctx.notes.dropped((*where, "token_budget", key), f"sampling option {key!r}")


def _claude_options(
    ctx: PexContext, step: dict[str, Any], where: PathKey, out: dict[str, Any], seen: set[str]
) -> None:
    seen.add("claude_options")
    own = step.get("claude_options") or {}
    inherited = {} if step["type"] in GEMINI_TYPES else _default_claude_options(ctx)
    system: list[str] = []
    for key, value in {**inherited, **own}.items():
        at = (
            (*where, "claude_options") if key in own else ("workflow", "defaults", "claude_options")
        )
        if key == "model":
            out["model"] = claude_model(value)
        elif key == "fallback_model":
            out.setdefault("retry", {})["fallback_models"] = [claude_model(value)]
        elif key in ("system_prompt", "append_system_prompt"):
            system.append(ctx.template(value, (*at, key)))
        elif key == "timeout_ms":
            out["timeout_s"] = max(1.0, float(value) / 1000)
        elif key == "retry_config":
            _retry_config(ctx, value, (*at, key), out)
        else:
            why = _AGENT_OPTIONS.get(key, "a Claude SDK option with no evopipe equivalent")
            ctx.notes.dropped((*at, key), f"claude_options.{key}: {why}")
    if system:
        out["system"] = "\n".join(system)


def _default_claude_options(ctx: PexContext) -> dict[str, Any]:
    """``defaults.claude_options``: pipeline_ex merges them into every Claude step's options."""
    options = (ctx.workflow.get("defaults") or {}).get("claude_options")
    return options if isinstance(options, dict) else {}


def _contract(
    ctx: PexContext, step: dict[str, Any], where: PathKey, out: dict[str, Any], seen: set[str]
) -> None:
    seen.update({"output_schema", "schema", "functions"})
    schema = step.get("output_schema") or step.get("schema")
    functions = step.get("functions")
    if functions:
        table = ctx.workflow.get("gemini_functions") or {}
        if len(functions) != 1 or functions[0] not in table:
            ctx.notes.unsupported(
                (*where, "functions"),
                "gemini function calling with several (or undefined) functions",
                "one function becomes an extract step with its parameters as the schema",
            )
            return
        schema = table[functions[0]].get("parameters")
        ctx.notes.approximated(
            (*where, "functions"),
            f"gemini function {functions[0]!r}: its parameters become the output schema",
        )
    if isinstance(schema, dict):
        out["kind"] = "extract"
        out["output"] = {"schema": schema}


def _retry(
    ctx: PexContext, step: dict[str, Any], where: PathKey, out: dict[str, Any], seen: set[str]
) -> None:
    seen.add("retry_config")
    if isinstance(step.get("retry_config"), dict):
        _retry_config(ctx, step["retry_config"], (*where, "retry_config"), out)


def _retry_config(
    ctx: PexContext, config: dict[str, Any], where: PathKey, out: dict[str, Any]
) -> None:
    retry = out.setdefault("retry", {})
    for key, value in config.items():
        if key == "max_retries":
            retry["max_attempts"] = int(value) + 1
        elif key == "backoff_strategy" and value == "exponential":
            continue
        else:
            ctx.notes.dropped((*where, key), f"retry option {key}={value!r}")
