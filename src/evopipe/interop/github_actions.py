"""Export a pipeline as a GitHub Actions workflow that runs it with ``evopipe run``.

The workflow is started by hand (``workflow_dispatch``) with one form field per pipeline input.
Inputs reach the command through environment variables, never by expanding ``${{ }}`` inside
the shell script (which would let an input inject commands). Provider keys come from
repository secrets named like the SDKs' environment variables.
"""

from __future__ import annotations

from typing import Any

import yaml

from evopipe.spec.canonical import canonical_data
from evopipe.spec.pipeline import Pipeline

FORMAT = "github-actions"
_KEYS = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "google": "GEMINI_API_KEY",
}
_TYPES = {"string": "string", "number": "number", "integer": "number", "boolean": "boolean"}


def _models(data: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "model" and isinstance(value, str):
                found.add(value)
            elif key == "fallback_models" and isinstance(value, list):
                found.update(str(v) for v in value)
            else:
                found |= _models(value)
    elif isinstance(data, list):
        for item in data:
            found |= _models(item)
    return found


def _env_name(name: str) -> str:
    return "EVOPIPE_INPUT_" + "".join(c if c.isalnum() else "_" for c in name).upper()


def _dispatch_inputs(pipeline: Pipeline) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, schema in pipeline.inputs.items():
        kind = _TYPES.get(str(schema.get("type")), "string")
        field: dict[str, Any] = {
            "description": str(schema.get("description") or name)[:200],
            "required": "default" not in schema,
            "type": kind,
        }
        if "default" in schema and isinstance(schema["default"], str | int | float | bool):
            field["default"] = schema["default"]
        out[name] = field
    return out


def export(pipeline: Pipeline, pipeline_path: str) -> str:
    """The workflow YAML for the pipeline file at ``pipeline_path`` (relative to the repo)."""
    env: dict[str, str] = {}
    providers = {m.split(":", 1)[0] for m in _models(canonical_data(pipeline))}
    for provider in sorted(providers & set(_KEYS)):
        env[_KEYS[provider]] = "${{ secrets." + _KEYS[provider] + " }}"
    command = f'evopipe run "{pipeline_path}" --json'
    for name in pipeline.inputs:
        var = _env_name(name)
        env[var] = "${{ inputs." + name + " }}"
        command += f' --input "{name}=${var}"'
    steps: list[dict[str, Any]] = [
        {"uses": "actions/checkout@v4"},
        {"uses": "actions/setup-python@v5", "with": {"python-version": "3.11"}},
        {"name": "Install evopipe", "run": "python -m pip install evopipe"},
        {"name": f"Run {pipeline.name}", "env": env, "run": f"{command} > evopipe-result.json"},
        {
            "name": "Keep the result",
            "if": "always()",
            "uses": "actions/upload-artifact@v4",
            "with": {"name": f"{pipeline.name}-result", "path": "evopipe-result.json"},
        },
    ]
    workflow: dict[str, Any] = {
        "name": f"evopipe: {pipeline.name}",
        "on": {"workflow_dispatch": {"inputs": _dispatch_inputs(pipeline)}},
        "permissions": {"contents": "read"},
        "jobs": {"run": {"runs-on": "ubuntu-latest", "timeout-minutes": 60, "steps": steps}},
    }
    header = f"# exported by `evopipe export github-actions` from {pipeline_path}\n"
    return header + yaml.safe_dump(workflow, sort_keys=False, allow_unicode=True, width=100)
