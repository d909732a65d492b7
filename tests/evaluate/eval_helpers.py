"""Helpers of the evaluation tests: small pipelines and counting test models."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from evopipe.engine import Services
from evopipe.models import (
    InMemoryCache,
    ModelHub,
    ModelRequest,
    ModelResponse,
    ModelsConfig,
    Usage,
)
from evopipe.models.testing import FunctionModel
from evopipe.spec import Pipeline, loads

CALC = """\
apiVersion: evopipe/v1
kind: Pipeline
name: calc
inputs:
  expr: {type: string}
outputs:
  answer: "{{ steps.calc.output }}"
steps:
  - id: calc
    kind: tool
    tool: arithmetic
    args: {expression: "{{ inputs.expr }}"}
"""

CLASSIFY = """\
apiVersion: evopipe/v1
kind: Pipeline
name: classify
inputs:
  text: {type: string}
defaults:
  temperature: 0
outputs:
  answer: "{{ steps.classify.output }}"
steps:
  - id: classify
    kind: llm
    prompt: "Label this message: {{ inputs.text }}"
"""


def pipeline(text: str) -> Pipeline:
    return loads(text).pipeline


def last_user_text(request: ModelRequest) -> str:
    return request.messages[-1].content


def labeller(cost_usd: float | None = 0.0) -> Callable[[ModelRequest], ModelResponse]:
    """Answers 'refund' when the message mentions money back, else 'other'; priced per call."""

    def fn(request: ModelRequest) -> ModelResponse:
        text = last_user_text(request)
        answer = "refund" if "money back" in text else "other"
        return ModelResponse(text=answer, model="function", usage=Usage(10, 1), cost_usd=cost_usd)

    return fn


def make_services(model: FunctionModel, *, cache: bool = True, **extra: Any) -> Services:
    config = ModelsConfig(default_model="function")
    hub = ModelHub(config, cache=InMemoryCache() if cache else None)
    hub.add(model, "function")
    return Services(models=hub, **extra)
