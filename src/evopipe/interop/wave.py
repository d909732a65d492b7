"""Import a Wave (Go) pipeline: ``kind: WavePipeline`` with persona steps, ``dependencies``,
artifact injection, handover contracts and memory strategies.

A prompt step becomes an ``llm`` step run by an evopipe persona (the Wave persona's system
prompt and settings, read from ``.agents/personas/`` next to the pipeline when present); a
``json_schema`` handover contract becomes the step's output contract (an ``extract`` step);
injected artifacts are quoted into the prompt; output artifacts and ``pipeline_outputs`` become
pipeline outputs; an approval gate becomes an ``approval`` step. Agent mechanics (workspaces,
files written, tools) are reported as dropped; control flow evopipe cannot express here
(sub-pipelines by name, iterate, aggregate, edges, loops, commands) is reported as unsupported.
"""

from __future__ import annotations

from typing import Any

from evopipe.interop.base import Notes, Translation, finish, input_name, pipeline_name, step_id
from evopipe.interop.pex_context import claude_model
from evopipe.interop.templates import jinja_path, rewrite
from evopipe.interop.wave_files import WaveFiles
from evopipe.spec.loader import PathKey, Source

FORMAT = "wave"
_TIERS = {
    "cheapest": "anthropic:claude-haiku-4-5",
    "balanced": "anthropic:claude-sonnet-4-5",
    "strongest": "anthropic:claude-opus-4-1",
}
_UNSUPPORTED = {
    "pipeline": "a sub-pipeline named by Wave pipeline name",
    "iterate": "fan-out over sub-pipelines (iterate)",
    "aggregate": "file aggregation (aggregate)",
    "edges": "graph edges (conditional routing and loops)",
    "loop": "feedback loops (loop)",
    "branch": "pipeline selection (branch)",
    "script": "shell scripts (evopipe shell steps take an argument list and need --trust)",
    "rework_only": "rework-only steps",
    "strategy": "matrix fan-out (strategy)",
}
_DROPPED = {
    "workspace": "the agent's workspace (worktree or mounts)",
    "outcomes": "outcome extraction from files",
    "thread": "conversation threads (each evopipe step starts fresh)",
    "fidelity": "context fidelity",
    "max_concurrent_agents": "agent concurrency",
    "concurrency": "agent concurrency",
    "adapter": "the agent adapter",
    "optional": "optional steps (a failed step fails the run)",
    "validation": "pre-execution checks",
    "max_visits": "visit limits",
}
_TOP_DROPPED = ("hooks", "chat_context", "skills", "requires", "max_step_visits")


class _Wave:
    def __init__(self, source: Source) -> None:
        self.notes = Notes(source)
        self.files = WaveFiles(source.path)
        self.inputs: dict[str, dict[str, Any]] = {}
        self.personas: dict[str, dict[str, Any]] = {}
        self.ids: dict[str, str] = {}

    def resolve(self, expr: str) -> str | None:
        head, *rest = expr.split(".")
        if head == "input" and not rest:
            return "inputs.input"
        if head == "pipeline_id" and not rest:
            return "run.id"
        if head in ("project", "forge") and rest:
            key = input_name(expr)
            self.inputs.setdefault(
                key, {"type": "string", "description": f"Wave's {{{{ {expr} }}}} (from wave.yaml)"}
            )
            return f"inputs.{key}"
        return None

    def template(self, text: object, where: PathKey) -> str:
        done = rewrite(str(text), self.resolve)
        for expr in done.unresolved:
            self.notes.unsupported(
                where, f"template expression {{{{ {expr} }}}} has no evopipe equivalent"
            )
        return done.text

    def persona(self, name: str, where: PathKey) -> str:
        if "{{" in name:
            self.notes.unsupported(where, f"persona chosen at run time ({name!r})")
            return step_id(name)
        key = step_id(name)
        if key in self.personas:
            return key
        system, settings = self.files.persona(name)
        if system is None:
            self.notes.approximated(
                where,
                f"persona {name!r}: its definition was not found next to the pipeline",
                "import from the .agents/pipelines/ directory so .agents/personas/ is read",
            )
            system = f"You are the {name} persona: {settings.get('description', name)}."
        persona: dict[str, Any] = {"system": system}
        if isinstance(settings.get("temperature"), int | float):
            persona["temperature"] = float(settings["temperature"])
        if settings.get("model"):
            persona["model"] = _TIERS.get(str(settings["model"]), claude_model(settings["model"]))
        self.personas[key] = persona
        return key


def translate(source: Source) -> Translation:
    w = _Wave(source)
    data = source.data
    if not isinstance(data, dict) or data.get("kind") != "WavePipeline":
        w.notes.unsupported((), "not a Wave pipeline: expected kind: WavePipeline")
        return Translation(source.path, None, w.notes.items)
    meta = data.get("metadata") or {}
    w.inputs["input"] = _input(data.get("input") or {})
    steps: list[dict[str, Any]] = []
    outputs: dict[str, str] = {}
    for i, raw in enumerate(data.get("steps") or []):
        made = _step(w, raw, ("steps", i), outputs)
        if made is not None:
            steps.append(made)
    if data.get("pipeline_outputs"):
        outputs = _pipeline_outputs(w, data["pipeline_outputs"])
    for key in _TOP_DROPPED:
        if key in data:
            w.notes.dropped((key,), f"{key!r} (Wave runtime settings with no evopipe equivalent)")
    out: dict[str, Any] = {"apiVersion": "evopipe/v1", "kind": "Pipeline"}
    out["name"] = pipeline_name(meta.get("name", "imported"))
    if meta.get("description"):
        out["description"] = " ".join(str(meta["description"]).split())
    out["inputs"] = w.inputs
    if w.personas:
        out["personas"] = w.personas
    out["outputs"] = outputs
    out["steps"] = steps
    return finish(out, w.notes, FORMAT)


def _input(spec: dict[str, Any]) -> dict[str, Any]:
    schema = spec.get("schema")
    out: dict[str, Any] = dict(schema) if isinstance(schema, dict) else {"type": "string"}
    if spec.get("example") is not None and "description" not in out:
        out["description"] = f"example: {spec['example']}"
    return out


def _step(w: _Wave, raw: Any, where: PathKey, outputs: dict[str, str]) -> dict[str, Any] | None:
    if not isinstance(raw, dict) or "id" not in raw:
        w.notes.unsupported(where, "a Wave step needs an id")
        return None
    sid = step_id(raw["id"])
    w.ids[str(raw["id"])] = sid
    for key, why in _UNSUPPORTED.items():
        if key in raw:
            w.notes.unsupported((*where, key), f"{why} has no evopipe equivalent")
    if raw.get("type") in ("command", "conditional"):
        w.notes.unsupported(
            (*where, "type"), f"step type {raw['type']!r} has no evopipe equivalent"
        )
    for key, why in _DROPPED.items():
        if key in raw:
            w.notes.dropped((*where, key), f"{key}: {why}")
    if "gate" in raw:
        step = _gate(w, raw["gate"], (*where, "gate"), sid)
    elif isinstance(raw.get("exec"), dict):
        step = _prompt_step(w, raw, where, sid, outputs)
    else:
        if not any(k in raw for k in (*_UNSUPPORTED, "type")):
            w.notes.unsupported(where, "a Wave step without exec or gate")
        return None
    needs = [w.ids.get(str(d), step_id(d)) for d in raw.get("dependencies") or []]
    if needs:
        step["needs"] = needs
    return step


def _gate(w: _Wave, gate: dict[str, Any], where: PathKey, sid: str) -> dict[str, Any]:
    if gate.get("type") != "approval":
        w.notes.unsupported((*where, "type"), f"gate type {gate.get('type')!r}")
    for key in sorted(set(gate) - {"type", "prompt"}):
        w.notes.dropped((*where, key), f"approval gate option {key!r}")
    message = w.template(gate.get("prompt") or "Approve to continue?", (*where, "prompt"))
    return {"id": sid, "kind": "approval", "message": message}


def _prompt_step(
    w: _Wave, raw: dict[str, Any], where: PathKey, sid: str, outputs: dict[str, str]
) -> dict[str, Any]:
    prompt = _source(w, raw["exec"], (*where, "exec"))
    prompt += _injected(w, raw.get("memory") or {}, (*where, "memory"))
    step: dict[str, Any] = {"id": sid, "kind": "llm", "prompt": prompt}
    if raw.get("persona"):
        step["persona"] = w.persona(str(raw["persona"]), (*where, "persona"))
    if raw.get("model"):
        step["model"] = _TIERS.get(str(raw["model"]), claude_model(raw["model"]))
    if raw.get("timeout_minutes"):
        step["timeout_s"] = float(raw["timeout_minutes"]) * 60
    _retry(w, raw.get("retry"), (*where, "retry"), step)
    _handover(w, raw.get("handover") or {}, (*where, "handover"), step)
    for i, art in enumerate(raw.get("output_artifacts") or []):
        name = step_id(art.get("name", f"{sid}_{i}"))
        outputs.setdefault(name, "{{ steps." + sid + ".output }}")
        if art.get("path"):
            w.notes.dropped(
                (*where, "output_artifacts", i, "path"),
                f"artifact file {art['path']!r}: evopipe keeps it as the output {name!r}",
            )
    return step


def _source(w: _Wave, exec_: dict[str, Any], where: PathKey) -> str:
    """The prompt template of ``exec``: inline ``source`` or the file at ``source_path``."""
    if exec_.get("type") != "prompt":
        w.notes.unsupported((*where, "type"), f"exec type {exec_.get('type')!r}")
        return ""
    if "source" in exec_:
        return w.template(exec_["source"], (*where, "source"))
    text = w.files.text(str(exec_.get("source_path", "")))
    if text is None:
        w.notes.unsupported(
            (*where, "source_path"),
            f"prompt file {exec_.get('source_path')!r} was not found next to the pipeline",
            "import from the .agents/pipelines/ directory so .agents/prompts/ is read",
        )
        return ""
    return w.template(text, (*where, "source_path"))


def _injected(w: _Wave, memory: dict[str, Any], where: PathKey) -> str:
    text = ""
    for i, inj in enumerate(memory.get("inject_artifacts") or []):
        src = w.ids.get(str(inj.get("step")))
        if "pipeline" in inj:
            w.notes.unsupported(
                (*where, "inject_artifacts", i, "pipeline"),
                f"an artifact of another pipeline ({inj['pipeline']!r})",
            )
            continue
        if src is None:
            w.notes.unsupported(
                (*where, "inject_artifacts", i, "step"),
                f"artifact from {inj.get('step')!r}, which is not an earlier step",
            )
            continue
        label = inj.get("as") or inj.get("artifact")
        text += f"\n\n## Artifact {label}\n\n{{{{ steps.{src}.output }}}}"
    for key in sorted(set(memory) - {"inject_artifacts", "strategy"}):
        w.notes.dropped((*where, key), f"memory option {key!r}")
    if memory.get("strategy") not in (None, "fresh"):
        w.notes.dropped((*where, "strategy"), f"memory strategy {memory['strategy']!r}")
    return text


def _retry(w: _Wave, retry: Any, where: PathKey, step: dict[str, Any]) -> None:
    if not isinstance(retry, dict):
        return
    if retry.get("max_attempts"):
        step["retry"] = {"max_attempts": int(retry["max_attempts"])}
    for key in sorted(set(retry) - {"max_attempts"}):
        w.notes.dropped((*where, key), f"retry option {key}={retry[key]!r}")


_ON_FAILURE = {"retry": "retry", "fail": "fail", "warn": "continue", "skip": "continue"}


def _handover(w: _Wave, handover: dict[str, Any], where: PathKey, step: dict[str, Any]) -> None:
    contracts = handover.get("contracts") or (
        [handover["contract"]] if "contract" in handover else []
    )
    key = "contracts" if handover.get("contracts") else "contract"
    for i, contract in enumerate(contracts):
        at = (*where, key, i) if key == "contracts" else (*where, key)
        kind = contract.get("type")
        if kind == "json_schema" and "output" not in step:
            _schema_contract(w, contract, at, step)
        else:
            w.notes.dropped((*at, "type"), f"{kind} contract (checks files or commands)")
    for extra in sorted(set(handover) - {"contract", "contracts"}):
        w.notes.dropped((*where, extra), f"handover option {extra!r}")


def _schema_contract(
    w: _Wave, contract: dict[str, Any], where: PathKey, step: dict[str, Any]
) -> None:
    path = str(contract.get("schema_path", ""))
    schema = contract.get("schema") if isinstance(contract.get("schema"), dict) else None
    schema = schema or w.files.schema(path)
    if schema is None:
        w.notes.unsupported(
            (*where, "schema_path"),
            f"contract schema {path!r} was not found next to the pipeline",
            "import from the .agents/pipelines/ directory so .agents/contracts/ is read",
        )
        return
    schema = {k: v for k, v in schema.items() if k not in ("$schema", "$id")}
    step["kind"] = "extract"
    step["output"] = {"schema": schema}
    on_failure = str(contract.get("on_failure", "fail"))
    step["output"]["on_invalid"] = _ON_FAILURE.get(on_failure, "fail")


def _pipeline_outputs(w: _Wave, spec: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, ref in spec.items():
        sid = w.ids.get(str(ref.get("step")))
        if sid is None:
            w.notes.unsupported(("pipeline_outputs", name), f"output from unknown step {ref!r}")
            continue
        field = str(ref.get("field", "")).strip(".")
        path = jinja_path(f"steps.{sid}.output", field.split(".") if field else [])
        out[step_id(name)] = "{{ " + path + " }}"
    return out
