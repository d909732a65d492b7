"""Canonical form of a pipeline: the basis of its hash (journal binding, candidate ids)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import yaml
from pydantic import BaseModel

from evopipe.spec.base import StepBase
from evopipe.spec.pipeline import Pipeline


def plain_data(model: BaseModel) -> dict[str, Any]:
    """Any format model as plain JSON data, defaults left out, keys as written in files.

    A step's ``kind`` is kept even though each kind model has it as a default: it is what tells
    an ``llm`` step from an ``extract`` step with the same fields, and files cannot omit it.
    """
    data = model.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    _restore_kinds(model, data)
    return data


def _restore_kinds(model: Any, data: Any) -> None:
    if isinstance(model, BaseModel) and isinstance(data, dict):
        if isinstance(model, StepBase):
            rest = {k: data.pop(k) for k in list(data) if k != "id"}
            data["kind"] = model.kind
            data.update(rest)
        for name, info in type(model).model_fields.items():
            key = info.alias or name
            if key in data:
                _restore_kinds(getattr(model, name), data[key])
    elif isinstance(model, (list, tuple)) and isinstance(data, list):
        for item_model, item_data in zip(model, data, strict=False):
            _restore_kinds(item_model, item_data)
    elif isinstance(model, dict) and isinstance(data, dict):
        for key, item in data.items():
            if key in model:
                _restore_kinds(model[key], item)


def canonical_data(pipeline: Pipeline) -> dict[str, Any]:
    """The pipeline as plain JSON data with defaults left out, keys as written in files."""
    return plain_data(pipeline)


def canonical_json(pipeline: Pipeline) -> str:
    return json.dumps(canonical_data(pipeline), sort_keys=True, separators=(",", ":"))


def spec_hash(pipeline: Pipeline) -> str:
    """sha256 of the canonical JSON form, hex."""
    return hashlib.sha256(canonical_json(pipeline).encode()).hexdigest()


def spec_to_json(pipeline: Pipeline) -> str:
    """Lossless JSON of a spec (every field, defaults included, so that step kinds survive a
    round trip); what the store keeps. :func:`canonical_json` is the hashed form."""
    return json.dumps(pipeline.model_dump(mode="json", by_alias=True), sort_keys=True)


def spec_from_json(text: str) -> Pipeline:
    """The spec written by :func:`spec_to_json`."""
    return Pipeline.model_validate(json.loads(text))


def to_yaml(pipeline: Pipeline) -> str:
    """Serialise a pipeline to YAML (apiVersion/kind/name first, defaults omitted)."""
    data = canonical_data(pipeline)
    data.setdefault("kind", "Pipeline")
    head: dict[str, Any] = {k: data.pop(k) for k in ("apiVersion", "kind", "name") if k in data}
    ordered: dict[str, Any] = {**head, **data}
    return yaml.safe_dump(ordered, sort_keys=False, allow_unicode=True, width=100)
