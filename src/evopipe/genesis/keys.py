"""Which keys the format allows where, read from the spec's pydantic models; used to drop
unknown keys from a raw document."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from evopipe.spec.base import OutputContract, Retry
from evopipe.spec.catalog import lookup
from evopipe.spec.kinds import Demo, SwitchCase
from evopipe.spec.pipeline import Defaults, Limits, Persona, Pipeline, Promotion

_PIPELINE_MODELS: dict[str, type[BaseModel]] = {
    "defaults": Defaults,
    "limits": Limits,
    "promotion": Promotion,
}
_STEP_MODELS: dict[str, type[BaseModel]] = {"retry": Retry, "output": OutputContract}
_STEP_LISTS: dict[str, type[BaseModel]] = {"cases": SwitchCase, "demos": Demo}


def allowed_keys(model: type[BaseModel]) -> set[str]:
    """Field names and their aliases."""
    keys: set[str] = set()
    for name, info in model.model_fields.items():
        keys.add(name)
        if info.alias:
            keys.add(info.alias)
    return keys


def _prune(obj: dict[str, Any], model: type[BaseModel], where: str, notes: list[str]) -> None:
    allowed = allowed_keys(model)
    for key in [k for k in obj if k not in allowed]:
        del obj[key]
        notes.append(f"{where}.{key}" if where else str(key))


def drop_unknown(data: dict[str, Any]) -> list[str]:
    """Remove unknown keys in place; return where each one was."""
    notes: list[str] = []
    _pipeline(data, "", notes)
    return notes


def _pipeline(data: dict[str, Any], where: str, notes: list[str]) -> None:
    _prune(data, Pipeline, where, notes)
    for key, model in _PIPELINE_MODELS.items():
        if isinstance(data.get(key), dict):
            _prune(data[key], model, _join(where, key), notes)
    personas = data.get("personas")
    if isinstance(personas, dict):
        for name, persona in personas.items():
            if isinstance(persona, dict):
                _prune(persona, Persona, _join(where, f"personas.{name}"), notes)
    _steps(data.get("steps"), _join(where, "steps"), notes)


def _steps(steps: Any, where: str, notes: list[str]) -> None:
    if not isinstance(steps, list):
        return
    for i, step in enumerate(steps):
        if not isinstance(step, dict):
            continue
        model = lookup(str(step.get("kind")))
        here = f"{where}[{i}]"
        if model is None:
            continue
        _prune(step, model, here, notes)
        for key, sub in _STEP_MODELS.items():
            if isinstance(step.get(key), dict):
                _prune(step[key], sub, f"{here}.{key}", notes)
        for key, sub in _STEP_LISTS.items():
            items = step.get(key)
            for j, item in enumerate(items if isinstance(items, list) else []):
                if isinstance(item, dict):
                    _prune(item, sub, f"{here}.{key}[{j}]", notes)
        _steps(step.get("steps"), f"{here}.steps", notes)
        if isinstance(step.get("pipeline"), dict):
            _pipeline(step["pipeline"], f"{here}.pipeline", notes)


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key
