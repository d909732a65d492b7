"""Import a pipeline_ex (Elixir) workflow: ``workflow: {name, steps: [...]}``.

pipeline_ex runs its steps in order, so every translated step ``needs`` the one before it.
Model steps become ``llm``/``extract`` steps, batches and parallel tasks one step per task plus a
``set`` step collecting them, ``set_variable`` a ``set`` step, ``for_loop`` a ``map`` and
``while_loop`` a ``loop``. Whatever has no equivalent is reported where it stands.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from evopipe.interop.base import Notes, Translation, finish, pipeline_name
from evopipe.interop.pex_context import PexContext, Scope
from evopipe.interop.pex_llm import CLAUDE_TYPES, COMMON_KEYS, GEMINI_TYPES, llm_step, prompt_text
from evopipe.spec.loader import PathKey, Source

FORMAT = "pipeline-ex"
Handler = Callable[[PexContext, dict[str, Any], PathKey, str], list[dict[str, Any]]]

_WORKFLOW_DROPPED = {
    "workspace_dir", "checkpoint_enabled", "checkpoint_dir", "environment", "claude_auth",
    "setting_sources", "enable_context_management", "enable_skills", "memory_config",
    "safety", "resource_limits", "metadata", "hooks", "mcp_servers", "agents", "input",
}  # fmt: skip


def translate(source: Source) -> Translation:
    notes = Notes(source)
    data = source.data
    workflow = data.get("workflow") if isinstance(data, dict) else None
    if not isinstance(workflow, dict) or not isinstance(workflow.get("steps"), list):
        notes.unsupported((), "not a pipeline_ex workflow: expected workflow: {name, steps}")
        return Translation(source.path, None, notes.items)
    ctx = PexContext(notes, workflow, pipeline_name(workflow.get("name", "imported")))
    _workflow_inputs(ctx)
    steps = translate_steps(ctx, workflow["steps"], ("workflow", "steps"))
    _apply_extractions(ctx)
    out: dict[str, Any] = {"apiVersion": "evopipe/v1", "kind": "Pipeline", "name": ctx.name}
    if workflow.get("description"):
        out["description"] = str(workflow["description"]).strip()
    if workflow.get("version"):
        out["version"] = str(workflow["version"])
    _workflow_rest(ctx)
    out["inputs"] = ctx.inputs
    out["outputs"] = {s["id"]: "{{ steps." + s["id"] + ".output }}" for s in steps}
    out["steps"] = steps
    return finish(out, notes, FORMAT)


def _workflow_inputs(ctx: PexContext) -> None:
    variables = ctx.workflow.get("variables") or {}
    for key, value in variables.items():
        ctx.inputs[key] = {"default": value, "description": "a pipeline_ex workflow variable"}


def _workflow_rest(ctx: PexContext) -> None:
    for key in ctx.workflow:
        if key in ("name", "description", "version", "steps", "variables", "gemini_functions"):
            continue
        if key == "defaults":
            _defaults(ctx)
        else:
            why = "run settings" if key in _WORKFLOW_DROPPED else "no evopipe equivalent"
            ctx.notes.dropped(("workflow", key), f"workflow setting {key!r} ({why})")


def _defaults(ctx: PexContext) -> None:
    used = {"gemini_model", "claude_model", "gemini_token_budget", "claude_options"}
    for key in ctx.workflow.get("defaults") or {}:
        if key not in used:
            ctx.notes.dropped(("workflow", "defaults", key), f"default {key!r}")


def translate_steps(ctx: PexContext, steps: list[Any], where: PathKey) -> list[dict[str, Any]]:
    """Translate a step list in order; each step needs the one before it (pipeline_ex runs
    steps sequentially)."""
    out: list[dict[str, Any]] = []
    for i, step in enumerate(steps):
        at = (*where, i)
        if not isinstance(step, dict) or "name" not in step or "type" not in step:
            ctx.notes.unsupported(at, "a pipeline_ex step needs a name and a type")
            continue
        handler = HANDLERS.get(str(step["type"]))
        if handler is None:
            ctx.notes.unsupported(
                (*at, "type"), f"step type {step['type']!r} has no evopipe equivalent"
            )
            continue
        made = handler(ctx, step, at, ctx.new_id(step["name"]))
        if out and made:
            made[0].setdefault("needs", []).append(out[-1]["id"])
        if "condition" in step and made:
            cond = ctx.condition(step["condition"], (*at, "condition"))
            for s in made:
                if cond is not None:
                    s["when"] = cond
        ctx.steps[str(step["name"])] = made[-1] if made else {"id": ""}
        out.extend(made)
    return out


def _model(ctx: PexContext, step: dict[str, Any], where: PathKey, sid: str) -> list[dict[str, Any]]:
    return [llm_step(ctx, step, where, sid)]


def _tasks(ctx: PexContext, step: dict[str, Any], where: PathKey, sid: str) -> list[dict[str, Any]]:
    """claude_batch / parallel_claude: one llm step per task, a set step collects them."""
    key = "tasks" if step["type"] == "claude_batch" else "parallel_tasks"
    tasks = step.get(key) or []
    shared = prompt_text(ctx, step.get("prompt"), (*where, "prompt")) if step.get("prompt") else ""
    made: list[dict[str, Any]] = []
    values: dict[str, str] = {}
    for i, task in enumerate(tasks):
        at = (*where, key, i)
        name = str(task.get("task_id") or task.get("id") or i)
        one = {**{k: v for k, v in step.items() if k not in (key, "batch_config")}, **task}
        one["type"] = "claude"
        one["name"] = f"{step['name']}_{name}"
        for k in ("task_id", "id"):
            one.pop(k, None)
        task_step = llm_step(ctx, one, at, ctx.new_id(f"{sid}_{name}"))
        if shared:
            task_step["prompt"] = shared + "\n" + task_step["prompt"]
        made.append(task_step)
        values[name] = "{{ steps." + task_step["id"] + ".output }}"
    for bkey in step.get("batch_config") or {}:
        ctx.notes.dropped((*where, "batch_config", bkey), f"batch setting {bkey!r}")
    if not made:
        ctx.notes.unsupported((*where, key), f"{step['type']} step without {key}")
    return [*made, {"id": sid, "kind": "set", "values": values}]


def _set_variable(
    ctx: PexContext, step: dict[str, Any], where: PathKey, sid: str
) -> list[dict[str, Any]]:
    variables = dict(step.get("variables") or {})
    if "variable" in step:
        variables[str(step["variable"])] = step.get("value")
    values = {
        str(k): ctx.template(v, (*where, "variables", k)) if isinstance(v, str) else v
        for k, v in variables.items()
    }
    for key in sorted(set(step) - COMMON_KEYS - {"variables", "variable", "value"}):
        ctx.notes.dropped((*where, key), f"set_variable option {key!r}")
    for name in values:
        ctx.variables[name] = sid
    return [{"id": sid, "kind": "set", "values": values}]


def _for_loop(
    ctx: PexContext, step: dict[str, Any], where: PathKey, sid: str
) -> list[dict[str, Any]]:
    source = str(step.get("data_source", ""))
    if source.startswith("previous_response:"):
        name, *fields = source.split(":")[1:]
        ref = ctx.step_ref(name, [f for f in fields if f])
        over = "{{ " + ref + " }}" if ref else None
    else:
        over = ctx.template(source, (*where, "data_source")) if "{{" in source else None
    if over is None:
        ctx.notes.unsupported((*where, "data_source"), f"for_loop data_source {source!r}")
        over = "{{ [] }}"
    outer, ctx.scope = ctx.scope, Scope(iterator=str(step.get("iterator", "item")))
    body = translate_steps(ctx, step.get("steps") or [], (*where, "steps"))
    ctx.scope = outer
    out: dict[str, Any] = {"id": sid, "kind": "map", "over": over, "steps": body}
    if step.get("parallel") and step.get("max_parallel"):
        out["max_concurrency"] = int(step["max_parallel"])
    elif not step.get("parallel"):
        out["max_concurrency"] = 1
    rest = (
        set(step) - COMMON_KEYS - {"iterator", "data_source", "steps", "parallel", "max_parallel"}
    )
    for key in sorted(rest):
        ctx.notes.dropped((*where, key), f"for_loop option {key!r}")
    return [out]


def _while_loop(
    ctx: PexContext, step: dict[str, Any], where: PathKey, sid: str
) -> list[dict[str, Any]]:
    body = translate_steps(ctx, step.get("steps") or [], (*where, "steps"))
    cond = ctx.condition(step.get("condition", "true"), (*where, "condition"))
    out: dict[str, Any] = {"id": sid, "kind": "loop", "steps": body}
    out["until"] = f"not ({cond})" if cond else "true"
    out["max_iterations"] = int(step.get("max_iterations", 100))
    if "timeout_seconds" in step:
        out["timeout_s"] = float(step["timeout_seconds"])
    rest = set(step) - COMMON_KEYS - {"condition", "steps", "max_iterations", "timeout_seconds"}
    for key in sorted(rest):
        ctx.notes.dropped((*where, key), f"while_loop option {key!r}")
    return [out]


def _apply_extractions(ctx: PexContext) -> None:
    """A step whose output fields are read downstream becomes an extract step declaring them."""
    by_id = {s["id"]: s for s in ctx.steps.values() if s.get("kind") in ("llm", "extract")}
    for sid, paths in ctx.extracted.items():
        step = by_id.get(sid)
        if step is None or "output" in step:
            continue
        schema: dict[str, Any] = {"type": "object", "additionalProperties": True}
        for path in paths:
            node = schema
            for part in path:
                node["type"] = "object"
                props = node.setdefault("properties", {})
                if part not in props:
                    node.setdefault("required", []).append(part)
                    props[part] = {}
                node = props[part]
        step["kind"] = "extract"
        step["output"] = {"schema": schema}


HANDLERS: dict[str, Handler] = {
    **{t: _model for t in GEMINI_TYPES | CLAUDE_TYPES},
    "claude_batch": _tasks,
    "parallel_claude": _tasks,
    "set_variable": _set_variable,
    "for_loop": _for_loop,
    "while_loop": _while_loop,
}
"""pipeline_ex step type → translation. Absent types (pipeline, data_transform, file_ops,
codebase_query, test_echo, ...) are reported as unsupported."""
