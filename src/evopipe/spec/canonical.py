"""Canonical form of a pipeline: the basis of its hash (journal binding, candidate ids)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import yaml

from evopipe.spec.pipeline import Pipeline


def canonical_data(pipeline: Pipeline) -> dict[str, Any]:
    """The pipeline as plain JSON data with defaults left out, keys as written in files."""
    return pipeline.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def canonical_json(pipeline: Pipeline) -> str:
    return json.dumps(canonical_data(pipeline), sort_keys=True, separators=(",", ":"))


def spec_hash(pipeline: Pipeline) -> str:
    """sha256 of the canonical JSON form, hex."""
    return hashlib.sha256(canonical_json(pipeline).encode()).hexdigest()


def to_yaml(pipeline: Pipeline) -> str:
    """Serialise a pipeline to YAML (apiVersion/kind/name first, defaults omitted)."""
    data = canonical_data(pipeline)
    data.setdefault("kind", "Pipeline")
    head: dict[str, Any] = {k: data.pop(k) for k in ("apiVersion", "kind", "name") if k in data}
    ordered: dict[str, Any] = {**head, **data}
    return yaml.safe_dump(ordered, sort_keys=False, allow_unicode=True, width=100)
