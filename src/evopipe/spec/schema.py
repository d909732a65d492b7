"""The JSON Schema of the pipeline format (``evopipe schema``; shipped as a file too)."""

from __future__ import annotations

import json
from typing import Any

from evopipe.spec.pipeline import Pipeline

SCHEMA_ID = "https://evopipe.dev/schema/pipeline-v1.json"


def pipeline_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) for ``apiVersion: evopipe/v1`` documents."""
    schema = Pipeline.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def pipeline_json_schema_text() -> str:
    return json.dumps(pipeline_json_schema(), indent=2, sort_keys=True) + "\n"
