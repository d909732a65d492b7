"""Export a pipeline as a GitHub Actions workflow that runs it with ``evopipe run``.

The workflow is started by hand (``workflow_dispatch``) with one form field per pipeline input.
Inputs reach the command through environment variables, never by expanding ``${{ }}`` inside
the shell script (which would let an input inject commands); ``jq`` turns them into a typed
JSON inputs file (a string input stays a string even when it looks like a number). Provider
keys come from repository secrets named like the SDKs' environment variables.
"""

from __future__ import annotations

import json
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
_BOOLEAN = "boolean"


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


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the run script) as YAML block literals."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)
_TRUSTED_KINDS = {"python", "shell", "http"}


def _kinds(data: Any) -> set[str]:
    if isinstance(data, dict):
        found = {str(data["kind"])} if isinstance(data.get("kind"), str) else set()
        return found.union(*(_kinds(v) for v in data.values()))
    if isinstance(data, list):
        return set().union(*(_kinds(v) for v in data))
    return set()


def _env_name(name: str) -> str:
    return "EVOPIPE_INPUT_" + "".join(c if c.isalnum() else "_" for c in name).upper()


def _dispatch_inputs(pipeline: Pipeline) -> dict[str, Any]:
    """Form fields: booleans as checkboxes, everything else as text (numbers, lists and
    objects are typed as JSON and parsed by ``jq --argjson``)."""
    out: dict[str, Any] = {}
    for name, schema in pipeline.inputs.items():
        boolean = schema.get("type") == _BOOLEAN
        field: dict[str, Any] = {
            "description": str(schema.get("description") or name)[:200],
            "required": "default" not in schema,
            "type": _BOOLEAN if boolean else "string",
        }
        if "default" in schema:
            default = schema["default"]
            plain = isinstance(default, str) or boolean
            field["default"] = default if plain else json.dumps(default, ensure_ascii=False)
        out[name] = field
    return out


def _inputs_script(pipeline: Pipeline) -> str:
    """A jq command writing the inputs as a JSON object with their types: strings with
    ``--arg`` (never parsed), the others with ``--argjson``."""
    args, fields = [], []
    for i, (name, schema) in enumerate(pipeline.inputs.items()):
        flag = "--arg" if schema.get("type") == "string" else "--argjson"
        args.append(f'{flag} i{i} "${_env_name(name)}"')
        fields.append(f"{json.dumps(name)}: $i{i}")
    return f"jq -n {' '.join(args)} '{{{', '.join(fields)}}}' > evopipe-inputs.json\n"


def export(pipeline: Pipeline, pipeline_path: str) -> str:
    """The workflow YAML for the pipeline file at ``pipeline_path`` (relative to the repo)."""
    env: dict[str, str] = {}
    data = canonical_data(pipeline)
    providers = {m.split(":", 1)[0] for m in _models(data)}
    for provider in sorted(providers & set(_KEYS)):
        env[_KEYS[provider]] = "${{ secrets." + _KEYS[provider] + " }}"
    script = ""
    command = f'evopipe run "{pipeline_path}" --json'
    if _kinds(data) & _TRUSTED_KINDS:  # the pipeline is the repository's own: trusted
        command += " --trust"
    if pipeline.inputs:
        script = _inputs_script(pipeline)
        command += " --inputs evopipe-inputs.json"
    for name in pipeline.inputs:
        env[_env_name(name)] = "${{ inputs." + name + " }}"
    script += f"{command} > evopipe-result.json\n"
    steps: list[dict[str, Any]] = [
        {"uses": "actions/checkout@v4"},
        {"uses": "actions/setup-python@v5", "with": {"python-version": "3.11"}},
        {"name": "Install evopipe", "run": "python -m pip install evopipe"},
        {"name": f"Run {pipeline.name}", "env": env, "run": script},
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
    text = yaml.dump(workflow, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    header = f"# exported by `evopipe export github-actions` from {pipeline_path}\n"
    return header + text
