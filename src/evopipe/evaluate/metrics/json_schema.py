"""``json_schema``: the prediction is JSON valid against a schema.

The schema comes from the ``schema`` option (inline JSON, or a path to a ``.json`` file relative
to the working directory); without it, the expected value is the schema.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from evopipe.evaluate.metrics.base import (
    Case,
    Metric,
    MetricEnv,
    MetricError,
    MetricOptions,
    Score,
    as_json,
    parse_options,
)

NAME = "json_schema"


class JsonSchemaOptions(MetricOptions):
    schema_: str | dict[str, Any] | None = None

    model_config = MetricOptions.model_config | {"populate_by_name": True}


def _load_schema(raw: str | dict[str, Any], base_dir: str) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    text = raw.strip()
    if not text.startswith("{"):
        path = Path(base_dir) / text
        if not path.is_file():
            raise MetricError(f"metric 'json_schema': no schema file {path}")
        text = path.read_text(encoding="utf-8")
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MetricError(f"metric 'json_schema': schema is not JSON: {exc}") from None
    if not isinstance(schema, dict):
        raise MetricError("metric 'json_schema': the schema must be a JSON object")
    return schema


def check(value: Any, schema: dict[str, Any]) -> list[str]:
    """Validation problems of ``value`` (a JSON string or data) against ``schema``."""
    try:
        data = as_json(value)
    except (json.JSONDecodeError, TypeError) as exc:
        return [f"not JSON: {exc}"]
    validator = jsonschema.Draft202012Validator(schema)
    return [
        f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
        for e in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    ]


@dataclass(frozen=True)
class JsonSchemaMetric:
    schema: dict[str, Any] | None
    base_dir: str
    name: str = NAME

    async def score(self, case: Case) -> Score:
        schema = self.schema or _load_schema(case.expected, self.base_dir)
        problems = check(case.prediction, schema)
        if not problems:
            return Score(1.0)
        return Score(0.0, "; ".join(problems[:5]))


def build(options: Mapping[str, Any], env: MetricEnv) -> Metric:
    raw = dict(options)
    if "schema" in raw:
        raw["schema_"] = raw.pop("schema")
    opts = parse_options(JsonSchemaOptions, NAME, raw)
    schema = _load_schema(opts.schema_, env.base_dir) if opts.schema_ is not None else None
    if schema is not None:
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as exc:
            raise MetricError(f"metric 'json_schema': invalid schema: {exc.message}") from None
    return JsonSchemaMetric(schema, env.base_dir)
